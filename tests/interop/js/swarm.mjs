// A private Mainline DHT swarm of N bittorrent-dht nodes on 127.0.0.1 with a Pkarr relay in front.
// Prints one JSON line {relay, nodes}; SIGTERM stops everything.
// Usage: node swarm.mjs [nodes=8] [relay-host=127.0.0.1]
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import krpc from 'k-rpc'
import { DHT as PkarrDHT } from 'pkarr/lib/dht.js'
import Relay from 'pkarr/lib/relay.js'
import { LOOPBACK, TIMEOUT_MS, addr, node, verify } from './common.mjs'

const count = Number(process.argv[2] || 8)
const relayHost = process.argv[3] || LOOPBACK

const first = await node(null)
const swarm = [first]
while (swarm.length < count) swarm.push(await node([addr(first)]))
// a full mesh: every node knows every other one, so a put reaches all of them
for (const a of swarm) for (const b of swarm) if (a !== b) a.addNode({ host: LOOPBACK, port: b.address().port })
const nodes = swarm.map(addr)

// the relay's own DHT client: pre-bound to loopback, routing table in a throw-away directory
const rpc = krpc({ bootstrap: nodes, idLength: 20, timeout: TIMEOUT_MS })
await new Promise(resolve => rpc.bind(0, LOOPBACK, resolve))
const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'archy-pkarr-'))
const relayDht = new PkarrDHT({ krpc: rpc, bootstrap: nodes, verify, storageLocation: storage })
await new Promise(resolve => relayDht._dht.ready ? resolve() : relayDht._dht.once('ready', resolve))
// pkarr 1.3.0's relay answers GET from its own node's store before asking the swarm, and its own
// PUTs never update that store: a value some other client once put there would shadow every newer
// one. Its node therefore stores nothing; the 8 swarm nodes do.
relayDht._dht._values = { get: () => null, set: () => {}, remove: () => {} }
const relay = new Relay({ dht: relayDht })
await new Promise(resolve => relay._server.listen(0, relayHost, resolve))

console.log(JSON.stringify({ relay: `http://${relayHost}:${relay._server.address().port}/`, nodes }))

const stop = () => {
  relay._server.close()
  for (const d of swarm) d.destroy()
  try { relayDht._dht.destroy() } catch {}
  fs.rmSync(storage, { recursive: true, force: true })
  process.exit(0)
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)

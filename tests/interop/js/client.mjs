// One-shot BEP44 client for the tests, talking KRPC to the swarm (no relay):
//   node client.mjs get <nodes,comma,separated> <pubkey hex>      -> {k, seq, v, sig} (hex) or null
//   node client.mjs put <nodes> <seed hex> <seq> <v hex>          -> {stored: true, target}
//   node client.mjs did-packet <seed hex> <onion url>             -> a did:dht packet (hex) built with dns-packet
import crypto from 'node:crypto'
import dnsPacket from 'dns-packet'
import { node, signer } from './common.mjs'

const [cmd, ...args] = process.argv.slice(2)
const out = value => { console.log(JSON.stringify(value)); process.exit(0) }
const hex = b => Buffer.from(b).toString('hex')
const z32 = pub => { // z-base-32 as the did:dht spec words it (only for the packet's root name)
  const alpha = 'ybndrfg8ejkmcpqxot1uwisza345h769'
  let bits = ''; for (const byte of pub) bits += byte.toString(2).padStart(8, '0')
  while (bits.length % 5) bits += '0'
  let s = ''; for (let i = 0; i < bits.length; i += 5) s += alpha[parseInt(bits.slice(i, i + 5), 2)]
  return s
}

if (cmd === 'did-packet') {
  const { pub } = signer(args[0])
  const b64u = b => Buffer.from(b).toString('base64url')
  const txt = (name, data) => ({ type: 'TXT', name, ttl: 7200, class: 'IN', data: [data] })
  const packet = dnsPacket.encode({ type: 'response', id: 0, flags: dnsPacket.AUTHORITATIVE_ANSWER, answers: [
    txt('_k0._did', `t=0;k=${b64u(pub)}`),
    txt('_s0._did', `id=tor;t=TorHiddenService;se=${args[1]}`),
    txt(`_did.${z32(pub)}`, 'v=0;vm=k0;auth=k0;asm=k0;inv=k0;del=k0;svc=s0')   // the root after what it names
  ] })
  out({ v: hex(packet) })
}

const dht = await node(args[0].split(','))
if (cmd === 'get') {
  const target = crypto.createHash('sha1').update(Buffer.from(args[1], 'hex')).digest()
  dht.get(target, (err, res) => {
    if (err) { console.error(String(err)); process.exit(1) }
    out(res && res.v ? { k: hex(res.k), seq: res.seq, v: hex(res.v), sig: hex(res.sig) } : null)
  })
} else if (cmd === 'put') {
  const { pub, sign } = signer(args[1])
  dht.put({ k: pub, seq: Number(args[2]), v: Buffer.from(args[3], 'hex'), sign }, (err, target, stored) => {
    if (err) { console.error(String(err)); process.exit(1) }
    out({ stored: stored > 0, nodes: stored, target: hex(target) })
  })
} else {
  console.error('usage: client.mjs get|put|did-packet ...'); process.exit(2)
}

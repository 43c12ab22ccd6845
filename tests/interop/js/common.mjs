// Shared by the interop peers: Ed25519 verification for BEP44 and loopback-only DHT nodes.
import crypto from 'node:crypto'
import DHT from 'bittorrent-dht'

const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex')
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex')
export const LOOPBACK = '127.0.0.1'
export const TIMEOUT_MS = 500 // dead querier entries otherwise stall traversals for seconds

export function verify (sig, msg, pub) {
  try {
    const key = crypto.createPublicKey({ key: Buffer.concat([SPKI_ED25519, pub]), format: 'der', type: 'spki' })
    return crypto.verify(null, msg, key, sig)
  } catch { return false }
}

export function signer (seedHex) {
  const key = crypto.createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, Buffer.from(seedHex, 'hex')]), format: 'der', type: 'pkcs8' })
  const pub = crypto.createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32)
  return { pub, sign: msg => crypto.sign(null, msg, key) }
}

// A DHT node that never contacts a public router: bootstrap is our own list or nothing.
export async function node (bootstrap) {
  const dht = new DHT({ bootstrap: bootstrap && bootstrap.length ? bootstrap : false, verify, timeout: TIMEOUT_MS })
  await new Promise(resolve => dht.listen(0, LOOPBACK, resolve))
  if (bootstrap && bootstrap.length) await new Promise(resolve => dht.ready ? resolve() : dht.once('ready', resolve))
  return dht
}

export const addr = dht => `${LOOPBACK}:${dht.address().port}`

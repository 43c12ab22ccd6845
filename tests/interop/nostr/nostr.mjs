// nostr-tools for the interop tests: one command per run, one JSON line on stdout.
//   keygen                                  -> {secret, pubkey}
//   sign SECRET_HEX TEMPLATE_JSON           -> the signed event
//   verify EVENT_JSON                       -> {valid}
//   publish RELAY EVENT_JSON                -> {ok, message}
//   fetch RELAY FILTER_JSON                 -> {events: [...], verified: [true|false...]}
//   nip04-encrypt SECRET_HEX PUBKEY TEXT    -> {ciphertext}
//   nip04-decrypt SECRET_HEX PUBKEY PAYLOAD -> {plaintext}
import { finalizeEvent, generateSecretKey, getPublicKey, verifyEvent } from 'nostr-tools/pure'
import { Relay, useWebSocketImplementation } from 'nostr-tools/relay'
import * as nip04 from 'nostr-tools/nip04'
import WebSocket from 'ws'

useWebSocketImplementation(WebSocket)
const bytesToHex = (b) => Buffer.from(b).toString('hex')
const hexToBytes = (h) => Uint8Array.from(Buffer.from(h, 'hex'))
const [cmd, ...args] = process.argv.slice(2)
const out = (v) => { process.stdout.write(JSON.stringify(v) + '\n') }

async function main () {
  switch (cmd) {
    case 'keygen': {
      const sk = generateSecretKey()
      return out({ secret: bytesToHex(sk), pubkey: getPublicKey(sk) })
    }
    case 'sign':
      return out(finalizeEvent(JSON.parse(args[1]), hexToBytes(args[0])))
    case 'verify':
      return out({ valid: verifyEvent(JSON.parse(args[0])) })
    case 'publish': {
      const relay = await Relay.connect(args[0])
      try {
        const message = await relay.publish(JSON.parse(args[1]))
        return out({ ok: true, message })
      } catch (err) {
        return out({ ok: false, message: String(err && err.message ? err.message : err) })
      } finally { relay.close() }
    }
    case 'fetch': {
      const relay = await Relay.connect(args[0])
      const events = []
      await new Promise((resolve) => {
        const sub = relay.subscribe([JSON.parse(args[1])], {
          onevent (ev) { events.push(ev) },
          oneose () { sub.close(); resolve() }
        })
      })
      relay.close()
      // verifyEvent caches its verdict on the object: verify copies of what the relay sent
      return out({ events, verified: events.map((ev) => verifyEvent({ ...ev })) })
    }
    case 'nip04-encrypt':
      return out({ ciphertext: nip04.encrypt(hexToBytes(args[0]), args[1], args[2]) })
    case 'nip04-decrypt':
      return out({ plaintext: nip04.decrypt(hexToBytes(args[0]), args[1], args[2]) })
    default:
      throw new Error('unknown command ' + cmd)
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1) })

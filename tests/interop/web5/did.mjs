// web5's did:dht, driven by the interop tests (tests/modules/test_did_dht_web5.py):
//   node did.mjs resolve <relay> <did>          resolution result as JSON
//   node did.mjs create  <relay> '<options>'    create and publish a DID; {uri, document, metadata}
// <options> is DidDht.create's options as JSON (verificationMethods, services, types, ...).
// Only the given relay (a loopback Pkarr relay) is ever contacted.
import { DidDht } from '@web5/dids'

const [cmd, relay, arg] = process.argv.slice(2)
if (cmd === 'resolve') {
  const res = await DidDht.resolve(arg, { gatewayUri: relay })
  console.log(JSON.stringify(res))
} else if (cmd === 'create') {
  const options = { ...JSON.parse(arg), gatewayUri: relay, publish: true }
  const did = await DidDht.create({ options })
  console.log(JSON.stringify({ uri: did.uri, document: did.document, metadata: did.metadata }))
} else {
  console.error('usage: did.mjs resolve|create <relay> <did|options>')
  process.exit(2)
}

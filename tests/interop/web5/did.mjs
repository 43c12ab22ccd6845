// web5's did:dht and Verifiable Credentials, driven by the interop tests
// (tests/modules/test_did_dht_web5.py, tests/modules/test_credentials.py):
//   node did.mjs resolve   <relay> <did>        resolution result as JSON
//   node did.mjs create    <relay> '<options>'  create and publish a DID; {uri, document, metadata}
//   node did.mjs verify-vc <relay> <jwt>        VerifiableCredential.verify; {issuer, subject, vc}
//   node did.mjs verify-vp <relay> <jwt>        VerifiablePresentation.verify (and each VC in it)
//   node did.mjs issue     <relay>              two new published DIDs: the issuer's credential
//                                               about the holder, and the holder's presentation
//                                               of it; {issuer, holder, vc, vp}
// <options> is DidDht.create's options as JSON. Only the given relay (a loopback Pkarr relay) is
// ever contacted: web5's resolver for did:dht is pointed at it.
import { DidDht, UniversalResolver } from '@web5/dids'
import { Jwt, VerifiableCredential, VerifiablePresentation } from '@web5/credentials'

const [cmd, relay, arg] = process.argv.slice(2)
const out = value => console.log(JSON.stringify(value))
Jwt.didResolver = new UniversalResolver({
  didResolvers: [{ methodName: 'dht', resolve: did => DidDht.resolve(did, { gatewayUri: relay }) }]
})
const create = options => DidDht.create({ options: { ...options, gatewayUri: relay, publish: true } })

if (cmd === 'resolve') {
  out(await DidDht.resolve(arg, { gatewayUri: relay }))
} else if (cmd === 'create') {
  const did = await create(JSON.parse(arg))
  out({ uri: did.uri, document: did.document, metadata: did.metadata })
} else if (cmd === 'verify-vc') {
  out(await VerifiableCredential.verify({ vcJwt: arg }))
} else if (cmd === 'verify-vp') {
  out(await VerifiablePresentation.verify({ vpJwt: arg }))
} else if (cmd === 'issue') {
  const issuer = await create({})
  const holder = await create({})
  const cred = await VerifiableCredential.create({
    type: 'ArchipelagoTrustedPeer', issuer: issuer.uri, subject: holder.uri,
    data: { trustedPeerOf: issuer.uri, establishedOn: '2026-12-01' },
    expirationDate: new Date(Date.now() + 86400e3).toISOString().replace(/\.\d+Z$/, 'Z')
  })
  const vc = await cred.sign({ did: issuer })
  const pres = await VerifiablePresentation.create({ holder: holder.uri, vcJwts: [vc] })
  const vp = await pres.sign({ did: holder })
  out({ issuer: issuer.uri, holder: holder.uri, vc, vp })
} else {
  console.error('usage: did.mjs resolve|create|verify-vc|verify-vp|issue <relay> [arg]')
  process.exit(2)
}

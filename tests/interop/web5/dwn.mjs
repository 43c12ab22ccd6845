// TBD's DWN reference implementation (@tbd54566975/dwn-sdk-js) judging protocol definitions, for
// tests/modules/test_dwn_protocol.py:
//   node dwn.mjs configure '<JSON list of definitions>'
// builds a signed ProtocolsConfigure message for each (which validates the definition against
// the DWN's schema and rules) and processes it on an in-memory DWN of a fresh tenant; prints
// [{protocol, ok, status, error}]. Nothing leaves this process.
import { Dwn, DataStoreLevel, EventLogLevel, MessageStoreLevel, ResumableTaskStoreLevel, ProtocolsConfigure,
  ProtocolsQuery, TestDataGenerator, Jws } from '@tbd54566975/dwn-sdk-js'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const [cmd, arg] = process.argv.slice(2)
if (cmd !== 'configure') { console.error('usage: dwn.mjs configure <definitions JSON>'); process.exit(2) }
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dwn-'))
const at = name => path.join(dir, name)
const dwn = await Dwn.create({
  messageStore: new MessageStoreLevel({ blockstoreLocation: at('mb'), indexLocation: at('mi') }),
  dataStore: new DataStoreLevel({ blockstoreLocation: at('db') }),
  eventLog: new EventLogLevel({ location: at('ev') }),
  resumableTaskStore: new ResumableTaskStoreLevel({ location: at('rt') })
})
const alice = await TestDataGenerator.generateDidKeyPersona()
const out = []
for (const definition of JSON.parse(arg)) {
  try {
    const m = await ProtocolsConfigure.create({ definition, signer: Jws.createSigner(alice) })
    const reply = await dwn.processMessage(alice.did, m.message)
    out.push({ protocol: definition.protocol, ok: reply.status.code === 202, status: reply.status.code,
      error: reply.status.code === 202 ? null : reply.status.detail })
  } catch (e) {
    out.push({ protocol: definition && definition.protocol, ok: false, status: null, error: String(e.message || e) })
  }
}
const q = await ProtocolsQuery.create({ signer: Jws.createSigner(alice) })
const listed = await dwn.processMessage(alice.did, q.message)
await dwn.close()
fs.rmSync(dir, { recursive: true, force: true })
console.log(JSON.stringify({ results: out, listed: (listed.entries || []).map(e => e.descriptor.definition.protocol) }))

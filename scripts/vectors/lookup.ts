import { encode as varint } from 'uint8-varint'
import { concat as uint8ArrayConcat } from 'uint8arrays/concat'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { encodeLookupHeader, encodeLookupRequest } from '../../src/protocol/lookup-messages.js'
import { encodePutAnswer } from '../../src/protocol/put-messages.js'
import { sealRecord } from '../../src/records/record.js'
import { EXPIRES_AT, SEQ, hex, peerIdOf } from './common.js'
import { NAME, NETWORK, recordKeys } from './records.js'
import type { VectorFile, VectorGenerator } from './common.js'
import type { RefusalCode } from '../../src/errors.js'

/** A frame: a minimal unsigned varint length, then the bytes. */
export function frame (bytes: Uint8Array): Uint8Array {
  return uint8ArrayConcat([varint(bytes.byteLength), bytes])
}

const text = (value: string): Uint8Array => uint8ArrayFromString(value)

export const lookup: VectorGenerator = {
  file: 'lookup.json',
  async generate (): Promise<VectorFile> {
    const valid = [
      ['the version 1 request', { name: NAME }],
      ['the next page', { name: NAME, cursor: `0.${EXPIRES_AT}.${SEQ}.12D3KooWExample` }],
      ['a page of at most 10 records', { name: NAME, limit: 10 }]
    ].map(([description, request]) => ({ description, frame: hex(frame(encodeLookupRequest(request as { name: string }))), request }))

    const tolerated = [
      ['an unknown field', '{"name":"DatabaseService","x-future":[1,2]}', { name: NAME }],
      ['a duplicate key: the last one counts (JSON.parse)', '{"name":"Data base","name":"DatabaseService"}', { name: NAME }],
      ['whitespace', '\n{ "name" : "DatabaseService" }\n', { name: NAME }],
      ['"limit": 1000 spelled out, and a JSON number with an exponent', '{"name":"DatabaseService","limit":1e3}', { name: NAME, limit: 1000 }]
    ].map(([description, body, request]) => ({ description, frame: hex(frame(text(body as string))), request }))

    const bad = (description: string, bytes: Uint8Array, code: RefusalCode, wireOnly = false): Record<string, unknown> => ({ description, frame: hex(bytes), code, ...(wireOnly ? { wireOnly: true } : {}) })
    const malformed = [
      bad('an empty frame', frame(new Uint8Array(0)), 'bad-request'),
      bad('not JSON', frame(text('name=DatabaseService')), 'bad-request'),
      bad('invalid UTF-8 (read as U+FFFD: not a service name)', frame(Uint8Array.from([...text('{"name":"'), 0xff, ...text('"}')])), 'bad-request'),
      bad('a JSON array', frame(text('["DatabaseService"]')), 'bad-request'),
      bad('JSON null', frame(text('null')), 'bad-request'),
      bad('a JSON string', frame(text('"DatabaseService"')), 'bad-request'),
      bad('no name', frame(text('{"cursor":"x"}')), 'bad-request'),
      bad('a name that is a number', frame(text('{"name":42}')), 'bad-request'),
      bad('a name that is not a service name', frame(text('{"name":"Database Service"}')), 'bad-request'),
      bad('an empty cursor', frame(text('{"name":"DatabaseService","cursor":""}')), 'bad-request'),
      bad('a cursor of 257 characters', frame(text(JSON.stringify({ name: NAME, cursor: 'c'.repeat(257) }))), 'bad-request'),
      bad('limit 0', frame(text('{"name":"DatabaseService","limit":0}')), 'bad-request'),
      bad('limit 1001', frame(text('{"name":"DatabaseService","limit":1001}')), 'bad-request'),
      bad('a fractional limit', frame(text('{"name":"DatabaseService","limit":2.5}')), 'bad-request'),
      bad('a frame of 1025 bytes', frame(text(JSON.stringify({ name: NAME, pad: 'x'.repeat(1025 - JSON.stringify({ name: NAME, pad: '' }).length) }))), 'too-large', true),
      bad('a length prefix of 3 bytes (16384: over 2 bytes, so over 1024)', Uint8Array.from([0x80, 0x80, 0x01]), 'too-large', true),
      bad('a cursor this registry did not make', frame(text('{"name":"DatabaseService","cursor":"x"}')), 'bad-cursor', true)
    ]

    const { publisher } = await recordKeys()
    const peerId = peerIdOf(publisher)
    const envelope = await sealRecord({ network: NETWORK, name: NAME, peerId, multiaddrs: [`/ip4/10.0.0.7/tcp/41237/p2p/${peerId}`], metadata: { name: NAME }, seq: SEQ, expiresAt: EXPIRES_AT, withdrawn: false }, publisher)
    const answers = [
      { description: 'no records', frames: [hex(frame(encodeLookupHeader({ count: 0 })))], header: { count: 0 }, records: 0 },
      { description: 'one record and a next page', frames: [hex(frame(encodeLookupHeader({ count: 1, next: `2.${EXPIRES_AT}.${SEQ}.${peerId}` }))), hex(frame(envelope))], header: { count: 1, next: `2.${EXPIRES_AT}.${SEQ}.${peerId}` }, records: 1 },
      { description: 'an error header', frames: [hex(frame(encodeLookupHeader({ error: 'Lookup request must be {"name": "<service name>"}; send {"name": "<service name>"}', code: 'bad-request' })))], error: { code: 'bad-request' } }
    ]

    const puts = [
      { description: 'stored', answer: { ok: true } },
      { description: 'refused as a rollback, with the stored seq', answer: { ok: false, code: 'stale-seq', error: `Record seq ${SEQ} is not higher than the stored seq ${SEQ + 10} (replay or race)`, seq: SEQ + 10 } },
      { description: 'refused by a storage quota, naming it', answer: { ok: false, code: 'quota', error: 'Registry storage quota maxRecordsPerSigner: peer … signed 64 stored records, its maximum', quota: 'maxRecordsPerSigner' } },
      { description: 'refused on a closed network, with the credential reason', answer: { ok: false, code: 'not-authorized', error: 'Network "production" is closed: peer … presented no credential', reason: 'missing' } }
    ].map(vector => ({ ...vector, frame: hex(frame(encodePutAnswer(vector.answer as never))) }))

    return {
      description: 'The registry lookup protocol (docs/PROTOCOL.md §7.1) and the record put protocol\'s answers (§5.1). Each frame is hex: a minimal unsigned varint length, then the bytes. `requests.valid` and `requests.tolerated` decode to `request`; `requests.malformed` get an error header with reason code `code` (§12) and the stream is closed (`wireOnly`: only a registry can tell, from its frame reader or its cursors). `answers` are what a registry sends. `puts` are put answers and their frames.',
      requests: { valid, tolerated, malformed },
      answers,
      puts,
      putRequest: { description: 'a put request: one frame holding the envelope of answers[1]', frame: hex(frame(envelope)) }
    }
  }
}

import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { InvalidRecordError } from '../errors.js'
import { isPlainObject } from '../records/record.js'
import { isRefusalCode } from './refusals.js'
import type { Refusal } from './refusals.js'

/**
 * The messages of the record put protocol (`/netget/<network>/put/1.0.0`,
 * docs/PROTOCOL.md §5.1). The publisher sends one frame, a varint length
 * and the record's marshalled envelope; the registry answers with one frame
 * of UTF-8 JSON, `{"ok": true}` once the record is stored, or a refusal
 * `{"ok": false, "code": …, "error": …}` (§12), then closes the stream.
 */

/** Most bytes of an answer frame. */
export const MAX_PUT_ANSWER_BYTES = 1024

/** A registry's answer to a put. */
export type PutAnswer = { ok: true } | ({ ok: false, /** `stale-seq`: the `seq` of the record it stores. */ seq?: number } & Refusal)

/** Encodes an answer frame. */
export function encodePutAnswer (answer: PutAnswer): Uint8Array {
  return uint8ArrayFromString(JSON.stringify(answer))
}

/**
 * Decodes an answer frame; throws InvalidRecordError if it is not one. An
 * unknown reason code is kept as `internal` (a newer registry's code), its
 * text as sent.
 */
export function decodePutAnswer (bytes: Uint8Array): PutAnswer {
  let message: unknown

  try {
    message = JSON.parse(uint8ArrayToString(bytes))
  } catch (err) {
    throw new InvalidRecordError('Put answer is not valid JSON', { cause: err, code: 'bad-request' })
  }

  if (!isPlainObject(message) || typeof message.ok !== 'boolean') {
    throw new InvalidRecordError('Put answer must be {"ok": true} or {"ok": false, "code": …, "error": …}', { code: 'bad-request' })
  }

  if (message.ok) {
    return { ok: true }
  }

  return {
    ok: false,
    code: isRefusalCode(message.code) ? message.code : 'internal',
    error: typeof message.error === 'string' ? message.error.slice(0, 200) : '',
    ...(Number.isSafeInteger(message.seq) ? { seq: message.seq as number } : {}),
    ...(typeof message.quota === 'string' ? { quota: message.quota.slice(0, 64) } : {}),
    ...(typeof message.reason === 'string' ? { reason: message.reason.slice(0, 64) } : {})
  }
}

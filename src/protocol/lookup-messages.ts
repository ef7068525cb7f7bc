import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { MAX_LOOKUP_RESULTS, SERVICE_NAME_PATTERN } from '../constants.js'
import { InvalidRecordError } from '../errors.js'
import { isPlainObject } from '../records/record.js'
import { isRefusalCode } from './refusals.js'
import type { RefusalCode } from '../errors.js'

/**
 * The messages of the registry lookup protocol (`/netget/<network>/lookup/1.0.0`,
 * see docs/PROTOCOL.md §7.1). Every message is one varint-length-prefixed
 * frame. The asker sends a request; the registry answers with a header frame
 * and then `count` frames, each one record envelope. A header with `next`
 * says more records follow on later pages: the asker sends the same request
 * with `cursor: next` for them.
 */

/** Largest request frame, in bytes. */
export const MAX_REQUEST_BYTES = 1024

/** Longest cursor, in characters. */
export const MAX_CURSOR_LENGTH = 256

/** A lookup request. */
export interface LookupRequest {
  /** The service name. */
  name: string
  /** The `next` of the previous page's header; absent for the first page. */
  cursor?: string
  /** Most records in the answer, 1..1000. @default 1000 */
  limit?: number
}

/** A lookup answer's header. */
export interface LookupHeader {
  /** How many record frames follow. */
  count: number
  /** The cursor of the next page, if there are more records. */
  next?: string
}

/** Decodes a request frame. Throws InvalidRecordError naming what is wrong. */
export function decodeLookupRequest (bytes: Uint8Array): LookupRequest {
  const message = parseJson(bytes, 'request')

  if (!isPlainObject(message) || typeof message.name !== 'string' || !SERVICE_NAME_PATTERN.test(message.name)) {
    throw new InvalidRecordError('Lookup request must be {"name": "<service name>"}', { code: 'bad-request' })
  }

  const { name, cursor, limit } = message

  if (cursor !== undefined && (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH)) {
    throw new InvalidRecordError(`Lookup request "cursor" must be the "next" string of a previous answer (1..${MAX_CURSOR_LENGTH} characters)`, { code: 'bad-request' })
  }

  if (limit !== undefined && (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_LOOKUP_RESULTS)) {
    throw new InvalidRecordError(`Lookup request "limit" must be an integer 1..${MAX_LOOKUP_RESULTS}`, { code: 'bad-request' })
  }

  return { name, cursor: cursor as string | undefined, limit: limit as number | undefined }
}

/** Encodes a request; without a cursor or limit it is the version 1 request `{"name": …}`. */
export function encodeLookupRequest (request: LookupRequest): Uint8Array {
  return uint8ArrayFromString(JSON.stringify(request))
}

/** An error header: why the registry refused the request, and its reason code (docs/PROTOCOL.md §12). */
export interface LookupErrorHeader {
  error: string
  code: RefusalCode
}

/** Encodes the header frame: how many record frames follow and the next cursor, or an error. */
export function encodeLookupHeader (header: LookupHeader | LookupErrorHeader): Uint8Array {
  return uint8ArrayFromString(JSON.stringify(header))
}

/**
 * Decodes the header frame; throws on an error header (InvalidRecordError
 * whose `code` is the header's reason code, when it is one of §12), or on a
 * count above `maxCount` (the request's limit).
 */
export function decodeLookupHeader (bytes: Uint8Array, maxCount = MAX_LOOKUP_RESULTS): LookupHeader {
  const message = parseJson(bytes, 'response header')

  if (isPlainObject(message) && typeof message.error === 'string') {
    throw new InvalidRecordError(`Registry refused the lookup${isRefusalCode(message.code) ? ` (${message.code})` : ''}: ${message.error.slice(0, 200)}`, { code: isRefusalCode(message.code) ? message.code : undefined })
  }

  if (!isPlainObject(message) || !Number.isSafeInteger(message.count) || (message.count as number) < 0 || (message.count as number) > maxCount) {
    throw new InvalidRecordError(`Lookup response header must be {"count": 0..${maxCount}}`)
  }

  const { count, next } = message

  if (next !== undefined && (typeof next !== 'string' || next.length === 0 || next.length > MAX_CURSOR_LENGTH)) {
    throw new InvalidRecordError(`Lookup response header "next" must be a string of 1..${MAX_CURSOR_LENGTH} characters`)
  }

  return { count: count as number, next: next as string | undefined }
}

function parseJson (bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(uint8ArrayToString(bytes))
  } catch (err) {
    throw new InvalidRecordError(`Lookup ${what} is not valid JSON`, { cause: err, code: 'bad-request' })
  }
}

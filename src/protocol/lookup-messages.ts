import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { MAX_LOOKUP_RESULTS, SERVICE_NAME_PATTERN } from '../constants.js'
import { InvalidRecordError } from '../errors.js'
import { isPlainObject } from '../records/record.js'

/**
 * The messages of the registry lookup protocol (`/netget/<network>/lookup/1.0.0`,
 * see docs/PROTOCOL.md). Every message is one varint-length-prefixed frame.
 * The asker sends a request; the registry answers with a header frame and then
 * `count` frames, each one record envelope, and closes the stream.
 */

/** Largest request frame, in bytes. */
export const MAX_REQUEST_BYTES = 1024

/** Decodes a request frame into the service name asked for. */
export function decodeLookupRequest (bytes: Uint8Array): string {
  const message = parseJson(bytes, 'request')

  if (!isPlainObject(message) || typeof message.name !== 'string' || !SERVICE_NAME_PATTERN.test(message.name)) {
    throw new InvalidRecordError('Lookup request must be {"name": "<service name>"}')
  }

  return message.name
}

/** Encodes a request for every instance of `name`. */
export function encodeLookupRequest (name: string): Uint8Array {
  return uint8ArrayFromString(JSON.stringify({ name }))
}

/** Encodes the header frame: how many record frames follow, or an error. */
export function encodeLookupHeader (header: { count: number } | { error: string }): Uint8Array {
  return uint8ArrayFromString(JSON.stringify(header))
}

/** Decodes the header frame into the number of records that follow; throws on an error header. */
export function decodeLookupHeader (bytes: Uint8Array): number {
  const message = parseJson(bytes, 'response header')

  if (isPlainObject(message) && typeof message.error === 'string') {
    throw new InvalidRecordError(`Registry refused the lookup: ${message.error.slice(0, 200)}`)
  }

  if (!isPlainObject(message) || !Number.isSafeInteger(message.count) || (message.count as number) < 0 || (message.count as number) > MAX_LOOKUP_RESULTS) {
    throw new InvalidRecordError(`Lookup response header must be {"count": 0..${MAX_LOOKUP_RESULTS}}`)
  }

  return message.count as number
}

function parseJson (bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(uint8ArrayToString(bytes))
  } catch (err) {
    throw new InvalidRecordError(`Lookup ${what} is not valid JSON`, { cause: err })
  }
}

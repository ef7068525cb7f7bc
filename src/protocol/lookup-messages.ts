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
  /** Ask for the registry's liveness attestations of the records' publishers (§15). @default false */
  health?: boolean
  /** Also push this service's changes on this stream until unsubscribed (§16). @default false */
  subscribe?: boolean
  /** Stop the pushes of this service on this stream; answered with `{"count": 0}` (§16). @default false */
  unsubscribe?: boolean
}

/** A lookup answer's header. */
export interface LookupHeader {
  /** How many record frames follow. */
  count: number
  /** The cursor of the next page, if there are more records. */
  next?: string
  /** How many attestation frames follow the record frames (requests with `health`). */
  attestations?: number
  /** True if the registry took the request's `subscribe` and will push changes. */
  subscribed?: boolean
}

/**
 * A push frame: changes of a subscribed service, sent between answers. It is
 * followed by `count` record frames (new or replaced records, withdrawals
 * included), then `attestations` attestation frames (§16).
 */
export interface LookupPush {
  /** The service name. */
  push: string
  count: number
  attestations: number
  /** Publishers whose record the registry no longer holds (expired or deleted). */
  removed: string[]
  /** True if the registry dropped changes (the subscriber read too slowly): look the service up again. */
  resync: boolean
}

/** What a server frame is: the next answer's header, or a push. */
export type ServerFrame = { kind: 'answer', header: LookupHeader } | { kind: 'push', push: LookupPush }

/** Decodes a request frame. Throws InvalidRecordError naming what is wrong. */
export function decodeLookupRequest (bytes: Uint8Array): LookupRequest {
  const message = parseJson(bytes, 'request')

  if (!isPlainObject(message) || typeof message.name !== 'string' || !SERVICE_NAME_PATTERN.test(message.name)) {
    throw new InvalidRecordError('Lookup request must be {"name": "<service name>"}', { code: 'bad-request' })
  }

  const { name, cursor, limit, health, subscribe, unsubscribe } = message

  if (cursor !== undefined && (typeof cursor !== 'string' || cursor.length === 0 || cursor.length > MAX_CURSOR_LENGTH)) {
    throw new InvalidRecordError(`Lookup request "cursor" must be the "next" string of a previous answer (1..${MAX_CURSOR_LENGTH} characters)`, { code: 'bad-request' })
  }

  if (limit !== undefined && (!Number.isSafeInteger(limit) || (limit as number) < 1 || (limit as number) > MAX_LOOKUP_RESULTS)) {
    throw new InvalidRecordError(`Lookup request "limit" must be an integer 1..${MAX_LOOKUP_RESULTS}`, { code: 'bad-request' })
  }

  for (const [flag, value] of [['health', health], ['subscribe', subscribe], ['unsubscribe', unsubscribe]] as const) {
    if (value !== undefined && typeof value !== 'boolean') {
      throw new InvalidRecordError(`Lookup request "${flag}" must be true or false`, { code: 'bad-request' })
    }
  }

  if (subscribe === true && unsubscribe === true) {
    throw new InvalidRecordError('Lookup request cannot both "subscribe" and "unsubscribe"', { code: 'bad-request' })
  }

  const request: LookupRequest = { name, cursor: cursor as string | undefined, limit: limit as number | undefined }

  if (health === true) {
    request.health = true
  }

  if (subscribe === true) {
    request.subscribe = true
  }

  if (unsubscribe === true) {
    request.unsubscribe = true
  }

  return request
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

/** Encodes the header frame: how many record frames follow and the next cursor, or an error; or a push frame. */
export function encodeLookupHeader (header: LookupHeader | LookupPush | LookupErrorHeader): Uint8Array {
  return uint8ArrayFromString(JSON.stringify(header))
}

/**
 * Decodes the header frame; throws on an error header, or on a count above
 * `maxCount` (the request's limit).
 */
export function decodeLookupHeader (bytes: Uint8Array, maxCount = MAX_LOOKUP_RESULTS): LookupHeader {
  const frame = decodeServerFrame(bytes, maxCount)

  if (frame.kind === 'push') {
    throw new InvalidRecordError('Lookup response header must be {"count": …}, not a push')
  }

  return frame.header
}

/**
 * Decodes a frame the registry sends where a header is due: a push (a
 * subscribed service's changes) or the next answer's header. Throws on an
 * error header or a malformed frame.
 */
export function decodeServerFrame (bytes: Uint8Array, maxCount = MAX_LOOKUP_RESULTS): ServerFrame {
  const message = parseJson(bytes, 'response header')

  if (isPlainObject(message) && message.push !== undefined) {
    return { kind: 'push', push: decodePush(message) }
  }

  if (isPlainObject(message) && typeof message.error === 'string') {
    throw new InvalidRecordError(`Registry refused the lookup${isRefusalCode(message.code) ? ` (${message.code})` : ''}: ${message.error.slice(0, 200)}`, { code: isRefusalCode(message.code) ? message.code : undefined })
  }

  if (!isPlainObject(message) || !Number.isSafeInteger(message.count) || (message.count as number) < 0 || (message.count as number) > maxCount) {
    throw new InvalidRecordError(`Lookup response header must be {"count": 0..${maxCount}}`)
  }

  const { count, next, attestations, subscribed } = message

  if (next !== undefined && (typeof next !== 'string' || next.length === 0 || next.length > MAX_CURSOR_LENGTH)) {
    throw new InvalidRecordError(`Lookup response header "next" must be a string of 1..${MAX_CURSOR_LENGTH} characters`)
  }

  if (attestations !== undefined && (!Number.isSafeInteger(attestations) || (attestations as number) < 0 || (attestations as number) > (count as number))) {
    throw new InvalidRecordError('Lookup response header "attestations" must be an integer 0..count')
  }

  const header: LookupHeader = { count: count as number, next: next as string | undefined }

  if (attestations !== undefined && attestations !== 0) {
    header.attestations = attestations as number
  }

  if (subscribed === true) {
    header.subscribed = true
  }

  return { kind: 'answer', header }
}

function decodePush (message: Record<string, unknown>): LookupPush {
  const { push, count, attestations, removed, resync } = message

  if (typeof push !== 'string' || !SERVICE_NAME_PATTERN.test(push)) {
    throw new InvalidRecordError('Push frame "push" must be a service name')
  }

  if (!Number.isSafeInteger(count) || (count as number) < 0 || (count as number) > MAX_LOOKUP_RESULTS ||
    (attestations !== undefined && (!Number.isSafeInteger(attestations) || (attestations as number) < 0 || (attestations as number) > MAX_LOOKUP_RESULTS))) {
    throw new InvalidRecordError(`Push frame "count" and "attestations" must be integers 0..${MAX_LOOKUP_RESULTS}`)
  }

  if (removed !== undefined && (!Array.isArray(removed) || removed.length > MAX_LOOKUP_RESULTS || removed.some(peerId => typeof peerId !== 'string' || peerId.length > 128))) {
    throw new InvalidRecordError(`Push frame "removed" must be at most ${MAX_LOOKUP_RESULTS} peer IDs`)
  }

  return { push, count: count as number, attestations: (attestations as number | undefined) ?? 0, removed: (removed as string[] | undefined) ?? [], resync: resync === true }
}

function parseJson (bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(uint8ArrayToString(bytes))
  } catch (err) {
    throw new InvalidRecordError(`Lookup ${what} is not valid JSON`, { cause: err, code: 'bad-request' })
  }
}

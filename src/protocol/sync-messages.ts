import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { InvalidRecordError } from '../errors.js'
import { isPlainObject } from '../records/record.js'
import { isRefusalCode } from './refusals.js'
import type { RefusalCode } from '../errors.js'

/**
 * The messages of the registry sync protocol (`/netget/<network>/sync/1.0.0`,
 * docs/PROTOCOL.md §17). Each message is one frame of UTF-8 JSON (a varint
 * length, then the bytes) followed by `records` frames, each a varint length
 * and one record's marshalled envelope.
 */

/** Most bytes of a message's JSON frame. */
export const MAX_SYNC_FRAME_BYTES = 256 * 1024

/** Most ranges in one message. */
export const MAX_SYNC_RANGES = 512

/** A range holding at most this many items is sent as its item list, not split. */
export const SYNC_ITEMS_THRESHOLD = 16

/** How many sub-ranges a differing range is split into. */
export const SYNC_SPLIT = 16

/** Most ids one message asks for. */
export const MAX_SYNC_WANT = 1024

/** Most record frames after one message. */
export const MAX_SYNC_RECORDS = 256

/** Most registries one message names. */
export const MAX_SYNC_REGISTRIES = 16

/** Most addresses given for one registry. */
export const MAX_SYNC_REGISTRY_ADDRS = 8

/** Longest item id (`<service name>/<peer ID>`), in characters. */
export const MAX_SYNC_ID_LENGTH = 160

/** Most revocation ids in one message's `revocationIds`, and again in its `wantRevocations`. */
export const MAX_SYNC_REVOCATION_IDS = 2048

/** Most revocation envelopes in one message's `revocations`. */
export const MAX_SYNC_REVOCATIONS = 32

/** Most characters of base64url envelopes in one message's `revocations` (a revocation envelope is at most 4096 bytes, 5462 characters). */
export const MAX_SYNC_REVOCATION_CHARS = 64 * 1024

/** Longest base64url revocation envelope, in characters (4096 bytes, docs/PROTOCOL.md §11.3). */
const MAX_REVOCATION_CHARS = Math.ceil(4096 * 4 / 3)

/** A revocation id: 16 lowercase hex digits (docs/PROTOCOL.md §17.5). */
const REVOCATION_ID = /^[0-9a-f]{16}$/

/** What a registry says of the revocations it holds: a digest of their sorted ids, and how many. */
export interface RevocationDigest {
  /** 32 lowercase hex digits. */
  digest: string
  n: number
}

/**
 * A range of item ids, `lo` included, `hi` excluded (`null`: no upper bound),
 * with either the sender's fingerprint of it or every item it holds in it.
 */
export type SyncRange =
  | { lo: string, hi: string | null, fp: string, n: number }
  | { lo: string, hi: string | null, items: Array<[id: string, seq: number]> }

/** A registry named in a sync message: its peer ID and a few of its addresses. */
export interface SyncRegistry {
  id: string
  addrs: string[]
}

/** One sync message's JSON frame. */
export interface SyncMessage {
  ranges: SyncRange[]
  /** Ids whose records the sender asks for. */
  want: string[]
  /** How many record frames follow. */
  records: number
  /**
   * Other registries of the network the sender knows. The opener names them
   * in its first message (an empty list asks for the other side's only); the
   * answerer names its own in its first answer if the opener's carried the field.
   */
  registries?: SyncRegistry[]
  /**
   * The records of the other side's previous message this side refused: each
   * one's position among that message's records (from 0) and the reason code
   * of docs/PROTOCOL.md §12. Left out when none was refused.
   */
  refused?: Array<[position: number, code: RefusalCode]>
  /**
   * Closed networks, the opener's first message of a full session: the
   * revocations it holds, as a digest (docs/PROTOCOL.md §17.5).
   */
  revocationDigest?: RevocationDigest
  /** The ids of the revocations the sender holds (at most {@link MAX_SYNC_REVOCATION_IDS}), sent when the digests differ. */
  revocationIds?: string[]
  /** Ids of revocations the sender asks for (at most {@link MAX_SYNC_REVOCATION_IDS}). */
  wantRevocations?: string[]
  /** Revocation envelopes (at most {@link MAX_SYNC_REVOCATIONS}; base64url without padding on the wire). */
  revocations?: Uint8Array[]
}

/** Encodes a message's JSON frame. */
export function encodeSyncMessage (message: SyncMessage): Uint8Array {
  const { revocations, ...rest } = message
  return uint8ArrayFromString(JSON.stringify(revocations === undefined ? rest : { ...rest, revocations: revocations.map(envelope => uint8ArrayToString(envelope, 'base64url')) }))
}

/** Decodes a message's JSON frame; throws InvalidRecordError (`bad-request`) if it breaks a rule of §17. */
export function decodeSyncMessage (bytes: Uint8Array): SyncMessage {
  let message: unknown

  try {
    message = JSON.parse(uint8ArrayToString(bytes))
  } catch (err) {
    throw badRequest('A sync frame is not valid JSON', err)
  }

  if (!isPlainObject(message) || !Array.isArray(message.ranges) || !Array.isArray(message.want) || !Number.isSafeInteger(message.records)) {
    throw badRequest('A sync frame is {"ranges": [...], "want": [...], "records": n}')
  }

  const { ranges, want, records, registries } = message

  if (ranges.length > MAX_SYNC_RANGES || want.length > MAX_SYNC_WANT || (records as number) < 0 || (records as number) > MAX_SYNC_RECORDS) {
    throw badRequest(`A sync frame holds at most ${MAX_SYNC_RANGES} ranges, ${MAX_SYNC_WANT} wanted ids and ${MAX_SYNC_RECORDS} records`)
  }

  if (!want.every(isId)) {
    throw badRequest('A wanted id is "<service name>/<peer ID>"')
  }

  if (registries !== undefined && (!Array.isArray(registries) || registries.length > MAX_SYNC_REGISTRIES || !registries.every(isRegistry))) {
    throw badRequest(`"registries" lists at most ${MAX_SYNC_REGISTRIES} registries, each {"id": peer ID, "addrs": [at most ${MAX_SYNC_REGISTRY_ADDRS} multiaddrs]}`)
  }

  const { refused } = message

  if (refused !== undefined && (!Array.isArray(refused) || refused.length > MAX_SYNC_RECORDS || !refused.every(isRefusal))) {
    throw badRequest(`"refused" lists at most ${MAX_SYNC_RECORDS} [position 0..${MAX_SYNC_RECORDS - 1}, reason code] pairs (a code: lowercase letters and "-", at most 64)`)
  }

  return {
    ...decodeRevocationFields(message),
    ranges: ranges.map(decodeRange),
    want: want as string[],
    records: records as number,
    ...(registries === undefined ? {} : { registries: registries as SyncRegistry[] }),
    // a code this version does not know counts as `internal` (docs/PROTOCOL.md §12)
    ...(refused === undefined ? {} : { refused: (refused as Array<[number, string]>).map(([position, code]) => [position, isRefusalCode(code) ? code : 'internal']) })
  }
}

/** The revocation fields of a message (docs/PROTOCOL.md §17.5), checked; an older peer leaves them out. */
function decodeRevocationFields (message: Record<string, unknown>): Pick<SyncMessage, 'revocationDigest' | 'revocationIds' | 'wantRevocations' | 'revocations'> {
  const { revocationDigest, revocationIds, wantRevocations, revocations } = message
  const fields: Pick<SyncMessage, 'revocationDigest' | 'revocationIds' | 'wantRevocations' | 'revocations'> = {}

  if (revocationDigest !== undefined) {
    if (!isPlainObject(revocationDigest) || typeof revocationDigest.digest !== 'string' || !/^[0-9a-f]{32}$/.test(revocationDigest.digest) || !Number.isSafeInteger(revocationDigest.n) || (revocationDigest.n as number) < 0) {
      throw badRequest('"revocationDigest" is {"digest": 32 hex digits, "n": count}')
    }

    fields.revocationDigest = { digest: revocationDigest.digest, n: revocationDigest.n as number }
  }

  for (const [field, ids] of [['revocationIds', revocationIds], ['wantRevocations', wantRevocations]] as const) {
    if (ids === undefined) {
      continue
    }

    if (!Array.isArray(ids) || ids.length > MAX_SYNC_REVOCATION_IDS || !ids.every(id => typeof id === 'string' && REVOCATION_ID.test(id))) {
      throw badRequest(`"${field}" lists at most ${MAX_SYNC_REVOCATION_IDS} revocation ids of 16 lowercase hex digits`)
    }

    fields[field] = ids as string[]
  }

  if (revocations !== undefined) {
    if (!Array.isArray(revocations) || revocations.length > MAX_SYNC_REVOCATIONS || !revocations.every(text => typeof text === 'string' && text.length <= MAX_REVOCATION_CHARS && /^[A-Za-z0-9_-]+$/.test(text)) ||
      revocations.reduce((sum: number, text: string) => sum + text.length, 0) > MAX_SYNC_REVOCATION_CHARS) {
      throw badRequest(`"revocations" holds at most ${MAX_SYNC_REVOCATIONS} base64url envelopes (without padding, each at most ${MAX_REVOCATION_CHARS} characters, ${MAX_SYNC_REVOCATION_CHARS} together)`)
    }

    fields.revocations = (revocations as string[]).map(text => uint8ArrayFromString(text, 'base64url'))
  }

  return fields
}

function decodeRange (range: unknown): SyncRange {
  if (!isPlainObject(range) || typeof range.lo !== 'string' || range.lo.length > MAX_SYNC_ID_LENGTH || !(range.hi === null || (typeof range.hi === 'string' && range.hi.length <= MAX_SYNC_ID_LENGTH))) {
    throw badRequest('A range is {"lo": id, "hi": id or null, ...}')
  }

  const { lo, hi } = range as { lo: string, hi: string | null }

  if (hi !== null && hi <= lo) {
    throw badRequest('A range\'s "hi" is above its "lo"')
  }

  if (typeof range.fp === 'string' && /^[0-9a-f]{32}$/.test(range.fp) && Number.isSafeInteger(range.n) && (range.n as number) >= 0) {
    return { lo, hi, fp: range.fp, n: range.n as number }
  }

  if (Array.isArray(range.items) && range.items.length <= SYNC_ITEMS_THRESHOLD && range.items.every(item => Array.isArray(item) && item.length === 2 && isId(item[0]) && Number.isSafeInteger(item[1]) && item[1] >= 0)) {
    return { lo, hi, items: range.items as Array<[string, number]> }
  }

  throw badRequest(`A range holds a fingerprint {"fp": 32 hex digits, "n": count} or at most ${SYNC_ITEMS_THRESHOLD} items [[id, seq], ...]`)
}

function isId (id: unknown): id is string {
  return typeof id === 'string' && id.length <= MAX_SYNC_ID_LENGTH && id.indexOf('/') > 0
}

function isRefusal (refusal: unknown): boolean {
  return Array.isArray(refusal) && refusal.length === 2 && Number.isSafeInteger(refusal[0]) && refusal[0] >= 0 && refusal[0] < MAX_SYNC_RECORDS && typeof refusal[1] === 'string' && /^[a-z][a-z-]{0,63}$/.test(refusal[1])
}

function isRegistry (registry: unknown): registry is SyncRegistry {
  return isPlainObject(registry) && typeof registry.id === 'string' && registry.id.length <= 128 &&
    Array.isArray(registry.addrs) && registry.addrs.length <= MAX_SYNC_REGISTRY_ADDRS && registry.addrs.every(addr => typeof addr === 'string' && addr.length <= 256)
}

function badRequest (message: string, cause?: unknown): InvalidRecordError {
  return new InvalidRecordError(message, { code: 'bad-request', cause })
}

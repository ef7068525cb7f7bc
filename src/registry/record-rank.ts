import { InvalidRecordError } from '../errors.js'
import type { IndexedRecord } from './indexed-record.js'

/**
 * Where a record stands in a lookup answer. Lower tiers come first:
 *
 * - 0: its signer is connected to the registry now and put it itself;
 * - 1: its signer is connected now (the record was relayed, or read from disk);
 * - 2: every other record.
 *
 * Within a tier, the latest `expiresAt` comes first, then the highest `seq`,
 * then the peer ID in ascending order, so the order is total. Insertion
 * order plays no part: records put by throwaway keys — whose signers never
 * connect — cannot push an instance that is connected out of the first page.
 */
export interface Rank {
  tier: 0 | 1 | 2
  expiresAt: number
  seq: number
  peerId: string
}

/** A record with its rank. */
export interface RankedRecord {
  record: IndexedRecord
  rank: Rank
}

/** Ranks `records`, best first; `connected` holds the peer IDs connected to the registry now. */
export function rankRecords (records: IndexedRecord[], connected: Set<string>): RankedRecord[] {
  return records
    .map(record => {
      const online = connected.has(record.peerId)
      const tier = online && record.origin === 'direct' ? 0 : online ? 1 : 2
      return { record, rank: { tier, expiresAt: record.expiresAt, seq: record.seq, peerId: record.peerId } satisfies Rank }
    })
    .sort((a, b) => compareRanks(a.rank, b.rank))
}

/** Negative if `a` comes before `b`. */
export function compareRanks (a: Rank, b: Rank): number {
  return a.tier - b.tier ||
    b.expiresAt - a.expiresAt ||
    b.seq - a.seq ||
    (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0)
}

const CURSOR = /^([012])\.(\d{1,16})\.(\d{1,16})\.([1-9A-HJ-NP-Za-km-z]{1,128})$/

/**
 * A lookup cursor: the rank of the last record of a page, as
 * `<tier>.<expiresAt>.<seq>.<peerId>`. Askers treat it as opaque; the next
 * page holds the records ranked after it at the time it is asked for.
 */
export function encodeCursor (rank: Rank): string {
  return `${rank.tier}.${rank.expiresAt}.${rank.seq}.${rank.peerId}`
}

/** Reads a cursor made by {@link encodeCursor}; throws InvalidRecordError on anything else. */
export function decodeCursor (cursor: string): Rank {
  const match = CURSOR.exec(cursor)

  if (match === null || !Number.isSafeInteger(Number(match[2])) || !Number.isSafeInteger(Number(match[3]))) {
    throw new InvalidRecordError('Lookup cursor is not one this registry made', { code: 'bad-cursor' })
  }

  return { tier: Number(match[1]) as Rank['tier'], expiresAt: Number(match[2]), seq: Number(match[3]), peerId: match[4] }
}

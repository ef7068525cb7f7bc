import { sha256 } from 'multiformats/hashes/sha2'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import type { IndexedRecord } from '../registry/indexed-record.js'

/** Bytes of an item hash and of a range fingerprint. */
export const FINGERPRINT_BYTES = 16

/** One record as sync compares it: its id (`<service name>/<peer ID>`), its `seq` and the hash of both. */
export interface SyncItem {
  id: string
  seq: number
  hash: Uint8Array
}

/** The id sync knows a record by: `<service name>/<peer ID>` (names hold no `/`). */
export function itemId (record: Pick<IndexedRecord, 'name' | 'peerId'>): string {
  return `${record.name}/${record.peerId}`
}

/** Splits an item id into its service name and peer ID. */
export function parseItemId (id: string): { name: string, peerId: string } {
  const slash = id.indexOf('/')
  return { name: id.slice(0, slash), peerId: id.slice(slash + 1) }
}

/** The first 16 bytes of SHA-256 of `<id> <seq>` (UTF-8, seq in decimal). */
export async function itemHash (id: string, seq: number): Promise<Uint8Array> {
  const digest = await sha256.digest(uint8ArrayFromString(`${id} ${seq}`))
  return digest.digest.subarray(0, FINGERPRINT_BYTES)
}

/**
 * The unexpired records of a registry, sorted by id (UTF-16 code units, as
 * JavaScript compares strings; ids are ASCII), with range fingerprints: the
 * XOR of the item hashes in the range, in hex. Built once per sync session;
 * the hashes are cached between snapshots by id and `seq`.
 */
export class SyncSnapshot {
  readonly items: SyncItem[]

  constructor (items: SyncItem[]) {
    this.items = items
  }

  /** The index of the first item with an id at or above `id`. */
  private bound (id: string): number {
    let lo = 0
    let hi = this.items.length

    while (lo < hi) {
      const mid = (lo + hi) >>> 1

      if (this.items[mid].id < id) {
        lo = mid + 1
      } else {
        hi = mid
      }
    }

    return lo
  }

  /** The items in `[lo, hi)` (`hi` null: to the end). */
  range (lo: string, hi: string | null): SyncItem[] {
    return this.items.slice(this.bound(lo), hi === null ? this.items.length : this.bound(hi))
  }

  /** The item with this id, if held. */
  get (id: string): SyncItem | undefined {
    const item = this.items[this.bound(id)]
    return item?.id === id ? item : undefined
  }
}

/** The fingerprint of some items: the XOR of their hashes, 32 hex digits. */
export function fingerprint (items: SyncItem[]): string {
  const fp = new Uint8Array(FINGERPRINT_BYTES)

  for (const { hash } of items) {
    for (let i = 0; i < FINGERPRINT_BYTES; i++) {
      fp[i] ^= hash[i]
    }
  }

  return uint8ArrayToString(fp, 'base16')
}

/**
 * Splits `[lo, hi)`, holding `items` (sorted), into at most `parts`
 * consecutive ranges that cover it exactly, each with about as many items.
 */
export function splitRange (lo: string, hi: string | null, items: SyncItem[], parts: number): Array<{ lo: string, hi: string | null, items: SyncItem[] }> {
  const size = Math.ceil(items.length / parts)
  const ranges: Array<{ lo: string, hi: string | null, items: SyncItem[] }> = []

  for (let start = 0; start < items.length; start += size) {
    const end = Math.min(start + size, items.length)
    ranges.push({ lo: start === 0 ? lo : items[start].id, hi: end === items.length ? hi : items[end].id, items: items.slice(start, end) })
  }

  return ranges.length === 0 ? [{ lo, hi, items: [] }] : ranges
}

/** Builds snapshots of a registry's records, keeping the item hashes of the last one. */
export class SyncSet {
  private readonly source: () => Iterable<IndexedRecord>
  private cache = new Map<string, SyncItem>()

  constructor (source: () => Iterable<IndexedRecord>) {
    this.source = source
  }

  /** The unexpired records now, sorted, hashed. */
  async snapshot (now = Date.now()): Promise<SyncSnapshot> {
    const next = new Map<string, SyncItem>()
    const items: SyncItem[] = []

    for (const record of this.source()) {
      if (record.expiresAt <= now) {
        continue
      }

      const id = itemId(record)
      const cached = this.cache.get(id)
      const item = cached?.seq === record.seq ? cached : { id, seq: record.seq, hash: await itemHash(id, record.seq) }
      next.set(id, item)
      items.push(item)
    }

    this.cache = next
    items.sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    return new SyncSnapshot(items)
  }
}

import { MAX_SYNC_RANGES, MAX_SYNC_RECORDS, MAX_SYNC_WANT, SYNC_ITEMS_THRESHOLD, SYNC_SPLIT } from '../protocol/sync-messages.js'
import { fingerprint, splitRange } from './sync-set.js'
import type { SyncSnapshot } from './sync-set.js'
import type { SyncMessage, SyncRange } from '../protocol/sync-messages.js'

/** A part of a split range holding at most this many items is sent as its items; a larger one as its fingerprint. */
export const SPLIT_ITEMS = 2

/** Most envelope bytes sent after one message (a few records over it are allowed when one alone is larger). */
export const MAX_SYNC_RECORD_BYTES = 1024 * 1024

/** What one side of a sync session asks its registry for. */
export interface ReconcilerInit {
  snapshot: SyncSnapshot
  /** The stored envelope of an item, if still held. */
  envelope(id: string): Promise<Uint8Array | undefined>
}

/**
 * One side of a sync session (docs/PROTOCOL.md §17.3): it answers the other
 * side's ranges from its snapshot — equal fingerprints end a range, a small
 * range is answered with its items, a larger one is split — compares item
 * lists, and queues the ids to ask for and the records to send, draining
 * the queues a message at a time within the limits of §17.2. Both sides run
 * the same rules; only who speaks first differs.
 */
export class Reconciler {
  private readonly init: ReconcilerInit
  private readonly ranges: SyncRange[] = []
  private readonly want = new Set<string>()
  private readonly send = new Set<string>()
  /** Ids asked for already (asked once per session). */
  private readonly asked = new Set<string>()

  constructor (init: ReconcilerInit) {
    this.init = init
  }

  /** The opening range: everything, with its fingerprint. */
  open (): void {
    const items = this.init.snapshot.items
    this.ranges.push({ lo: '', hi: null, fp: fingerprint(items), n: items.length })
  }

  /** Whether nothing is left to send. */
  get idle (): boolean {
    return this.ranges.length === 0 && this.want.size === 0 && this.send.size === 0
  }

  /** Takes in the other side's message (its records are handled by the caller). */
  receive (message: SyncMessage): void {
    for (const range of message.ranges) {
      if ('fp' in range) {
        this.compareFingerprint(range)
      } else {
        this.compareItems(range)
      }
    }

    for (const id of message.want) {
      if (this.init.snapshot.get(id) !== undefined) {
        this.send.add(id)
      }
    }
  }

  /** The next message to send and the envelopes that follow it. */
  async next (): Promise<{ message: SyncMessage, envelopes: Uint8Array[] }> {
    const ranges = this.ranges.splice(0, MAX_SYNC_RANGES)
    const want = take(this.want, MAX_SYNC_WANT)
    want.forEach(id => this.asked.add(id))
    const envelopes: Uint8Array[] = []
    let bytes = 0

    while (this.send.size > 0 && envelopes.length < MAX_SYNC_RECORDS && bytes < MAX_SYNC_RECORD_BYTES) {
      const [id] = take(this.send, 1)
      const envelope = await this.init.envelope(id)

      if (envelope !== undefined) {
        envelopes.push(envelope)
        bytes += envelope.byteLength
      }
    }

    return { message: { ranges, want, records: envelopes.length }, envelopes }
  }

  private compareFingerprint (range: Extract<SyncRange, { fp: string }>): void {
    const own = this.init.snapshot.range(range.lo, range.hi)

    if (own.length === range.n && fingerprint(own) === range.fp) {
      return
    }

    if (own.length <= SYNC_ITEMS_THRESHOLD) {
      this.ranges.push({ lo: range.lo, hi: range.hi, items: own.map(item => [item.id, item.seq]) })
      return
    }

    for (const part of splitRange(range.lo, range.hi, own, SYNC_SPLIT)) {
      this.ranges.push(part.items.length <= SPLIT_ITEMS
        ? { lo: part.lo, hi: part.hi, items: part.items.map(item => [item.id, item.seq]) }
        : { lo: part.lo, hi: part.hi, fp: fingerprint(part.items), n: part.items.length })
    }
  }

  private compareItems (range: Extract<SyncRange, { items: unknown }>): void {
    const theirs = new Map(range.items.filter(([id]) => id >= range.lo && (range.hi === null || id < range.hi)))

    for (const item of this.init.snapshot.range(range.lo, range.hi)) {
      const seq = theirs.get(item.id)

      if (seq === undefined || seq < item.seq) {
        this.send.add(item.id)
      }
    }

    for (const [id, seq] of theirs) {
      const own = this.init.snapshot.get(id)

      if ((own === undefined || own.seq < seq) && !this.asked.has(id)) {
        this.want.add(id)
      }
    }
  }
}

/** Takes (and removes) up to `count` ids from `set`, in insertion order. */
export function take (set: Set<string>, count: number): string[] {
  const taken: string[] = []

  for (const id of set) {
    if (taken.length === count) {
      break
    }

    taken.push(id)
    set.delete(id)
  }

  return taken
}

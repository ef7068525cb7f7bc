import { MAX_PUSH_BACKLOG, MAX_SUBSCRIPTIONS, MAX_SUBSCRIPTIONS_PER_STREAM } from '../constants.js'
import { encodeLookupHeader } from '../protocol/lookup-messages.js'
import type { IndexChange, RecordIndex } from './record-index.js'
import type { NetgetMetrics } from '../metrics/index.js'
import type { LookupPush } from '../protocol/lookup-messages.js'
import type { Logger } from '@libp2p/interface'

/** What a {@link SubscriptionHub} needs. */
export interface SubscriptionHubInit {
  index: Pick<RecordIndex, 'record' | 'envelopes' | 'namesOf' | 'onChange'>
  /** The latest signed attestation of a publisher, if the registry measures it. */
  attestation?(peerId: string): Uint8Array | Promise<Uint8Array | undefined> | undefined
  log: Logger
  /** Counts subscriptions as they come and go. @default none */
  metrics?: Pick<NetgetMetrics, 'watchSubscribers'>
  /** Most subscriptions over every stream. @default MAX_SUBSCRIPTIONS (10,000) */
  maxSubscriptions?: number
}

/** Where a subscriber's pushes go: one lookup stream. */
export interface PushTarget {
  /** Writes one push's frames, length-prefixed as one write, serialised with the stream's answers. */
  write(frames: Uint8Array[]): Promise<void>
}

interface Backlog {
  /** Publishers whose record changed or went. */
  records: Set<string>
  /** Publishers whose attestation changed. */
  attestations: Set<string>
}

/**
 * The subscriptions of one lookup stream: which services it watches and the
 * changes not pushed yet, coalesced per publisher (a record replaced twice
 * before a push is pushed once, as it stands). Pushes are written one at a
 * time; while one is being written, changes gather in the backlog. If the
 * backlog passes {@link MAX_PUSH_BACKLOG} publishers the subscriber reads too
 * slowly: the changes are dropped and it is told to resync.
 */
export class StreamSubscriptions {
  /** The registry's subscriptions this stream's belong to. */
  readonly hub: SubscriptionHub
  private readonly target: PushTarget
  readonly names = new Set<string>()
  private readonly backlog = new Map<string, Backlog>()
  private readonly resync = new Set<string>()
  private backlogSize = 0
  private flushing = false
  private scheduled?: ReturnType<typeof setTimeout>
  closed = false

  constructor (hub: SubscriptionHub, target: PushTarget) {
    this.hub = hub
    this.target = target
  }

  /** Records a change to push; `kind` says whether the record or the attestation changed. */
  changed (name: string, peerId: string, kind: keyof Backlog): void {
    if (this.closed || !this.names.has(name) || this.resync.has(name)) {
      return
    }

    let pending = this.backlog.get(name)

    if (pending === undefined) {
      pending = { records: new Set(), attestations: new Set() }
      this.backlog.set(name, pending)
    }

    if (!pending[kind].has(peerId)) {
      pending[kind].add(peerId)
      this.backlogSize++
    }

    if (this.backlogSize > MAX_PUSH_BACKLOG) {
      for (const overflowing of this.backlog.keys()) {
        this.resync.add(overflowing)
      }

      this.backlog.clear()
      this.backlogSize = 0
    }

    this.schedule()
  }

  /** Stops pushing; the stream is gone. */
  close (): void {
    this.closed = true
    clearTimeout(this.scheduled)
    this.backlog.clear()

    for (const name of this.names) {
      this.hub.remove(name, this)
    }

    this.names.clear()
  }

  private schedule (): void {
    if (this.scheduled === undefined && !this.flushing) {
      // one push per service per turn of the event loop, whatever came in it
      this.scheduled = setTimeout(() => {
        this.scheduled = undefined
        void this.flush()
      }, 0)
    }
  }

  private async flush (): Promise<void> {
    this.flushing = true

    try {
      while ((this.backlog.size > 0 || this.resync.size > 0) && !this.closed) {
        for (const name of [...this.resync]) {
          this.resync.delete(name)
          await this.target.write([encodeLookupHeader({ push: name, count: 0, attestations: 0, removed: [], resync: true })])
        }

        const [name, pending] = this.backlog.entries().next().value as [string, Backlog]
        this.backlog.delete(name)
        this.backlogSize -= pending.records.size + pending.attestations.size
        await this.target.write(await this.hub.pushFrames(name, pending))
      }
    } catch (err) {
      this.hub.log('a push failed; the stream ends its subscriptions - %e', err)
      this.close()
    } finally {
      this.flushing = false
    }
  }
}

/**
 * A registry's subscriptions (docs/PROTOCOL.md §16): it hears every change
 * of the record index and every change of a publisher's liveness, and hands
 * each to the streams subscribed to the service it concerns.
 */
export class SubscriptionHub {
  private readonly init: SubscriptionHubInit
  private readonly byName = new Map<string, Set<StreamSubscriptions>>()
  private count = 0
  private stopListening?: () => void
  readonly log: Logger

  constructor (init: SubscriptionHubInit) {
    this.init = init
    this.log = init.log
  }

  start (): void {
    this.stopListening ??= this.init.index.onChange(change => { this.recordChanged(change) })
  }

  stop (): void {
    this.stopListening?.()
    this.stopListening = undefined

    for (const streams of [...this.byName.values()]) {
      for (const stream of streams) {
        stream.close()
      }
    }
  }

  /** Subscriptions held now, over every stream. */
  get size (): number {
    return this.count
  }

  /** The subscriptions of a new stream. */
  open (target: PushTarget): StreamSubscriptions {
    return new StreamSubscriptions(this, target)
  }

  /** Subscribes a stream to a service; false (and nothing changes) if a bound is reached. */
  add (name: string, stream: StreamSubscriptions): boolean {
    if (stream.names.has(name)) {
      return true
    }

    if (stream.names.size >= MAX_SUBSCRIPTIONS_PER_STREAM || this.count >= (this.init.maxSubscriptions ?? MAX_SUBSCRIPTIONS)) {
      return false
    }

    let streams = this.byName.get(name)

    if (streams === undefined) {
      streams = new Set()
      this.byName.set(name, streams)
    }

    streams.add(stream)
    stream.names.add(name)
    this.count++
    this.init.metrics?.watchSubscribers(1)
    return true
  }

  /** Ends one subscription of a stream. */
  remove (name: string, stream: StreamSubscriptions): void {
    const streams = this.byName.get(name)

    if (streams?.delete(stream) === true) {
      this.count--
      this.init.metrics?.watchSubscribers(-1)
      stream.names.delete(name)

      if (streams.size === 0) {
        this.byName.delete(name)
      }
    }
  }

  /** A publisher's liveness changed: every service it has a record under is told. */
  attestationChanged (peerId: string): void {
    for (const name of this.init.index.namesOf(peerId)) {
      for (const stream of this.byName.get(name) ?? []) {
        stream.changed(name, peerId, 'attestations')
      }
    }
  }

  /** The frames of one push: its header, the changed records as stored now, the changed attestations. */
  async pushFrames (name: string, pending: Backlog): Promise<Uint8Array[]> {
    const { index } = this.init
    const records = []
    const removed: string[] = []

    for (const peerId of pending.records) {
      const record = index.record(name, peerId)

      if (record === undefined) {
        removed.push(peerId)
      } else {
        records.push(record)
      }
    }

    const envelopes = await index.envelopes(records)
    const attestations: Uint8Array[] = []

    for (const peerId of new Set([...pending.attestations, ...records.filter(record => !record.withdrawn).map(record => record.peerId)])) {
      const attestation = await this.init.attestation?.(peerId)

      if (attestation !== undefined) {
        attestations.push(attestation)
      }
    }

    const push: LookupPush = { push: name, count: envelopes.length, attestations: attestations.length, removed, resync: false }
    return [encodeLookupHeader(push), ...envelopes, ...attestations]
  }

  private recordChanged (change: IndexChange): void {
    for (const stream of this.byName.get(change.name) ?? []) {
      stream.changed(change.name, change.peerId, 'records')
    }
  }
}

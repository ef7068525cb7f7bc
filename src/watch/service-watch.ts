import { TypedEventEmitter } from 'main-event'
import { DEFAULT_REQUEST_TIMEOUT, DEFAULT_WATCH_POLL_INTERVAL, MAX_WATCH_QUEUE } from '../constants.js'
import { WatchOverflowError } from '../errors.js'
import { WatchView } from './watch-view.js'
import type { SourceState, WatchEvent } from './watch-view.js'
import type { LookupClient, PushHandler } from '../discovery/lookup-client.js'
import type { VerifiedAttestation } from '../liveness/attestation.js'
import type { VerifiedRecord } from '../records/verify.js'
import type { DiscoverOptions, ServiceInstance } from '../types.js'
import type { Logger, PeerId } from '@libp2p/interface'

/** Options of `Netget.watch()`. */
export interface WatchOptions {
  /** Keep only instances whose metadata matches (as {@link DiscoverOptions.filter}). */
  filter?: DiscoverOptions['filter']
  /** Ends the watch when it aborts. */
  signal?: AbortSignal
  /** How often a registry that cannot push is asked again, in ms. @default 5000 */
  pollInterval?: number
}

/** The events a {@link ServiceWatch} emits; `change` carries every one, the others one type each. */
export interface ServiceWatchEvents {
  change: CustomEvent<WatchEvent>
  added: CustomEvent<WatchEvent>
  updated: CustomEvent<WatchEvent>
  removed: CustomEvent<WatchEvent>
  health: CustomEvent<WatchEvent>
}

/** What a {@link ServiceWatch} needs. */
export interface ServiceWatchInit {
  name: string
  lookups: Pick<LookupClient, 'subscribe' | 'lookup'>
  /** The registries connected now. */
  registries(): PeerId[]
  requestTimeout?: number
  log: Logger
  /** Called once when the watch closes. */
  onClose?(): void
}

interface Source {
  peerId: PeerId
  unsubscribe?: () => Promise<void>
  pollTimer?: ReturnType<typeof setTimeout>
  /** Bumped on each (re)subscription, so answers of an older one are dropped. */
  generation: number
}

/**
 * A live view of one service's instances (`Netget.watch()`): the current set
 * first (`added` events), then every change as registries push it. It
 * subscribes on the warm lookup stream of each connected registry; a
 * registry that cannot push is asked again every `pollInterval`. When a
 * registry reconnects, the watch subscribes again and reports only what
 * changed meanwhile (see {@link WatchView}). Iterate it (`for await`), listen
 * to its events, or read {@link instances}; {@link close} (or the signal)
 * ends it.
 */
export class ServiceWatch extends TypedEventEmitter<ServiceWatchEvents> implements AsyncIterable<WatchEvent> {
  /** The service watched. */
  readonly name: string
  private readonly init: ServiceWatchInit
  private readonly pollInterval: number
  private readonly view: WatchView
  private readonly sources = new Map<string, Source>()
  private readonly queue: WatchEvent[] = []
  private readonly readers: Array<(result: IteratorResult<WatchEvent>) => void> = []
  private overflowed = false
  private failure?: Error
  private expiryTimer?: ReturnType<typeof setTimeout>
  private readonly signal?: AbortSignal
  private readonly onAbort = (): void => { void this.close() }
  private resolveReady!: () => void
  /** Resolves once a first registry's answer is in (the current set has been reported). */
  readonly ready: Promise<void>
  /** True once closed. */
  closed = false

  constructor (init: ServiceWatchInit, options: WatchOptions = {}) {
    super()
    this.init = init
    this.name = init.name
    this.pollInterval = options.pollInterval ?? DEFAULT_WATCH_POLL_INTERVAL
    this.view = new WatchView(options.filter)
    this.ready = new Promise(resolve => { this.resolveReady = resolve })
    this.signal = options.signal
    this.signal?.addEventListener('abort', this.onAbort, { once: true })

    for (const registry of init.registries()) {
      this.registryConnected(registry)
    }
  }

  /** The instances as reported so far. */
  instances (): ServiceInstance[] {
    return this.view.instances()
  }

  /** A registry connected (or reconnected): subscribe there and resync with what it holds. */
  registryConnected (registry: PeerId): void {
    if (this.closed) {
      return
    }

    const key = registry.toString()
    const source = this.sources.get(key) ?? { peerId: registry, generation: 0 }
    this.sources.set(key, source)
    clearTimeout(source.pollTimer)
    void this.subscribe(source)
  }

  /** A registry disconnected: what it said stays until it reconnects or the records expire. */
  registryDisconnected (registry: PeerId): void {
    const source = this.sources.get(registry.toString())

    if (source !== undefined) {
      source.generation++
      clearTimeout(source.pollTimer)
      source.unsubscribe = undefined
    }
  }

  /** Ends the watch with an error (the node could not start): iterators throw it once the queue is read. */
  fail (err: Error): void {
    if (!this.closed) {
      this.failure = err

      for (const reader of this.readers.splice(0)) {
        reader({ done: true, value: undefined })
      }

      void this.close()
    }
  }

  /** Ends the watch: unsubscribes, stops timers, ends iterators. */
  async close (): Promise<void> {
    if (this.closed) {
      return
    }

    this.closed = true
    this.signal?.removeEventListener('abort', this.onAbort)
    clearTimeout(this.expiryTimer)
    const unsubscribes: Array<Promise<void>> = []

    for (const source of this.sources.values()) {
      source.generation++
      clearTimeout(source.pollTimer)
      unsubscribes.push(source.unsubscribe?.().catch(() => {}) ?? Promise.resolve())
    }

    for (const reader of this.readers.splice(0)) {
      reader({ done: true, value: undefined })
    }

    this.init.onClose?.()
    await Promise.all(unsubscribes)
  }

  [Symbol.asyncIterator] (): AsyncIterator<WatchEvent> {
    return {
      next: async () => {
        if (this.failure !== undefined && this.queue.length === 0) {
          throw this.failure
        }

        if (this.overflowed) {
          throw new WatchOverflowError(`The watch of "${this.name}" fell more than ${MAX_WATCH_QUEUE} changes behind; read its changes faster, or watch again`)
        }

        const queued = this.queue.shift()

        if (queued !== undefined) {
          return { done: false, value: queued }
        }

        if (this.closed) {
          return { done: true, value: undefined }
        }

        return new Promise(resolve => { this.readers.push(resolve) })
      },
      return: async () => {
        await this.close()
        return { done: true, value: undefined }
      }
    }
  }

  private async subscribe (source: Source): Promise<void> {
    const generation = ++source.generation
    const state = this.view.source(source.peerId.toString(), true)
    const seen = new Set<string>()
    const attested = new Set<string>()
    const handler: PushHandler = {
      onPush: push => {
        if (generation !== source.generation) {
          return
        }

        if (push.resync) {
          void this.poll(source, generation)
          return
        }

        const touched = new Set(push.removed)
        push.removed.forEach(peerId => { state.records.delete(peerId) })
        push.records.forEach(record => { this.keepRecord(state.records, record, touched) })
        push.attestations.forEach(attestation => { this.keepAttestation(state.attestations, attestation, touched, state); attested.add(attestation.peerId) })
        touched.forEach(peerId => seen.add(peerId))
        this.report(touched)
      },
      onClose: () => {
        if (generation === source.generation) {
          source.unsubscribe = undefined
        }
      }
    }

    try {
      const { subscribed, unsubscribe } = await this.init.lookups.subscribe(source.peerId, this.name, AbortSignal.timeout(this.timeout), {
        onRecord: record => { this.keepRecord(state.records, record, seen) },
        onAttestation: attestation => { this.keepAttestation(state.attestations, attestation, seen); attested.add(attestation.peerId) }
      }, handler, this.timeout)

      if (generation !== source.generation) {
        await unsubscribe()
        return
      }

      this.resynced(state, seen, attested)

      if (subscribed) {
        source.unsubscribe = unsubscribe
      } else {
        // this registry cannot push: ask it again on an interval
        state.pushed = false
        this.schedulePoll(source, generation)
      }
    } catch (err) {
      this.init.log('watching %s at registry %p failed; asking again in %d ms - %e', this.name, source.peerId, this.pollInterval, err)

      if (generation === source.generation) {
        source.pollTimer = setTimeout(() => { if (generation === source.generation) { void this.subscribe(source) } }, this.pollInterval)
      }
    }
  }

  private schedulePoll (source: Source, generation: number): void {
    if (!this.closed && generation === source.generation) {
      source.pollTimer = setTimeout(() => { void this.poll(source, generation).finally(() => { this.schedulePoll(source, generation) }) }, this.pollInterval)
    }
  }

  /** Asks a registry for the whole set and resyncs with it. */
  private async poll (source: Source, generation: number): Promise<void> {
    const state = this.view.source(source.peerId.toString(), source.unsubscribe !== undefined)
    const records = new Map<string, VerifiedRecord>()
    const attestations = new Map<string, VerifiedAttestation>()
    const seen = new Set<string>()
    const attested = new Set<string>()

    try {
      await this.init.lookups.lookup(source.peerId, this.name, AbortSignal.timeout(this.timeout), {
        onRecord: record => { this.keepRecord(records, record, seen) },
        onAttestation: attestation => { this.keepAttestation(attestations, attestation, seen); attested.add(attestation.peerId) }
      }, this.timeout, true)
    } catch (err) {
      this.init.log('asking registry %p for %s failed - %e', source.peerId, this.name, err)
      return
    }

    if (generation === source.generation && !this.closed) {
      records.forEach(record => { this.keepRecord(state.records, record, new Set()) })
      attestations.forEach(attestation => { state.attestations.set(attestation.peerId, attestation) })
      this.resynced(state, seen, attested)
    }
  }

  /**
   * After a full answer: the records and attestations the registry no
   * longer holds go (a restarted registry that has not seen a publisher
   * since does not vouch for it); every instance concerned is recomputed.
   */
  private resynced (state: SourceState, seen: Set<string>, attested: Set<string>): void {
    const touched = new Set(seen)

    for (const peerId of [...state.records.keys()]) {
      if (!seen.has(peerId)) {
        state.records.delete(peerId)
        touched.add(peerId)
      }
    }

    for (const peerId of state.attestations.keys()) {
      if (attested.has(peerId)) {
        state.unconfirmed.delete(peerId)
      } else {
        // not repeated: it holds for what is left of its own validity, no longer
        state.unconfirmed.add(peerId)
        touched.add(peerId)
      }
    }

    this.report(touched)
    this.resolveReady()
  }

  private keepRecord (records: Map<string, VerifiedRecord>, record: VerifiedRecord, touched: Set<string>): void {
    const known = records.get(record.peerId)
    touched.add(record.peerId)

    if (known === undefined || record.seq >= known.seq) {
      records.set(record.peerId, record)
    }
  }

  private keepAttestation (attestations: Map<string, VerifiedAttestation>, attestation: VerifiedAttestation, touched: Set<string>, state?: SourceState): void {
    const known = attestations.get(attestation.peerId)
    touched.add(attestation.peerId)
    state?.unconfirmed.delete(attestation.peerId)

    if (known === undefined || attestation.measuredAt >= known.measuredAt) {
      attestations.set(attestation.peerId, attestation)
    }
  }

  private report (peerIds: Iterable<string>): void {
    if (this.closed) {
      return
    }

    for (const event of this.view.update(peerIds)) {
      if (this.readers.length > 0) {
        this.readers.shift()?.({ done: false, value: event })
      } else if (this.queue.length < MAX_WATCH_QUEUE) {
        this.queue.push(event)
      } else {
        this.overflowed = true
      }

      this.safeDispatchEvent('change', { detail: event })
      this.safeDispatchEvent(event.type, { detail: event })
    }

    this.scheduleExpiry()
  }

  /** Reports instances whose records expire, when they do. */
  private scheduleExpiry (): void {
    clearTimeout(this.expiryTimer)
    const next = this.view.nextExpiry()

    if (next !== undefined && !this.closed) {
      this.expiryTimer = setTimeout(() => { this.report(this.view.peers()) }, Math.max(0, next - Date.now()) + 1)
    }
  }

  private get timeout (): number {
    return this.init.requestTimeout ?? DEFAULT_REQUEST_TIMEOUT
  }
}

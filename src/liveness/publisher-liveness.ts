import { setMaxListeners } from 'main-event'
import { ATTESTATION_RESIGN_AFTER, ATTESTATION_RTT_BAND, ATTESTATION_RTT_FLOOR, MAX_ATTESTATION_TTL, RTT_SMOOTHING } from '../constants.js'
import { healthWindow } from '../health/health-monitor.js'
import { isLocalRefusal } from '../health/local-refusal.js'
import { Slots } from '../health/slots.js'
import { WarmPings } from '../health/warm-ping.js'
import { sealAttestation } from './attestation.js'
import type { Attestation } from './attestation.js'
import type { NetgetLibp2p } from '../libp2p/create-node.js'
import type { NetgetMetrics } from '../metrics/index.js'
import type { Connection, Logger, PeerId, PrivateKey } from '@libp2p/interface'

/** The parts of libp2p a registry measures its publishers with. */
export type LivenessComponents = Pick<NetgetLibp2p, 'getConnections' | 'addEventListener' | 'removeEventListener'>

/** What a {@link PublisherLiveness} needs. */
export interface PublisherLivenessInit {
  libp2p: LivenessComponents
  privateKey: PrivateKey
  /** The network id attestations name. */
  network: string
  /** Time between two pings of a publisher, in ms (the node's `healthInterval`). */
  interval: number
  /** How long one ping may take, in ms (the node's `healthTimeout`). */
  timeout: number
  /** Failed pings in a row after which a connected publisher is `down` (the node's `healthFailureThreshold`). */
  failureThreshold: number
  /** Most pings in flight at once. @default 32 */
  maxConcurrentPings?: number
  log: Logger
  /** Whether a peer has a live record here (a peer that connects is measured only then). */
  isPublisher(peerId: string): boolean
  /** Counts each attestation signed. @default none */
  metrics?: Pick<NetgetMetrics, 'attestation'>
  /** Called when a publisher's status changes, with its new signed attestation. */
  onChange?(peerId: string, envelope: Uint8Array): void
}

/** One measurement of a publisher, as {@link PublisherLiveness.onMeasurement} reports it. */
export interface PublisherMeasurement {
  peerId: string
  status: Attestation['status']
  /** Smoothed round-trip time in ms; absent while `down`. */
  rttMs?: number
  /** Unix ms of the measurement. */
  measuredAt: number
}

interface Measured {
  status: Attestation['status']
  rttMs?: number
  measuredAt: number
  failures: number
  /** The latest signed attestation. */
  envelope?: Uint8Array
  /** What the latest signature started says (the one under way, else the one in `envelope`); undefined until the first, and after a signature failed. */
  signed?: Pick<Attestation, 'status' | 'rttMs' | 'measuredAt'>
  /** Bumped on every measurement, so a slow signature never overwrites a newer one. */
  version: number
  /** The signature under way, if any. */
  signing?: Promise<void>
  pinging: boolean
  /**
   * A status change not told to `onChange` yet: set with the change, cleared
   * when a signature of it (or of a later measurement) is told, so a newer
   * measurement signed before it cannot swallow the change.
   */
  untold?: boolean
}

/**
 * A registry's measure of the liveness of the publishers whose records it
 * holds and that connect to it: `alive` while the publisher is connected and answers libp2p pings
 * over that connection (one every `interval`, on one warm ping stream per
 * publisher: see {@link WarmPings}), `down` at once when its last
 * connection closes, or after `failureThreshold` failed pings in a row. A
 * measurement is signed as an {@link Attestation} valid for
 * {@link attestationTtl} only when it matters (see {@link mustResign}): a
 * status change, an RTT that moved out of its band, or a signed attestation
 * past half its validity; lookup answers carry the latest one (see
 * docs/PROTOCOL.md §15), whose `rttMs` and `measuredAt` may therefore be
 * older than the latest measurement ({@link measurement}). A failure caused by this registry itself (its own
 * stream or dial limits) changes nothing. Publishers are added and removed
 * by the record index ({@link track}, {@link untrack}), so what it holds is
 * bounded by the index's quotas.
 */
export class PublisherLiveness {
  private readonly init: PublisherLivenessInit
  private readonly publishers = new Map<string, Measured>()
  private readonly slots: Slots
  private readonly warm = new WarmPings()
  private readonly controller = new AbortController()
  private timer?: ReturnType<typeof setInterval>
  private readonly ttl: number
  private readonly listeners = new Set<(measurement: PublisherMeasurement) => void>()
  private readonly onOpen = (event: CustomEvent<Connection>): void => { this.connected(event.detail.remotePeer) }
  private readonly onClose = (event: CustomEvent<Connection>): void => { this.disconnected(event.detail.remotePeer) }

  constructor (init: PublisherLivenessInit) {
    this.init = init
    this.slots = new Slots(init.maxConcurrentPings ?? 32)
    this.ttl = attestationTtl(init.interval, init.timeout, init.failureThreshold)
    setMaxListeners(Infinity, this.controller.signal)
  }

  start (): void {
    if (this.timer !== undefined) {
      return
    }

    this.init.libp2p.addEventListener('connection:open', this.onOpen)
    this.init.libp2p.addEventListener('connection:close', this.onClose)
    this.timer = setInterval(() => { this.tick() }, this.init.interval)
  }

  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
    this.controller.abort()
    this.warm.stop()
    this.init.libp2p.removeEventListener('connection:open', this.onOpen)
    this.init.libp2p.removeEventListener('connection:close', this.onClose)
    this.publishers.clear()
    this.listeners.clear()
  }

  /**
   * Calls `listener` on every measurement of a tracked publisher (the first
   * one when it is tracked, each ping, each status change), until the returned
   * function is called or the monitor stops.
   */
  onMeasurement (listener: (measurement: PublisherMeasurement) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** Publishers measured now. */
  get size (): number {
    return this.publishers.size
  }

  /**
   * Starts measuring a publisher (idempotent) if it is connected to this
   * registry: alive at once. A publisher that never connected here (its
   * record came from elsewhere) gets no attestation from this registry.
   */
  track (peerId: string): void {
    if (this.publishers.has(peerId) || this.controller.signal.aborted) {
      return
    }

    const connection = this.connection(peerId)

    if (connection === undefined) {
      return
    }

    const measured: Measured = { status: 'alive', rttMs: connection.rtt, measuredAt: Date.now(), failures: 0, version: 0, pinging: false }
    this.publishers.set(peerId, measured)
    this.emit(peerId, measured)
    measured.signing = this.sign(peerId, true)
    // a first RTT now rather than at the next tick
    void this.ping(peerId, measured)
  }

  /** Stops measuring a publisher (its last record is gone). */
  untrack (peerId: string): void {
    this.publishers.delete(peerId)
    this.warm.drop(peerId)
  }

  /**
   * The latest signed attestation of a tracked publisher: at once if one is
   * ready, after the first signature if it is under way, undefined if the
   * publisher is not measured here.
   */
  attestation (peerId: string): Uint8Array | Promise<Uint8Array | undefined> | undefined {
    const measured = this.publishers.get(peerId)

    if (measured?.envelope === undefined && measured?.signing !== undefined) {
      return measured.signing.then(() => measured.envelope)
    }

    return measured?.envelope
  }

  /** The latest measurement of a tracked publisher. */
  measurement (peerId: string): Pick<Attestation, 'status' | 'rttMs' | 'measuredAt'> | undefined {
    const measured = this.publishers.get(peerId)
    return measured === undefined ? undefined : { status: measured.status, rttMs: measured.rttMs, measuredAt: measured.measuredAt }
  }

  private connection (peerId: string): Connection | undefined {
    return this.init.libp2p.getConnections().find(connection => connection.remotePeer.toString() === peerId && connection.status === 'open')
  }

  private connected (peer: PeerId): void {
    const peerId = peer.toString()
    const measured = this.publishers.get(peerId)

    if (measured === undefined) {
      if (this.init.isPublisher(peerId)) {
        this.track(peerId)
      }
    } else if (measured.status === 'down') {
      this.update(peerId, measured, { status: 'alive', failures: 0 })
    }
  }

  private disconnected (peer: PeerId): void {
    const peerId = peer.toString()
    const measured = this.publishers.get(peerId)

    if (measured !== undefined && measured.status === 'alive' && this.connection(peerId) === undefined) {
      this.update(peerId, measured, { status: 'down', rttMs: undefined })
    }
  }

  private update (peerId: string, measured: Measured, change: Partial<Pick<Measured, 'status' | 'rttMs' | 'failures'>>): void {
    const changed = change.status !== undefined && change.status !== measured.status
    Object.assign(measured, change, { measuredAt: Date.now() })
    this.emit(peerId, measured)

    if (changed || mustResign(measured.signed, measured, Date.now(), this.ttl)) {
      void this.sign(peerId, changed)
    }
  }

  private emit (peerId: string, measured: Measured): void {
    for (const listener of this.listeners) {
      try {
        listener({ peerId, status: measured.status, rttMs: measured.rttMs, measuredAt: measured.measuredAt })
      } catch (err) {
        this.init.log.error('a measurement listener failed - %e', err)
      }
    }
  }

  private async sign (peerId: string, notify: boolean): Promise<void> {
    const measured = this.publishers.get(peerId)

    if (measured === undefined) {
      return
    }

    const version = ++measured.version
    measured.untold = measured.untold === true || notify
    measured.signed = { status: measured.status, rttMs: measured.rttMs, measuredAt: measured.measuredAt }

    try {
      const envelope = await sealAttestation({
        network: this.init.network,
        peerId,
        status: measured.status,
        rttMs: measured.rttMs,
        measuredAt: measured.measuredAt,
        expiresAt: measured.measuredAt + this.ttl
      }, this.init.privateKey)

      this.init.metrics?.attestation()

      if (this.publishers.get(peerId) === measured && measured.version === version) {
        measured.envelope = envelope

        if (measured.untold === true) {
          measured.untold = false
          this.init.onChange?.(peerId, envelope)
        }
      }
    } catch (err) {
      this.init.log.error('signing the attestation of %s failed - %e', peerId, err)

      if (measured.version === version) {
        // the next measurement signs again
        measured.signed = undefined
      }
    }
  }

  /** Pings every connected publisher without a ping in flight; measures the others `down`. */
  private tick (): void {
    for (const [peerId, measured] of this.publishers) {
      if (measured.pinging) {
        continue
      }

      if (this.connection(peerId) === undefined) {
        this.update(peerId, measured, { status: 'down', rttMs: undefined })
      } else {
        void this.ping(peerId, measured)
      }
    }
  }

  private async ping (peerId: string, measured: Measured): Promise<void> {
    measured.pinging = true
    const outer = this.controller.signal
    let release: (() => void) | undefined

    try {
      release = await this.slots.acquire(outer)
      const connection = this.connection(peerId)

      if (connection === undefined) {
        this.update(peerId, measured, { status: 'down', rttMs: undefined })
        return
      }

      const signal = AbortSignal.any([outer, AbortSignal.timeout(this.init.timeout)])
      const sample = await this.warm.ping(connection, signal)
      const rttMs = measured.rttMs === undefined ? sample : measured.rttMs + RTT_SMOOTHING * (sample - measured.rttMs)
      this.update(peerId, measured, { status: 'alive', rttMs, failures: 0 })
    } catch (err) {
      if (outer.aborted || isLocalRefusal(err)) {
        return
      }

      const failures = measured.failures + 1
      this.init.log('publisher %s did not answer a ping (%d in a row) - %e', peerId, failures, err)
      this.update(peerId, measured, failures >= this.init.failureThreshold ? { status: 'down', rttMs: undefined, failures } : { failures })
    } finally {
      measured.pinging = false
      release?.()
    }
  }
}

/**
 * How long an attestation is valid: long enough to outlast the measurements
 * that may follow before a change (`healthWindow(...) + interval`), at most
 * {@link MAX_ATTESTATION_TTL}.
 */
export function attestationTtl (interval: number, timeout: number, failureThreshold: number): number {
  return Math.min(MAX_ATTESTATION_TTL, healthWindow(interval, timeout, failureThreshold) + interval)
}

/**
 * Whether a measurement of a publisher whose status has not changed must be
 * signed anew (docs/PROTOCOL.md §15.2): nothing signed yet (or the last
 * signature failed), a smoothed RTT that moved from the signed one by more
 * than {@link ATTESTATION_RTT_BAND} of it and more than
 * {@link ATTESTATION_RTT_FLOOR} ms (or appeared or vanished), or a signed
 * attestation older than {@link ATTESTATION_RESIGN_AFTER} of its validity
 * `ttl` (ms) at `now` (Unix ms).
 */
export function mustResign (signed: Pick<Attestation, 'status' | 'rttMs' | 'measuredAt'> | undefined, measured: Pick<Attestation, 'status' | 'rttMs'>, now: number, ttl: number): boolean {
  if (signed === undefined || signed.status !== measured.status || now - signed.measuredAt >= ttl * ATTESTATION_RESIGN_AFTER) {
    return true
  }

  if (signed.rttMs === undefined || measured.rttMs === undefined) {
    return signed.rttMs !== measured.rttMs
  }

  const moved = Math.abs(measured.rttMs - signed.rttMs)
  return moved > ATTESTATION_RTT_BAND * signed.rttMs && moved > ATTESTATION_RTT_FLOOR
}

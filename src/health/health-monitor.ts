import { anySignal } from 'any-signal'
import { setMaxListeners } from 'main-event'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { NetgetLibp2p, NetgetServices } from '../libp2p/create-node.js'
import type { Logger } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** An instance's health as this node last measured it. */
export interface Health {
  /** `unknown` until the first ping; `unhealthy` after failed pings (see README, "Health"). */
  status: 'unknown' | 'healthy' | 'unhealthy'
  /** Round-trip time of the last successful ping, in milliseconds (sub-millisecond precision). */
  rttMs?: number
  /** Unix ms of the last successful ping. */
  lastSeen?: number
  /** Failed pings in a row. */
  failures: number
}

/** The least a tracked instance must say about itself. */
export interface Trackable {
  peerId: string
  multiaddrs: string[]
  seq: number
  expiresAt: number
}

/** What a {@link HealthMonitor} needs. */
/** The parts of a libp2p node health checks use: dialling and libp2p ping. */
export type HealthComponents = Pick<NetgetLibp2p, 'dial' | 'getConnections'> & { services: Pick<NetgetServices, 'ping'> }

export interface HealthMonitorInit<T extends Trackable> {
  libp2p: HealthComponents
  interval: number
  timeout: number
  failureThreshold: number
  log: Logger
  /** Called when an instance's status changes. */
  onChange(instance: T, health: Health): void
}

interface Tracked<T> {
  instance: T
  health: Health
  checking?: Promise<Health>
}

/** Most pings in flight at once; instances past it are pinged at the next tick. */
const MAX_CONCURRENT_CHECKS = 64

/**
 * The longest an instance that stops answering can stay healthy:
 * `failureThreshold × (interval + timeout) + timeout` (a ping in flight when
 * it died may still succeed; each later failure takes at most one interval to
 * start and one timeout to fail).
 */
export function healthWindow (interval: number, timeout: number, failureThreshold: number): number {
  return failureThreshold * (interval + timeout) + timeout
}

/**
 * Measures instance health with libp2p ping. On every tick (each `interval`)
 * each tracked instance without a ping in flight is pinged, each ping
 * bounded by a timeout, so a slow instance never delays the others. An
 * instance that never answered is unhealthy after its first failure; one that
 * answered before after `failureThreshold` failures in a row (see
 * {@link healthWindow}). One success makes it healthy again. An instance is
 * forgotten when its record expires.
 */
export class HealthMonitor<T extends Trackable> {
  private readonly init: HealthMonitorInit<T>
  private readonly tracked = new Map<string, Tracked<T>>()
  private timer?: ReturnType<typeof setInterval>
  private inFlight = 0
  private readonly controller = new AbortController()
  private running = false

  constructor (init: HealthMonitorInit<T>) {
    this.init = init
  }

  start (): void {
    if (this.running) {
      return
    }

    setMaxListeners(Infinity, this.controller.signal)
    this.running = true
    this.timer = setInterval(() => { this.tick() }, this.init.interval)
  }

  stop (): void {
    this.running = false
    clearInterval(this.timer)
    this.timer = undefined
    this.controller.abort()
  }

  /**
   * Starts tracking an instance, or updates its addresses and expiry. Returns
   * true if the instance is new or republished (another `seq`).
   */
  track (instance: T): boolean {
    const existing = this.tracked.get(instance.peerId)

    if (existing === undefined) {
      this.tracked.set(instance.peerId, { instance, health: { status: 'unknown', failures: 0 } })
      return true
    }

    const republished = existing.instance.seq !== instance.seq
    existing.instance = instance
    return republished
  }

  /**
   * Tracks an instance and returns its health. With `ping` (the default) it
   * pings first, within `signal`, an instance whose health is unknown, or one
   * that is unhealthy but just republished its record (it may be back,
   * perhaps on new addresses).
   */
  async observe (instance: T, options: { signal?: AbortSignal, ping?: boolean } = {}): Promise<Health> {
    const republished = this.track(instance)
    const health = this.health(instance.peerId)

    if (options.ping !== false && options.signal?.aborted !== true && (health.status === 'unknown' || (health.status === 'unhealthy' && republished))) {
      return this.check(instance.peerId, options.signal)
    }

    return health
  }

  /** Stops tracking an instance. */
  untrack (peerId: string): void {
    this.tracked.delete(peerId)
  }

  /** What is known of an instance's health (`unknown` if it is not tracked). */
  health (peerId: string): Health {
    return { ...(this.tracked.get(peerId)?.health ?? { status: 'unknown', failures: 0 }) }
  }

  /** How many instances are tracked. */
  get size (): number {
    return this.tracked.size
  }

  /** Pings a tracked instance now (joining a ping already under way) and returns its health. */
  async check (peerId: string, signal?: AbortSignal): Promise<Health> {
    const entry = this.tracked.get(peerId)

    if (entry === undefined) {
      return this.health(peerId)
    }

    if (entry.checking === undefined) {
      this.inFlight++
      entry.checking = this.ping(entry, signal).finally(() => {
        this.inFlight--
        entry.checking = undefined
      })
    }

    return entry.checking
  }

  /** Pings every tracked instance that has no ping in flight, least recently pinged first. */
  private tick (): void {
    const now = Date.now()
    const due: string[] = []

    for (const [peerId, entry] of this.tracked) {
      if (entry.instance.expiresAt <= now) {
        this.tracked.delete(peerId)
      } else if (entry.checking === undefined) {
        due.push(peerId)
      }
    }

    for (const peerId of due.slice(0, Math.max(0, MAX_CONCURRENT_CHECKS - this.inFlight))) {
      // move to the back, so instances left over by the cap go first next time
      const entry = this.tracked.get(peerId) as Tracked<T>
      this.tracked.delete(peerId)
      this.tracked.set(peerId, entry)
      this.check(peerId).catch(err => { this.init.log.error('health check of %s failed - %e', peerId, err) })
    }
  }

  private async ping (entry: Tracked<T>, outer?: AbortSignal): Promise<Health> {
    const { libp2p, timeout, failureThreshold } = this.init
    const signal = anySignal([AbortSignal.timeout(timeout), this.controller.signal, outer])
    setMaxListeners(Infinity, signal)
    const before = entry.health.status

    try {
      const peerId = peerIdFromString(entry.instance.peerId)

      if (libp2p.getConnections(peerId).length === 0) {
        await libp2p.dial(entry.instance.multiaddrs.map(address => withPeerId(address, entry.instance.peerId)), { signal })
      }

      const started = performance.now()
      await libp2p.services.ping.ping(peerId, { signal })
      entry.health = { status: 'healthy', rttMs: performance.now() - started, lastSeen: Date.now(), failures: 0 }
    } catch (err) {
      if (outer?.aborted === true || this.controller.signal.aborted) {
        // the caller gave up, or the monitor stopped: nothing was learned about the instance
        this.init.log('ping of %s abandoned - %e', entry.instance.peerId, err)
        return { ...entry.health }
      }

      const failures = entry.health.failures + 1
      const status = before === 'healthy' && failures < failureThreshold ? 'healthy' : 'unhealthy'
      entry.health = { ...entry.health, status, failures }
      this.init.log('ping of %s failed (%d in a row) - %e', entry.instance.peerId, failures, err)
    } finally {
      signal.clear()
    }

    if (entry.health.status !== before && this.tracked.get(entry.instance.peerId) === entry && this.running) {
      this.init.onChange(entry.instance, { ...entry.health })
    }

    return { ...entry.health }
  }
}

/**
 * The address with `/p2p/<peerId>` appended if it has none, so that the dial
 * only succeeds if the instance at that address holds the record's key.
 */
function withPeerId (address: string, peerId: string): Multiaddr {
  const ma = multiaddr(address)
  return ma.getComponents().some(component => component.name === 'p2p') ? ma : ma.encapsulate(`/p2p/${peerId}`)
}

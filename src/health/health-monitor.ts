import { anySignal } from 'any-signal'
import { setMaxListeners } from 'main-event'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { NetgetLibp2p } from '../network/create-node.js'
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
export interface HealthMonitorInit<T extends Trackable> {
  libp2p: NetgetLibp2p
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

/** Pings at once at most this many instances per round. */
const CONCURRENT_CHECKS = 16

/**
 * Measures instance health with libp2p ping. Every tracked instance is pinged
 * once per interval, each ping bounded by a timeout. An instance that never
 * answered is unhealthy after its first failure; one that answered before
 * after `failureThreshold` failures in a row. One success makes it healthy
 * again. An instance is forgotten when its record expires.
 */
export class HealthMonitor<T extends Trackable> {
  private readonly init: HealthMonitorInit<T>
  private readonly tracked = new Map<string, Tracked<T>>()
  private timer?: ReturnType<typeof setTimeout>
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
    this.schedule()
  }

  stop (): void {
    this.running = false
    clearTimeout(this.timer)
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

    entry.checking ??= this.ping(entry, signal).finally(() => { entry.checking = undefined })
    return entry.checking
  }

  private schedule (): void {
    if (!this.running) {
      return
    }

    this.timer = setTimeout(() => {
      this.timer = undefined
      this.round()
        .catch(err => { this.init.log.error('health round failed - %e', err) })
        .finally(() => { this.schedule() })
    }, this.init.interval)
  }

  private async round (): Promise<void> {
    const now = Date.now()
    const due: string[] = []

    for (const [peerId, entry] of this.tracked) {
      if (entry.instance.expiresAt <= now) {
        this.tracked.delete(peerId)
      } else {
        due.push(peerId)
      }
    }

    for (let i = 0; i < due.length && this.running; i += CONCURRENT_CHECKS) {
      await Promise.all(due.slice(i, i + CONCURRENT_CHECKS).map(async peerId => this.check(peerId)))
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

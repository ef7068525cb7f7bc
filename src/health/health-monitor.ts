import { anySignal } from 'any-signal'
import { setMaxListeners } from 'main-event'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { MAX_CONCURRENT_HEALTH_CHECKS } from '../constants.js'
import { AddressClaimedError } from '../errors.js'
import { transportAddress, withPeerId } from './addresses.js'
import { isLocalRefusal } from './local-refusal.js'
import { Slots } from './slots.js'
import { WarmPings } from './warm-ping.js'
import type { NetgetLibp2p, NetgetServices } from '../libp2p/create-node.js'
import type { Logger, PeerId } from '@libp2p/interface'
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

/** The parts of a libp2p node health checks use: dialling and libp2p ping. */
export type HealthComponents = Pick<NetgetLibp2p, 'dial' | 'getConnections'> & { services: Pick<NetgetServices, 'ping'> }

/** What a {@link HealthMonitor} needs. */
export interface HealthMonitorInit<T extends Trackable> {
  libp2p: HealthComponents
  interval: number
  timeout: number
  failureThreshold: number
  /** Most pings in flight at once, discoveries and ticks together; the rest wait for a slot. @default MAX_CONCURRENT_HEALTH_CHECKS (64) */
  maxConcurrentChecks?: number
  log: Logger
  /** Called when an instance's status changes. */
  onChange(instance: T, health: Health): void
}

interface Tracked<T> {
  instance: T
  health: Health
  checking?: Promise<Health>
  /** The `seq` of the record `checking` pings. */
  checkingSeq?: number
  /**
   * Failed `failureThreshold` pings without ever answering: not pinged again
   * (by ticks or by discoveries) until its record is republished with another `seq`.
   */
  writtenOff?: boolean
}

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
 * bounded by a timeout, so a slow instance never delays the others. Pings go
 * on one warm stream per instance while its connection stays open
 * ({@link WarmPings}). An
 * instance that never answered is unhealthy after its first failure; one that
 * answered before after `failureThreshold` failures in a row (see
 * {@link healthWindow}). One success makes it healthy again. An instance is
 * forgotten when its record expires.
 *
 * Hardened against records that point at someone else (see
 * docs/RELIABILITY.md, "Health poisoning"):
 * - at most `maxConcurrentChecks` pings run at once; a ping's timeout starts
 *   when it gets its slot;
 * - a failure whose cause is this node ({@link isLocalRefusal}: its dial
 *   queue is full, its stream limit is reached, it is stopping) changes
 *   nothing: the instance is pinged again later;
 * - a transport address listed by several tracked records is dialled once,
 *   without a peer ID, to learn who answers there; a record whose every
 *   address is held by another (connected) peer fails without a dial, so
 *   fake records listing an honest instance's address cost that instance
 *   one handshake per client, not one per fake record;
 * - an instance that failed `failureThreshold` pings in a row without ever
 *   answering is written off: not pinged again until it republishes its
 *   record (it is unhealthy from its first failure, as before).
 */
export class HealthMonitor<T extends Trackable> {
  private readonly init: HealthMonitorInit<T>
  private readonly tracked = new Map<string, Tracked<T>>()
  private timer?: ReturnType<typeof setInterval>
  private inFlight = 0
  private readonly controller = new AbortController()
  private running = false
  private readonly slots: Slots
  /** One kept ping stream per pinged instance whose connection stays open. */
  private readonly warm = new WarmPings()
  /** Tracked records listing each transport address (no `/p2p/`). */
  private readonly claims = new Map<string, Set<string>>()
  /** Who answered at a transport address when it was last probed or dialled. */
  private readonly owners = new Map<string, string>()
  /** Transport addresses a probe could not reach, until a Unix ms. */
  private readonly unreachable = new Map<string, number>()
  /** One probe at a time per transport address. */
  private readonly probing = new Map<string, Promise<void>>()

  constructor (init: HealthMonitorInit<T>) {
    this.init = init
    this.slots = new Slots(init.maxConcurrentChecks ?? MAX_CONCURRENT_HEALTH_CHECKS)
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
    this.warm.stop()
  }

  /**
   * Starts tracking an instance, or updates its addresses and expiry. Returns
   * true if the instance is new or republished (another `seq`).
   */
  track (instance: T): boolean {
    const existing = this.tracked.get(instance.peerId)

    if (existing === undefined) {
      this.tracked.set(instance.peerId, { instance, health: { status: 'unknown', failures: 0 } })
      this.claim(instance)
      return true
    }

    const republished = existing.instance.seq !== instance.seq

    if (republished) {
      this.unclaim(existing.instance)
      this.claim(instance)
      existing.writtenOff = undefined
    }

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
    const entry = this.tracked.get(peerId)

    if (entry !== undefined) {
      this.tracked.delete(peerId)
      this.unclaim(entry.instance)
      this.warm.drop(peerId)
    }
  }

  /** What is known of an instance's health (`unknown` if it is not tracked). */
  health (peerId: string): Health {
    return { ...(this.tracked.get(peerId)?.health ?? { status: 'unknown', failures: 0 }) }
  }

  /** How many instances are tracked. */
  get size (): number {
    return this.tracked.size
  }

  /** How many tracked instances are written off (failed `failureThreshold` pings without ever answering; not pinged until they republish). */
  get writtenOff (): number {
    let count = 0
    this.tracked.forEach(entry => { count += entry.writtenOff === true ? 1 : 0 })
    return count
  }

  /** Pings a tracked instance now (joining a ping already under way) and returns its health. */
  async check (peerId: string, signal?: AbortSignal): Promise<Health> {
    const entry = this.tracked.get(peerId)

    if (entry === undefined) {
      return this.health(peerId)
    }

    // a ping of an older record (older addresses) says nothing of the new one: ping again after it
    if (entry.checking === undefined || entry.checkingSeq !== entry.instance.seq) {
      const previous = entry.checking
      this.inFlight++
      const run: Promise<Health> = (async () => {
        await previous
        return this.ping(entry, signal)
      })().finally(() => {
        this.inFlight--

        if (entry.checking === run) {
          entry.checking = undefined
        }
      })
      entry.checking = run
      entry.checkingSeq = entry.instance.seq
    }

    return entry.checking
  }

  /** Pings every tracked instance that has no ping in flight and is not written off, least recently pinged first. */
  private tick (): void {
    const now = Date.now()
    const due: string[] = []

    for (const [peerId, entry] of this.tracked) {
      if (entry.instance.expiresAt <= now) {
        this.untrack(peerId)
      } else if (entry.checking === undefined && entry.writtenOff !== true) {
        due.push(peerId)
      }
    }

    for (const [address, until] of this.unreachable) {
      if (until <= now) {
        this.unreachable.delete(address)
      }
    }

    for (const peerId of due.slice(0, Math.max(0, this.slots.size - this.inFlight))) {
      // move to the back, so instances left over by the cap go first next time
      const entry = this.tracked.get(peerId) as Tracked<T>
      this.tracked.delete(peerId)
      this.tracked.set(peerId, entry)
      this.check(peerId).catch(err => { this.init.log.error('health check of %s failed - %e', peerId, err) })
    }
  }

  private async ping (entry: Tracked<T>, outer?: AbortSignal): Promise<Health> {
    const { libp2p, timeout, failureThreshold } = this.init
    const before = entry.health.status
    let release: (() => void) | undefined
    let signal: ReturnType<typeof anySignal> | undefined

    try {
      // waiting for a slot is this node's congestion: the timeout starts after it
      release = await this.slots.acquire(anySignal([this.controller.signal, outer]))
      signal = anySignal([AbortSignal.timeout(timeout), this.controller.signal, outer])
      setMaxListeners(Infinity, signal)
      const peerId = peerIdFromString(entry.instance.peerId)

      let connection = libp2p.getConnections(peerId).find(open => open.status === 'open')

      if (connection === undefined) {
        await this.connect(entry.instance, signal)
        connection = libp2p.getConnections(peerId).find(open => open.status === 'open')
      }

      // no open connection to keep a stream on (the dial went through another peer ID's claim): a one-off ping
      const started = performance.now()
      const rttMs = connection === undefined
        ? await libp2p.services.ping.ping(peerId, { signal }).then(() => performance.now() - started)
        : await this.warm.ping(connection, signal)
      entry.health = { status: 'healthy', rttMs, lastSeen: Date.now(), failures: 0 }
      entry.writtenOff = undefined
      this.learnOwner(peerId)
    } catch (err) {
      if (outer?.aborted === true || this.controller.signal.aborted) {
        // the caller gave up, or the monitor stopped: nothing was learned about the instance
        this.init.log('ping of %s abandoned - %e', entry.instance.peerId, err)
        return { ...entry.health }
      }

      if (isLocalRefusal(err)) {
        // this node refused its own dial or stream: nothing was learned about the instance
        this.init.log('ping of %s refused locally, will retry - %e', entry.instance.peerId, err)
        return { ...entry.health }
      }

      const failures = entry.health.failures + 1
      const status = before === 'healthy' && failures < failureThreshold ? 'healthy' : 'unhealthy'
      entry.health = { ...entry.health, status, failures }
      // never answered, `failureThreshold` times: do not keep pinging it until its record expires
      entry.writtenOff = entry.health.lastSeen === undefined && failures >= failureThreshold ? true : undefined
      this.init.log('ping of %s failed (%d in a row) - %e', entry.instance.peerId, failures, err)
    } finally {
      signal?.clear()
      release?.()
    }

    if (entry.health.status !== before && this.tracked.get(entry.instance.peerId) === entry && this.running) {
      this.init.onChange(entry.instance, { ...entry.health })
    }

    return { ...entry.health }
  }

  /**
   * Opens a connection to an instance by the addresses of its record. An
   * address other records list too is first probed (dialled without a peer
   * ID, one probe at a time per address) to learn who answers there; an
   * address held by another connected peer is skipped. Throws
   * {@link AddressClaimedError} if every address is held by others.
   */
  private async connect (instance: T, signal: AbortSignal): Promise<void> {
    const addresses: Multiaddr[] = []
    let claimedBy: string | undefined

    for (const address of instance.multiaddrs) {
      const transport = transportAddress(address)

      if (transport === undefined) {
        continue
      }

      if ((this.claims.get(transport)?.size ?? 0) > 1) {
        await this.probe(transport, signal)
      }

      const owner = this.owner(transport)

      if (owner !== undefined && owner !== instance.peerId) {
        claimedBy = owner
        continue
      }

      if (owner === undefined && this.unreachable.has(transport)) {
        continue
      }

      addresses.push(withPeerId(address, instance.peerId))
    }

    if (addresses.length > 0) {
      await this.init.libp2p.dial(addresses, { signal })
      return
    }

    if (claimedBy !== undefined) {
      throw new AddressClaimedError(`Every address of ${instance.peerId}'s record is answered by another peer (${claimedBy}): the record lists someone else's address`)
    }

    throw new AddressClaimedError(`No address of ${instance.peerId}'s record could be reached`)
  }

  /** Dials `transport` without a peer ID, unless someone is known there, to learn who answers. */
  private async probe (transport: string, signal: AbortSignal): Promise<void> {
    while (this.probing.has(transport)) {
      await this.probing.get(transport)
      signal.throwIfAborted()
    }

    if (this.owner(transport) !== undefined || this.unreachable.has(transport)) {
      return
    }

    const run = (async () => {
      try {
        const connection = await this.init.libp2p.dial(multiaddr(transport), { signal })
        this.owners.set(transport, connection.remotePeer.toString())
      } catch (err) {
        if (signal.aborted || isLocalRefusal(err) || (err as Error).name === 'DialDeniedError') {
          // learned nothing: the record's own dial decides (a browser's gater allows by peer ID only)
          return
        }

        this.init.log('nothing answers at %s - %e', transport, err)
        // long enough for every record listing it to fail without a dial of its own
        this.unreachable.set(transport, Date.now() + this.init.interval + this.init.timeout)
      }
    })()
    this.probing.set(transport, run)

    try {
      await run
    } finally {
      this.probing.delete(transport)
    }
  }

  /** The connected peer last seen at `transport`, if it is still connected. */
  private owner (transport: string): string | undefined {
    const owner = this.owners.get(transport)

    if (owner !== undefined && this.init.libp2p.getConnections(peerIdFromString(owner)).length === 0) {
      this.owners.delete(transport)
      return undefined
    }

    return owner
  }

  /** Remembers the addresses `peerId` answered at. */
  private learnOwner (peerId: PeerId): void {
    for (const connection of this.init.libp2p.getConnections(peerId)) {
      if (connection.direction === 'outbound') {
        const transport = transportAddress(connection.remoteAddr.toString())

        if (transport !== undefined) {
          this.owners.set(transport, peerId.toString())
        }
      }
    }
  }

  private claim (instance: T): void {
    for (const address of instance.multiaddrs) {
      const transport = transportAddress(address)

      if (transport !== undefined) {
        const peers = this.claims.get(transport) ?? new Set()
        peers.add(instance.peerId)
        this.claims.set(transport, peers)
      }
    }
  }

  private unclaim (instance: T): void {
    for (const address of instance.multiaddrs) {
      const transport = transportAddress(address)
      const peers = transport === undefined ? undefined : this.claims.get(transport)

      if (transport !== undefined && peers !== undefined) {
        peers.delete(instance.peerId)

        if (peers.size === 0) {
          this.claims.delete(transport)
        }
      }
    }
  }
}

export { isLocalRefusal } from './local-refusal.js'

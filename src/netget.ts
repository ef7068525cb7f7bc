import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { anySignal } from 'any-signal'
import { MemoryDatastore, MountDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { LevelDatastore } from 'datastore-level'
import { TypedEventEmitter, setMaxListeners } from 'main-event'
import { ChannelService } from './channel/channel-service.js'
import { MIN_PROVIDER_VALIDITY, REGISTRY_INBOUND_CONNECTION_THRESHOLD, SERVICE_INBOUND_CONNECTION_THRESHOLD } from './constants.js'
import { Discovery } from './discovery/discovery.js'
import { AbortError, InvalidOptionsError, ListenError, NotStartedError, ServiceNotFoundError, TimeoutError, UnsupportedOperationError } from './errors.js'
import { HealthMonitor } from './health/health-monitor.js'
import { loadOrCreateKey, lockDataDir } from './identity/key-store.js'
import { loadBootstrapList, resolveBootstrapPath } from './network/bootstrap-list.js'
import { createNetgetLibp2p } from './network/create-node.js'
import { dhtDatastorePrefix } from './network/namespace.js'
import { parseRegistryAddress } from './network/registry-address.js'
import { RegistryConnections } from './network/registry-connections.js'
import { normalizeOptions } from './options.js'
import { LookupServer } from './registry/lookup-server.js'
import { RecordIndex } from './registry/record-index.js'
import { listIndexedServices } from './registry/service-list.js'
import { Announcer } from './service/announcer.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Channel, ChannelHandler, ChannelTarget, HandleChannelsOptions, OpenChannelOptions } from './channel/index.js'
import type { Health } from './health/health-monitor.js'
import type { ServiceSummary } from './registry/service-list.js'
import type { NetgetLibp2p } from './network/create-node.js'
import type { RegistryAddress } from './network/registry-address.js'
import type { NetgetConfig, NetgetInit } from './options.js'
import type { VerifiedRecord } from './records/verify.js'
import type { AnnounceResult } from './service/announcer.js'
import type { ServiceMetadata } from './records/record.js'
import type { AbortOptions, Logger, PeerId, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Datastore } from 'interface-datastore'

/** One live instance of a service, as discovery returns it. */
export interface ServiceInstance {
  /** The instance's peer ID. */
  peerId: string
  /** The service name. */
  name: string
  /** The network it was found on. */
  network: string
  /** Where it can be dialled, each ending in `/p2p/<peerId>`. */
  multiaddrs: string[]
  /** Its published metadata. */
  metadata: ServiceMetadata
  /** The sequence number of its record. */
  seq: number
  /** Unix ms at which its record expires unless re-published. */
  expiresAt: number
  /** Its health as this node measured it. */
  health: InstanceHealth
}

/** An instance's health, as reported to users. */
export interface InstanceHealth {
  /** `healthy`: answered its last ping; `unhealthy`: did not (see README, "Health"); `unknown`: not pinged yet. */
  status: Health['status']
  /** Round-trip time of the last successful ping, in milliseconds. */
  rttMs?: number
  /** Unix ms of the last successful ping. */
  lastSeen?: number
}

/** A registry connection event's detail. */
export interface RegistryEventDetail {
  /** The registry's peer ID. */
  peerId: string
  /** The address it is kept connected on. */
  multiaddr: string
}

/** The events a {@link Netget} node emits. */
export interface NetgetEvents {
  /** A registry connection opened. */
  'registry:connected': CustomEvent<RegistryEventDetail>
  /** A registry connection closed; it is redialled with backoff. */
  'registry:disconnected': CustomEvent<RegistryEventDetail>
  /** A tracked instance answered after being unknown or unhealthy. */
  'instance:healthy': CustomEvent<ServiceInstance>
  /** A tracked instance stopped answering pings. */
  'instance:unhealthy': CustomEvent<ServiceInstance>
  /** This node's record was (re-)published. */
  'service:announced': CustomEvent<AnnounceResult>
  /** A background re-publication failed; it is retried at the next interval or reconnect. */
  'service:error': CustomEvent<Error>
}

/** Options of {@link Netget.discoverServiceNode}. */
export interface DiscoverOptions extends AbortOptions {
  /**
   * Keep only instances whose metadata matches: an object whose every entry
   * must equal the metadata's (compared as strings), or a predicate.
   */
  filter?: Record<string, unknown> | ((instance: ServiceInstance) => boolean)
  /** Also return instances that are unhealthy. @default false */
  includeUnhealthy?: boolean
  /** Ping instances whose health is not known yet before returning. @default true */
  checkHealth?: boolean
  /** Walk the DHT even when registries answered. @default false */
  thorough?: boolean
  /** Called with each verified instance as soon as it arrives (health not yet checked). */
  onInstance?(instance: ServiceInstance): void
}

/** Options of {@link Netget.stop}. */
export interface StopOptions extends AbortOptions {
  /**
   * Publish a withdrawal so readers drop this instance at once. With false,
   * the record stays until it expires or health checks flag the instance.
   *
   * @default true
   */
  withdraw?: boolean
}

/** Lifecycle states of a node. */
export type NetgetStatus = 'stopped' | 'starting' | 'started' | 'stopping'

interface Running {
  libp2p: NetgetLibp2p
  privateKey: PrivateKey
  closeStore(): Promise<void>
  registries: RegistryConnections
  discovery: Discovery
  health: HealthMonitor<VerifiedRecord>
  announcer?: Announcer
  index?: RecordIndex
  lookupServer?: LookupServer
  cleanupTimer?: ReturnType<typeof setInterval>
  unlock?(): Promise<void>
}

/**
 * A netget peer: a service node that publishes itself and discovers others,
 * or a registry node that stores the network's records. See the README.
 */
export class Netget extends TypedEventEmitter<NetgetEvents> {
  /** The options in force, with defaults applied. */
  readonly config: NetgetConfig
  private readonly log: Logger
  private readonly pendingRegistries: RegistryAddress[] = []
  private readonly removedRegistries = new Set<string>()
  private readonly channels = new ChannelService()
  private running?: Running
  private transition: Promise<void> = Promise.resolve()
  private state: NetgetStatus = 'stopped'

  /** Checks the options at once; throws InvalidOptionsError naming the first bad one. */
  constructor (init: NetgetInit = {}) {
    super()
    this.config = normalizeOptions(init)
    this.log = logger(`netget:${this.config.nodeType}`)

    for (const address of this.config.registryNodes ?? []) {
      this.pendingRegistries.push(parseRegistryAddress(address))
    }
  }

  /** The node's lifecycle state. */
  get status (): NetgetStatus {
    return this.state
  }

  /** The network this node belongs to. */
  get network (): string {
    return this.config.network
  }

  /** The node type: `service` or `registry`. */
  get nodeType (): NetgetConfig['nodeType'] {
    return this.config.nodeType
  }

  /** The node's peer ID. Throws NotStartedError before {@link start}. */
  get peerId (): string {
    return this.require().libp2p.peerId.toString()
  }

  /** The addresses the node can be dialled on, each ending in `/p2p/<peerId>`. */
  get multiaddrs (): string[] {
    return this.require().libp2p.getMultiaddrs().map(address => address.toString())
  }

  /** The underlying libp2p node, for advanced use. Throws NotStartedError before {@link start}. */
  get libp2p (): NetgetLibp2p {
    return this.require().libp2p
  }

  /**
   * Starts the peer: loads or creates its identity, listens, and connects to
   * the registries. Safe to call twice; resolves when the node is listening
   * (registry connections continue in the background).
   */
  async start (): Promise<void> {
    await this.lifecycle(async () => {
      if (this.running !== undefined) {
        return
      }

      this.state = 'starting'

      try {
        this.running = await this.boot()
        this.state = 'started'
      } catch (err) {
        this.state = 'stopped'
        throw err
      }
    })
  }

  /**
   * Stops the peer: withdraws its record if it published one (unless
   * `withdraw` is false), closes every connection and clears every timer.
   * Safe to call twice, and before start.
   */
  async stop (options: StopOptions = {}): Promise<void> {
    await this.lifecycle(async () => {
      const running = this.running

      if (running === undefined) {
        return
      }

      this.state = 'stopping'
      const signal = this.operationSignal(options)

      try {
        if (options.withdraw !== false) {
          await running.announcer?.withdraw(signal).catch(err => { this.log('withdrawal failed - %e', err) })
        }
      } finally {
        signal.clear()
        running.announcer?.stop()
        running.health.stop()
        running.discovery.stop()
        running.registries.stop()
        clearInterval(running.cleanupTimer)
        await running.lookupServer?.stop()
        await this.channels.detach()
        await running.libp2p.stop()
        await running.closeStore()
        await running.unlock?.()
        this.running = undefined
        this.state = 'stopped'
      }
    })
  }

  /**
   * Publishes this node's service record (starting the node if needed) and
   * keeps it published: re-announced before it expires and after a lost
   * registry comes back, until {@link stop} or {@link unregister}. Resolves
   * once at least one registry stored the record.
   */
  async registerWithNetwork (options: AbortOptions = {}): Promise<AnnounceResult> {
    if (this.config.nodeType === 'registry') {
      throw new UnsupportedOperationError('A registry node does not publish a service record; create a node with nodeType "service" to register a service')
    }

    if (this.config.serviceName === undefined) {
      throw new InvalidOptionsError('registerWithNetwork() needs the service name: pass metadata: { name: "MyService", ... } to new Netget()')
    }

    await this.start()
    const running = this.require()

    if (running.libp2p.getMultiaddrs().length === 0) {
      throw new InvalidOptionsError('This node has no address other peers can reach: give it listen addresses (option "listen")')
    }

    return this.withSignal(options, 'Registering', async signal => {
      await running.registries.ensureConnected(signal)
      running.announcer ??= this.createAnnouncer(running)
      const result = await running.announcer.announce(signal)
      this.safeDispatchEvent('service:announced', { detail: result })
      return result
    })
  }

  /** Withdraws this node's record (readers drop it at once) and stops re-announcing; the node keeps running. */
  async unregister (options: AbortOptions = {}): Promise<void> {
    const running = this.require()

    await this.withSignal(options, 'Unregistering', async signal => {
      await running.announcer?.withdraw(signal)
    })
  }

  /**
   * Finds the live instances of a service on this node's network. Resolves
   * with every verified instance, newest record per instance, healthy first;
   * rejects with ServiceNotFoundError if none is live.
   */
  async discoverServiceNode (name: string, options: DiscoverOptions = {}): Promise<ServiceInstance[]> {
    if (typeof name !== 'string' || name === '') {
      throw new InvalidOptionsError('discoverServiceNode(name) needs the service name, like "DatabaseService"')
    }

    await this.start()
    const running = this.require()

    return this.withSignal(options, `Discovering "${name}"`, async signal => {
      await running.registries.ensureConnected(signal)
      const found = await running.discovery.findRecords(name, {
        signal,
        thorough: options.thorough,
        onRecord: options.onInstance === undefined
          ? undefined
          : record => {
            if (!record.withdrawn) {
              options.onInstance?.(this.toInstance(record, running.health.health(record.peerId)))
            }
          }
      })
      const live = [...found.records.values()].filter(record => !record.withdrawn && record.expiresAt > Date.now())

      for (const record of found.records.values()) {
        if (record.withdrawn) {
          running.health.untrack(record.peerId)
        }
      }

      const instances = await Promise.all(live.map(async record => {
        const republished = running.health.track(record)
        let health = running.health.health(record.peerId)

        if (options.checkHealth !== false && (health.status === 'unknown' || (health.status === 'unhealthy' && republished))) {
          health = await running.health.check(record.peerId, signal)
        }

        return this.toInstance(record, health)
      }))

      const matches = instances
        .filter(instance => options.includeUnhealthy === true || instance.health.status !== 'unhealthy')
        .filter(instance => matchesFilter(instance, options.filter))
        .sort(byHealth)

      if (matches.length === 0) {
        const seen = instances.length === 0 ? 'no live record' : `${instances.length} instance(s), none healthy or matching the filter`
        throw new ServiceNotFoundError(`No live instance of "${name}" on network "${this.config.network}" (${seen}; asked ${found.registriesAnswered} registr${found.registriesAnswered === 1 ? 'y' : 'ies'}${found.walkedDht ? ' and the DHT' : ''})`, name, this.config.network)
      }

      return matches
    })
  }

  /**
   * Pings a peer by peer ID or multiaddr and returns the round-trip time in
   * milliseconds (sub-millisecond precision; connection set-up excluded).
   */
  async ping (target: string | Multiaddr, options: AbortOptions = {}): Promise<number> {
    await this.start()
    const { libp2p } = this.require()
    let peer: PeerId | Multiaddr

    try {
      peer = typeof target === 'string' && !target.startsWith('/') ? peerIdFromString(target) : multiaddr(target)
    } catch (err) {
      throw new InvalidOptionsError(`Cannot ping "${String(target)}": give a peer ID (12D3KooW...) or a multiaddr ending in /p2p/<peer id>`, { cause: err })
    }

    return this.withSignal(options, `Pinging ${String(target)}`, async signal => {
      const connection = await libp2p.dial(peer, { signal })
      const started = performance.now()
      await libp2p.services.ping.ping(connection.remotePeer, { signal })
      return performance.now() - started
    })
  }

  /**
   * Accepts message channels from other peers (browser pages included) on
   * `/netget/<network>/channel/1.0.0`, starting the node if needed. The
   * handler gets each incoming {@link Channel}; it stays in force across
   * restarts until {@link unhandleChannels}. See the README, "Channels".
   */
  async handleChannels (handler: ChannelHandler, options: HandleChannelsOptions = {}): Promise<void> {
    await this.start()
    await this.channels.handle(handler, options)
  }

  /** Stops accepting channels; open channels stay open. */
  async unhandleChannels (): Promise<void> {
    await this.channels.unhandle()
  }

  /**
   * Opens a message channel to a peer that handles channels: a discovered
   * instance, a peer ID or a multiaddr ending in `/p2p/<peer id>`.
   */
  async openChannel (target: ChannelTarget, options: OpenChannelOptions = {}): Promise<Channel> {
    await this.start()
    return this.withSignal(options, 'Opening a channel', async signal => this.channels.openChannel(target, { ...options, signal }))
  }

  /**
   * Registry nodes only: every service this registry stores, with each live
   * instance (records verified again) and its health as this registry
   * measures it. Instances are pinged from the first call on, until their
   * record expires. Used by the registry's HTTP dashboard.
   */
  async listServices (options: AbortOptions = {}): Promise<Array<ServiceSummary<ServiceInstance>>> {
    const running = this.require()

    if (running.index === undefined) {
      throw new UnsupportedOperationError('listServices() is answered by registry nodes only; use discoverServiceNode(name) on other nodes')
    }

    const index = running.index
    return this.withSignal(options, 'Listing services', async signal => listIndexedServices({
      network: this.config.network,
      index,
      health: running.health,
      signal,
      log: this.log,
      toInstance: (record, health) => this.toInstance(record, health)
    }))
  }

  /**
   * Adds a registry (a multiaddr ending in `/p2p/<peer id>`) and keeps the
   * node connected to it. Returns false if it was already known.
   */
  addRegistryNode (address: string | Multiaddr): boolean {
    const registry = parseRegistryAddress(address, 'addRegistryNode')
    this.removedRegistries.delete(registry.peerId.toString())

    if (this.running === undefined) {
      if (this.pendingRegistries.some(known => known.peerId.equals(registry.peerId))) {
        return false
      }

      this.pendingRegistries.push(registry)
      return true
    }

    return this.running.registries.add(registry)
  }

  /** Stops using a registry and closes its connections. Returns false if it was not known. */
  async removeRegistryNode (address: string | Multiaddr): Promise<boolean> {
    const registry = parseRegistryAddress(address, 'removeRegistryNode')
    const index = this.pendingRegistries.findIndex(known => known.peerId.equals(registry.peerId))

    if (index !== -1) {
      this.pendingRegistries.splice(index, 1)
    }

    this.removedRegistries.add(registry.peerId.toString())

    if (this.running === undefined) {
      return index !== -1
    }

    return this.running.registries.remove(registry.peerId)
  }

  /** The registries this node keeps connected to, and whether each is connected now. */
  registryNodes (): Array<RegistryEventDetail & { connected: boolean }> {
    const running = this.running

    if (running === undefined) {
      return this.pendingRegistries.map(registry => ({ ...describeRegistry(registry), connected: false }))
    }

    const connected = new Set(running.registries.connected().map(registry => registry.peerId.toString()))
    return running.registries.list().map(registry => ({ ...describeRegistry(registry), connected: connected.has(registry.peerId.toString()) }))
  }

  private async boot (): Promise<Running> {
    const config = this.config
    const dataDir = config.dataDir
    const unlock = dataDir === false ? undefined : await lockDataDir(dataDir)

    try {
      const registries = await this.resolveRegistries()
      const privateKey = config.privateKey ?? (dataDir === false ? await generateKeyPair('Ed25519') : await loadOrCreateKey(dataDir))
      const isRegistry = config.nodeType === 'registry'
      const level = isRegistry && dataDir !== false ? new LevelDatastore(join(dataDir, 'datastore')) : undefined
      await level?.open()
      // only the DHT's records and provider entries go to disk; libp2p's
      // peer store changes on every stream and stays in memory
      const store: Datastore = level === undefined
        ? new MemoryDatastore()
        : new MountDatastore([
          { prefix: new Key(dhtDatastorePrefix(config.network)), datastore: level },
          { prefix: new Key('/'), datastore: new MemoryDatastore() }
        ])
      const closeStore = async (): Promise<void> => { await level?.close() }
      const index = isRegistry ? new RecordIndex({ network: config.network, datastore: store, datastorePrefix: dhtDatastorePrefix(config.network), log: this.log.newScope('index') }) : undefined
      await index?.load()
      const datastore = index?.datastore ?? store

      const libp2p = await createNetgetLibp2p({
        privateKey,
        network: config.network,
        dhtServer: isRegistry,
        listen: config.listen,
        announce: config.announce,
        datastore,
        maxConnections: config.maxConnections,
        inboundConnectionThreshold: isRegistry ? REGISTRY_INBOUND_CONNECTION_THRESHOLD : SERVICE_INBOUND_CONNECTION_THRESHOLD,
        providerValidity: Math.max(config.recordTtl, MIN_PROVIDER_VALIDITY)
      })
      const registryConnections = new RegistryConnections({
        libp2p,
        network: config.network,
        registries: registries.filter(registry => !registry.peerId.equals(libp2p.peerId)),
        redialMinDelay: config.redialMinDelay,
        redialMaxDelay: config.redialMaxDelay,
        dialTimeout: config.dialTimeout,
        log: this.log.newScope('registries'),
        onConnected: registry => {
          this.safeDispatchEvent('registry:connected', { detail: describeRegistry(registry) })
          this.running?.announcer?.refresh()
        },
        onDisconnected: registry => { this.safeDispatchEvent('registry:disconnected', { detail: describeRegistry(registry) }) }
      })
      const running: Running = {
        libp2p,
        privateKey,
        closeStore,
        unlock,
        index,
        registries: registryConnections,
        discovery: new Discovery({ libp2p, network: config.network, registries: registryConnections, requestTimeout: config.requestTimeout, log: this.log.newScope('discovery') }),
        health: new HealthMonitor<VerifiedRecord>({
          libp2p,
          interval: config.healthInterval,
          timeout: config.healthTimeout,
          failureThreshold: config.healthFailureThreshold,
          log: this.log.newScope('health'),
          onChange: (record, health) => {
            const type = health.status === 'healthy' ? 'instance:healthy' : 'instance:unhealthy'
            this.safeDispatchEvent(type, { detail: this.toInstance(record, health) })
          }
        })
      }

      try {
        await libp2p.start()
      } catch (err) {
        await Promise.resolve(libp2p.stop()).catch(() => {})
        await closeStore()
        const inUse = /EADDRINUSE/.test(String((err as Error).message))
        const reason = inUse ? 'a port is already in use; stop the process using it, or choose other "listen" addresses (tcp/0 picks a free port)' : (err as Error).message.split('\n')[0]
        throw new ListenError(`Cannot listen on ${config.listen.join(', ')}: ${reason}`, config.listen, inUse, { cause: err })
      }

      if (index !== undefined) {
        running.lookupServer = new LookupServer({ libp2p, network: config.network, index, log: this.log.newScope('lookup') })
        await running.lookupServer.start()
        running.cleanupTimer = setInterval(() => {
          index.prune().catch(err => { this.log('pruning expired records failed - %e', err) })
        }, config.recordCleanupInterval)
      }

      await this.channels.attach(libp2p, config.network)
      running.registries.start()
      running.health.start()
      return running
    } catch (err) {
      await unlock?.()
      throw err
    }
  }

  private async resolveRegistries (): Promise<RegistryAddress[]> {
    let registries = this.pendingRegistries

    if (this.config.registryNodes === undefined) {
      const list = await loadBootstrapList(resolveBootstrapPath(this.config.bootstrapFile))
      const fromFile = (list.networks[this.config.network] ?? []).map(address => parseRegistryAddress(address))
      registries = [...fromFile.filter(registry => !registries.some(known => known.peerId.equals(registry.peerId))), ...registries]
    }

    return registries.filter(registry => !this.removedRegistries.has(registry.peerId.toString()))
  }

  private createAnnouncer (running: Running): Announcer {
    return new Announcer({
      libp2p: running.libp2p,
      privateKey: running.privateKey,
      network: this.config.network,
      name: this.config.serviceName as string,
      metadata: this.config.metadata ?? {},
      recordTtl: this.config.recordTtl,
      reannounceInterval: this.config.reannounceInterval,
      reannounceJitter: this.config.reannounceJitter,
      connectedRegistries: () => running.registries.connected().map(registry => registry.peerId),
      log: this.log.newScope('announce'),
      onAnnounced: result => { this.safeDispatchEvent('service:announced', { detail: result }) },
      onError: err => { this.safeDispatchEvent('service:error', { detail: err }) }
    })
  }

  private toInstance (record: VerifiedRecord, health: Health): ServiceInstance {
    return {
      peerId: record.peerId,
      name: record.name,
      network: record.network,
      multiaddrs: record.multiaddrs,
      metadata: record.metadata,
      seq: record.seq,
      expiresAt: record.expiresAt,
      health: { status: health.status, rttMs: health.rttMs, lastSeen: health.lastSeen }
    }
  }

  private require (): Running {
    if (this.running === undefined) {
      throw new NotStartedError(`The netget node is ${this.state}; call start() first`)
    }

    return this.running
  }

  private async lifecycle (step: () => Promise<void>): Promise<void> {
    const next = this.transition.then(step)
    this.transition = next.catch(() => {})
    await next
  }

  private operationSignal (options: AbortOptions): ReturnType<typeof anySignal> {
    const signal = anySignal([options.signal ?? AbortSignal.timeout(this.config.operationTimeout)])
    // one operation fans out to many dials, streams and pings
    setMaxListeners(Infinity, signal)
    return signal
  }

  /**
   * Runs `task` under the caller's signal, or under the default operation
   * timeout when there is none, and turns an abort into a named error.
   */
  private async withSignal<T> (options: AbortOptions, what: string, task: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const signal = this.operationSignal(options)

    try {
      return await task(signal)
    } catch (err) {
      if (signal.aborted) {
        if (options.signal?.aborted === true) {
          throw new AbortError(`${what} was aborted`, { cause: err })
        }

        throw new TimeoutError(`${what} did not finish within ${this.config.operationTimeout} ms; check that the network's registries are reachable, or pass a longer signal`, { cause: err })
      }

      throw err
    } finally {
      signal.clear()
    }
  }
}

function describeRegistry (registry: RegistryAddress): RegistryEventDetail {
  return { peerId: registry.peerId.toString(), multiaddr: registry.multiaddr.toString() }
}

function matchesFilter (instance: ServiceInstance, filter: DiscoverOptions['filter']): boolean {
  if (filter === undefined) {
    return true
  }

  if (typeof filter === 'function') {
    return filter(instance)
  }

  return Object.entries(filter).every(([key, expected]) => {
    const actual = instance.metadata[key]
    return actual !== undefined && String(actual) === String(expected)
  })
}

const HEALTH_ORDER = { healthy: 0, unknown: 1, unhealthy: 2 }

function byHealth (a: ServiceInstance, b: ServiceInstance): number {
  return HEALTH_ORDER[a.health.status] - HEALTH_ORDER[b.health.status] || (a.health.rttMs ?? Infinity) - (b.health.rttMs ?? Infinity)
}

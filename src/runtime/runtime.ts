import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { ChannelService } from '../channel/channel-service.js'
import { MIN_PROVIDER_VALIDITY, REGISTRY_INBOUND_CONNECTION_THRESHOLD, SERVICE_INBOUND_CONNECTION_THRESHOLD } from '../constants.js'
import { RecordFinder } from '../discovery/record-finder.js'
import { ServiceDiscovery } from '../discovery/service-discovery.js'
import { InvalidOptionsError, ListenError, NotStartedError, UnsupportedOperationError } from '../errors.js'
import { HealthMonitor } from '../health/health-monitor.js'
import { loadOrCreateKey, lockDataDir, openSeqMark } from '../identity/key-store.js'
import { toInstance } from '../instances/instances.js'
import { createNetgetLibp2p } from '../libp2p/create-node.js'
import { dhtDatastorePrefix } from '../protocol/ids.js'
import { RegistryConnections } from '../registries/registry-connections.js'
import { RegistryList } from '../registries/registry-list.js'
import { LookupServer } from '../registry/lookup-server.js'
import { RecordIndex } from '../registry/record-index.js'
import { RecordPruner } from '../registry/record-pruner.js'
import { listIndexedServices } from '../registry/service-list.js'
import { Announcer } from '../service/announcer.js'
import { openDatastore } from '../storage/index.js'
import type { RuntimeEvents, RuntimeInit } from './index.js'
import type { NetgetLibp2p } from '../libp2p/create-node.js'
import type { VerifiedRecord } from '../records/verify.js'
import type { RegistryAddress } from '../registries/registry-address.js'
import type { ServiceSummary } from '../registry/service-list.js'
import type { AnnounceResult } from '../service/announcer.js'
import type { NodeDatastore } from '../storage/index.js'
import type { DiscoverOptions, ServiceInstance } from '../types.js'
import type { Logger, PeerId, PrivateKey, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What one run of a node consists of, from start() to stop(). */
interface Run {
  libp2p: NetgetLibp2p
  privateKey: PrivateKey
  store: NodeDatastore
  unlock?: () => Promise<void>
  registries: RegistryConnections
  records: RecordFinder
  health: HealthMonitor<VerifiedRecord>
  discovery: ServiceDiscovery
  /** Set once the node registers its service. */
  announcer?: Announcer
  /** Registries only. */
  index?: RecordIndex
  lookupServer?: LookupServer
  pruner?: RecordPruner
}

/**
 * Everything a netget node runs, owned in one place. It lives as long as the
 * node object: the registry list and the channel handler hold across
 * restarts, while each start() builds a fresh run — the data-dir lock and
 * identity, the datastore, libp2p, the registry supervisor, record search,
 * health checks, and for registries the record index, the lookup server and
 * expired-record pruning — and stop() tears it down in reverse order, timers
 * and connections included. start() and stop() are safe twice, in any order.
 */
export class Runtime implements Startable {
  private readonly init: RuntimeInit
  private readonly events: RuntimeEvents
  private readonly log: Logger
  /** The registries to keep connected to, across restarts. */
  readonly registryList: RegistryList
  /** Channels; the handler of incoming ones holds across restarts. */
  readonly channels: ChannelService
  private run?: Run

  constructor (init: RuntimeInit, events: RuntimeEvents) {
    this.init = init
    this.events = events
    this.log = init.log
    this.registryList = new RegistryList({ network: init.config.network, registryNodes: init.config.registryNodes, bootstrapFile: init.config.bootstrapFile })
    this.channels = new ChannelService(init.log.newScope('channel'))
  }

  /** true between a successful start() and stop(). */
  get started (): boolean {
    return this.run !== undefined
  }

  /** The running libp2p node; throws NotStartedError before start(). */
  get libp2p (): NetgetLibp2p {
    return this.require().libp2p
  }

  async start (): Promise<void> {
    if (this.run !== undefined) {
      return
    }

    const { config } = this.init
    const registries = await this.registryList.resolve()
    const unlock = config.dataDir === false ? undefined : await lockDataDir(config.dataDir)
    let store: NodeDatastore | undefined
    let run: Run | undefined

    try {
      const privateKey = config.privateKey ?? (config.dataDir === false ? await generateKeyPair('Ed25519') : await loadOrCreateKey(config.dataDir))
      const isRegistry = config.nodeType === 'registry'
      store = await openDatastore({ network: config.network, dataDir: config.dataDir, persistent: isRegistry })
      const index = isRegistry ? new RecordIndex({ network: config.network, datastore: store.datastore, datastorePrefix: dhtDatastorePrefix(config.network), log: this.log.newScope('index') }) : undefined
      await index?.load()
      const libp2p = await this.createLibp2p(privateKey, index?.datastore ?? store.datastore)
      await this.startLibp2p(libp2p)
      run = this.assemble({ libp2p, privateKey, store, unlock, index }, registries)
      await run.lookupServer?.start()
      run.pruner?.start()
      run.registries.start()
      run.health.start()
      await this.channels.attach(libp2p, config.network)
      this.run = run
    } catch (err) {
      if (run !== undefined) {
        await this.teardown(run).catch(() => {})
      } else {
        await store?.close().catch(() => {})
        await unlock?.()
      }

      throw err
    }
  }

  /** Stops announcing, health checks, redials, the lookup server and pruning, then libp2p; closes the store and frees the data dir. */
  async stop (): Promise<void> {
    const run = this.run

    if (run === undefined) {
      return
    }

    this.run = undefined
    await this.teardown(run)
  }

  /** Publishes this node's record now and keeps it published; see `Netget.registerWithNetwork()`. */
  async register (signal: AbortSignal): Promise<AnnounceResult> {
    const run = this.require()

    if (this.init.config.serviceName === undefined) {
      throw new InvalidOptionsError('registerWithNetwork() needs the service name: pass metadata: { name: "MyService", ... } to new Netget()')
    }

    if (run.libp2p.getMultiaddrs().length === 0) {
      throw new InvalidOptionsError('This node has no address other peers can reach: give it listen addresses (option "listen")')
    }

    await run.registries.ensureConnected(signal)
    run.announcer ??= this.createAnnouncer(run, this.init.config.serviceName)
    const result = await run.announcer.announce(signal)
    this.events.onAnnounced(result)
    return result
  }

  /** Withdraws this node's record, if it published one, and stops re-announcing. */
  async withdraw (signal: AbortSignal): Promise<void> {
    await this.require().announcer?.withdraw(signal)
  }

  /** The discovery pipeline; see `Netget.discoverServiceNode()`. */
  async discover (name: string, options: DiscoverOptions & { signal: AbortSignal }): Promise<ServiceInstance[]> {
    const run = this.require()
    await run.registries.ensureConnected(options.signal)
    return run.discovery.discover(name, options)
  }

  /** Pings a peer (dialling it first if needed); the RTT in ms, connection set-up excluded. */
  async ping (target: string | Multiaddr, signal: AbortSignal): Promise<number> {
    const { libp2p } = this.require()
    let peer: PeerId | Multiaddr

    try {
      peer = typeof target === 'string' && !target.startsWith('/') ? peerIdFromString(target) : multiaddr(target)
    } catch (err) {
      throw new InvalidOptionsError(`Cannot ping "${String(target)}": give a peer ID (12D3KooW...) or a multiaddr ending in /p2p/<peer id>`, { cause: err })
    }

    const connection = await libp2p.dial(peer, { signal })
    const started = performance.now()
    await libp2p.services.ping.ping(connection.remotePeer, { signal })
    return performance.now() - started
  }

  /** Registry nodes only: every stored service with its live instances; see `Netget.listServices()`. */
  async listServices (signal: AbortSignal): Promise<Array<ServiceSummary<ServiceInstance>>> {
    const run = this.require()

    if (run.index === undefined) {
      throw new UnsupportedOperationError('listServices() is answered by registry nodes only; use discoverServiceNode(name) on other nodes')
    }

    return listIndexedServices({ network: this.init.config.network, index: run.index, health: run.health, signal, log: this.log, toInstance })
  }

  /** Adds a registry to the list (kept across restarts) and, if running, dials it. */
  addRegistry (registry: RegistryAddress): boolean {
    const added = this.registryList.add(registry)
    const connecting = this.run?.registries.add(registry) ?? false
    return added || connecting
  }

  /** Removes a registry from the list (kept across restarts) and, if running, hangs up on it. */
  async removeRegistry (registry: RegistryAddress): Promise<boolean> {
    const listed = this.registryList.remove(registry)
    const connected = await this.run?.registries.remove(registry.peerId) ?? false
    return listed || connected
  }

  /** The registries kept connected to and whether each is connected now; before start, the listed ones. */
  registries (): Array<{ registry: RegistryAddress, connected: boolean }> {
    const run = this.run

    if (run === undefined) {
      return this.registryList.known().map(registry => ({ registry, connected: false }))
    }

    const connected = new Set(run.registries.connected().map(registry => registry.peerId.toString()))
    return run.registries.list().map(registry => ({ registry, connected: connected.has(registry.peerId.toString()) }))
  }

  private require (): Run {
    if (this.run === undefined) {
      throw new NotStartedError('The netget node is not started; call start() first')
    }

    return this.run
  }

  private async createLibp2p (privateKey: PrivateKey, datastore: NodeDatastore['datastore']): Promise<NetgetLibp2p> {
    const { config } = this.init
    const isRegistry = config.nodeType === 'registry'

    return createNetgetLibp2p({
      privateKey,
      network: config.network,
      dhtServer: isRegistry,
      listen: config.listen,
      announce: config.announce,
      datastore,
      maxConnections: config.maxConnections,
      inboundConnectionThreshold: isRegistry ? REGISTRY_INBOUND_CONNECTION_THRESHOLD : SERVICE_INBOUND_CONNECTION_THRESHOLD,
      providerValidity: Math.max(config.recordTtl, MIN_PROVIDER_VALIDITY),
      connectionGater: config.connectionGater
    })
  }

  private assemble (parts: Pick<Run, 'libp2p' | 'privateKey' | 'store' | 'unlock' | 'index'>, registries: RegistryAddress[]): Run {
    const { config } = this.init
    const { libp2p, index } = parts
    const log = this.log
    const connections = new RegistryConnections({
      libp2p,
      network: config.network,
      registries: registries.filter(registry => !registry.peerId.equals(libp2p.peerId)),
      redialMinDelay: config.redialMinDelay,
      redialMaxDelay: config.redialMaxDelay,
      dialTimeout: config.dialTimeout,
      log: log.newScope('registries'),
      onConnected: registry => {
        this.events.onRegistryConnected(registry)
        this.run?.announcer?.refresh()
      },
      onDisconnected: this.events.onRegistryDisconnected
    })
    const records = new RecordFinder({ libp2p, network: config.network, registries: connections, requestTimeout: config.requestTimeout, log: log.newScope('discovery') })
    const health = new HealthMonitor<VerifiedRecord>({
      libp2p,
      interval: config.healthInterval,
      timeout: config.healthTimeout,
      failureThreshold: config.healthFailureThreshold,
      log: log.newScope('health'),
      onChange: (record, current) => { this.events.onHealthChange(toInstance(record, current)) }
    })

    return {
      ...parts,
      registries: connections,
      records,
      health,
      discovery: new ServiceDiscovery({ network: config.network, records, health }),
      lookupServer: index === undefined ? undefined : new LookupServer({ libp2p, network: config.network, index, log: log.newScope('lookup') }),
      pruner: index === undefined ? undefined : new RecordPruner({ index, interval: config.recordCleanupInterval, log })
    }
  }

  private async startLibp2p (libp2p: NetgetLibp2p): Promise<void> {
    const { listen } = this.init.config

    try {
      await libp2p.start()
    } catch (err) {
      await Promise.resolve(libp2p.stop()).catch(() => {})
      const inUse = /EADDRINUSE/.test(String((err as Error).message))
      const reason = inUse ? 'a port is already in use; stop the process using it, or choose other "listen" addresses (tcp/0 picks a free port)' : (err as Error).message.split('\n')[0]
      throw new ListenError(`Cannot listen on ${listen.join(', ')}: ${reason}`, listen, inUse, { cause: err })
    }
  }

  private createAnnouncer (run: Run, name: string): Announcer {
    const { config } = this.init

    return new Announcer({
      libp2p: run.libp2p,
      privateKey: run.privateKey,
      network: config.network,
      name,
      metadata: config.metadata ?? {},
      recordTtl: config.recordTtl,
      reannounceInterval: config.reannounceInterval,
      reannounceJitter: config.reannounceJitter,
      seqMark: openSeqMark(config.dataDir),
      connectedRegistries: () => run.registries.connected().map(registry => registry.peerId),
      log: this.log.newScope('announce'),
      onAnnounced: this.events.onAnnounced,
      onError: this.events.onAnnounceError
    })
  }

  private async teardown (run: Run): Promise<void> {
    run.announcer?.stop()
    run.health.stop()
    run.records.stop()
    run.registries.stop()
    run.pruner?.stop()
    await this.channels.detach()
    await run.lookupServer?.stop().catch(() => {})
    await run.libp2p.stop()
    await run.store.close()
    await run.unlock?.()
  }
}

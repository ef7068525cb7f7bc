import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { ChannelService } from '../channel/channel-service.js'
import { ServiceChecks } from '../checks/index.js'
import { MAX_FALLBACK_REGISTRIES, MIN_PROVIDER_VALIDITY, REGISTRY_INBOUND_CONNECTION_THRESHOLD, SERVICE_INBOUND_CONNECTION_THRESHOLD } from '../constants.js'
import { AnswerCache } from '../discovery/answer-cache.js'
import { InstancePicker } from '../discovery/pick-instance.js'
import { RecordFinder } from '../discovery/record-finder.js'
import { multiaddr } from '@multiformats/multiaddr'
import { ServiceDiscovery } from '../discovery/service-discovery.js'
import { CredentialError, InvalidOptionsError, ListenError, NotStartedError, UnsupportedOperationError } from '../errors.js'
import { HealthMonitor } from '../health/health-monitor.js'
import { WarmPings } from '../health/warm-ping.js'
import { loadOrCreateKey, lockDataDir, openSeqMark } from '../identity/key-store.js'
import { toInstance } from '../instances/instances.js'
import { localHealth, registryHealth } from '../liveness/instance-health.js'
import { PublisherLiveness } from '../liveness/publisher-liveness.js'
import { createNetgetLibp2p } from '../libp2p/create-node.js'
import { dhtServiceName } from '../libp2p/services.js'
import type { NetworkDhtInit } from '../libp2p/services.js'
import type { NetgetConfig } from '../options/index.js'
import { createPrometheusMetrics, NO_METRICS } from '../metrics/index.js'
import { dhtDatastorePrefix, networkNamespace, syncProtocol } from '../protocol/ids.js'
import { parseRegistryAddress } from '../registries/registry-address.js'
import { askRegistries } from '../sync/sync-session.js'
import type { SyncRegistry } from '../protocol/sync-messages.js'
import { RegistryConnections } from '../registries/registry-connections.js'
import { RegistryList } from '../registries/registry-list.js'
import { LookupServer } from '../registry/lookup-server.js'
import { PutServer } from '../registry/put-server.js'
import { RecordIndex } from '../registry/record-index.js'
import { RecordPruner } from '../registry/record-pruner.js'
import { listIndexedServices } from '../registry/service-list.js'
import { SubscriptionHub } from '../registry/subscriptions.js'
import { Announcer } from '../service/announcer.js'
import { NetworkTrust } from '../trust/network-trust.js'
import { TrustService } from '../trust/trust-service.js'
import type { Credential } from '../trust/credential.js'
import { openDatastore } from '../storage/index.js'
import { SyncService } from '../sync/index.js'
import { RegistryAnnouncement } from '../sync/registry-announcement.js'
import type { SyncAccess, SyncStats } from '../sync/index.js'
import { ServiceWatch } from '../watch/service-watch.js'
import type { WatchOptions } from '../watch/service-watch.js'
import type { LookupClient } from '../discovery/lookup-client.js'
import type { PickOptions } from '../discovery/pick-instance.js'
import type { RuntimeEvents, RuntimeInit } from './types.js'
import type { CreateNodeInit, NetgetLibp2p } from '../libp2p/create-node.js'
import type { NetgetMetrics, PrometheusMetrics } from '../metrics/index.js'
import type { ServiceRecord } from '../records/record.js'
import type { VerifiedRecord } from '../records/verify.js'
import type { RegistryAddress } from '../registries/registry-address.js'
import type { ListServicesOptions, ServiceSummary } from '../registry/service-list.js'
import type { AnnounceResult } from '../service/announcer.js'
import type { NodeDatastore } from '../storage/index.js'
import type { DiscoverOptions, ServiceInstance } from '../types.js'
import type { Connection, Logger, PeerId, PrivateKey, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * One network's part of a run: its trust, its registry connections and, on
 * a registry, what it serves. A registry serving several networks (option
 * `networks`) has one per network, all on the run's one libp2p node.
 */
interface NetworkRun {
  /** The network as protocol ids and keys name it: `<name>`, or `<name>@<authority>` when closed. */
  networkId: string
  /** The network's name and settings. */
  served: ResolvedNetwork
  registries: RegistryConnections
  /** Registries only. */
  index?: RecordIndex
  lookupServer?: LookupServer
  putServer?: PutServer
  pruner?: RecordPruner
  /** Registries only: federation with the network's other registries. */
  sync?: SyncService
  /** Registries provide the network's registry key in the DHT; every node looks it up for more registries. */
  announcement?: RegistryAnnouncement
  /** Registries only: the liveness of connected publishers, and the watchers of each service. */
  liveness?: PublisherLiveness
  subscriptions?: SubscriptionHub
  /** Ends the liveness monitor's view of the index. */
  stopTracking?: () => void
  /** Closed networks only. */
  trust?: NetworkTrust
  trustService?: TrustService
  /** Registries only: stored envelopes that passed verification, so each is checked once. */
  verified?: Map<string, VerifiedRecord>
}

/** A network's settings with the top-level options applied (see option `networks`). */
interface ResolvedNetwork {
  network: string
  authority?: string
  credential?: string | Uint8Array
  readRestricted: boolean
  storeQuotas?: NetgetConfig['storeQuotas']
  /** The network's registry list (the first network's is the runtime's own, kept across restarts). */
  list: RegistryList
}

/** What one run of a node consists of, from start() to stop(): its first network's part, and what every network shares. */
interface Run extends NetworkRun {
  libp2p: NetgetLibp2p
  privateKey: PrivateKey
  store: NodeDatastore
  unlock?: () => Promise<void>
  records: RecordFinder
  health: HealthMonitor<VerifiedRecord>
  discovery: ServiceDiscovery
  /** Set once the node registers its service. */
  announcer?: Announcer
  /** Set once the node registers its service, if it has checks. */
  checks?: ServiceChecks
  /** A registry serving several networks: the networks after the first, in option order. */
  others: NetworkRun[]
  /** The hooks features report to; they do nothing unless the `metrics` option is on. */
  metrics: NetgetMetrics
  /** With the `metrics` option: the Prometheus registry behind {@link metrics}. */
  prometheus?: PrometheusMetrics
}

/** What every network of a run shares, handed to the assembly of each. */
type SharedParts = Pick<Run, 'libp2p' | 'privateKey' | 'store' | 'metrics'>

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
  /** The running node's lookup streams, for watches. */
  private lookups?: LookupClient
  private readonly watches = new Set<ServiceWatch>()
  /** `ping()`'s kept ping streams, one per peer pinged (closed with their connection, or on stop). */
  private readonly pings = new WarmPings()
  /** Registries learnt from other registries (peer IDs to addresses), across restarts; bounded. */
  private readonly learnt = new Map<string, RegistryAddress>()
  /** A registry serving several networks: the registry list of each network after the first, across restarts. */
  private readonly otherLists = new Map<string, RegistryList>()
  private readonly picker = new InstancePicker(async (instance, signal) => this.ping(multiaddr(instance.multiaddrs[0]), signal))

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

  /** The network as protocol ids and keys name it (`<name>@<authority>` when closed); throws NotStartedError before start(). */
  get networkId (): string {
    return this.require().networkId
  }

  /** The hooks features report metrics to (no-ops unless the `metrics` option is on); throws NotStartedError before start(). */
  get metrics (): NetgetMetrics {
    return this.require().metrics
  }

  /** With the `metrics` option, the node's Prometheus registry; undefined otherwise; throws NotStartedError before start(). */
  get prometheus (): PrometheusMetrics | undefined {
    return this.require().prometheus
  }

  /**
   * Registries only: the record index and publisher liveness (their change
   * feeds) of one network served (the first when undefined); undefined on
   * other nodes; throws NotStartedError before start().
   */
  registryFeeds (network?: string): { index: RecordIndex, liveness?: PublisherLiveness } | undefined {
    const part = this.network(network)
    return part.index === undefined ? undefined : { index: part.index, liveness: part.liveness }
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
    const networks = await Promise.all(this.servedNetworks().map(async served => {
      const resolved = await served.list.resolve()
      const authority = served.authority ?? resolved.authority
      return { served: { ...served, authority }, registries: resolved.registries, networkId: networkNamespace(served.network, authority) }
    }))
    const unlock = config.dataDir === false ? undefined : await lockDataDir(config.dataDir)
    let store: NodeDatastore | undefined
    let run: Run | undefined

    try {
      const privateKey = config.privateKey ?? (config.dataDir === false ? await generateKeyPair('Ed25519') : await loadOrCreateKey(config.dataDir))
      const isRegistry = config.nodeType === 'registry'
      const peerId = peerIdFromPrivateKey(privateKey).toString()
      const trusts = await Promise.all(networks.map(async ({ served }) => {
        const trust = served.authority === undefined ? undefined : new NetworkTrust({ network: served.network, authority: served.authority, peerId, credential: served.credential, log: this.log.newScope('trust') })
        await trust?.load()
        return trust
      }))
      store = await openDatastore({ network: networks[0].networkId, moreNetworks: networks.slice(1).map(network => network.networkId), dataDir: config.dataDir, persistent: isRegistry })
      const indexes: Array<RecordIndex | undefined> = []
      const live: { libp2p?: NetgetLibp2p } = {}
      const prometheus = config.metrics === false
        ? undefined
        : await createPrometheusMetrics({
          registry: config.metrics === true ? undefined : config.metrics,
          records: () => Object.fromEntries(networks.flatMap(({ networkId }, i) => indexes[i] === undefined ? [] : [[networkId, (indexes[i] as RecordIndex).size]])),
          peers: () => live.libp2p?.getPeers().length ?? 0
        })
      const metrics = prometheus?.hooks ?? NO_METRICS
      // each network's index sees the writes below its own prefix; chained, every write passes through each
      let datastore = store.datastore

      for (const { networkId, served } of networks) {
        const index = isRegistry ? new RecordIndex({ network: networkId, datastore, datastorePrefix: dhtDatastorePrefix(networkId), log: this.log.newScope(networks.length === 1 ? 'index' : `index:${served.network}`), quotas: served.storeQuotas, metrics }) : undefined
        await index?.load()
        datastore = index?.datastore ?? datastore
        indexes.push(index)
      }

      // a DHT's gate needs its network's trust service, which needs libp2p: bound once both exist
      const gates: Array<{ trustService?: TrustService }> = networks.map(() => ({}))
      const dhts: NetworkDhtInit[] = networks.map(({ networkId, served }, i) => {
        const trust = trusts[i]
        const index = indexes[i]
        return {
          network: networkId,
          checkPublisher: trust === undefined ? undefined : async record => { await trust.checkPublisher(record) },
          dhtGate: trust === undefined || !isRegistry || !served.readRestricted ? undefined : async connection => (await gates[i].trustService?.waitForCredential(connection)) !== undefined,
          admitDelivery: index === undefined ? undefined : (delivery, key) => { index.admitDelivery(delivery, key) }
        }
      })
      const libp2p = await this.createLibp2p(privateKey, datastore, dhts, prometheus?.libp2p)
      live.libp2p = libp2p
      indexes.forEach(index => { index?.attach(libp2p) })
      await this.startLibp2p(libp2p)
      const shared: SharedParts = { libp2p, privateKey, store, metrics }
      const parts = networks.map((network, i) => this.assembleNetwork(shared, { ...network, index: indexes[i], trust: trusts[i] }, i === 0))
      run = this.assemble(shared, parts[0], parts.slice(1), { unlock, prometheus })
      this.lookups = run.records.client
      parts.forEach((part, i) => { gates[i].trustService = part.trustService })

      for (const part of [run, ...run.others]) {
        await startNetwork(part)
      }

      run.health.start()
      await this.channels.attach(libp2p, run.networkId)
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

  /**
   * The networks this node serves, with the top-level options applied: its
   * one `network`, or for a registry each of option `networks`.
   */
  private servedNetworks (): ResolvedNetwork[] {
    const { config } = this.init
    const first: ResolvedNetwork = { network: config.network, authority: config.authority, credential: config.credential, readRestricted: config.readRestricted, storeQuotas: config.storeQuotas, list: this.registryList }
    return [first, ...(config.networks ?? []).slice(1).map(served => {
      this.otherLists.set(served.network, this.otherLists.get(served.network) ?? new RegistryList({ network: served.network, registryNodes: served.registryNodes ?? config.registryNodes, bootstrapFile: config.bootstrapFile }))
      return {
        network: served.network,
        authority: served.authority,
        credential: served.credential,
        readRestricted: served.readRestricted ?? config.readRestricted,
        storeQuotas: served.storeQuotas ?? config.storeQuotas,
        list: this.otherLists.get(served.network) as RegistryList
      }
    })]
  }

  /** Stops announcing, health checks, redials, the lookup server and pruning, then libp2p; closes the store and frees the data dir. */
  async stop (): Promise<void> {
    const run = this.run

    if (run === undefined) {
      return
    }

    this.run = undefined
    this.pings.stop()
    await this.teardown(run)
  }

  /** Publishes this node's record now and keeps it published; see `Netget.registerWithNetwork()`. */
  async register (signal: AbortSignal): Promise<AnnounceResult> {
    const run = this.require()

    if (this.init.config.serviceName === undefined) {
      throw new InvalidOptionsError('registerWithNetwork() needs the service name: pass metadata: { name: "MyService", ... } to new Netget()', { option: 'metadata.name' })
    }

    if (run.libp2p.getMultiaddrs().length === 0) {
      throw new InvalidOptionsError('This node has no address other peers can reach: give it listen addresses (option "listen")', { option: 'listen' })
    }

    await run.registries.ensureConnected(signal)
    const announcer = run.announcer ??= this.createAnnouncer(run, this.init.config.serviceName)
    run.checks ??= this.init.config.checks.length === 0 ? undefined : this.createChecks(announcer)
    // the first record carries the checks' first results
    await run.checks?.start(signal)
    const result = await announcer.announce(signal)
    run.checks?.announced()
    this.events.onAnnounced(result)
    return result
  }

  /** Withdraws this node's record, if it published one, and stops re-announcing and checking. */
  async withdraw (signal: AbortSignal): Promise<void> {
    const run = this.require()
    await run.checks?.stop()
    run.checks = undefined
    await run.announcer?.withdraw(signal)
  }

  /** The discovery pipeline; see `Netget.discoverServiceNode()`. */
  async discover (name: string, options: DiscoverOptions & { signal: AbortSignal }): Promise<ServiceInstance[]> {
    const run = this.require()
    const stale = options.allowStale === true ? run.discovery.stale(name, options) : undefined

    if (stale !== undefined && run.registries.connected().length === 0) {
      // no registry now: the last answer at once, not after the redials time out
      return stale
    }

    try {
      await run.registries.ensureConnected(options.signal)
      return await run.discovery.discover(name, options)
    } catch (err) {
      if (stale !== undefined && run.registries.connected().length === 0 && (err as Error).name !== 'AbortError') {
        return stale
      }

      throw err
    }
  }

  /** One healthy instance of `name` by a strategy; see `Netget.pickInstance()`. */
  async pickInstance (name: string, options: PickOptions & { signal: AbortSignal }): Promise<ServiceInstance> {
    const instances = await this.discover(name, options)
    return this.picker.pick(name, this.init.config.network, instances, options.strategy ?? 'nearest', options.signal)
  }

  /**
   * A live view of one service (see `Netget.watch()`); it subscribes at
   * every registry as it connects, and ends when the node stops.
   */
  watch (name: string, options: WatchOptions = {}): ServiceWatch {
    const lookups: ServiceWatch['init']['lookups'] = {
      subscribe: async (...args) => this.requireLookups().subscribe(...args),
      lookup: async (...args) => this.requireLookups().lookup(...args)
    }
    const watch: ServiceWatch = new ServiceWatch({
      name,
      lookups,
      registries: () => this.run?.registries.connected().map(registry => registry.peerId) ?? [],
      requestTimeout: this.init.config.requestTimeout,
      log: this.log.newScope('watch'),
      onClose: () => { this.watches.delete(watch) }
    }, options)

    if (!watch.closed) {
      this.watches.add(watch)
    }

    return watch
  }

  private requireLookups (): LookupClient {
    if (this.lookups === undefined) {
      throw new NotStartedError('The netget node is not started; call start() first')
    }

    return this.lookups
  }

  /** Pings a peer (dialling it first if needed) on a kept ping stream; the RTT in ms, connection and stream set-up excluded. */
  async ping (peer: PeerId | Multiaddr, signal: AbortSignal): Promise<number> {
    const { libp2p } = this.require()
    const connection = await libp2p.dial(peer, { signal })
    return this.pings.ping(connection, signal)
  }

  /**
   * Closed networks: hands a revocation to every connected registry (which
   * keep and pass it on). Resolves with how many took it.
   */
  async publishRevocation (envelope: Uint8Array, signal: AbortSignal): Promise<number> {
    const run = this.require()

    if (run.trustService === undefined || run.trust === undefined) {
      throw new UnsupportedOperationError('Revocations exist on closed networks only: give the node the network\'s "authority"')
    }

    await run.trustService.accept(envelope)
    await run.registries.ensureConnected(signal)
    const service = run.trustService
    const answers = await Promise.allSettled(run.registries.connected().map(async registry => service.exchange(registry.peerId, ['registry'], signal, [envelope])))
    return answers.filter(answer => answer.status === 'fulfilled').length
  }

  /** Registry nodes only: every stored service with its live instances; see `Netget.listServices()`. */
  async listServices (signal: AbortSignal, options: ListServicesOptions = {}): Promise<Array<ServiceSummary<ServiceInstance>>> {
    const { health, libp2p } = this.require()
    const run = this.network(options.network)

    if (run.index === undefined) {
      throw new UnsupportedOperationError('listServices() is answered by registry nodes only; use discoverServiceNode(name) on other nodes')
    }

    run.verified ??= new Map()
    const liveness = run.liveness
    const self = libp2p.peerId.toString()
    const instance = (record: VerifiedRecord, health: Parameters<typeof localHealth>[0]): ServiceInstance => {
      const measured = liveness?.measurement(record.peerId)
      return toInstance(record, measured === undefined ? localHealth(health) : registryHealth(measured, self))
    }
    return listIndexedServices({ network: run.networkId, index: run.index, health, signal, log: this.log, toInstance: instance, verified: run.verified, checkPublisher: run.trust === undefined ? undefined : async record => { await run.trust?.checkPublisher(record) } }, options)
  }

  /** Registry nodes only: what federation with the network's other registries has done; see `Netget.syncStats()`. */
  syncStats (network?: string): SyncStats {
    const run = this.network(network)

    if (run.sync === undefined) {
      throw new UnsupportedOperationError('syncStats() is answered by registry nodes only')
    }

    return run.sync.syncStats()
  }

  /**
   * Registries only: reconciles with every connected peer registry now
   * (it happens on connecting and every `syncInterval` anyway).
   */
  async syncNow (signal: AbortSignal, network?: string): Promise<void> {
    const run = this.network(network)

    if (run.sync === undefined) {
      throw new UnsupportedOperationError('syncNow() is run by registry nodes only')
    }

    await run.sync.syncNow(signal)
  }

  /**
   * A registry learnt from another: a registry dials it at once (a mesh of
   * peer registries), another node keeps it as a fallback, dialled only when
   * none of its registries is connected. At most MAX_FALLBACK_REGISTRIES are
   * kept.
   */
  private learnRegistry (connections: RegistryConnections, registry: SyncRegistry, dial: boolean, learnt = this.learnt): void {
    if (learnt.size >= MAX_FALLBACK_REGISTRIES || learnt.has(registry.id)) {
      return
    }

    const address = registry.addrs.map(addr => {
      try {
        return parseRegistryAddress(addr.includes('/p2p/') ? addr : `${addr}/p2p/${registry.id}`)
      } catch {
        return undefined
      }
    }).find(address => address !== undefined && address.peerId.toString() === registry.id && !isUnspecified(address))

    if (address === undefined) {
      return
    }

    learnt.set(registry.id, address)

    if (dial) {
      connections.add(address)
    }
  }

  /** Dials the learnt registries when no registry is connected. */
  private useFallbacks (connections: RegistryConnections): void {
    if (connections.connected().length > 0) {
      return
    }

    for (const address of this.learnt.values()) {
      connections.add(address)
    }
  }

  /** Asks a registry just connected which others it knows (nodes other than registries: fallbacks). */
  private async askRegistries (run: Pick<Run, 'libp2p' | 'networkId'>, connections: RegistryConnections, peer: PeerId): Promise<void> {
    const signal = AbortSignal.timeout(this.init.config.requestTimeout)

    try {
      const stream = await run.libp2p.dialProtocol(peer, syncProtocol(run.networkId), { signal })
      const registries = await askRegistries(stream, signal)
      registries.forEach(registry => { this.learnRegistry(connections, registry, false) })
    } catch (err) {
      this.log.trace('could not ask %p for other registries - %e', peer, err)
    }
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

  /** The registries kept connected to, of every network served, and whether each is connected now; before start, the listed ones. */
  registries (): Array<{ registry: RegistryAddress, connected: boolean, network: string }> {
    const run = this.run

    if (run === undefined) {
      return this.servedNetworks().flatMap(({ network, list }) => list.known().map(registry => ({ registry, connected: false, network })))
    }

    return [run, ...run.others].flatMap(part => {
      const connected = new Set(part.registries.connected().map(registry => registry.peerId.toString()))
      return part.registries.list().map(registry => ({ registry, connected: connected.has(registry.peerId.toString()), network: part.served.network }))
    })
  }

  /** The names of the networks this node serves, the first being its `network`. */
  get networks (): string[] {
    return this.servedNetworks().map(served => served.network)
  }

  /**
   * The part of the run serving `network` (a name, or a closed network's
   * `<name>@<authority>`); the first network's when undefined. Throws
   * InvalidOptionsError naming the networks served when it serves no such
   * network.
   */
  private network (network?: string): NetworkRun {
    const run = this.require()

    if (network === undefined) {
      return run
    }

    const part = [run, ...run.others].find(part => part.served.network === network || part.networkId === network)

    if (part === undefined) {
      throw new InvalidOptionsError(`This node does not serve network ${JSON.stringify(network)}; it serves ${this.networks.map(name => JSON.stringify(name)).join(', ')}`, { option: 'network' })
    }

    return part
  }

  private require (): Run {
    if (this.run === undefined) {
      throw new NotStartedError('The netget node is not started; call start() first')
    }

    return this.run
  }

  /** The node's libp2p: the DHT of each network it serves, the first network's as service `dht`. */
  private async createLibp2p (privateKey: PrivateKey, datastore: NodeDatastore['datastore'], dhts: NetworkDhtInit[], metrics: CreateNodeInit['metrics']): Promise<NetgetLibp2p> {
    const { config } = this.init
    const isRegistry = config.nodeType === 'registry'

    return createNetgetLibp2p({
      privateKey,
      ...dhts[0],
      moreNetworks: dhts.slice(1),
      dhtServer: isRegistry,
      listen: config.listen,
      announce: config.announce,
      datastore,
      maxConnections: config.maxConnections,
      inboundConnectionThreshold: isRegistry ? REGISTRY_INBOUND_CONNECTION_THRESHOLD : SERVICE_INBOUND_CONNECTION_THRESHOLD,
      providerValidity: Math.max(config.recordTtl, MIN_PROVIDER_VALIDITY),
      connectionGater: config.connectionGater,
      metrics
    })
  }

  /**
   * One network's part of a run: its trust service and registry
   * connections, and on a registry its lookup and put servers, pruning,
   * sync and publisher liveness. The first network's registry connections
   * also drive the node's announcer, watches and fallbacks.
   */
  private assembleNetwork (shared: SharedParts, parts: Pick<NetworkRun, 'networkId' | 'served' | 'index' | 'trust'> & { registries: RegistryAddress[] }, first: boolean): NetworkRun {
    const { config } = this.init
    const { libp2p } = shared
    const { networkId, served, index, trust } = parts
    const log = first ? this.log : this.log.newScope(served.network)
    const learnt = first ? this.learnt : new Map<string, RegistryAddress>()
    const trustService: TrustService | undefined = trust === undefined
      ? undefined
      : new TrustService({
        libp2p,
        namespace: networkId,
        trust,
        readRestricted: config.nodeType === 'registry' && served.readRestricted,
        datastore: index === undefined ? undefined : shared.store.datastore,
        datastorePrefix: dhtDatastorePrefix(networkId),
        trustRefreshInterval: config.trustRefreshInterval,
        revocationRefreshInterval: config.revocationRefreshInterval,
        registries: (): PeerId[] => connections.connected().map(registry => registry.peerId),
        onCredentialChanged: () => { if (first) { this.run?.announcer?.refresh() } },
        onRevocation: (envelope, from) => { sync?.revocationAccepted(envelope, from) },
        log: log.newScope('trust')
      })
    const connections = new RegistryConnections({
      libp2p,
      network: served.network,
      networkId,
      admit: trustService === undefined ? undefined : async (peer, signal) => { await admitRegistry(trustService, peer, signal) },
      registries: parts.registries.filter(registry => !registry.peerId.equals(libp2p.peerId)),
      redialMinDelay: config.redialMinDelay,
      redialMaxDelay: config.redialMaxDelay,
      dialTimeout: config.dialTimeout,
      log: log.newScope('registries'),
      onConnected: registry => {
        this.events.onRegistryConnected(registry, served.network)

        if (!first) {
          return
        }

        if (index === undefined) {
          void this.askRegistries({ libp2p, networkId }, connections, registry.peerId)
        }

        this.run?.announcer?.refresh()
        this.watches.forEach(watch => { watch.registryConnected(registry.peerId) })
      },
      onDisconnected: registry => {
        this.events.onRegistryDisconnected(registry, served.network)

        if (first) {
          this.useFallbacks(connections)
          this.watches.forEach(watch => { watch.registryDisconnected(registry.peerId) })
        }
      }
    })
    const checkPublisher = trust === undefined ? undefined : async (record: ServiceRecord): Promise<void> => { await trust.checkPublisher(record) }
    const liveness = index === undefined
      ? undefined
      : new PublisherLiveness({
        libp2p,
        privateKey: shared.privateKey,
        network: networkId,
        interval: config.healthInterval,
        timeout: config.healthTimeout,
        failureThreshold: config.healthFailureThreshold,
        isPublisher: peerId => hasLiveRecord(index, peerId),
        onChange: peerId => { subscriptions?.attestationChanged(peerId) },
        metrics: shared.metrics,
        log: log.newScope('liveness')
      })
    const subscriptions = index === undefined ? undefined : new SubscriptionHub({ index, attestation: peerId => liveness?.attestation(peerId), metrics: shared.metrics, log: log.newScope('subscriptions') })
    const stopTracking = index === undefined || liveness === undefined
      ? undefined
      : index.onChange(change => {
        if (hasLiveRecord(index, change.peerId)) {
          liveness.track(change.peerId)
        } else {
          liveness.untrack(change.peerId)
        }
      })

    const sync = index === undefined
      ? undefined
      : new SyncService({
        libp2p,
        network: networkId,
        index,
        checkPublisher,
        interval: config.syncInterval,
        admit: trustService === undefined ? undefined : async (peer, signal) => { await admitRegistry(trustService, peer, signal) },
        authorize: trustService === undefined ? undefined : async connection => syncAccess(await trustService.waitForCredential(connection), served.readRestricted),
        onRegistry: registry => { this.learnRegistry(connections, registry, true, learnt) },
        revocations: trust === undefined || trustService === undefined ? undefined : { envelopes: () => trust.revocations.envelopes(), accept: async (envelope, from) => trustService.accept(envelope, from) },
        log: log.newScope('sync')
      })

    return {
      networkId,
      served,
      index,
      trust,
      registries: connections,
      trustService,
      liveness,
      subscriptions,
      stopTracking,
      lookupServer: index === undefined ? undefined : new LookupServer({ libp2p, network: networkId, index, log: log.newScope('lookup'), authorize: readGate(trustService, served.readRestricted), attestation: peerId => liveness?.attestation(peerId), subscriptions, metrics: shared.metrics }),
      putServer: index === undefined ? undefined : new PutServer({ libp2p, network: networkId, index, checkPublisher, log: log.newScope('put') }),
      announcement: new RegistryAnnouncement({ dht: first ? libp2p.services.dht : libp2p.services[dhtServiceName(networkId)], libp2p, network: networkId, provide: index !== undefined, onRegistry: registry => { this.learnRegistry(connections, registry, index !== undefined, learnt) }, log: log.newScope('announcement') }),
      pruner: index === undefined ? undefined : new RecordPruner({ index, interval: config.recordCleanupInterval, log }),
      sync
    }
  }

  /** The run: every network's part, and the first network's record search, health checks and discovery. */
  private assemble (shared: SharedParts, first: NetworkRun, others: NetworkRun[], rest: Pick<Run, 'unlock' | 'prometheus'>): Run {
    const { config } = this.init
    const { libp2p } = shared
    const log = this.log
    const trust = first.trust
    const checkPublisher = trust === undefined ? undefined : async (record: ServiceRecord): Promise<void> => { await trust.checkPublisher(record) }
    const records = new RecordFinder({ libp2p, network: first.networkId, checkPublisher, registries: first.registries, requestTimeout: config.requestTimeout, log: log.newScope('discovery') })
    const health = new HealthMonitor<VerifiedRecord>({
      libp2p,
      interval: config.healthInterval,
      timeout: config.healthTimeout,
      failureThreshold: config.healthFailureThreshold,
      log: log.newScope('health'),
      onChange: (record, current) => { this.events.onHealthChange(toInstance(record, localHealth(current))) }
    })

    return {
      ...shared,
      ...first,
      ...rest,
      others,
      records,
      health,
      discovery: new ServiceDiscovery({ network: config.network, records, health, cache: new AnswerCache() })
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
      network: run.networkId,
      name,
      metadata: config.metadata ?? {},
      recordTtl: config.recordTtl,
      reannounceInterval: config.reannounceInterval,
      reannounceJitter: config.reannounceJitter,
      seqMark: openSeqMark(config.dataDir),
      connectedRegistries: () => run.registries.connected().map(registry => registry.peerId),
      credentialFor: run.trust === undefined ? undefined : name => (run.trust as NetworkTrust).credentialFor(name),
      status: () => run.checks?.status,
      log: this.log.newScope('announce'),
      onAnnounced: this.events.onAnnounced,
      onError: this.events.onAnnounceError
    })
  }

  /** The node's service checks, publishing through `announcer`. */
  private createChecks (announcer: Announcer): ServiceChecks {
    const { config } = this.init

    return new ServiceChecks({
      checks: config.checks,
      deregisterCriticalAfter: config.deregisterCriticalAfter,
      publishTimeout: config.operationTimeout,
      log: this.log.newScope('checks'),
      republish: () => { announcer.refresh() },
      withdraw: async signal => { await announcer.withdraw(signal) },
      announce: async signal => { this.events.onAnnounced(await announcer.announce(signal)) },
      onStatus: this.events.onServiceStatus,
      onDeregistered: this.events.onDeregistered,
      onError: this.events.onAnnounceError
    })
  }

  private async teardown (run: Run): Promise<void> {
    const networks = [run, ...run.others]
    this.lookups = undefined
    await Promise.all([...this.watches].map(async watch => { await watch.close() }))
    await run.checks?.stop()
    run.announcer?.stop()
    run.health.stop()
    run.records.stop()

    for (const part of networks) {
      await stopNetwork(part)
    }

    await this.channels.detach()

    for (const part of networks) {
      await part.lookupServer?.stop().catch(() => {})
      await part.putServer?.stop().catch(() => {})
    }

    await run.libp2p.stop()
    networks.forEach(part => { part.index?.detach() })
    await run.store.close()
    await run.unlock?.()
  }
}

/** Starts one network's part of a run, in dependency order: trust, liveness, servers, pruning, sync, then registry connections. */
async function startNetwork (part: NetworkRun): Promise<void> {
  await part.trustService?.start()
  part.liveness?.start()
  part.subscriptions?.start()
  await part.lookupServer?.start()
  await part.putServer?.start()
  part.pruner?.start()
  await part.sync?.start()
  part.announcement?.start()
  part.registries.start()
}

/** Stops what {@link startNetwork} started, except the lookup and put servers (stopped after channels, before libp2p). */
async function stopNetwork (part: NetworkRun): Promise<void> {
  part.registries.stop()
  part.pruner?.stop()
  await part.sync?.stop()
  part.announcement?.stop()
  part.stopTracking?.()
  part.subscriptions?.stop()
  part.liveness?.stop()
  await part.trustService?.stop()
}

/** Whether an address is 0.0.0.0 or :: (a listen address, not one to dial). */
function isUnspecified (address: RegistryAddress): boolean {
  const host = address.multiaddr.getComponents().find(component => component.name === 'ip4' || component.name === 'ip6')?.value
  return host === '0.0.0.0' || host === '::'
}

/** Whether the index holds a live (not withdrawn, not expired) record signed by `peerId`. */
function hasLiveRecord (index: RecordIndex, peerId: string, now = Date.now()): boolean {
  return index.namesOf(peerId).some(name => {
    const record = index.record(name, peerId)
    return record !== undefined && !record.withdrawn && record.expiresAt > now
  })
}

/**
 * A registry of a closed network is used only if the trust exchange shows it
 * holds a `registry` credential, and only if it took this node's (when it
 * restricts reads). Throws CredentialError saying which.
 */
async function admitRegistry (trustService: TrustService, peer: PeerId, signal: AbortSignal): Promise<void> {
  const exchange = await trustService.exchange(peer, ['registry'], signal)

  if (exchange.refused !== undefined) {
    throw exchange.refused
  }

  if (exchange.credential === undefined) {
    throw new CredentialError(`Registry ${peer.toString()} holds no valid "registry" credential of this network's authority, so it is not used; grant it one with netget-peer network grant --role registry`, 'missing', trustService.network)
  }
}

/** Closed networks: registries sync; other nodes may ask for the registry list, on a read-restricted network only with a credential. */
function syncAccess (credential: Credential | undefined, readRestricted: boolean): SyncAccess {
  if (credential?.role === 'registry') {
    return 'sync'
  }

  return credential === undefined && readRestricted ? 'none' : 'ask'
}

/**
 * On a read-restricted closed network, the check a registry makes before
 * answering a peer: it must have presented a passing credential (waiting a
 * moment for a new connection's trust exchange). Undefined elsewhere.
 */
function readGate (trustService: TrustService | undefined, readRestricted: boolean): ((connection: Connection) => Promise<string | undefined>) | undefined {
  if (trustService === undefined || !readRestricted) {
    return undefined
  }

  return async connection => {
    const credential = await trustService.waitForCredential(connection)
    return credential === undefined ? `credential required: network "${trustService.network}" is read-restricted; present a credential of its authority (option "credential", CLI --credential)` : undefined
  }
}

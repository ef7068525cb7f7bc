import { logger } from '@libp2p/logger'
import { TypedEventEmitter } from 'main-event'
import { InvalidOptionsError, NotStartedError, UnsupportedOperationError } from './errors.js'
import { normalizeOptions } from './options/index.js'
import { assertServiceName, parsePeerTarget } from './protocol/names.js'
import { parseRegistryAddress } from './registries/registry-address.js'
import { Runtime } from './runtime/index.js'
import { operationSignal, withOperationSignal } from './signals.js'
import type { SyncStats } from './sync/index.js'
import type { Channel, ChannelHandler, ChannelTarget, HandleChannelsOptions, OpenChannelOptions } from './channel/index.js'
import type { NetgetLibp2p } from './libp2p/create-node.js'
import type { NetgetConfig, NetgetInit } from './options/index.js'
import type { RegistryAddress } from './registries/registry-address.js'
import type { ListServicesOptions, ServiceSummary } from './registry/service-list.js'
import type { AnnounceResult } from './service/announcer.js'
import type { DiscoverOptions, NetgetEvents, NetgetStatus, RegistryEventDetail, RegistryObserver, ServiceInstance, StopOptions } from './types.js'
import type { AbortOptions, Logger } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { PickOptions } from './discovery/pick-instance.js'
import type { ServiceWatch, WatchOptions } from './watch/service-watch.js'

export type { ServiceInstance, InstanceHealth, RegistryEventDetail, RegistryObserver, NetgetEvents, DiscoverOptions, StopOptions, NetgetStatus } from './types.js'

/**
 * A netget peer: a service node that publishes itself and discovers others,
 * or a registry node that stores the network's records. A facade over the
 * node's {@link Runtime}: it validates, applies the default timeout, turns
 * aborts into named errors and emits events. See the README.
 */
export class Netget extends TypedEventEmitter<NetgetEvents> {
  /** The options in force, with defaults applied. */
  readonly config: NetgetConfig
  private readonly log: Logger
  private readonly runtime: Runtime
  private transition: Promise<void> = Promise.resolve()
  private state: NetgetStatus = 'stopped'
  /** Observers of the running registry, told when it stops. */
  private readonly observers = new Set<RegistryObserver>()

  /** Checks the options at once; throws InvalidOptionsError naming the first bad one. */
  constructor (init: NetgetInit = {}) {
    super()
    this.config = normalizeOptions(init)
    this.log = logger(`netget:${this.config.nodeType}`)
    this.runtime = new Runtime({ config: this.config, log: this.log }, {
      onRegistryConnected: (registry, network) => { this.safeDispatchEvent('registry:connected', { detail: describeRegistry(registry, network) }) },
      onRegistryDisconnected: (registry, network) => { this.safeDispatchEvent('registry:disconnected', { detail: describeRegistry(registry, network) }) },
      onHealthChange: instance => { this.safeDispatchEvent(instance.health.status === 'healthy' ? 'instance:healthy' : 'instance:unhealthy', { detail: instance }) },
      onAnnounced: result => { this.safeDispatchEvent('service:announced', { detail: result }) },
      onAnnounceError: err => { this.safeDispatchEvent('service:error', { detail: err }) },
      onServiceStatus: detail => { this.safeDispatchEvent('service:status', { detail }) },
      onDeregistered: detail => { this.safeDispatchEvent('service:deregistered', { detail }) }
    })
  }

  /** The node's lifecycle state. */
  get status (): NetgetStatus {
    return this.state
  }

  /** The network this node belongs to (a registry serving several: the first). */
  get network (): string {
    return this.config.network
  }

  /** The names of the networks this node serves (option `networks`): one for every node but a registry serving several. */
  get networks (): string[] {
    return this.runtime.networks
  }

  /**
   * The network as protocol ids, keys and records name it: its name, or for a
   * closed network `<name>@<authority peer ID>`. Throws NotStartedError before
   * {@link start} (the authority may come from bootstrap.json).
   */
  get networkId (): string {
    this.requireStarted()
    return this.runtime.networkId
  }

  /** The node type: `service` or `registry`. */
  get nodeType (): NetgetConfig['nodeType'] {
    return this.config.nodeType
  }

  /** The node's peer ID. Throws NotStartedError before {@link start}. */
  get peerId (): string {
    return this.libp2p.peerId.toString()
  }

  /** The addresses the node can be dialled on, each ending in `/p2p/<peerId>`. */
  get multiaddrs (): string[] {
    return this.libp2p.getMultiaddrs().map(address => address.toString())
  }

  /** The underlying libp2p node, for advanced use. Throws NotStartedError before {@link start}. */
  get libp2p (): NetgetLibp2p {
    if (!this.runtime.started) {
      throw new NotStartedError(`The netget node is ${this.state}; call start() first`)
    }

    return this.runtime.libp2p
  }

  /**
   * Starts the peer: loads or creates its identity, listens, and connects to
   * the registries. Safe to call twice; resolves when the node is listening
   * (registry connections continue in the background).
   */
  async start (): Promise<void> {
    if (this.state === 'stopped') {
      // visible at once, not only when the queued transition begins
      this.state = 'starting'
    }

    await this.lifecycle(async () => {
      if (this.runtime.started) {
        return
      }

      this.state = 'starting'

      try {
        await this.runtime.start()
        // the list read from bootstrap.json, so that config says what the node uses
        this.config.registryNodes ??= this.runtime.registries().map(({ registry }) => registry.multiaddr.toString())
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
      if (!this.runtime.started) {
        return
      }

      this.state = 'stopping'
      const signal = operationSignal(options, this.config.operationTimeout)

      try {
        if (options.withdraw !== false) {
          await this.runtime.withdraw(signal).catch(err => { this.log('withdrawal failed - %e', err) })
        }
      } finally {
        signal.clear()
        const observers = [...this.observers]
        this.observers.clear()
        await this.runtime.stop()
        this.state = 'stopped'

        for (const observer of observers) {
          try {
            observer.stopped?.()
          } catch (err) {
            this.log.error('a registry observer failed - %e', err)
          }
        }
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
      throw new InvalidOptionsError('registerWithNetwork() needs the service name: pass metadata: { name: "MyService", ... } to new Netget()', { option: 'metadata.name' })
    }

    await this.start()
    return this.withSignal(options, 'Registering', async signal => this.runtime.register(signal))
  }

  /** Withdraws this node's record (readers drop it at once) and stops re-announcing; the node keeps running. */
  async unregister (options: AbortOptions = {}): Promise<void> {
    this.requireStarted()
    await this.withSignal(options, 'Unregistering', async signal => { await this.runtime.withdraw(signal) })
  }

  /**
   * Finds the live instances of a service on this node's network. Resolves
   * with every verified instance, newest record per instance, healthy first;
   * rejects with ServiceNotFoundError if none is live.
   */
  async discoverServiceNode (name: string, options: DiscoverOptions = {}): Promise<ServiceInstance[]> {
    assertServiceName(name, 'name', 'discoverServiceNode(name)')
    await this.start()
    return this.withSignal(options, `Discovering "${name}"`, async signal => this.runtime.discover(name, { ...options, signal }))
  }

  /**
   * Watches a service: a live view of its instances that starts with the
   * current set (`added` events) and then reports every change —
   * `added`, `updated`, `removed`, `health` — as the registries push it.
   * Iterate it (`for await (const change of watch)`), listen to its events,
   * or read `watch.instances()`; `watch.close()` or `options.signal` ends it,
   * and so does `stop()`. Starts the node if needed.
   *
   * @example
   * ```ts
   * for await (const { type, instance } of node.watch('DatabaseService')) {
   *   updateRoutingTable(type, instance) // your code: type is added | updated | removed | health
   * }
   * ```
   */
  watch (name: string, options: WatchOptions = {}): ServiceWatch {
    assertServiceName(name, 'name', 'watch(name)')
    const watch = this.runtime.watch(name, options)
    this.start().catch(err => { watch.fail(err) })
    return watch
  }

  /**
   * One healthy instance of a service, chosen by `strategy` (`nearest` by
   * this node's smoothed RTT, the default; `random`; `round-robin`), after a
   * discovery with the same options. Rejects with ServiceNotFoundError if
   * none is healthy.
   */
  async pickInstance (name: string, options: PickOptions = {}): Promise<ServiceInstance> {
    assertServiceName(name, 'name', 'pickInstance(name)')

    if (options.strategy !== undefined && !['nearest', 'random', 'round-robin'].includes(options.strategy)) {
      throw new InvalidOptionsError(`pickInstance() option "strategy" must be "nearest", "random" or "round-robin", not ${JSON.stringify(options.strategy)}`, { option: 'strategy' })
    }

    await this.start()
    return this.withSignal(options, `Picking an instance of "${name}"`, async signal => this.runtime.pickInstance(name, { ...options, signal }))
  }

  /**
   * Pings a peer by peer ID or by a multiaddr ending in `/p2p/<peer id>`, and
   * returns the round-trip time in milliseconds (sub-millisecond precision;
   * connection set-up excluded). A malformed target is an InvalidOptionsError
   * (`option: 'target'`), thrown before the node starts.
   */
  async ping (target: string | Multiaddr, options: AbortOptions = {}): Promise<number> {
    const peer = parsePeerTarget(target)
    await this.start()
    return this.withSignal(options, `Pinging ${String(target)}`, async signal => this.runtime.ping(peer, signal))
  }

  /**
   * Accepts message channels from other peers (browser pages included) on
   * `/netget/<network>/channel/1.0.0`, starting the node if needed. The
   * handler gets each incoming {@link Channel}; it stays in force across
   * restarts until {@link unhandleChannels}. See the README, "Channels".
   */
  async handleChannels (handler: ChannelHandler, options: HandleChannelsOptions = {}): Promise<void> {
    await this.start()
    await this.runtime.channels.handle(handler, options)
  }

  /** Stops accepting channels; open channels stay open. */
  async unhandleChannels (): Promise<void> {
    await this.runtime.channels.unhandle()
  }

  /**
   * Opens a message channel to a peer that handles channels: a discovered
   * instance, a peer ID or a multiaddr ending in `/p2p/<peer id>`.
   */
  async openChannel (target: ChannelTarget, options: OpenChannelOptions = {}): Promise<Channel> {
    await this.start()
    return this.withSignal(options, 'Opening a channel', async signal => this.runtime.channels.openChannel(target, { ...options, signal }))
  }

  /**
   * The node's Prometheus metrics as text, with its `Content-Type`: the
   * libp2p stack's and netget's (lookups and puts by result, lookup latency,
   * refusals by reason, records stored, connected peers, ...). Needs the
   * `metrics` option (UnsupportedOperationError otherwise); throws
   * NotStartedError before {@link start}.
   */
  async metrics (): Promise<{ contentType: string, text: string }> {
    this.requireStarted()
    const prometheus = this.runtime.prometheus

    if (prometheus === undefined) {
      throw new UnsupportedOperationError('Metrics are off: create the node with metrics: true (or a prom-client Registry)')
    }

    return { contentType: prometheus.contentType, text: await prometheus.text() }
  }

  /**
   * Registry nodes only: the services this registry stores, in name order,
   * with each live instance (records verified) and its health as this
   * registry measures it. By default instances are pinged from the first
   * call on, until their record expires; with `ping: false` (what the HTTP
   * port uses) nothing is pinged and health is only what the registry knows.
   * `after`, `name`, `limit` and `maxInstances` bound the answer.
   */
  async listServices (options: ListServicesOptions = {}): Promise<Array<ServiceSummary<ServiceInstance>>> {
    this.requireStarted()
    return this.withSignal(options, 'Listing services', async signal => this.runtime.listServices(signal, options))
  }

  /**
   * Registry nodes only: calls `observer` on every change of what this
   * registry serves — a record stored, replaced or removed, and each liveness
   * measurement of a publisher connected to it — until the returned function
   * is called or the node stops (then `observer.stopped()`). This is what the
   * HTTP dashboard's `/api/events` follows. A registry serving several
   * networks: `network` names the one to follow (default: the first).
   * Throws NotStartedError before start(), UnsupportedOperationError on
   * other nodes, InvalidOptionsError for a network it does not serve.
   */
  observeRegistry (observer: RegistryObserver, options: { network?: string } = {}): () => void {
    if (this.state !== 'started') {
      throw new NotStartedError(`The netget node is ${this.state}; call start() first`)
    }

    const feeds = this.runtime.registryFeeds(options.network)

    if (feeds === undefined) {
      throw new UnsupportedOperationError('observeRegistry() is answered by registry nodes only')
    }

    const stopRecords = feeds.index.onChange(change => { observer.record?.({ name: change.name, peerId: change.peerId, removed: change.record === undefined }) })
    const stopLiveness = feeds.liveness?.onMeasurement(measurement => { observer.liveness?.(measurement) })
    this.observers.add(observer)
    return () => {
      stopRecords()
      stopLiveness?.()
      this.observers.delete(observer)
    }
  }

  /**
   * Registry nodes only: what federation with the network's other
   * registries has done since start — sessions, bytes and records each way,
   * records refused — and how many peer registries are connected
   * (docs/PROTOCOL.md §17). A registry serving several networks:
   * `network` names the one (default: the first).
   */
  syncStats (options: { network?: string } = {}): SyncStats {
    this.requireStarted()
    return this.runtime.syncStats(options.network)
  }

  /**
   * Registry nodes only: reconciles this registry's records with every
   * connected peer registry now, resolving when done (it happens on
   * connecting and every `syncInterval` anyway). A failed session is counted
   * in {@link syncStats}, not thrown. A registry serving several networks:
   * `network` names the one (default: the first).
   */
  async syncNow (options: AbortOptions & { network?: string } = {}): Promise<void> {
    this.requireStarted()
    return this.withSignal(options, 'Syncing with peer registries', async signal => this.runtime.syncNow(signal, options.network))
  }

  /**
   * Closed networks: hands a revocation (from `netget-peer network revoke`,
   * or `issueRevocation()`) to every connected registry, which keep it, hand
   * it to every peer and drop the records it voids. Resolves with how many
   * registries took it.
   */
  async publishRevocation (revocation: Uint8Array, options: AbortOptions = {}): Promise<number> {
    await this.start()
    return this.withSignal(options, 'Publishing a revocation', async signal => this.runtime.publishRevocation(revocation, signal))
  }

  /**
   * Adds a registry (a multiaddr ending in `/p2p/<peer id>`) and keeps the
   * node connected to it, now and after every restart. Returns false if it
   * was already known.
   */
  addRegistryNode (address: string | Multiaddr): boolean {
    return this.runtime.addRegistry(parseRegistryAddress(address, 'addRegistryNode'))
  }

  /** Stops using a registry and closes its connections, now and after every restart. Returns false if it was not known. */
  async removeRegistryNode (address: string | Multiaddr): Promise<boolean> {
    return this.runtime.removeRegistry(parseRegistryAddress(address, 'removeRegistryNode'))
  }

  /** The registries this node keeps connected to, and whether each is connected now (a registry serving several networks: those of every network, each naming its network). */
  registryNodes (): Array<RegistryEventDetail & { connected: boolean }> {
    return this.runtime.registries().map(({ registry, connected, network }) => ({ ...describeRegistry(registry, network), connected }))
  }

  private requireStarted (): void {
    if (!this.runtime.started) {
      throw new NotStartedError(`The netget node is ${this.state}; call start() first`)
    }
  }

  private async lifecycle (step: () => Promise<void>): Promise<void> {
    const next = this.transition.then(step)
    this.transition = next.catch(() => {})
    await next
  }

  private async withSignal<T> (options: AbortOptions, what: string, task: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return withOperationSignal(options, this.config.operationTimeout, what, task)
  }
}

function describeRegistry (registry: RegistryAddress, network: string): RegistryEventDetail {
  return { peerId: registry.peerId.toString(), multiaddr: registry.multiaddr.toString(), network }
}

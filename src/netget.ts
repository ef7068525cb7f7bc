import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { anySignal } from 'any-signal'
import { TypedEventEmitter, setMaxListeners } from 'main-event'
import { ChannelService } from './channel/channel-service.js'
import { byHealth, matchesFilter, toInstance } from './discovery/instances.js'
import { AbortError, InvalidOptionsError, NotStartedError, ServiceNotFoundError, TimeoutError, UnsupportedOperationError } from './errors.js'
import { loadBootstrapList, resolveBootstrapPath } from './network/bootstrap-list.js'
import { parseRegistryAddress } from './network/registry-address.js'
import { normalizeOptions } from './options.js'
import { listIndexedServices } from './registry/service-list.js'
import { startRuntime, stopRuntime } from './runtime.js'
import { Announcer } from './service/announcer.js'
import type { Channel, ChannelHandler, ChannelTarget, HandleChannelsOptions, OpenChannelOptions } from './channel/index.js'
import type { RegistryAddress } from './network/registry-address.js'
import type { NetgetLibp2p } from './network/create-node.js'
import type { NetgetConfig, NetgetInit } from './options.js'
import type { ServiceSummary } from './registry/service-list.js'
import type { Runtime } from './runtime.js'
import type { AnnounceResult } from './service/announcer.js'
import type { DiscoverOptions, NetgetEvents, NetgetStatus, RegistryEventDetail, ServiceInstance, StopOptions } from './types.js'
import type { AbortOptions, Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export type { ServiceInstance, InstanceHealth, RegistryEventDetail, NetgetEvents, DiscoverOptions, StopOptions, NetgetStatus } from './types.js'

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
  private running?: Runtime
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
        const runtime = await startRuntime(this.config, await this.resolveRegistries(), this.log, {
          onRegistryConnected: registry => {
            this.safeDispatchEvent('registry:connected', { detail: describeRegistry(registry) })
            this.running?.announcer?.refresh()
          },
          onRegistryDisconnected: registry => { this.safeDispatchEvent('registry:disconnected', { detail: describeRegistry(registry) }) },
          onHealthChange: (record, health) => {
            this.safeDispatchEvent(health.status === 'healthy' ? 'instance:healthy' : 'instance:unhealthy', { detail: toInstance(record, health) })
          }
        })

        try {
          await this.channels.attach(runtime.libp2p, this.config.network)
        } catch (err) {
          await stopRuntime(runtime)
          throw err
        }

        this.running = runtime
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
        await this.channels.detach()
        await stopRuntime(running)
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
              options.onInstance?.(toInstance(record, running.health.health(record.peerId)))
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
        return toInstance(record, await running.health.observe(record, { signal, ping: options.checkHealth }))
      }))
      signal.throwIfAborted()

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
      toInstance
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

  private async resolveRegistries (): Promise<RegistryAddress[]> {
    let registries = this.pendingRegistries

    if (this.config.registryNodes === undefined) {
      const list = await loadBootstrapList(resolveBootstrapPath(this.config.bootstrapFile))
      const fromFile = (list.networks[this.config.network] ?? []).map(address => parseRegistryAddress(address))
      registries = [...fromFile.filter(registry => !registries.some(known => known.peerId.equals(registry.peerId))), ...registries]
    }

    return registries.filter(registry => !this.removedRegistries.has(registry.peerId.toString()))
  }

  private createAnnouncer (running: Runtime): Announcer {
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

  private require (): Runtime {
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

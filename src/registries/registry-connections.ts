import { raceSignal } from 'race-signal'
import { NoRegistryReachableError, TimeoutError } from '../errors.js'
import { servedNamespaces, servesNamespace, wrongNetworkError } from './registry-network.js'
import type { RegistryAddress } from './registry-address.js'
import type { IdentifyResult, Logger, PeerId } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

/** Tag that keeps the connection manager from pruning registry connections. */
const REGISTRY_TAG = 'netget-registry'

/** What {@link RegistryConnections} needs. */
/** The parts of a libp2p node the supervisor uses. */
export type RegistryConnectionsComponents = Pick<Libp2p, 'peerId' | 'dial' | 'hangUp' | 'peerStore' | 'addEventListener' | 'removeEventListener'>

export interface RegistryConnectionsInit {
  libp2p: RegistryConnectionsComponents
  /** The network's name, as messages name it. */
  network: string
  /**
   * The network as protocol ids name it (`<name>@<authority>` when closed): a
   * registry counts as connected only once identify shows it serves this
   * namespace's lookup or kad protocol.
   * @default network
   */
  networkId?: string
  registries: RegistryAddress[]
  redialMinDelay: number
  redialMaxDelay: number
  dialTimeout: number
  log: Logger
  onConnected(registry: RegistryAddress): void
  onDisconnected(registry: RegistryAddress): void
  /**
   * Closed networks: run on each new connection to a registry before it
   * counts as connected (the trust exchange); throw to refuse the registry.
   */
  admit?(peer: PeerId, signal: AbortSignal): Promise<void>
}

interface Supervised {
  address: RegistryAddress
  connected: boolean
  failures: number
  timer?: ReturnType<typeof setTimeout>
  dialing?: Promise<void>
  admitting?: Promise<void>
  /** The protocols the registry listed in identify on its current connection. */
  protocols?: string[]
  /** Resolved when identify reports on the registry. */
  identified?: () => void
}

/**
 * Keeps a node connected to its network's registries. libp2p's bootstrap
 * module dials once and gives up; this redials every lost or unreachable
 * registry with exponential backoff and jitter for as long as the node runs,
 * and reports each registry's connects and disconnects.
 */
export class RegistryConnections {
  private readonly init: RegistryConnectionsInit
  private readonly registries = new Map<string, Supervised>()
  private running = false
  private readonly waiting: Array<() => void> = []
  private readonly onPeerConnect = (event: CustomEvent<PeerId>): void => {
    const registry = this.registries.get(event.detail.toString())

    if (registry !== undefined) {
      this.admit(registry).catch(() => { this.scheduleRedial(registry) })
    }
  }
  private readonly onPeerDisconnect = (event: CustomEvent<PeerId>): void => {
    const registry = this.registries.get(event.detail.toString())

    if (registry !== undefined) {
      registry.protocols = undefined
    }

    this.setConnected(event.detail, false)
  }
  private readonly onPeerIdentify = (event: CustomEvent<IdentifyResult>): void => {
    const registry = this.registries.get(event.detail.peerId.toString())

    if (registry !== undefined) {
      registry.protocols = event.detail.protocols
      registry.identified?.()
    }
  }

  constructor (init: RegistryConnectionsInit) {
    this.init = init
    init.registries.forEach(registry => { this.track(registry) })
  }

  /** Starts dialling every registry. */
  start (): void {
    if (this.running) {
      return
    }

    this.running = true
    this.init.libp2p.addEventListener('peer:connect', this.onPeerConnect)
    this.init.libp2p.addEventListener('peer:disconnect', this.onPeerDisconnect)
    this.init.libp2p.addEventListener('peer:identify', this.onPeerIdentify)

    for (const registry of this.registries.values()) {
      this.dialInBackground(registry)
    }
  }

  /** Stops redialling; leaves connections to libp2p's own shutdown. */
  stop (): void {
    this.running = false
    this.init.libp2p.removeEventListener('peer:connect', this.onPeerConnect)
    this.init.libp2p.removeEventListener('peer:disconnect', this.onPeerDisconnect)
    this.init.libp2p.removeEventListener('peer:identify', this.onPeerIdentify)

    for (const registry of this.registries.values()) {
      clearTimeout(registry.timer)
      registry.timer = undefined
    }
  }

  /** Every registry this node keeps connected to. */
  list (): RegistryAddress[] {
    return [...this.registries.values()].map(registry => registry.address)
  }

  /** The registries connected right now. */
  connected (): RegistryAddress[] {
    return [...this.registries.values()].filter(registry => registry.connected).map(registry => registry.address)
  }

  /** Adds a registry and dials it (in the background) if the node runs. Returns false if it was already known. */
  add (address: RegistryAddress): boolean {
    if (this.registries.has(address.peerId.toString()) || address.peerId.equals(this.init.libp2p.peerId)) {
      return false
    }

    const registry = this.track(address)

    if (this.running) {
      this.dialInBackground(registry)
    }

    return true
  }

  /** Stops keeping a registry connected and closes its connections. Returns false if it was not known. */
  async remove (peerId: PeerId): Promise<boolean> {
    const registry = this.registries.get(peerId.toString())

    if (registry === undefined) {
      return false
    }

    clearTimeout(registry.timer)
    this.registries.delete(peerId.toString())
    await this.init.libp2p.peerStore.merge(peerId, { tags: { [REGISTRY_TAG]: undefined } }).catch(() => {})

    if (this.running) {
      await this.init.libp2p.hangUp(peerId).catch(() => {})
    }

    if (registry.connected) {
      registry.connected = false
      this.init.onDisconnected(registry.address)
    }

    return true
  }

  /**
   * Resolves once at least one registry is connected. Registries not
   * connected are dialled at once (skipping their backoff). If every dial is
   * refused or fails outright, rejects with NoRegistryReachableError listing
   * why; if some only timed out (a registry under load), waits for the
   * background redials until `signal` aborts.
   */
  async ensureConnected (signal: AbortSignal): Promise<void> {
    const all = [...this.registries.values()]

    if (all.some(registry => registry.connected)) {
      return
    }

    if (all.length === 0) {
      throw new NoRegistryReachableError(`No registry nodes are configured for network "${this.init.network}": pass registryNodes, or list them under networks.${this.init.network}.registryNodes in bootstrap.json`, this.init.network)
    }

    try {
      await Promise.any(all.map(async registry => { await this.dial(registry, signal) }))
    } catch (err) {
      signal.throwIfAborted()
      const errors: Error[] = (err as AggregateError).errors
      const refusal = errors.find(reason => reason.name === 'CredentialError')

      if (refusal !== undefined && errors.every(reason => reason.name === 'CredentialError')) {
        // every registry answered, and refused or failed the trust exchange: say why
        throw refusal
      }
      const mismatched = errors.flatMap(reason => reason instanceof NoRegistryReachableError ? reason.mismatched : [])

      if (errors.length === 1 && mismatched.length === 1) {
        // the one registry serves another network: its own message says so
        throw errors[0]
      }

      const reasons = errors.map((reason, index) => `${all[index].address.multiaddr.toString()}: ${reason.message}`)
      const unreachable = new NoRegistryReachableError(`No registry of network "${this.init.network}" is reachable (${reasons.join('; ')}); check that a registry runs there, or pass other registryNodes`, this.init.network, { cause: err, mismatched })

      if (!errors.some(reason => reason.name === 'TimeoutError' || reason.name === 'AbortError')) {
        throw unreachable
      }

      await raceSignal(new Promise<void>(resolve => { this.waiting.push(resolve) }), signal, { translateError: () => unreachable })
    }
  }

  private track (address: RegistryAddress): Supervised {
    const registry: Supervised = { address, connected: false, failures: 0 }
    this.registries.set(address.peerId.toString(), registry)
    return registry
  }

  private setConnected (peerId: PeerId, connected: boolean): void {
    const registry = this.registries.get(peerId.toString())

    if (registry === undefined || registry.connected === connected) {
      return
    }

    registry.connected = connected

    if (connected) {
      registry.failures = 0
      clearTimeout(registry.timer)
      registry.timer = undefined
      this.init.log('registry %p connected', peerId)
      this.waiting.splice(0).forEach(resolve => { resolve() })
      this.init.onConnected(registry.address)
    } else {
      this.init.log('registry %p disconnected', peerId)
      this.init.onDisconnected(registry.address)
      this.scheduleRedial(registry)
    }
  }

  private async dial (registry: Supervised, signal?: AbortSignal): Promise<void> {
    if (registry.dialing === undefined) {
      registry.dialing = this.openConnection(registry).finally(() => { registry.dialing = undefined })
    }

    if (signal === undefined) {
      await registry.dialing
      return
    }

    await raceSignal(registry.dialing, signal)
  }

  private async openConnection (registry: Supervised): Promise<void> {
    const { libp2p } = this.init
    const { peerId, multiaddr } = registry.address
    clearTimeout(registry.timer)
    registry.timer = undefined

    try {
      await libp2p.peerStore.merge(peerId, { tags: { [REGISTRY_TAG]: { value: 100 } } })
      await libp2p.dial(multiaddr, { signal: AbortSignal.timeout(this.init.dialTimeout) })
      await this.admit(registry)
    } catch (err) {
      registry.failures++
      this.init.log('dial to registry %a failed (%d in a row) - %e', multiaddr, registry.failures, err)
      this.scheduleRedial(registry)
      throw err
    }
  }

  /**
   * Checks once per new connection that the registry serves this network and
   * passes the admission check (closed networks), then counts it as connected.
   */
  private async admit (registry: Supervised): Promise<void> {
    const { admit, dialTimeout, log } = this.init

    if (registry.connected) {
      return
    }

    registry.admitting ??= (async () => {
      const signal = AbortSignal.timeout(dialTimeout)
      await this.checkNetwork(registry, signal)

      try {
        await admit?.(registry.address.peerId, signal)
      } catch (err) {
        log('registry %p was not admitted - %e', registry.address.peerId, err)
        await this.init.libp2p.hangUp(registry.address.peerId).catch(() => {})
        throw err
      }

      this.setConnected(registry.address.peerId, true)
    })().finally(() => { registry.admitting = undefined })
    await registry.admitting
  }

  /**
   * Waits for identify's report on the registry's connection (at most until
   * `signal`), then throws NoRegistryReachableError naming what it serves if
   * that is not this network. The connection stays open: it may carry other
   * traffic, and a later dial reuses what identify said.
   */
  private async checkNetwork (registry: Supervised, signal: AbortSignal): Promise<void> {
    const { network, log } = this.init
    const namespace = this.init.networkId ?? network

    if (registry.protocols === undefined) {
      await raceSignal(new Promise<void>(resolve => { registry.identified = resolve }), signal)
        .catch(async () => {
          // identified before this node listened (an inbound connection during start-up): the peer store has it
          const stored = await this.init.libp2p.peerStore.get(registry.address.peerId).then(peer => peer.protocols, () => [])
          registry.protocols ??= stored.length > 0 ? stored : undefined
        })
        .finally(() => { registry.identified = undefined })
    }

    const protocols = registry.protocols

    if (protocols === undefined) {
      throw new TimeoutError(`Registry ${registry.address.peerId.toString()} did not identify itself within ${this.init.dialTimeout} ms`, { timeoutMs: this.init.dialTimeout, operation: 'identify' })
    }

    if (!servesNamespace(protocols, namespace)) {
      const served = servedNamespaces(protocols)
      log('registry %p serves %s, not %s', registry.address.peerId, served.join(', '), namespace)
      throw wrongNetworkError(registry.address.peerId, served, network, namespace)
    }
  }

  private dialInBackground (registry: Supervised): void {
    this.dial(registry).catch(() => {})
  }

  private scheduleRedial (registry: Supervised): void {
    if (!this.running || registry.connected || registry.timer !== undefined || !this.registries.has(registry.address.peerId.toString())) {
      return
    }

    const { redialMinDelay, redialMaxDelay } = this.init
    const backoff = Math.min(redialMaxDelay, redialMinDelay * 2 ** Math.min(registry.failures, 16))
    const delay = backoff / 2 + Math.random() * backoff / 2
    registry.timer = setTimeout(() => {
      registry.timer = undefined
      this.dialInBackground(registry)
    }, delay)
  }
}

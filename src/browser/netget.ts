import { generateKeyPair } from '@libp2p/crypto/keys'
import { InvalidOptionsError, UnsupportedOperationError } from '../errors.js'
import { Netget as NodeNetget } from '../netget.js'
import { parseRegistryAddress } from '../registries/registry-address.js'
import { checkDialPolicy, DialPolicy } from './dial-policy.js'
import type { DialPolicyMode } from './dial-policy.js'
import type { DiscoverOptions, ServiceInstance } from '../netget.js'
import type { NetgetInit } from '../options/index.js'
import type { AnnounceResult } from '../service/announcer.js'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Options of `new Netget()` in a browser. */
export interface BrowserNetgetInit extends Omit<NetgetInit, 'nodeType' | 'listen' | 'announce' | 'dataDir' | 'bootstrapFile' | 'connectionGater'> {
  /**
   * Registry multiaddrs over WebSockets, each ending in `/p2p/<peer id>`:
   * `/dns4/<host>/tcp/443/tls/ws/p2p/...` (wss, any page) or
   * `/ip4/<ip>/tcp/<port>/ws/p2p/...` (ws, http pages only). Required.
   */
  registryNodes: Array<string | Multiaddr>
  /**
   * Which peers may be dialled over plain `ws://` or on private addresses;
   * see the README, "Browser". @default 'registries-and-discovered'
   */
  dialPolicy?: DialPolicyMode
}

const NODE_ONLY_OPTIONS = ['nodeType', 'listen', 'announce', 'dataDir', 'bootstrapFile'] as const

/**
 * A netget peer in a web page: discovers services, pings them and opens
 * channels to them, over WebSockets. It cannot register a service or listen
 * (UnsupportedOperationError). Its identity is a fresh Ed25519 key per
 * instance unless `privateKey` is given.
 */
export class Netget extends NodeNetget {
  /** The dial policy this peer's connection gater enforces. */
  readonly dialPolicy: DialPolicy

  constructor (init: BrowserNetgetInit) {
    if (typeof init !== 'object' || init === null) {
      throw new InvalidOptionsError('new Netget() in a browser needs options, like { network: "production", registryNodes: ["/dns4/registry.example.com/tcp/443/tls/ws/p2p/12D3KooW..."] }')
    }

    for (const option of NODE_ONLY_OPTIONS) {
      if ((init as unknown as Record<string, unknown>)[option] !== undefined) {
        throw new UnsupportedOperationError(`Option "${option}" is not available in a browser: a browser peer cannot listen, be a registry or keep files`)
      }
    }

    if (!Array.isArray(init.registryNodes) || init.registryNodes.length === 0) {
      throw new InvalidOptionsError('A browser peer needs "registryNodes": the WebSocket multiaddrs of the network\'s registries, like "/dns4/registry.example.com/tcp/443/tls/ws/p2p/12D3KooW..."')
    }

    const { dialPolicy: mode, ...rest } = init
    const dialPolicy = new DialPolicy(checkDialPolicy(mode))
    super({ ...rest, nodeType: 'service', listen: [], dataDir: false, connectionGater: dialPolicy.gater() })
    this.dialPolicy = dialPolicy

    init.registryNodes.forEach((address, index) => { assertWebSocket(address, `registryNodes[${index}]`) })

    for (const address of init.registryNodes) {
      const registry = parseRegistryAddress(address)
      this.dialPolicy.allowRegistry(registry.peerId.toString(), registry.multiaddr)
    }
  }

  /** Starts the peer (a fresh identity unless `privateKey` was given) and connects to the registries. */
  override async start (): Promise<void> {
    this.config.privateKey ??= await generateKeyPair('Ed25519')
    await super.start()
  }

  /** Not available in a browser: a page cannot be dialled, so it cannot provide a service. */
  override async registerWithNetwork (): Promise<AnnounceResult> {
    throw new UnsupportedOperationError('A browser peer cannot register a service: it cannot accept connections. Register from a Node process; a page can discover it, ping it and open channels to it')
  }

  /** Not available in a browser: a page cannot accept connections. */
  override async handleChannels (): Promise<void> {
    throw new UnsupportedOperationError('A browser peer cannot accept channels: it cannot be dialled. Open channels to a service with openChannel(instance)')
  }

  /**
   * Finds the live instances of a service (see the Node API). Each instance
   * found by verified discovery may then be dialled over `ws://` and private
   * addresses under the default dial policy, until its record expires.
   */
  override async discoverServiceNode (name: string, options: DiscoverOptions = {}): Promise<ServiceInstance[]> {
    return super.discoverServiceNode(name, {
      ...options,
      onInstance: instance => {
        this.dialPolicy.allowDiscovered(instance.peerId, instance.expiresAt, instance.multiaddrs)
        options.onInstance?.(instance)
      }
    })
  }

  /** Adds a registry (a WebSocket multiaddr ending in `/p2p/<peer id>`) and trusts it under the dial policy. */
  override addRegistryNode (address: string | Multiaddr): boolean {
    assertWebSocket(address, 'addRegistryNode')
    const added = super.addRegistryNode(address)
    const registry = parseRegistryAddress(address, 'addRegistryNode')
    this.dialPolicy.allowRegistry(registry.peerId.toString(), registry.multiaddr)
    return added
  }
}

/**
 * A page dials WebSockets only: a registry address without `/ws` (or
 * `/wss`, `/tls/ws`) throws InvalidOptionsError pointing at the registry's
 * WebSocket address.
 */
function assertWebSocket (address: string | Multiaddr, option: string): void {
  const text = String(address)

  if (/\/(?:ws|wss|tls\/ws)(?:\/|$)/.test(text) || !text.startsWith('/')) {
    return
  }

  throw new InvalidOptionsError(`${option}: ${JSON.stringify(text.slice(0, 120))} is not a WebSocket address, and a page can dial WebSockets only: give the registry's /ws address (netget-peer --bootstrap prints it, like /ip4/127.0.0.1/tcp/4002/ws/p2p/12D3KooW...), or /tls/ws from an https page`, { option: 'registryNodes' })
}

/**
 * Minimal ambient types for the parts of `hyperdht` (v6) that the benchmark
 * uses. hyperdht ships no type declarations.
 */

declare module 'hyperdht' {
  /** An Ed25519 key pair as returned by `HyperDHT.keyPair()`. */
  export interface KeyPair {
    publicKey: Buffer
    secretKey: Buffer
  }

  /** A UDP address. */
  export interface HostPort {
    host: string
    port: number
  }

  /** A DHT node identity as seen in query replies. */
  export interface NodeAddress extends HostPort {
    id: Buffer | null
  }

  /** One peer announced under a topic. */
  export interface AnnouncedPeer {
    publicKey: Buffer
    relayAddresses: HostPort[]
  }

  /** One reply of a `lookup()` / `announce()` query: the peers a DHT node holds for the topic. */
  export interface LookupReply {
    token: Buffer | null
    from: NodeAddress
    to: HostPort
    peers: AnnouncedPeer[]
    bump: number
  }

  /**
   * A running DHT query (a streamx Readable in reality): iterate it for
   * replies, or await `finished()`, which resumes it and settles on close.
   */
  export interface Query extends AsyncIterable<LookupReply> {
    finished (): Promise<void>
    destroy (err?: Error): void
    readonly destroyed: boolean
    readonly closestNodes: NodeAddress[]
  }

  /** Constructor options (only those the testnet sets). */
  export interface HyperDHTOptions {
    bootstrap?: HostPort[]
    host?: string
    port?: number
    ephemeral?: boolean
    firewalled?: boolean
    keyPair?: KeyPair
  }

  /** A hyperdht node. */
  export default class HyperDHT {
    constructor (opts?: HyperDHTOptions)
    static keyPair (seed?: Buffer): KeyPair
    fullyBootstrapped (): Promise<void>
    address (): HostPort | null
    /** One PING round trip to the node at `to`. */
    ping (to: HostPort, opts?: Record<string, unknown>): Promise<unknown>
    lookup (target: Buffer, opts?: Record<string, unknown>): Query
    announce (target: Buffer, keyPair: KeyPair, relayAddresses?: HostPort[], opts?: Record<string, unknown>): Query
    unannounce (target: Buffer, keyPair: KeyPair, opts?: Record<string, unknown>): Promise<void>
    destroy (opts?: { force?: boolean }): Promise<void>
    readonly destroyed: boolean
  }
}

declare module 'hyperdht/testnet.js' {
  import type HyperDHT from 'hyperdht'
  import type { HostPort, HyperDHTOptions } from 'hyperdht'

  /** A set of local DHT nodes; the first is the bootstrap node. */
  export interface Testnet extends Iterable<HyperDHT> {
    nodes: HyperDHT[]
    bootstrap: HostPort[]
    /** Add an ephemeral node bootstrapped off this testnet (it is destroyed with it). */
    createNode (opts?: HyperDHTOptions): HyperDHT
    /** Close every server, then destroy every node, last first. */
    destroy (): Promise<void>
  }

  /** Options of `createTestnet`; `teardown` registers `testnet.destroy` (brittle style). */
  export interface TestnetOptions {
    host?: string
    port?: number
    bootstrap?: HostPort[]
    teardown?: (fn: () => Promise<void>, opts: { order: number }) => void
  }

  /**
   * Start `size` (default 10) persistent, non-firewalled nodes one after the
   * other, each awaiting `fullyBootstrapped()`.
   */
  export default function createTestnet (
    size?: number,
    opts?: TestnetOptions | TestnetOptions['teardown']
  ): Promise<Testnet>
}

import { isPrivate } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { WebSockets } from '@multiformats/multiaddr-matcher'
import { BROWSER_MAX_DIAL_ADDRESSES } from '../constants.js'
import { InvalidOptionsError } from '../errors.js'
import type { ConnectionGater } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Which peers a browser node may dial over plain `ws://` or on private
 * (loopback, LAN) addresses. libp2p's browser build refuses both by default:
 * a page should not probe the visitor's LAN, and `ws://` is unencrypted at
 * the transport layer (Noise still encrypts and authenticates the session).
 *
 * - `registries-and-discovered`: allowed for the configured registry nodes
 *   at their configured addresses, and — only when every configured registry
 *   is itself on a private or loopback address — for instances returned by
 *   verified discovery on this network (the first few addresses of each
 *   record, until it expires); refused for everyone else. See {@link DialPolicy}.
 * - `strict`: libp2p's browser default for every peer: only `wss://` to
 *   public addresses.
 * - `any`: allowed for every peer (development only).
 */
export type DialPolicyMode = 'registries-and-discovered' | 'strict' | 'any'

/** The default {@link DialPolicyMode}. */
export const DEFAULT_DIAL_POLICY: DialPolicyMode = 'registries-and-discovered'

const MODES = new Set<string>(['registries-and-discovered', 'strict', 'any'])

/** Throws InvalidOptionsError unless `mode` is a {@link DialPolicyMode}. */
export function checkDialPolicy (mode: unknown): DialPolicyMode {
  if (mode === undefined) {
    return DEFAULT_DIAL_POLICY
  }

  if (typeof mode !== 'string' || !MODES.has(mode)) {
    throw new InvalidOptionsError(`Option "dialPolicy" must be "registries-and-discovered", "strict" or "any", got ${JSON.stringify(mode)}`)
  }

  return mode as DialPolicyMode
}

/**
 * The peers a browser node trusts with `ws://` and private-address dials, and
 * the connection gater that enforces it. libp2p's dial queue appends
 * `/p2p/<peer id>` to an address before asking the gater, so the gater
 * decides by peer ID and address.
 *
 * Under `registries-and-discovered`:
 * - a configured registry may be dialled at the addresses the page was given;
 * - `ws://` and private (LAN, loopback) addresses of anyone else — registries'
 *   other addresses and discovered instances — are allowed only on a private
 *   network: when every registry the page was given is on a private or
 *   loopback address. A page talking to public registries never opens a
 *   socket to the visitor's LAN because a signed record said so;
 * - of a discovered instance's record only the first
 *   {@link BROWSER_MAX_DIAL_ADDRESSES} addresses are dialled, whatever their
 *   kind, so one record cannot make the page open 32 sockets to hosts its
 *   author chose.
 */
export class DialPolicy {
  readonly mode: DialPolicyMode
  /** Configured registries: peer ID to the transport addresses (without `/p2p/`) the page was given. */
  private readonly registries = new Map<string, Set<string>>()
  /** Whether some configured registry address is public. */
  private publicRegistry = false
  /** Discovered instances: peer ID to the Unix ms their record expires and the addresses that may be dialled. */
  private readonly discovered = new Map<string, { expiresAt: number, addresses: Set<string> }>()
  private readonly maxAddresses: number

  constructor (mode: DialPolicyMode = DEFAULT_DIAL_POLICY, options: { maxAddressesPerRecord?: number } = {}) {
    this.mode = mode
    this.maxAddresses = options.maxAddressesPerRecord ?? BROWSER_MAX_DIAL_ADDRESSES
  }

  /** Trusts a configured registry at `address` (the multiaddr the page was given). */
  allowRegistry (peerId: string, address?: Multiaddr | string): void {
    const addresses = this.registries.get(peerId) ?? new Set()
    this.registries.set(peerId, addresses)

    if (address !== undefined) {
      const ma = typeof address === 'string' ? multiaddr(address) : address
      addresses.add(transportOf(ma))
      this.publicRegistry ||= isPrivate(ma) !== true
    }
  }

  /**
   * Trusts an instance found by verified discovery until `expiresAt` (Unix
   * ms), at the first addresses of its record.
   */
  allowDiscovered (peerId: string, expiresAt: number, multiaddrs: string[] = []): void {
    const addresses = new Set<string>()

    for (const address of multiaddrs.slice(0, this.maxAddresses)) {
      try {
        addresses.add(transportOf(multiaddr(address)))
      } catch {}
    }

    const known = this.discovered.get(peerId)

    if (known === undefined || expiresAt >= known.expiresAt) {
      this.discovered.set(peerId, { expiresAt, addresses })
    }
  }

  /** true when every configured registry is on a private or loopback address: `ws://` and private addresses are then allowed for trusted peers. */
  get privateNetwork (): boolean {
    return this.registries.size > 0 && !this.publicRegistry
  }

  /** Whether `peerId` may be dialled over `ws://` or on a private address (at an address it is allowed to be dialled at). */
  isTrusted (peerId: string | undefined, now = Date.now()): boolean {
    if (this.mode === 'any') {
      return true
    }

    if (this.mode === 'strict' || peerId === undefined) {
      return false
    }

    if (this.registries.has(peerId)) {
      return true
    }

    return this.liveDiscovery(peerId, now) !== undefined
  }

  /** true if dialling `address` is refused. */
  denies (address: Multiaddr, now = Date.now()): boolean {
    if (this.mode === 'any') {
      return false
    }

    const peerId = address.getComponents().findLast(component => component.name === 'p2p')?.value
    const transport = transportOf(address)
    const sensitive = WebSockets.matches(address) || isPrivate(address) === true
    const registry = peerId === undefined ? undefined : this.registries.get(peerId)

    if (this.mode === 'strict' || peerId === undefined) {
      return sensitive
    }

    if (registry !== undefined) {
      // the addresses the page was given; others only where private is allowed
      return sensitive && !registry.has(transport) && !this.privateNetwork
    }

    const discovered = this.liveDiscovery(peerId, now)

    if (discovered !== undefined && discovered.addresses.size > 0 && !discovered.addresses.has(transport)) {
      return true // past the first addresses of its record
    }

    return sensitive && (discovered === undefined || !this.privateNetwork)
  }

  /** The connection gater to give libp2p. */
  gater (): ConnectionGater {
    return {
      denyDialMultiaddr: async address => this.denies(address)
    }
  }

  private liveDiscovery (peerId: string, now: number): { expiresAt: number, addresses: Set<string> } | undefined {
    const discovered = this.discovered.get(peerId)

    if (discovered !== undefined && discovered.expiresAt <= now) {
      this.discovered.delete(peerId)
      return undefined
    }

    return discovered
  }
}

/** The address without `/p2p/...`, as a string. */
function transportOf (address: Multiaddr): string {
  return address.decapsulateCode(P2P_CODE).toString()
}

/** The multicodec of `/p2p`. */
const P2P_CODE = 0x01a5

import { isPrivate } from '@libp2p/utils'
import { WebSockets } from '@multiformats/multiaddr-matcher'
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
 *   and for instances returned by verified discovery on this network, until
 *   their record expires; refused for everyone else.
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
 * decides by peer ID.
 */
export class DialPolicy {
  readonly mode: DialPolicyMode
  private readonly registries = new Set<string>()
  /** Discovered instances: peer ID to the Unix ms their record expires. */
  private readonly discovered = new Map<string, number>()

  constructor (mode: DialPolicyMode = DEFAULT_DIAL_POLICY) {
    this.mode = mode
  }

  /** Trusts a configured registry. */
  allowRegistry (peerId: string): void {
    this.registries.add(peerId)
  }

  /** Trusts an instance found by verified discovery until `expiresAt` (Unix ms). */
  allowDiscovered (peerId: string, expiresAt: number): void {
    this.discovered.set(peerId, Math.max(expiresAt, this.discovered.get(peerId) ?? 0))
  }

  /** Whether `peerId` may be dialled over `ws://` or on a private address. */
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

    const expiresAt = this.discovered.get(peerId)

    if (expiresAt !== undefined && expiresAt <= now) {
      this.discovered.delete(peerId)
      return false
    }

    return expiresAt !== undefined
  }

  /** true if dialling `address` is refused. */
  denies (address: Multiaddr): boolean {
    if (!WebSockets.matches(address) && isPrivate(address) !== true) {
      return false
    }

    return !this.isTrusted(address.getComponents().findLast(component => component.name === 'p2p')?.value)
  }

  /** The connection gater to give libp2p. */
  gater (): ConnectionGater {
    return {
      denyDialMultiaddr: async address => this.denies(address)
    }
  }
}

import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'

/** `address` without its `/p2p/...` part, or undefined if it does not parse. */
export function transportAddress (address: string): string | undefined {
  try {
    return multiaddr(address).decapsulateCode(P2P_CODE).toString()
  } catch {
    return undefined
  }
}

/** The multicodec of `/p2p`. */
const P2P_CODE = 0x01a5

/**
 * The address with `/p2p/<peerId>` appended if it has none, so that the dial
 * only succeeds if the instance at that address holds the record's key.
 */
export function withPeerId (address: string, peerId: string): Multiaddr {
  const ma = multiaddr(address)
  return ma.getComponents().some(component => component.name === 'p2p') ? ma : ma.encapsulate(`/p2p/${peerId}`)
}

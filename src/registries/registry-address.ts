import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { InvalidOptionsError } from '../errors.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { preview } from '../text.js'

/** A registry node's address, split into the parts netget dials by. */
export interface RegistryAddress {
  /** The full multiaddr, ending in `/p2p/<peerId>`. */
  multiaddr: Multiaddr
  /** The registry's peer ID, from the last `/p2p/` part. */
  peerId: PeerId
}

/**
 * Parses a registry multiaddr. It must end in `/p2p/<peer id>` so that the
 * connection is authenticated to that registry. Throws InvalidOptionsError
 * with a message saying what is wrong and what a good address looks like.
 */
export function parseRegistryAddress (input: unknown, option = 'registryNodes'): RegistryAddress {
  const example = '/ip4/203.0.113.5/tcp/4001/p2p/12D3KooW...'

  if (typeof input !== 'string' && !isMultiaddrLike(input)) {
    throw new InvalidOptionsError(`${option}: a registry address must be a multiaddr string like ${example}, got ${describe(input)}`, { option })
  }

  let ma: Multiaddr

  try {
    ma = typeof input === 'string' ? multiaddr(input) : input
  } catch (err) {
    throw new InvalidOptionsError(`${option}: ${preview(String(input))} is not a valid multiaddr (expected something like ${example})`, { cause: err, option })
  }

  const peerIdString = ma.getComponents().findLast(component => component.name === 'p2p')?.value

  if (peerIdString === undefined) {
    throw new InvalidOptionsError(`${option}: ${preview(ma.toString())} has no /p2p/<peer id> part; append the registry's peer ID (netget-peer --bootstrap prints full addresses)`, { option })
  }

  let peerId: PeerId

  try {
    peerId = peerIdFromString(peerIdString)
  } catch (err) {
    throw new InvalidOptionsError(`${option}: ${preview(peerIdString)} in ${preview(ma.toString())} is not a valid peer ID`, { cause: err, option })
  }

  return { multiaddr: ma, peerId }
}

function isMultiaddrLike (value: unknown): value is Multiaddr {
  return typeof value === 'object' && value !== null && typeof (value as Multiaddr).getComponents === 'function'
}

function describe (value: unknown): string {
  return value === undefined ? 'undefined' : preview(value)
}

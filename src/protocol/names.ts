import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { NETWORK_NAME_PATTERN, SERVICE_NAME_PATTERN } from '../constants.js'
import { InvalidOptionsError } from '../errors.js'
import { preview } from '../text.js'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The naming rules of networks, services and peers (docs/PROTOCOL.md). */

/**
 * Throws InvalidOptionsError (its `option` set to `option`) unless `network`
 * is a valid network name. `label` is how the message names the culprit.
 */
export function assertNetworkName (network: unknown, option = 'network', label = `Option "${option}"`): asserts network is string {
  if (typeof network !== 'string' || !NETWORK_NAME_PATTERN.test(network)) {
    throw new InvalidOptionsError(`${label} must be a network name of 1 to 32 lowercase letters, digits or inner dashes (like "development" or "production"), got ${preview(network)}`, { option })
  }
}

/**
 * Throws InvalidOptionsError (its `option` set to `option`) unless `name` is
 * a valid service name. `label` is how the message names the culprit, like
 * `discoverServiceNode(name)` for a method argument.
 */
export function assertServiceName (name: unknown, option = 'metadata.name', label = `Option "${option}"`): asserts name is string {
  if (typeof name !== 'string' || !SERVICE_NAME_PATTERN.test(name)) {
    throw new InvalidOptionsError(`${label} must be a service name of 1 to 64 letters, digits and inner ".", "_" or "-" (like "DatabaseService"), got ${preview(name)}`, { option })
  }
}

/**
 * Parses a peer to reach: a peer ID (`12D3KooW...`), or a multiaddr (string
 * or object) ending in `/p2p/<peer id>`, so that the connection is
 * authenticated to that peer. Throws InvalidOptionsError (its `option` set
 * to `option`) saying which rule the input broke.
 */
export function parsePeerTarget (target: unknown, option = 'target'): PeerId | Multiaddr {
  const neither = `${preview(typeof target === 'string' ? target : String(target))} is neither a peer ID (12D3KooW...) nor a multiaddr ending in /p2p/<peer id>`
  let address: Multiaddr

  if (typeof target === 'string' && !target.startsWith('/')) {
    try {
      return peerIdFromString(target)
    } catch (err) {
      throw new InvalidOptionsError(neither, { option, cause: err })
    }
  }

  if (typeof target === 'string') {
    try {
      address = multiaddr(target)
    } catch (err) {
      throw new InvalidOptionsError(`${preview(target)} is not a valid multiaddr; write it like /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...`, { option, cause: err })
    }
  } else if (typeof (target as Multiaddr | null)?.getComponents === 'function') {
    address = target as Multiaddr
  } else {
    throw new InvalidOptionsError(neither, { option })
  }

  if (!address.getComponents().some(component => component.name === 'p2p')) {
    throw new InvalidOptionsError(`Multiaddr ${preview(address.toString())} has no /p2p/<peer id> part; append the peer's ID, like <address>/p2p/12D3KooW...`, { option })
  }

  return address
}

/** True for a peer ID in its string form (base58btc `12D3KooW…` or CID), at most 128 characters. */
export function isPeerIdString (value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 128) {
    return false
  }

  try {
    peerIdFromString(value)
    return true
  } catch {
    return false
  }
}

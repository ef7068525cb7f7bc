/**
 * Which network a registry serves, read from the protocols it listed in
 * identify when the connection opened: a registry of namespace `N` serves
 * `/netget/N/lookup/1.0.0` and, as a DHT server, `/netget/N/kad/1.0.0`
 * (docs/PROTOCOL.md). A node pointed at a registry of another network learns
 * it at once instead of timing out on every call.
 */
import { NoRegistryReachableError } from '../errors.js'
import { dhtProtocol, lookupProtocol } from '../protocol/ids.js'
import type { PeerId } from '@libp2p/interface'

/** `/netget/<namespace>/lookup/1.0.0` or `/netget/<namespace>/kad/1.0.0`. */
const REGISTRY_PROTOCOL = /^\/netget\/([^/]+)\/(?:lookup|kad)\/1\.0\.0$/

/** Whether a peer listing `protocols` is a registry of `namespace`. */
export function servesNamespace (protocols: readonly string[], namespace: string): boolean {
  return protocols.includes(lookupProtocol(namespace)) || protocols.includes(dhtProtocol(namespace))
}

/** The network namespaces (`<name>` or `<name>@<authority>`) a peer listing `protocols` serves as a registry, sorted. */
export function servedNamespaces (protocols: readonly string[]): string[] {
  const namespaces = new Set<string>()

  for (const protocol of protocols) {
    const match = REGISTRY_PROTOCOL.exec(protocol)

    if (match !== null) {
      namespaces.add(match[1])
    }
  }

  return [...namespaces].sort()
}

/** A namespace for people: `production`, or `production (closed, authority …Xy12ab)`. */
export function describeNamespace (namespace: string): string {
  const at = namespace.indexOf('@')
  return at < 0 ? namespace : `${namespace.slice(0, at)} (closed, authority …${namespace.slice(-6)})`
}

/** A peer ID for one-line messages: its first and last characters, `12D3…aHg1x`. */
export function abbreviatePeerId (peerId: string): string {
  return peerId.length > 16 ? `${peerId.slice(0, 4)}…${peerId.slice(-6)}` : peerId
}

/**
 * The error for a registry that does not serve this node's network: it names
 * the registry, what it serves, and what to do. `network` is this node's
 * network name; `namespace` its namespace (the same, or `name@authority`).
 */
export function wrongNetworkError (peer: PeerId, served: string[], network: string, namespace: string): NoRegistryReachableError {
  const registry = abbreviatePeerId(peer.toString())
  const wanted = describeNamespace(namespace)
  const names = served.map(describeNamespace)
  const message = served.length === 0
    ? `Peer ${registry} is not a registry (it serves no netget network, so not ${wanted}): give the address of a registry node of network "${network}"`
    : `Registry ${registry} serves ${names.join(', ')}, not ${wanted}: use network "${served[0].split('@')[0]}" to talk to it, or give the address of a registry of "${network}"`

  return new NoRegistryReachableError(message, network, { mismatched: [{ peerId: peer.toString(), networks: served }] })
}

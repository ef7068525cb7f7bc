/** Protocol ids and key prefixes of a netget network (docs/PROTOCOL.md). */

/** The kad-dht protocol id of a network: `/netget/<network>/kad/1.0.0`. */
export function dhtProtocol (network: string): string {
  return `/netget/${network}/kad/1.0.0`
}

/** The registry lookup protocol id of a network: `/netget/<network>/lookup/1.0.0`. */
export function lookupProtocol (network: string): string {
  return `/netget/${network}/lookup/1.0.0`
}

/** The record put protocol id of a network (docs/PROTOCOL.md §5.1): `/netget/<network>/put/1.0.0`. */
export function putProtocol (network: string): string {
  return `/netget/${network}/put/1.0.0`
}

/** Where a network's DHT keeps its records and provider entries in the datastore. */
export function dhtDatastorePrefix (network: string): string {
  return `/netget/${network}/dht`
}

/** The trust protocol id of a closed network: `/netget/<namespace>/trust/1.0.0`. */
export function trustProtocol (namespace: string): string {
  return `/netget/${namespace}/trust/1.0.0`
}

/**
 * The namespace of a network in protocol ids and keys: its name, or for a
 * closed network `<name>@<authority peer ID>`, so two networks of one name
 * with different authorities never meet.
 */
export function networkNamespace (network: string, authority?: string): string {
  return authority === undefined ? network : `${network}@${authority}`
}

/** The channel protocol id of a network: `/netget/<network>/channel/1.0.0`. */
export function channelProtocol (network: string): string {
  return `/netget/${network}/channel/1.0.0`
}

/** The registry sync protocol id of a network (docs/PROTOCOL.md §17): `/netget/<network>/sync/1.0.0`. */
export function syncProtocol (network: string): string {
  return `/netget/${network}/sync/1.0.0`
}

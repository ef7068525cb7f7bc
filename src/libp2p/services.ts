import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import { ping } from '@libp2p/ping'
import { PING_MAX_STREAMS, PING_STREAM_TIMEOUT } from '../constants.js'
import { KEY_NAMESPACE } from '../records/keys.js'
import { createRecordValidator, selectRecord } from '../records/validator.js'
import { dhtDatastorePrefix, dhtProtocol } from '../protocol/ids.js'
import { withDeliveries } from './delivery-context.js'
import { gateStreams } from './stream-gate.js'
import type { StreamGate } from './stream-gate.js'
import type { RecordValidatorInit } from '../records/validator.js'
import type { RecordExpectations } from '../records/verify.js'
import type { Datastore } from 'interface-datastore'

/** What {@link netgetServices} needs. */
export interface NetgetServicesInit {
  network: string
  /** true: DHT server from the start (registries); false: DHT client only. */
  dhtServer: boolean
  datastore: Datastore
  /** How long provider entries stored here stay valid, in ms. */
  providerValidity?: number
  /** Closed networks: refuses a record whose publisher holds no valid credential for it. */
  checkPublisher?: RecordExpectations['checkPublisher']
  /** Read-restricted closed networks: admits the connections whose kad requests are answered. */
  dhtGate?: StreamGate
  /**
   * Registries: checks each record a peer puts, before its signature is
   * verified, with the connection that delivered it (a per-connection put
   * rate, say); throws to refuse it.
   */
  admitDelivery?: RecordValidatorInit['admitDelivery']
  /**
   * Registries serving several networks: the DHT of each other network, run
   * as the service `dht:<network>` beside the first network's `dht`.
   * @default none
   */
  moreNetworks?: NetworkDhtInit[]
}

/** One network's kad-dht: its network id and the hooks of its records. */
export type NetworkDhtInit = Pick<NetgetServicesInit, 'network' | 'checkPublisher' | 'dhtGate' | 'admitDelivery'>

/** The libp2p service name of a network's kad-dht, other than a node's first network (whose DHT is `dht`). */
export function dhtServiceName (network: string): `dht:${string}` {
  return `dht:${network}`
}

/**
 * The libp2p services of every netget peer, in Node and in browsers:
 * identify, ping (with room for kad-dht's and health checks' streams, each
 * inbound one open up to `PING_STREAM_TIMEOUT` for pings on warm streams) and the
 * network's own kad-dht (and, for a registry serving several networks, one
 * per network) with netget's validator and selector. kad's inbound
 * streams are handled inside a delivery context (`delivery-context.ts`), so
 * the validator and the datastore's write path know which connection
 * delivered a `PUT_VALUE`.
 */
export function netgetServices (init: NetgetServicesInit) {
  return {
    identify: identify(),
    // a long handler timeout: health checks and liveness ping on one warm stream
    ping: ping({ maxInboundStreams: PING_MAX_STREAMS, maxOutboundStreams: PING_MAX_STREAMS, timeout: PING_STREAM_TIMEOUT }),
    dht: networkDht(init, init),
    ...Object.fromEntries((init.moreNetworks ?? []).map(network => [dhtServiceName(network.network), networkDht(init, network)]))
  }
}

/** The kad-dht of one network, with netget's validator and selector, its protocol id and datastore prefix its own. */
function networkDht (node: Pick<NetgetServicesInit, 'dhtServer' | 'datastore' | 'providerValidity'>, init: NetworkDhtInit) {
  const datastorePrefix = dhtDatastorePrefix(init.network)

  return gateStreams(withDeliveries(kadDHT({
    protocol: dhtProtocol(init.network),
    datastorePrefix,
    logPrefix: `netget:dht:${init.network}`,
    metricsPrefix: `netget_dht_${init.network.replace(/[^A-Za-z0-9_]/g, '_')}`,
    clientMode: !node.dhtServer,
    // netget networks are often LAN or loopback: keep private addresses
    peerInfoMapper: passthroughMapper,
    initialQuerySelfInterval: 0,
    validators: {
      [KEY_NAMESPACE]: createRecordValidator({ network: init.network, datastore: node.datastore, datastorePrefix, checkPublisher: init.checkPublisher, admitDelivery: init.admitDelivery })
    },
    selectors: {
      [KEY_NAMESPACE]: selectRecord
    },
    reprovide: node.providerValidity === undefined ? undefined : { validity: node.providerValidity }
  })), init.dhtGate)
}

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { logger } from '@libp2p/logger'
import { createLibp2p } from 'libp2p'
import { DEFAULT_INBOUND_UPGRADE_TIMEOUT, MAX_PENDING_INBOUND, MAX_PENDING_INBOUND_PER_IP } from '../constants.js'
import { ConnectionWatch, watchMuxers } from './connection-watch.js'
import { PendingInboundLimit } from './pending-inbound.js'
import { netgetServices } from './services.js'
import type { NetgetServicesInit } from './services.js'
import type { Identify } from '@libp2p/identify'
import type { ComponentLogger, ConnectionGater, Metrics, PrivateKey } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { Datastore } from 'interface-datastore'
import type { Libp2p } from 'libp2p'

/** The libp2p services every netget node runs. */
export type NetgetServices = {
  identify: Identify
  ping: Ping
  /** The DHT of the node's (first) network. */
  dht: KadDHT
  /** Registries serving several networks: the DHT of each other one (see `dhtServiceName`). */
  [other: `dht:${string}`]: KadDHT
}

/** A libp2p node as netget configures it. */
export type NetgetLibp2p = Libp2p<NetgetServices>

/** What {@link createNetgetLibp2p} needs. */
export interface CreateNodeInit {
  privateKey: PrivateKey
  network: string
  /** true: DHT server from the start (registries); false: DHT client only. */
  dhtServer: boolean
  listen: string[]
  announce: string[]
  datastore: Datastore
  maxConnections: number
  inboundConnectionThreshold: number
  /** How long provider entries stored here stay valid, in ms. */
  providerValidity: number
  /** Decides which peers and addresses may be dialled or accepted. @default libp2p's */
  connectionGater?: ConnectionGater
  /** Closed networks: refuses a record whose publisher holds no valid credential for it. */
  checkPublisher?: NetgetServicesInit['checkPublisher']
  /** Read-restricted closed networks: admits the connections whose kad requests are answered. */
  dhtGate?: NetgetServicesInit['dhtGate']
  /** Registries: checks the connection that delivered each put record before its signature (the put rate). */
  admitDelivery?: NetgetServicesInit['admitDelivery']
  /** Registries serving several networks: the other networks' DHTs. @default none */
  moreNetworks?: NetgetServicesInit['moreNetworks']
  /**
   * How long an inbound connection may take to complete its handshake before
   * it is closed, in ms. @default DEFAULT_INBOUND_UPGRADE_TIMEOUT (5,000)
   */
  inboundUpgradeTimeout?: number
  /**
   * Most inbound handshakes in flight from one IP address; past it a new
   * connection closes that address's oldest pending one (see
   * `PendingInboundLimit`). At most half of the global pending limit.
   * @default MAX_PENDING_INBOUND_PER_IP (128)
   */
  maxPendingInboundPerIp?: number
  /**
   * Time between two muxer pings of each connection, in ms; one unanswered
   * for this long closes the connection (see `ConnectionWatch`).
   * @default CONNECTION_WATCH_INTERVAL (10,000)
   */
  connectionWatchInterval?: number
  /** The libp2p stack's metrics (`@libp2p/prometheus-metrics`). @default none */
  metrics?: (components: { logger: ComponentLogger }) => Metrics
}

/**
 * Creates (without starting) the libp2p node of a netget peer: TCP and
 * WebSockets, Noise, Yamux, identify, ping and the network's own kad-dht with
 * netget's validator and selector. Dead connections are found by a
 * {@link ConnectionWatch} (yamux ping frames) instead of libp2p's connection
 * monitor (a new ping stream per connection every 10 s).
 */
export async function createNetgetLibp2p (init: CreateNodeInit): Promise<NetgetLibp2p> {
  // every address together: one address may hold at most half of it
  const maxPending = Math.min(init.maxConnections, MAX_PENDING_INBOUND)
  const pending = new PendingInboundLimit({
    perIp: Math.max(1, Math.min(init.maxPendingInboundPerIp ?? MAX_PENDING_INBOUND_PER_IP, Math.floor(maxPending / 2))),
    log: logger('netget:inbound')
  })

  return createLibp2p({
    start: false,
    privateKey: init.privateKey,
    metrics: init.metrics,
    datastore: init.datastore,
    addresses: {
      listen: init.listen,
      announce: init.announce
    },
    transports: [tcp(), webSockets()],
    connectionGater: pending.gater(init.connectionGater),
    connectionEncrypters: [noise()],
    streamMuxers: [watchMuxers(yamux, new ConnectionWatch({ interval: init.connectionWatchInterval, log: logger('netget:connection-watch') }))],
    connectionMonitor: { enabled: false },
    connectionManager: {
      maxConnections: init.maxConnections,
      inboundConnectionThreshold: init.inboundConnectionThreshold,
      maxIncomingPendingConnections: maxPending,
      inboundUpgradeTimeout: init.inboundUpgradeTimeout ?? DEFAULT_INBOUND_UPGRADE_TIMEOUT,
      // netget's RegistryConnections redials registries; libp2p's reconnect queue would mask it
      reconnectRetries: 0
    },
    services: netgetServices({
      network: init.network,
      dhtServer: init.dhtServer,
      datastore: init.datastore,
      providerValidity: init.providerValidity,
      checkPublisher: init.checkPublisher,
      dhtGate: init.dhtGate,
      admitDelivery: init.admitDelivery,
      moreNetworks: init.moreNetworks
    })
  })
}

import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { createLibp2p } from 'libp2p'
import { netgetServices } from './services.js'
import type { Identify } from '@libp2p/identify'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { Ping } from '@libp2p/ping'
import type { Datastore } from 'interface-datastore'
import type { Libp2p } from 'libp2p'

/** The libp2p services every netget node runs. */
export type NetgetServices = {
  identify: Identify
  ping: Ping
  dht: KadDHT
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
}

/**
 * Creates (without starting) the libp2p node of a netget peer: TCP and
 * WebSockets, Noise, Yamux, identify, ping and the network's own kad-dht with
 * netget's validator and selector.
 */
export async function createNetgetLibp2p (init: CreateNodeInit): Promise<NetgetLibp2p> {
  return createLibp2p({
    start: false,
    privateKey: init.privateKey,
    datastore: init.datastore,
    addresses: {
      listen: init.listen,
      announce: init.announce
    },
    transports: [tcp(), webSockets()],
    connectionGater: init.connectionGater,
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: {
      maxConnections: init.maxConnections,
      inboundConnectionThreshold: init.inboundConnectionThreshold,
      maxIncomingPendingConnections: Math.min(init.maxConnections, 500),
      // netget's RegistryConnections redials registries; libp2p's reconnect queue would mask it
      reconnectRetries: 0
    },
    services: netgetServices({
      network: init.network,
      dhtServer: init.dhtServer,
      datastore: init.datastore,
      providerValidity: init.providerValidity
    })
  })
}

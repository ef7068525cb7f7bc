/**
 * The libp2p node of a browser peer: a DHT client over WebSockets only, its
 * connection gater the page's dial policy (the `connectionGater` option the
 * browser `Netget` sets). Same exports as `create-node.ts`, which
 * package.json's "browser" field replaces with this file.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { webSockets } from '@libp2p/websockets'
import { logger } from '@libp2p/logger'
import { createLibp2p } from 'libp2p'
import { ConnectionWatch, watchMuxers } from './connection-watch.js'
import { netgetServices } from './services.js'
import { UnsupportedOperationError } from '../errors.js'
import type { CreateNodeInit, NetgetLibp2p, NetgetServices } from './create-node.js'

export type { CreateNodeInit, NetgetLibp2p, NetgetServices }

/** Creates (without starting) a browser netget peer: WebSockets, Noise, Yamux (connections watched by yamux pings), identify, ping and a client-mode kad-dht. */
export async function createNetgetLibp2p (init: CreateNodeInit): Promise<NetgetLibp2p> {
  if (init.dhtServer || init.listen.length > 0) {
    throw new UnsupportedOperationError('A browser peer cannot listen or be a DHT server: it dials out over WebSockets only')
  }

  return createLibp2p({
    privateKey: init.privateKey,
    datastore: init.datastore,
    addresses: { listen: [] },
    transports: [webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [watchMuxers(yamux, new ConnectionWatch({ interval: init.connectionWatchInterval, log: logger('netget:connection-watch') }))],
    connectionMonitor: { enabled: false },
    connectionGater: init.connectionGater,
    connectionManager: {
      maxConnections: Math.min(init.maxConnections, 100),
      // netget's RegistryConnections redials registries; libp2p's reconnect queue would mask it
      reconnectRetries: 0
    },
    services: netgetServices({ network: init.network, dhtServer: false, datastore: init.datastore, checkPublisher: init.checkPublisher })
  })
}

import { AsyncLocalStorage } from 'node:async_hooks'
import { wrapHandlers } from './stream-gate.js'
import type { Connection } from '@libp2p/interface'

/** Who handed this node what it is handling now: the connection an inbound kad stream came on. */
export interface Delivery {
  /** The connection the inbound stream came on; `remotePeer` is the delivering peer. */
  connection: Connection
}

const deliveries = new AsyncLocalStorage<Delivery>()

/**
 * The delivery whose handling is running now, or undefined outside an
 * inbound stream of a service wrapped by {@link withDeliveries} (this node's
 * own writes, timers, outbound queries).
 *
 * kad-dht gives neither its validator nor its datastore the remote peer of a
 * `PUT_VALUE`; this is how they learn it. The context is Node's
 * `AsyncLocalStorage`, entered around the protocol handler, so every
 * continuation of that handler (kad's message loop, the validator, the
 * datastore `put`) sees it.
 */
export function currentDelivery (): Delivery | undefined {
  return deliveries.getStore()
}

/**
 * Wraps a libp2p service factory so that each inbound stream of every
 * protocol it handles is handled inside a delivery context (see
 * {@link currentDelivery}), through {@link wrapHandlers}.
 */
export function withDeliveries<Service, Components extends { registrar: unknown }> (factory: (components: Components) => Service): (components: Components) => Service {
  return wrapHandlers(factory, (_protocol, handler) => async (stream, connection) => {
    await deliveries.run({ connection }, async () => handler(stream, connection))
  })
}

/**
 * Runs `task` inside a delivery context for `delivery`: a protocol of
 * netget's own that stores records (the record put) uses it, so that the
 * record index counts what it stores against the delivering connection.
 */
export async function inDelivery<T> (delivery: Delivery, task: () => Promise<T>): Promise<T> {
  return deliveries.run(delivery, task)
}

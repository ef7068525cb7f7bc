import type { Connection } from '@libp2p/interface'

/** Who handed this node what it is handling now (see the Node module). */
export interface Delivery {
  /** The connection the inbound stream came on. */
  connection: Connection
}

/** Browsers serve no kad requests: there is never a delivery context. */
export function currentDelivery (): Delivery | undefined {
  return undefined
}

/** Browsers serve no kad requests: returns `factory` unchanged. */
export function withDeliveries<Service, Components extends { registrar: unknown }> (factory: (components: Components) => Service): (components: Components) => Service {
  return factory
}

/** Browsers serve no puts: runs `task` without a context. */
export async function inDelivery<T> (_delivery: Delivery, task: () => Promise<T>): Promise<T> {
  return task()
}

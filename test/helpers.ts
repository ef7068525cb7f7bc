import { createServer } from 'node:net'
import type { Netget, NetgetEvents } from '../src/index.js'

/** Resolves with the next event of `type` that `accept` takes, or rejects after `timeout` ms. */
export async function nextEvent<K extends keyof NetgetEvents> (node: Netget, type: K, accept: (event: NetgetEvents[K]) => boolean = () => true, timeout = 10_000): Promise<NetgetEvents[K]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      node.removeEventListener(type, listener)
      reject(new Error(`no ${String(type)} event within ${timeout} ms`))
    }, timeout)
    const listener = (event: NetgetEvents[K]): void => {
      if (accept(event)) {
        clearTimeout(timer)
        node.removeEventListener(type, listener)
        resolve(event)
      }
    }
    node.addEventListener(type, listener)
  })
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
  })
}

/** Awaits `promise` and returns what it rejected with; fails if it resolved. */
export async function rejectionOf (promise: Promise<unknown>): Promise<Error> {
  try {
    await promise
  } catch (err) {
    return err as Error
  }

  throw new Error('expected the promise to reject, but it resolved')
}

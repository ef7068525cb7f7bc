/**
 * Node 20 lacks two things the libp2p stack uses: `Promise.withResolvers`
 * (createLibp2p needs it) and a global `WebSocket` (dialling out over
 * @libp2p/websockets needs it). This module adds both when missing and is
 * imported before anything else in the Node entry point. Node 22+ has both,
 * so it does nothing there.
 */
import { WebSocket as NodeWebSocket } from 'ws'

interface Resolvers<T> {
  promise: Promise<T>
  resolve(value: T | PromiseLike<T>): void
  reject(reason?: unknown): void
}

const PromiseWithResolvers = Promise as unknown as { withResolvers?<T>(): Resolvers<T> }

if (typeof PromiseWithResolvers.withResolvers !== 'function') {
  PromiseWithResolvers.withResolvers = function withResolvers<T> (): Resolvers<T> {
    let resolve!: (value: T | PromiseLike<T>) => void
    let reject!: (reason?: unknown) => void
    const promise = new Promise<T>((res, rej) => {
      resolve = res
      reject = rej
    })
    return { promise, resolve, reject }
  }
}

/**
 * `ws` reports a failed connection as an EventEmitter 'error' event, which
 * throws (and crashes the process) if no listener is attached at that moment
 * — as happens when libp2p has already given up on a dial. Browsers never
 * throw for WebSocket errors; this keeps that behaviour.
 */
class QuietWebSocket extends NodeWebSocket {
  constructor (...args: ConstructorParameters<typeof NodeWebSocket>) {
    super(...args)
    this.on('error', () => {})
  }
}

const globals = globalThis as unknown as { WebSocket?: unknown }

if (globals.WebSocket === undefined) {
  globals.WebSocket = QuietWebSocket
}

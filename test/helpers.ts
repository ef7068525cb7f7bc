import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import type { Logger } from '@libp2p/interface'
import { connect, createServer } from 'node:net'
import type { Socket } from 'node:net'
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

/** A TCP relay on 127.0.0.1 in front of a node's port, for tests that need to cut or delay the network. */
export interface TcpRelay {
  /** The port the relay listens on. */
  port: number
  /** TCP connections accepted so far, cut ones included. */
  readonly accepted: number
  /** Closes every relayed connection and, from now on, closes each new one as soon as it is accepted (still counted). */
  cut(): void
  /** Holds back what the target sends until {@link TcpRelay.release}. */
  hold(): void
  /** Sends what was held back, in order, and stops holding. */
  release(): void
  /** From now on drops every byte either way and keeps every socket open: a black-holed path (no FIN, no RST). */
  blackHole(): void
  /** Resolves once {@link TcpRelay.accepted} reaches `count`; rejects after `timeout` ms. */
  acceptedAtLeast(count: number, timeout?: number): Promise<void>
  /** Stops listening and closes every connection. */
  close(): Promise<void>
}

/** Starts a {@link TcpRelay} to `targetPort` on 127.0.0.1. The target is dialled per connection, so it may start later. */
export async function startTcpRelay (targetPort: number): Promise<TcpRelay> {
  const sockets = new Set<Socket>()
  const held: Array<() => void> = []
  const waiters: Array<{ count: number, resolve(): void }> = []
  let accepted = 0
  let cut = false
  let holding = false
  let dropping = false

  const server = createServer(client => {
    accepted++
    waiters.filter(waiter => accepted >= waiter.count).forEach(waiter => {
      waiters.splice(waiters.indexOf(waiter), 1)
      waiter.resolve()
    })

    if (cut) {
      client.destroy()
      return
    }

    const target = connect(targetPort, '127.0.0.1')
    sockets.add(client)
    sockets.add(target)
    const close = (): void => {
      client.destroy()
      target.destroy()
      sockets.delete(client)
      sockets.delete(target)
    }
    client.on('error', close).on('close', close)
    target.on('error', close).on('close', close)
    client.on('data', (chunk: Buffer) => {
      if (!dropping) {
        target.write(chunk)
      }
    })
    target.on('data', (chunk: Buffer) => {
      if (dropping) {
        return
      }

      if (holding) {
        held.push(() => { client.write(chunk) })
      } else {
        client.write(chunk)
      }
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => { resolve() })
  })
  const address = server.address()

  return {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    get accepted () { return accepted },
    cut () {
      cut = true
      sockets.forEach(socket => { socket.destroy() })
    },
    hold () {
      holding = true
    },
    release () {
      holding = false
      held.splice(0).forEach(send => { send() })
    },
    blackHole () {
      dropping = true
      held.splice(0)
    },
    async acceptedAtLeast (count, timeout = 10_000) {
      if (accepted >= count) {
        return
      }

      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error(`the relay accepted ${accepted} connections, not ${count}, within ${timeout} ms`)) }, timeout)
        waiters.push({ count, resolve: () => { clearTimeout(timer); resolve() } })
      })
    },
    async close () {
      cut = true
      sockets.forEach(socket => { socket.destroy() })
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}

/** A libp2p logger that keeps every line it is given (format string and arguments joined). */
export function capturingLogger (lines: string[]): Logger {
  const log = Object.assign((...args: unknown[]) => { lines.push(args.map(String).join(' ')) }, {
    enabled: true,
    error: (...args: unknown[]) => { lines.push(args.map(String).join(' ')) },
    trace: () => {},
    newScope: () => log
  })
  return log as unknown as Logger
}

/** The JavaScript heap and array buffers in use after a full garbage collection, in bytes. */
export function heapAfterGc (): number {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  gc()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return heapUsed + arrayBuffers
}

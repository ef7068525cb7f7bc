/**
 * Request/response calls between the benchmark's parent process and the
 * child processes it forks, over Node's IPC channel.
 *
 * @example
 * ```ts
 * // parent
 * const child = Child.fork('dist/scripts/bench/netget-worker.js')
 * const { ms } = await child.call<{ ms: number }>('ping', { target })
 * await child.close()
 *
 * // child
 * serve({ ping: async params => ({ ms: 0.1 }) })
 * ```
 *
 * @packageDocumentation
 */

import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'

/** How long {@link Child.close} waits for a child to exit by itself before killing it, in ms. */
const EXIT_GRACE_MS = 5_000

/** One call from the parent. */
interface Request {
  id: number
  method: string
  params: unknown
}

/** The child's answer to one {@link Request}. */
interface Response {
  id: number
  result?: unknown
  error?: string
}

/** What a child can be asked to do: method name → handler. */
export type Handlers = Record<string, (params: any) => Promise<unknown>>

/** The name of the method every child answers by exiting. */
export const SHUTDOWN = 'shutdown'

/** A forked child process that answers {@link Child.call}s. */
export class Child {
  private readonly process: ChildProcess
  private readonly pending = new Map<number, { resolve(value: unknown): void, reject(err: Error): void }>()
  private readonly exited: Promise<void>
  private nextId = 0

  private constructor (child: ChildProcess, label: string) {
    this.process = child
    this.exited = new Promise(resolve => { child.once('exit', () => { resolve() }) })
    child.on('message', (message: Response) => {
      const call = this.pending.get(message.id)
      this.pending.delete(message.id)

      if (message.error !== undefined) {
        call?.reject(new Error(`${label}: ${message.error}`))
      } else {
        call?.resolve(message.result)
      }
    })
    child.once('exit', (code, signal) => {
      for (const call of this.pending.values()) {
        call.reject(new Error(`${label} exited (code ${code}, signal ${signal}) during a call`))
      }
      this.pending.clear()
    })
  }

  /** Forks `file` (a compiled .js module) with `execArgv` passed to node. */
  static fork (file: string, label: string, execArgv: string[] = []): Child {
    return new Child(fork(file, [], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }), label)
  }

  /** The child's process ID. */
  get pid (): number | undefined {
    return this.process.pid
  }

  /** Calls `method` in the child; rejects with the child's error message. */
  async call<T> (method: string, params: unknown = {}): Promise<T> {
    const id = this.nextId++

    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      this.process.send({ id, method, params } satisfies Request, err => {
        if (err != null) {
          this.pending.delete(id)
          reject(err)
        }
      })
    })
  }

  /**
   * Asks the child to shut down (so a `--cpu-prof` profile gets written),
   * and kills it if it has not exited after a grace period.
   */
  async close (): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) {
      return
    }

    const timer = setTimeout(() => { this.process.kill('SIGKILL') }, EXIT_GRACE_MS)

    try {
      await this.call(SHUTDOWN).catch(() => {})
      await this.exited
    } finally {
      clearTimeout(timer)
    }
  }

  /** Kills the child at once. */
  kill (): void {
    this.process.kill('SIGKILL')
  }
}

/**
 * Answers the parent's calls with `handlers` in this (child) process. The
 * {@link SHUTDOWN} call runs `onShutdown`, answers, and exits with code 0; a
 * lost parent makes the child exit too.
 */
export function serve (handlers: Handlers, onShutdown: () => Promise<void>): void {
  const send = (response: Response): void => { process.send?.(response) }

  process.on('message', (request: Request) => {
    if (request.method === SHUTDOWN) {
      onShutdown().catch(() => {}).finally(() => {
        send({ id: request.id, result: true })
        process.disconnect?.()
        process.exit(0)
      })
      return
    }

    const handler = handlers[request.method]

    if (handler === undefined) {
      send({ id: request.id, error: `unknown method "${request.method}"` })
      return
    }

    handler(request.params).then(
      result => { send({ id: request.id, result }) },
      (err: Error) => { send({ id: request.id, error: `${err.name}: ${err.message}` }) }
    )
  })
  process.once('disconnect', () => { process.exit(0) })
}

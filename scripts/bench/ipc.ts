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
import { CallTimeoutError, ChildExitedError, remoteError } from './errors.js'
import type { ChildProcess } from 'node:child_process'

/** How long {@link Child.close} waits for a child to exit by itself before killing it, in ms. */
const EXIT_GRACE_MS = 5_000

/**
 * How long {@link Child.call} waits for an answer by default, in ms. Every
 * timed operation in a child has its own, much shorter bound; a call this
 * late means the child hangs.
 */
export const DEFAULT_CALL_TIMEOUT_MS = 180_000

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
  /** The handler's error, its name kept (e.g. `TimeoutError`). */
  error?: { name: string, message: string }
}

/** Options of one {@link Child.call}. */
export interface CallOptions {
  /**
   * How long to wait for the answer, in ms; then the call rejects with a
   * `CallTimeoutError` and the child is killed.
   *
   * @default DEFAULT_CALL_TIMEOUT_MS
   */
  timeoutMs?: number
}

/** What a child can be asked to do: method name → handler. */
export type Handlers = Record<string, (params: any) => Promise<unknown>>

/** The name of the method every child answers by exiting. */
export const SHUTDOWN = 'shutdown'

/**
 * A forked child process that answers {@link Child.call}s. A call rejects
 * with the handler's error (its name kept), with `ChildExitedError` when the
 * child is gone, or with `CallTimeoutError` when it does not answer in time.
 */
export class Child {
  /** Name used in error messages, e.g. `worker-0`. */
  readonly label: string
  private readonly process: ChildProcess
  private readonly pending = new Map<number, { resolve(value: unknown): void, reject(err: Error): void }>()
  private readonly exited: Promise<void>
  private exitReason: string | undefined
  private nextId = 0

  private constructor (child: ChildProcess, label: string) {
    this.label = label
    this.process = child
    this.exited = new Promise(resolve => { child.once('exit', () => { resolve() }) })
    child.on('message', (message: Response) => {
      const call = this.pending.get(message.id)
      this.pending.delete(message.id)

      if (message.error !== undefined) {
        call?.reject(remoteError(message.error.name, message.error.message))
      } else {
        call?.resolve(message.result)
      }
    })
    child.once('exit', (code, signal) => {
      this.exitReason = `${label} exited (code ${code}, signal ${signal})`
      for (const call of this.pending.values()) {
        call.reject(new ChildExitedError(`${this.exitReason} during a call`))
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

  /** Calls `method` in the child; rejects as described on {@link Child}. */
  async call<T> (method: string, params: unknown = {}, options: CallOptions = {}): Promise<T> {
    if (this.exitReason !== undefined) {
      throw new ChildExitedError(`${this.exitReason} before a call to "${method}"`)
    }

    const id = this.nextId++
    const timeoutMs = options.timeoutMs ?? DEFAULT_CALL_TIMEOUT_MS
    let timer: ReturnType<typeof setTimeout> | undefined

    try {
      return await new Promise<T>((resolve, reject) => {
        this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
        timer = setTimeout(() => {
          this.pending.delete(id)
          reject(new CallTimeoutError(`${this.label} did not answer "${method}" within ${timeoutMs} ms`))
          this.kill()
        }, timeoutMs)
        this.process.send({ id, method, params } satisfies Request, err => {
          if (err != null) {
            this.pending.delete(id)
            reject(new ChildExitedError(`${this.label}: cannot send "${method}"`, { cause: err }))
          }
        })
      })
    } finally {
      clearTimeout(timer)
    }
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
      await this.call(SHUTDOWN, {}, { timeoutMs: EXIT_GRACE_MS }).catch(() => {})
      await this.exited
    } finally {
      clearTimeout(timer)
    }
  }

  /** Kills the child at once. */
  kill (): void {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      this.process.kill('SIGKILL')
    }
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
      send({ id: request.id, error: { name: 'TypeError', message: `unknown method "${request.method}"` } })
      return
    }

    handler(request.params).then(
      result => { send({ id: request.id, result }) },
      (err: Error) => { send({ id: request.id, error: { name: err.name ?? 'Error', message: err.message ?? String(err) } }) }
    )
  })
  process.once('disconnect', () => { process.exit(0) })
}

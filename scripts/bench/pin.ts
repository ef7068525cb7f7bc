/**
 * Pins benchmark processes to CPU cores with `taskset` (util-linux), so a
 * throughput phase measures the server side (a registry, a testnet) on a
 * core of its own rather than the share it gets of a busy machine.
 *
 * @example
 * ```ts
 * const pinning = await pinApart(registry.pid, clients.map(client => client.pid))
 * try { await hammer() } finally { await pinning.release() }
 * pinning.applied // false where taskset or a second core is missing
 * ```
 *
 * @packageDocumentation
 */

import { execFile } from 'node:child_process'
import { availableParallelism } from 'node:os'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** The core the server process is pinned to. */
export const SERVER_CORE = 0

/** The core every client process is pinned to. */
export const CLIENT_CORE = 1

/** Bound on one `taskset` call, in ms. */
const TASKSET_TIMEOUT_MS = 5_000

/** A pinning in force; {@link Pinning.release} gives every process all cores again. */
export interface Pinning {
  /** Whether the processes were pinned (false: fewer than 2 cores, or no `taskset`). */
  applied: boolean
  /** A description for the report, e.g. `server on core 0, clients on core 1`. */
  description: string
  /** Lets every pinned process run on every core again. */
  release(): Promise<void>
}

async function taskset (cores: string, pid: number): Promise<void> {
  // -a: every thread of the process (libuv's pool included)
  await run('taskset', ['-a', '-p', '-c', cores, String(pid)], { timeout: TASKSET_TIMEOUT_MS })
}

/**
 * Pins `server` to {@link SERVER_CORE} and each of `clients` to
 * {@link CLIENT_CORE}. Never rejects: where pinning is impossible it
 * resolves with `applied: false` and nothing changed.
 */
export async function pinApart (server: number | undefined, clients: Array<number | undefined>): Promise<Pinning> {
  const cores = availableParallelism()
  const pids = [server, ...clients].filter((pid): pid is number => pid !== undefined)
  const all = `0-${cores - 1}`
  const release = async (): Promise<void> => { await Promise.all(pids.map(async pid => taskset(all, pid).catch(() => {}))) }

  if (cores < 2 || server === undefined) {
    return { applied: false, description: `not pinned (${cores} core${cores === 1 ? '' : 's'})`, release: async () => {} }
  }

  try {
    await taskset(String(SERVER_CORE), server)
    await Promise.all(clients.filter((pid): pid is number => pid !== undefined).map(async pid => taskset(String(CLIENT_CORE), pid)))
    return { applied: true, description: `server on core ${SERVER_CORE}, clients on core ${CLIENT_CORE}`, release }
  } catch (err) {
    await release()
    return { applied: false, description: `not pinned (taskset: ${(err as Error).message.split('\n')[0]})`, release: async () => {} }
  }
}

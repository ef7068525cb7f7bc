/**
 * The hyperdht querying node's process in the benchmark: one ephemeral
 * (client) node bootstrapped off the testnet in another process, which times
 * lookups, pings and throughput, and new nodes it starts for join trials. It
 * mirrors netget's client process; times are taken here, so IPC never enters
 * a figure.
 *
 * Usage: forked by `hyperdht.js`; not meant to be started by hand.
 *
 * @packageDocumentation
 */

/// <reference path="./hyperdht-types.d.ts" />

import { performance } from 'node:perf_hooks'
import HyperDHT from 'hyperdht'
import { drain, names, TESTNET_HOST } from './hyperdht-query.js'
import { serve } from './ipc.js'
import type { AnnouncedTopic } from './hyperdht-query.js'
import type { HostPort } from 'hyperdht'

/** Bound on any one timed query, in ms; a trial that hits it fails. */
const QUERY_TIMEOUT_MS = 10_000

/** Upper bound on lookups started in the throughput phase. */
const THROUGHPUT_MAX_LOOKUPS = 20_000

/** Timings of one lookup, in ms from the call. */
export interface LookupTiming {
  /** Until the first reply naming the announcer; undefined if none did. */
  firstMs?: number
  /** Until the query stream ended. */
  completeMs: number
}

/** What {@link handlers.hammer} reports. */
export interface LookupHammerReport {
  /** Lookups that ended with a reply naming the announcer. */
  completed: number
  /** Lookups started. */
  calls: number
  /** The others: the call's number (from 0) and the error's name and message. */
  failures: Array<{ call: number, name: string, message: string }>
  /** Wall time of the phase, in ms. */
  elapsedMs: number
}

let bootstrap: HostPort[] = []
let querier: HyperDHT | undefined
const joining = new Set<HyperDHT>()

function node (): HyperDHT {
  if (querier === undefined) {
    throw new Error('the querying node has not been started')
  }
  return querier
}

/** Looks `target` up from `from`, timing the first reply naming the announcer and the end. */
async function timedLookup (from: HyperDHT, target: AnnouncedTopic): Promise<LookupTiming> {
  const publicKey = Buffer.from(target.publicKey, 'hex')
  let firstMs: number | undefined
  const start = performance.now()
  await drain(from.lookup(Buffer.from(target.topic, 'hex')), AbortSignal.timeout(QUERY_TIMEOUT_MS), reply => {
    if (firstMs === undefined && names(reply, publicKey)) {
      firstMs = performance.now() - start
    }
  })
  return { firstMs, completeMs: performance.now() - start }
}

/** What the parent can ask the querying process to do. */
export const handlers = {
  /** Starts the querying node off `bootstrap` and waits until it is fully bootstrapped. */
  async start (params: { bootstrap: HostPort[] }): Promise<void> {
    bootstrap = params.bootstrap
    querier = new HyperDHT({ bootstrap, host: TESTNET_HOST, ephemeral: true })
    await querier.fullyBootstrapped()
  },

  /** Times a cold lookup of an announced topic by the querying node. */
  async lookup (params: AnnouncedTopic): Promise<LookupTiming> {
    return timedLookup(node(), params)
  },

  /**
   * Times a new ephemeral node's life up to its first lookup: construction
   * and bootstrap until the lookup of `params` ended. `found` says whether a
   * reply named the announcer. The node is destroyed afterwards.
   */
  async join (params: AnnouncedTopic): Promise<{ ms: number, found: boolean }> {
    const start = performance.now()
    const joiner = new HyperDHT({ bootstrap, host: TESTNET_HOST, ephemeral: true })
    joining.add(joiner)

    try {
      await joiner.fullyBootstrapped()
      const { firstMs } = await timedLookup(joiner, params)
      return { ms: performance.now() - start, found: firstMs !== undefined }
    } finally {
      joining.delete(joiner)
      await joiner.destroy()
    }
  },

  /** Times one `ping()` round trip from the querying node to `to`. */
  async ping (params: { to: HostPort }): Promise<{ ms: number }> {
    const start = performance.now()
    await node().ping(params.to)
    return { ms: performance.now() - start }
  },

  /**
   * Keeps `concurrency` lookups in flight on the querying node for
   * `durationMs` (lookup `i` of topic `i % t`); a lookup counts as completed
   * when a reply named the announcer.
   */
  async hammer (params: { targets: AnnouncedTopic[], concurrency: number, durationMs: number }): Promise<LookupHammerReport> {
    const from = node()
    const start = performance.now()
    const deadline = start + params.durationMs
    let calls = 0
    let completed = 0
    const failures: LookupHammerReport['failures'] = []

    await Promise.all(Array.from({ length: params.concurrency }, async () => {
      while (calls < THROUGHPUT_MAX_LOOKUPS && performance.now() < deadline) {
        const call = calls++
        try {
          const { firstMs } = await timedLookup(from, params.targets[call % params.targets.length])
          if (firstMs === undefined) {
            failures.push({ call, name: 'IncompleteTrialError', message: 'no reply named the announcer' })
          } else {
            completed++
          }
        } catch (err) {
          failures.push({ call, name: (err as Error).name ?? 'Error', message: (err as Error).message ?? String(err) })
        }
      }
    }))

    return { completed, calls, failures, elapsedMs: performance.now() - start }
  }
}

serve(handlers, async () => {
  await Promise.all([...joining].map(async joiner => { await joiner.destroy() }))
  await querier?.destroy()
})

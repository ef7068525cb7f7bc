/**
 * The hyperdht side of the netget benchmark: announce and lookup latency,
 * lookup throughput and memory per node on a local hyperdht testnet.
 *
 * The layout mirrors netget's: the testnet (N−1 DHT server nodes, the first
 * the bootstrap node, which also announce) runs in one process, and the
 * querying node (an ephemeral client node, N in all) in another, so every
 * lookup, join and ping crosses a process boundary as netget's discoveries
 * do. Times are taken in the process doing the work; both processes are shut
 * down before the promise settles.
 *
 * @example
 * ```ts
 * const result = await benchHyperdht({ nodes: 10, trials: 30, concurrency: 20 })
 * result.lookupFirstMs.median // ms until the first reply naming the announcer
 * ```
 *
 * @packageDocumentation
 */

import { fileURLToPath } from 'node:url'
import { IncompleteTrialError, remoteError } from './errors.js'
import { Child } from './ipc.js'
import { pinApart } from './pin.js'
import { expectAtLeast, TrialLog } from './trials.js'
import type { AnnouncedTopic } from './hyperdht-query.js'
import type { LookupHammerReport, LookupTiming } from './hyperdht-querier-worker.js'
import type { TestnetStarted } from './hyperdht-testnet-worker.js'
import type { Distribution } from './stats.js'
import type { TrialFailure } from './trials.js'

export type { Distribution } from './stats.js'

const TESTNET_WORKER = fileURLToPath(new URL('./hyperdht-testnet-worker.js', import.meta.url))
const QUERIER_WORKER = fileURLToPath(new URL('./hyperdht-querier-worker.js', import.meta.url))

/** Smallest network: a bootstrap node, an announcer and the querying node. */
const MIN_NODES = 3

/** How long the throughput phase keeps starting lookups, by default, in ms. */
const DEFAULT_THROUGHPUT_MS = 2_500

/** Pause between the testnet coming up and the idle measurement, in ms. */
const IDLE_SETTLE_MS = 3_000

/** How long the testnet's idle CPU is measured, in ms (as netget's registry's). */
const IDLE_WINDOW_MS = 10_000

const PERCENT = 100
const NODES_PER_THOUSAND = 1000

/** Extra time the parent allows a throughput call beyond its duration, in ms. */
const HAMMER_SLACK_MS = 60_000

const MS_PER_SECOND = 1000

/** The figures of the hyperdht side, by their key in {@link HyperdhtBenchResult}. */
export const HYPERDHT_FIGURES = ['announceMs', 'lookupFirstMs', 'lookupCompleteMs', 'joinMs', 'pingMs', 'lookupsPerSecond'] as const

/** One figure of the hyperdht side. */
export type HyperdhtFigure = typeof HYPERDHT_FIGURES[number]

/** What to measure. */
export interface HyperdhtBenchOptions {
  /** Network size, querying node included; an integer >= 3. */
  nodes: number
  /** Announce-then-lookup rounds, each with a fresh topic and key pair; an integer >= 1. */
  trials: number
  /** Lookups kept in flight during the throughput phase; an integer >= 1. */
  concurrency: number
  /**
   * How long the throughput phase lasts, in ms.
   *
   * @default 2500
   */
  throughputMs?: number
  /** Extra node flags for both children (e.g. `--cpu-prof`). */
  execArgv?: string[]
}

/** Figures for one network size. Times are in milliseconds. */
export interface HyperdhtBenchResult {
  /** Network size, querying node included. */
  nodes: number
  /** Processes: the testnet's and the querying node's. */
  processes: number
  /** `announce(topic, keyPair)` by a testnet node until the query (including its commit) finished. */
  announceMs: Distribution
  /** Cold lookup by the querying node until the first reply naming the announcer's public key. */
  lookupFirstMs: Distribution
  /** The same lookup until its stream ended (only lookups that found the announcer). */
  lookupCompleteMs: Distribution
  /** A new ephemeral node's construction, in the querying process, until its first lookup of an announced topic ended (bootstrap included). */
  joinMs: Distribution
  /** `dht.ping()` round trip from the querying node to a testnet node. */
  pingMs: Distribution
  /** Lookups per second that found the announcer, with `concurrency` in flight on the querying node. */
  lookupsPerSecond: number
  /** Growth of the testnet process's RSS across testnet creation, divided by its nodes, in bytes. */
  rssBytesPerNode: number
  /** The testnet process's CPU over an idle window, in % of one core, per 1,000 of its nodes. */
  idleCpuPercentPer1000: number
  /** How the throughput phase's processes were pinned to cores. */
  throughputPinning: string
  /** Trials and throughput lookups that failed or did not find the announcer: `failedTrials.length`. */
  failures: number
  /** Each of those failures (a figure's samples leave them out). */
  failedTrials: Array<TrialFailure<HyperdhtFigure>>
}

/**
 * Run the hyperdht benchmark on a fresh local network of `options.nodes`
 * nodes. Rejects with a `RangeError` on bad options, and if a child dies or
 * hangs; a failed trial only lands in `failedTrials`.
 */
export async function benchHyperdht (options: HyperdhtBenchOptions): Promise<HyperdhtBenchResult> {
  validate(options)
  const execArgv = ['--expose-gc', ...(options.execArgv ?? [])]
  const testnet = Child.fork(TESTNET_WORKER, `hyperdht-testnet-${options.nodes}`, execArgv)
  const querier = Child.fork(QUERIER_WORKER, `hyperdht-querier-${options.nodes}`, execArgv)

  try {
    return await run(options, testnet, querier)
  } finally {
    await Promise.all([querier.close(), testnet.close()])
  }
}

async function run (options: HyperdhtBenchOptions, testnet: Child, querier: Child): Promise<HyperdhtBenchResult> {
  const { nodes, trials, concurrency } = options
  const started = await testnet.call<TestnetStarted>('start', { nodes: nodes - 1 })
  await querier.call('start', { bootstrap: started.bootstrap })
  await new Promise(resolve => setTimeout(resolve, IDLE_SETTLE_MS))
  const idleStart = await testnet.call<{ cpuMicros: number, atMs: number }>('cpu')
  await new Promise(resolve => setTimeout(resolve, IDLE_WINDOW_MS))
  const idleEnd = await testnet.call<{ cpuMicros: number, atMs: number }>('cpu')
  const idleCpuPercent = PERCENT * ((idleEnd.cpuMicros - idleStart.cpuMicros) / 1000) / (idleEnd.atMs - idleStart.atMs)
  const log = new TrialLog(HYPERDHT_FIGURES)
  const announced: AnnouncedTopic[] = []

  for (let trial = 0; trial < trials; trial++) {
    await log.attempt(trial, ['announceMs', 'lookupFirstMs', 'lookupCompleteMs'], async () => {
      const { ms, ...target } = await testnet.call<AnnouncedTopic & { ms: number }>('announce', { trial })
      log.sample('announceMs', trial, ms)
      const lookup = await querier.call<LookupTiming>('lookup', target)
      if (lookup.firstMs === undefined) {
        throw new IncompleteTrialError('no reply named the announcer')
      }
      log.sample('lookupFirstMs', trial, lookup.firstMs)
      log.sample('lookupCompleteMs', trial, lookup.completeMs)
      announced.push(target)
    })
  }

  for (let trial = 0; trial < trials; trial++) {
    await log.attempt(trial, ['joinMs'], async () => {
      expectAtLeast(announced.length, 1, 'announced topics')
      const joined = await querier.call<{ ms: number, found: boolean }>('join', announced[trial % announced.length])
      if (!joined.found) {
        throw new IncompleteTrialError('no reply named the announcer')
      }
      log.sample('joinMs', trial, joined.ms)
    })
  }

  for (let trial = 0; trial < trials; trial++) {
    await log.attempt(trial, ['pingMs'], async () => {
      log.sample('pingMs', trial, (await querier.call<{ ms: number }>('ping', { to: started.addresses[trial % started.addresses.length] })).ms)
    })
  }

  let lookupsPerSecond = Number.NaN
  let throughputPinning = 'not run'
  const durationMs = options.throughputMs ?? DEFAULT_THROUGHPUT_MS
  await log.attempt(0, ['lookupsPerSecond'], async () => {
    expectAtLeast(announced.length, 1, 'announced topics')
    const pinned = await pinApart(testnet.pid, [querier.pid])
    throughputPinning = pinned.description
    const report = await querier.call<LookupHammerReport>('hammer', { targets: announced, concurrency, durationMs }, { timeoutMs: durationMs + HAMMER_SLACK_MS })
      .finally(async () => { await pinned.release() })
    report.failures.forEach(failure => { log.fail('lookupsPerSecond', failure.call, remoteError(failure.name, failure.message)) })
    lookupsPerSecond = report.completed / (report.elapsedMs / MS_PER_SECOND)
  })

  return {
    nodes,
    processes: 2,
    announceMs: log.distribution('announceMs'),
    lookupFirstMs: log.distribution('lookupFirstMs'),
    lookupCompleteMs: log.distribution('lookupCompleteMs'),
    joinMs: log.distribution('joinMs'),
    pingMs: log.distribution('pingMs'),
    lookupsPerSecond,
    rssBytesPerNode: started.rssBytesPerNode,
    idleCpuPercentPer1000: idleCpuPercent * NODES_PER_THOUSAND / (nodes - 1),
    throughputPinning,
    failures: log.failures.length,
    failedTrials: log.failures
  }
}

/** Reject options the benchmark cannot run with. */
function validate (options: HyperdhtBenchOptions): void {
  if (!Number.isInteger(options.nodes) || options.nodes < MIN_NODES) {
    throw new RangeError(`nodes must be an integer >= ${MIN_NODES}, got ${options.nodes}`)
  }
  if (!Number.isInteger(options.trials) || options.trials < 1) {
    throw new RangeError(`trials must be an integer >= 1, got ${options.trials}`)
  }
  if (!Number.isInteger(options.concurrency) || options.concurrency < 1) {
    throw new RangeError(`concurrency must be an integer >= 1, got ${options.concurrency}`)
  }
}

/**
 * The hyperdht side of the netget benchmark: announce and lookup latency,
 * lookup throughput and memory per node on a local hyperdht testnet.
 *
 * Everything runs in this process on 127.0.0.1 via hyperdht's own
 * `createTestnet`; the testnet is destroyed before the promise settles, so the
 * process can exit by itself afterwards.
 *
 * @example
 * ```ts
 * const result = await benchHyperdht({ nodes: 10, trials: 30, concurrency: 20 })
 * result.lookupFirstMs.median // ms until the first reply naming the announcer
 * ```
 *
 * @packageDocumentation
 */

/// <reference path="./hyperdht-types.d.ts" />

import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import HyperDHT from 'hyperdht'
import createTestnet from 'hyperdht/testnet.js'
import { distribution } from './stats.js'
import type { Distribution } from './stats.js'
import type { KeyPair, LookupReply, Query } from 'hyperdht'
import type { Testnet } from 'hyperdht/testnet.js'

export type { Distribution } from './stats.js'

/** Interface the testnet binds to. */
const TESTNET_HOST = '127.0.0.1'

/** Size of a random topic, in bytes (hyperdht targets are 32 bytes). */
const TOPIC_BYTES = 32

/** Smallest testnet that has an announcer and a distinct looker. */
const MIN_NODES = 2

/** How long the throughput phase keeps starting lookups, in milliseconds. */
const THROUGHPUT_DURATION_MS = 2500

/** Upper bound on lookups started in the throughput phase. */
const THROUGHPUT_MAX_LOOKUPS = 20_000

const MS_PER_SECOND = 1000

/** What to measure. */
export interface HyperdhtBenchOptions {
  /** Testnet size (the first node is the bootstrap node); an integer >= 2. */
  nodes: number
  /** Announce-then-lookup rounds, each with a fresh topic and key pair; an integer >= 1. */
  trials: number
  /** Lookups kept in flight during the throughput phase; an integer >= 1. */
  concurrency: number
  /** Aborts the run: in-flight queries are destroyed and the testnet torn down. */
  signal?: AbortSignal
}

/** Figures for one testnet size. Times are in milliseconds. */
export interface HyperdhtBenchResult {
  /** Testnet size. */
  nodes: number
  /** `announce(topic, keyPair)` until the query (including its commit) finished. */
  announceMs: Distribution
  /**
   * Cold lookup by another node until the first reply naming the announcer's
   * public key. Trials where no reply named it are left out, so `samples`
   * may be below `trials`.
   */
  lookupFirstMs: Distribution
  /** The same lookup until its stream ended. */
  lookupCompleteMs: Distribution
  /**
   * A new ephemeral node's construction until its first lookup of an
   * announced topic ended (bootstrap included). Trials whose lookup did not
   * name the announcer are left out.
   */
  joinMs: Distribution
  /** `dht.ping()` round trip from one testnet node to another. */
  pingMs: Distribution
  /**
   * Completed lookups per second with `concurrency` lookups in flight, over
   * about 2.5 s, of topics announced during the trials, spread over all nodes.
   */
  lookupsPerSecond: number
  /**
   * Growth of the process RSS across testnet creation, divided by `nodes`, in
   * bytes. Collects garbage first when node runs with `--expose-gc`.
   */
  rssBytesPerNode: number
}

/** A topic announced during the trials. */
interface Announced {
  topic: Buffer
  keyPair: KeyPair
}

/**
 * Run the hyperdht benchmark on a fresh local testnet of `options.nodes`
 * nodes. Rejects with a `RangeError` on bad options, with `signal.reason`
 * when aborted.
 */
export async function benchHyperdht (options: HyperdhtBenchOptions): Promise<HyperdhtBenchResult> {
  validate(options)
  const { nodes, trials, concurrency, signal } = options
  signal?.throwIfAborted()

  const rssBefore = settledRss()
  const testnet = await createTestnet(nodes, { host: TESTNET_HOST })

  try {
    const rssAfter = settledRss()
    signal?.throwIfAborted()

    const announceMs: number[] = []
    const lookupFirstMs: number[] = []
    const lookupCompleteMs: number[] = []
    const announced: Announced[] = []

    for (let trial = 0; trial < trials; trial++) {
      const result = await runTrial(testnet, trial, signal)
      announceMs.push(result.announceMs)
      lookupCompleteMs.push(result.lookupCompleteMs)
      if (result.lookupFirstMs !== undefined) {
        lookupFirstMs.push(result.lookupFirstMs)
      }
      announced.push(result.announced)
    }

    const joinMs: number[] = []
    const pingMs: number[] = []

    for (let trial = 0; trial < trials; trial++) {
      const joined = await measureJoin(testnet, announced[trial], signal)
      if (joined !== undefined) {
        joinMs.push(joined)
      }
      pingMs.push(await measurePing(testnet, trial))
    }

    const lookupsPerSecond = await measureThroughput(testnet, announced, concurrency, signal)

    return {
      nodes,
      announceMs: distribution(announceMs),
      lookupFirstMs: distribution(lookupFirstMs),
      lookupCompleteMs: distribution(lookupCompleteMs),
      joinMs: distribution(joinMs),
      pingMs: distribution(pingMs),
      lookupsPerSecond,
      rssBytesPerNode: Math.max(0, rssAfter - rssBefore) / nodes
    }
  } finally {
    await testnet.destroy()
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

/** Timings of one trial. */
interface TrialResult {
  announced: Announced
  announceMs: number
  lookupFirstMs: number | undefined
  lookupCompleteMs: number
}

/**
 * Node `trial % n` announces a fresh topic under a fresh key pair, then the
 * node half the testnet away looks it up.
 */
async function runTrial (testnet: Testnet, trial: number, signal: AbortSignal | undefined): Promise<TrialResult> {
  const { nodes } = testnet
  const announcer = nodes[trial % nodes.length]
  const looker = nodes[(trial + Math.max(1, Math.floor(nodes.length / 2))) % nodes.length]
  const topic = randomBytes(TOPIC_BYTES)
  const keyPair = HyperDHT.keyPair()

  const announceStart = performance.now()
  await drain(announcer.announce(topic, keyPair), signal)
  const announceMs = performance.now() - announceStart

  let lookupFirstMs: number | undefined
  const lookupStart = performance.now()
  await drain(looker.lookup(topic), signal, (reply) => {
    if (lookupFirstMs === undefined && names(reply, keyPair)) {
      lookupFirstMs = performance.now() - lookupStart
    }
  })
  const lookupCompleteMs = performance.now() - lookupStart

  return { announced: { topic, keyPair }, announceMs, lookupFirstMs, lookupCompleteMs }
}

/**
 * A new ephemeral node bootstrapped off the testnet looks up `target`'s
 * topic; returns ms from its construction until that lookup ended, or
 * undefined if no reply named the announcer. The node is destroyed after.
 */
async function measureJoin (testnet: Testnet, target: Announced, signal: AbortSignal | undefined): Promise<number | undefined> {
  const started = performance.now()
  const node = new HyperDHT({ bootstrap: testnet.bootstrap, host: TESTNET_HOST, ephemeral: true })

  try {
    await node.fullyBootstrapped()
    let found = false
    await drain(node.lookup(target.topic), signal, (reply) => { found ||= names(reply, target.keyPair) })
    return found ? performance.now() - started : undefined
  } finally {
    await node.destroy()
  }
}

/** Round trip of one `ping()` from node `trial % n` to the node half the testnet away, in ms. */
async function measurePing (testnet: Testnet, trial: number): Promise<number> {
  const { nodes } = testnet
  const from = nodes[trial % nodes.length]
  const to = nodes[(trial + Math.max(1, Math.floor(nodes.length / 2))) % nodes.length].address()

  if (to === null) {
    throw new Error('a testnet node has no address')
  }

  const started = performance.now()
  await from.ping(to)
  return performance.now() - started
}

/**
 * Keep `concurrency` lookups in flight for about {@link THROUGHPUT_DURATION_MS}
 * and return completed lookups per second (the clock stops when the last
 * one ends). Lookup `i` runs on node `i % n` for announced topic `i % t`.
 */
async function measureThroughput (
  testnet: Testnet,
  announced: readonly Announced[],
  concurrency: number,
  signal: AbortSignal | undefined
): Promise<number> {
  const { nodes } = testnet
  const start = performance.now()
  const deadline = start + THROUGHPUT_DURATION_MS
  let started = 0
  let completed = 0
  let failed = false

  const worker = async (): Promise<void> => {
    while (!failed && started < THROUGHPUT_MAX_LOOKUPS && performance.now() < deadline) {
      const index = started++
      const { topic } = announced[index % announced.length]
      try {
        await drain(nodes[index % nodes.length].lookup(topic), signal)
      } catch (err) {
        failed = true
        throw err
      }
      completed++
    }
  }

  await Promise.all(Array.from({ length: concurrency }, worker))
  return completed / ((performance.now() - start) / MS_PER_SECOND)
}

/**
 * Read `query` to its end, passing each reply to `onReply`. An abort of
 * `signal` destroys the query and rejects with `signal.reason`.
 */
async function drain (query: Query, signal: AbortSignal | undefined, onReply?: (reply: LookupReply) => void): Promise<void> {
  const onAbort = (): void => { query.destroy(signal?.reason) }
  signal?.addEventListener('abort', onAbort, { once: true })

  try {
    signal?.throwIfAborted()
    for await (const reply of query) {
      onReply?.(reply)
    }
  } finally {
    signal?.removeEventListener('abort', onAbort)
    if (!query.destroyed) {
      query.destroy()
    }
  }
}

/** Whether `reply` lists the peer announced with `keyPair`. */
function names (reply: LookupReply, keyPair: KeyPair): boolean {
  return reply.peers.some((peer) => peer.publicKey.equals(keyPair.publicKey))
}

/** Current RSS in bytes, after a full GC when `--expose-gc` made one available. */
function settledRss (): number {
  const { gc } = globalThis as { gc?: () => void }
  gc?.()
  return process.memoryUsage().rss
}

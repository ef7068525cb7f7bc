/**
 * A child process of the netget benchmark. It hosts netget nodes (either one
 * registry, or any number of service and client nodes) and runs timed
 * operations on them when the parent asks (see {@link handlers}). All times
 * are taken here, with `performance.now()` around public API calls, so IPC
 * latency never enters a figure.
 *
 * Usage: forked by `run.js`; not meant to be started by hand.
 *
 * @packageDocumentation
 */

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Netget } from '../../src/index.js'
import { serve } from './ipc.js'
import { expectAtLeast } from './trials.js'
import type { NetgetInit, ServiceWatch } from '../../src/index.js'

/** Where every benchmark node listens: loopback TCP, any port. */
const LISTEN = ['/ip4/127.0.0.1/tcp/0']

/** Bound on any one timed operation, in ms; a trial that hits it fails. */
const OPERATION_TIMEOUT_MS = 10_000

/** How long a started node may take to connect to the registry, in ms (a loaded machine needs long). */
const CONNECT_TIMEOUT_MS = 120_000

/** Bound on one registration while the steady network starts, in ms (not a figure). */
const START_OPERATION_TIMEOUT_MS = 30_000

/** Registrations tried per steady service node before the start-up fails. */
const START_ATTEMPTS = 3

/** How often a starting node's registry connection is checked, in ms. */
const CONNECTED_POLL_MS = 10

/**
 * Nodes started at once by {@link handlers.startNodes}. Few: a handshake the
 * registry cannot finish within its 5 s upgrade timeout is dropped and
 * redialled after a backoff, so more at once only slows a loaded start-up.
 */
const START_CONCURRENCY = 4

/** Longest redial backoff of a benchmark node, in ms (production: 30 s; a start-up that lost a handshake resumes sooner). */
const REDIAL_MAX_DELAY_MS = 5_000

/** Most watches one process keeps open (each trial closes its own). */
const MAX_WATCHES = 64

/** What the parent passes to {@link handlers.init}. */
export interface InitParams {
  network: string
  /** Registry multiaddrs (peers only). */
  registryNodes?: string[]
}

/** Timings of one discovery, in ms from the call. */
export interface DiscoverTiming {
  /** Until the first verified instance reached `onInstance`; undefined if none did. */
  firstMs?: number
  /** Until `discoverServiceNode()` resolved. */
  completeMs: number
  /** Instances it resolved with. */
  count: number
}

/** One node's start: its addresses, or (with `keepGoing`) why it did not start. */
export type StartResult = { id: string, peerId: string, multiaddr: string, timing: StartTiming, error?: undefined } | { id: string, error: string }

/** Where one node's start-up went, in ms: `start()`, then until a registry connection, then `registerWithNetwork()` (its successful try). */
export interface StartTiming {
  startMs: number
  connectMs: number
  registerMs?: number
}

/** What {@link handlers.hammer} reports. */
export interface HammerReport {
  /** Discoveries that resolved with the expected instances. */
  completed: number
  /** Discoveries started. */
  calls: number
  /** The others: the call's number in this worker (from 0) and the error's name and message. */
  failures: Array<{ call: number, name: string, message: string }>
  /** Wall time of the phase, in ms. */
  elapsedMs: number
}

/** CPU used by this process so far, with the registry's connection count. */
export interface CpuReport {
  /** User + system CPU time since the process started, in µs. */
  cpuMicros: number
  /** Wall clock of the reading (`performance.timeOrigin + performance.now()`), in ms. */
  atMs: number
  /** Open connections of the registry (0 in a process without one). */
  connections: number
}

/** Memory of this process. */
export interface RssReport {
  /** RSS now, after a GC when available, in bytes. */
  rss: number
  /** RSS after loading the modules, before any node started, in bytes. */
  baseline: number
  /** Nodes running now. */
  nodes: number
}

const nodes = new Map<string, Netget>()
/** Open watches by id, each with the wall-clock time (ms) its first `added` event arrived. */
const watches = new Map<string, { watch: ServiceWatch, notified: Promise<number> }>()
let options: NetgetInit = {}
let baseline = 0
let registryDir: string | undefined

/**
 * Options of every node in this benchmark: netget's production defaults
 * (re-announcing, health pinging, record TTL), so a large network carries
 * the timers a deployed one would; only the bound on one operation and the
 * longest redial backoff are set.
 */
function nodeOptions (init: NetgetInit): NetgetInit {
  return {
    operationTimeout: OPERATION_TIMEOUT_MS,
    redialMaxDelay: REDIAL_MAX_DELAY_MS,
    listen: LISTEN,
    dataDir: false,
    ...options,
    ...init
  }
}

function node (id: string): Netget {
  const found = nodes.get(id)

  if (found === undefined) {
    throw new Error(`no node "${id}" in this process`)
  }

  return found
}

/** Resolves once `peer` is connected to a registry (checked every {@link CONNECTED_POLL_MS}). */
async function registryConnected (peer: Netget): Promise<void> {
  const deadline = performance.now() + CONNECT_TIMEOUT_MS

  while (!peer.registryNodes().some(registry => registry.connected)) {
    if (performance.now() > deadline) {
      throw new Error(`no registry connection within ${CONNECT_TIMEOUT_MS} ms`)
    }

    await new Promise(resolve => setTimeout(resolve, CONNECTED_POLL_MS))
  }
}

async function timedDiscover (peer: Netget, name: string, checkHealth: boolean): Promise<DiscoverTiming> {
  let firstMs: number | undefined
  const started = performance.now()

  const instances = await peer.discoverServiceNode(name, {
    checkHealth,
    signal: AbortSignal.timeout(OPERATION_TIMEOUT_MS),
    onInstance: () => { firstMs ??= performance.now() - started }
  })

  return { firstMs, completeMs: performance.now() - started, count: instances.length }
}

async function startOne (id: string, service: string | undefined, register: boolean, registryNodes?: string[]): Promise<StartResult> {
  const began = performance.now()
  const peer = new Netget(nodeOptions({
    ...(service === undefined ? {} : { metadata: { name: service } }),
    ...(registryNodes === undefined ? {} : { registryNodes })
  }))
  nodes.set(id, peer)
  await peer.start()
  const startMs = performance.now() - began
  await registryConnected(peer)
  const connectMs = performance.now() - began - startMs
  let registerMs: number | undefined

  // start-up is not a figure: on a loaded machine a registration may take long, so it gets a few tries
  for (let attempt = 1; register; attempt++) {
    const tried = performance.now()
    try {
      await peer.registerWithNetwork({ signal: AbortSignal.timeout(START_OPERATION_TIMEOUT_MS) })
      registerMs = performance.now() - tried
      break
    } catch (err) {
      if (attempt >= START_ATTEMPTS) {
        throw err
      }
    }
  }

  return { id, peerId: peer.peerId, multiaddr: peer.multiaddrs[0], timing: { startMs, connectMs, registerMs } }
}

/** Wall-clock time in ms, comparable between processes on this machine (sub-ms resolution). */
function wallMs (): number {
  return performance.timeOrigin + performance.now()
}

function settledRss (): number {
  const { gc } = globalThis as { gc?: () => void }
  gc?.()
  return process.memoryUsage().rss
}

async function mapLimit<T, R> (items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++
      results[index] = await fn(items[index])
    }
  }))
  return results
}

/** What the parent can ask a worker to do. */
export const handlers = {
  /** Sets the network and registries of every later node and records the baseline RSS. */
  async init (params: InitParams): Promise<RssReport> {
    options = { network: params.network, registryNodes: params.registryNodes }
    baseline = settledRss()
    return { rss: baseline, baseline, nodes: 0 }
  },

  /**
   * Starts the registry, persisting to a temporary directory, with
   * `registryNodes` (other registries, in a multi-registry network) as its
   * own; returns its TCP multiaddr and this process's RSS with the registry
   * started and no peer connected yet.
   */
  async startRegistry (params: { registryNodes?: string[] } = {}): Promise<{ multiaddr: string, rss: number }> {
    registryDir = await mkdtemp(join(tmpdir(), 'netget-bench-'))
    const registry = new Netget(nodeOptions({ nodeType: 'registry', dataDir: registryDir, registryNodes: params.registryNodes ?? [] }))
    nodes.set('registry', registry)
    await registry.start()
    return { multiaddr: registry.multiaddrs[0], rss: settledRss() }
  },

  /**
   * Starts nodes (and registers those with `register`), a few at a time, each
   * connected to a registry before it counts as started.
   */
  async startNodes (params: { nodes: Array<{ id: string, service?: string, register?: boolean, registryNodes?: string[] }>, keepGoing?: boolean }): Promise<StartResult[]> {
    return mapLimit(params.nodes, START_CONCURRENCY, async spec => {
      try {
        return await startOne(spec.id, spec.service, spec.register === true, spec.registryNodes)
      } catch (err) {
        if (params.keepGoing !== true) {
          throw err
        }
        await nodes.get(spec.id)?.stop().catch(() => {})
        nodes.delete(spec.id)
        return { id: spec.id, error: `${(err as Error).name ?? 'Error'}: ${(err as Error).message ?? String(err)}` }
      }
    })
  },

  /** Times `registerWithNetwork()` of a started node; `atMs` is the wall-clock time of the call. */
  async register (params: { id: string }): Promise<{ ms: number, atMs: number }> {
    const atMs = wallMs()
    const started = performance.now()
    await node(params.id).registerWithNetwork({ signal: AbortSignal.timeout(OPERATION_TIMEOUT_MS) })
    return { ms: performance.now() - started, atMs }
  },

  /**
   * Node `id` starts `node.watch(name)` and resolves once the watch has the
   * registries' current set; the wall-clock time of its first `added` event
   * is kept under `watchId` for {@link handlers.watchNotified}.
   */
  async watch (params: { watchId: string, id: string, name: string }): Promise<void> {
    if (watches.size >= MAX_WATCHES) {
      throw new Error(`more than ${MAX_WATCHES} watches open`)
    }
    const watch = node(params.id).watch(params.name, { signal: AbortSignal.timeout(10 * OPERATION_TIMEOUT_MS) })
    const notified = new Promise<number>(resolve => {
      watch.addEventListener('added', () => { resolve(wallMs()) }, { once: true })
    })
    watches.set(params.watchId, { watch, notified })
    await raceTimeout(watch.ready, 'the watch had no answer from a registry')
  },

  /** Resolves to the wall-clock time (ms) the watch `watchId` reported its first instance, then closes it. */
  async watchNotified (params: { watchId: string }): Promise<{ atMs: number }> {
    const entry = watches.get(params.watchId)
    if (entry === undefined) {
      throw new Error(`no watch "${params.watchId}" in this process`)
    }
    try {
      return { atMs: await raceTimeout(entry.notified, 'the watch reported no instance') }
    } finally {
      watches.delete(params.watchId)
      await entry.watch.close()
    }
  },

  /** Closes the watch `watchId` if it is still open. */
  async closeWatch (params: { watchId: string }): Promise<void> {
    await watches.get(params.watchId)?.watch.close()
    watches.delete(params.watchId)
  },

  /** Times one discovery by a started node; rejects with the discovery's error. */
  async discover (params: { id: string, name: string, checkHealth?: boolean }): Promise<DiscoverTiming> {
    return timedDiscover(node(params.id), params.name, params.checkHealth === true)
  },

  /**
   * Times a new node's life up to its first discovery: construction and
   * `start()` (key generation, listening, registry dial) until
   * `discoverServiceNode(name)` resolved. The node is stopped afterwards.
   */
  async join (params: { name: string }): Promise<{ ms: number, startMs: number, count: number }> {
    const started = performance.now()
    const peer = new Netget(nodeOptions({}))

    try {
      await peer.start()
      const startMs = performance.now() - started
      const instances = await peer.discoverServiceNode(params.name, { checkHealth: false, signal: AbortSignal.timeout(OPERATION_TIMEOUT_MS) })
      return { ms: performance.now() - started, startMs, count: instances.length }
    } finally {
      await peer.stop()
    }
  },

  /**
   * Times `ping()` from a started node to `target` on an established
   * connection: a first, untimed ping opens the connection and lets identify
   * finish; the second is the round trip reported.
   */
  async ping (params: { id: string, target: string }): Promise<{ ms: number, firstMs: number }> {
    const peer = node(params.id)
    const started = performance.now()
    await peer.ping(params.target, { signal: AbortSignal.timeout(OPERATION_TIMEOUT_MS) })
    const firstMs = performance.now() - started
    const ms = await peer.ping(params.target, { signal: AbortSignal.timeout(OPERATION_TIMEOUT_MS) })
    return { ms, firstMs }
  },

  /**
   * Each listed node discovers `name` in a loop (one discovery in flight per
   * node) until `durationMs` has passed; reports how many resolved with
   * `expected` instances and why each other one did not.
   */
  async hammer (params: { ids: string[], name: string, durationMs: number, expected: number }): Promise<HammerReport> {
    const clients = params.ids.map(node)
    let completed = 0
    let calls = 0
    const failures: HammerReport['failures'] = []
    const started = performance.now()
    const deadline = started + params.durationMs

    await Promise.all(clients.map(async client => {
      while (performance.now() < deadline) {
        const call = calls++
        try {
          const instances = await client.discoverServiceNode(params.name, { checkHealth: false, signal: AbortSignal.timeout(OPERATION_TIMEOUT_MS) })
          expectAtLeast(instances.length, params.expected, 'instances')
          completed++
        } catch (err) {
          failures.push({ call, name: (err as Error).name ?? 'Error', message: (err as Error).message ?? String(err) })
        }
      }
    }))

    return { completed, calls, failures, elapsedMs: performance.now() - started }
  },

  /** Stops the listed nodes (withdrawing their records). */
  async stopNodes (params: { ids: string[] }): Promise<void> {
    await Promise.all(params.ids.map(async id => {
      await nodes.get(id)?.stop()
      nodes.delete(id)
    }))
  },

  /** This process's RSS, its baseline and its node count. */
  async rss (): Promise<RssReport> {
    return { rss: settledRss(), baseline, nodes: nodes.size }
  },

  /** This process's CPU time so far and the registry's open connections. */
  async cpu (): Promise<CpuReport> {
    const usage = process.cpuUsage()
    return { cpuMicros: usage.user + usage.system, atMs: wallMs(), connections: nodes.get('registry')?.libp2p.getConnections().length ?? 0 }
  }
}

/** `promise`, or a TimeoutError after {@link OPERATION_TIMEOUT_MS}. */
async function raceTimeout<T> (promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  try {
    return await Promise.race([promise, new Promise<never>((resolve, reject) => {
      timer = setTimeout(() => {
        const err = new Error(`${what} within ${OPERATION_TIMEOUT_MS} ms`)
        err.name = 'TimeoutError'
        reject(err)
      }, OPERATION_TIMEOUT_MS)
    })])
  } finally {
    clearTimeout(timer)
  }
}

async function shutdown (): Promise<void> {
  await Promise.all([...watches.values()].map(async ({ watch }) => { await watch.close() }))
  watches.clear()
  await Promise.all([...nodes.values()].map(async peer => { await peer.stop() }))
  nodes.clear()

  if (registryDir !== undefined) {
    await rm(registryDir, { recursive: true, force: true })
  }
}

serve(handlers, shutdown)

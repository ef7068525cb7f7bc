/**
 * The netget side of the benchmark: a network of N nodes on 127.0.0.1 (one
 * registry in its own process, service nodes and client nodes in separate
 * worker processes) and the timed trials run on it.
 *
 * Every discovery in a trial is of a service name the discovering node has
 * never asked for, so each instance it counts was fetched from the registry
 * and verified in that trial: netget keeps no cache of records a node saw.
 *
 * @example
 * ```ts
 * const result = await benchNetget({ nodes: 10, trials: 30, concurrency: 20, throughputMs: 2500 })
 * result.coldFirstMs.median // ms until the first verified instance
 * ```
 *
 * @packageDocumentation
 */

import { fileURLToPath } from 'node:url'
import { Child } from './ipc.js'
import { coldTrial, INSTANCES_PER_SERVICE, joinTrial, measureThroughput, NETGET_FIGURES, pingTrial, startStaged } from './netget-trials.js'
import { pinApart } from './pin.js'
import { distribution } from './stats.js'
import { TrialLog } from './trials.js'
import type { NetgetFigure, NodeSpec } from './netget-trials.js'
import type { CpuReport, RssReport } from './netget-worker.js'
import type { Distribution } from './stats.js'
import type { TrialFailure } from './trials.js'

export type { NetgetFigure } from './netget-trials.js'

/** The compiled worker module forked for every netget process. */
const WORKER_FILE = fileURLToPath(new URL('./netget-worker.js', import.meta.url))

/** The network every benchmark node joins. */
const NETWORK = 'bench'

/** Most nodes hosted by one worker process. */
const NODES_PER_WORKER = 50

/** Nodes one worker starts before the next batch (see `startStaged`). */
const START_BATCH = 50

/** Workers starting nodes at the same time (the registry's handshakes are the bound, not the workers). */
const START_LANES = 1

/** Registries each service and client node of a multi-registry network connects to. */
const REGISTRIES_PER_NODE = 2

/** Pause between the network coming up and the idle measurement, in ms (lets start-up work drain). */
const IDLE_SETTLE_MS = 3_000

/** How long the registry's idle CPU is measured, in ms: one connection-monitor period (libp2p pings every connection every 10 s). */
const IDLE_WINDOW_MS = 10_000

const PERCENT = 100
const PEERS_PER_THOUSAND = 1000

/** Fewest worker processes: service nodes and client nodes never share one. */
const MIN_WORKERS = 2

/** Smallest network with a registry, a full service and two clients. */
const MIN_NODES = 1 + INSTANCES_PER_SERVICE + 2

/** What to measure. */
export interface NetgetBenchOptions {
  /** Network size, registry included; an integer >= 6. */
  nodes: number
  /** Trials of each kind; an integer >= 1. */
  trials: number
  /** Client nodes discovering at once in the throughput phase. */
  concurrency: number
  /** How long the throughput phase lasts, in ms. */
  throughputMs: number
  /** Extra node flags for every child (e.g. `--cpu-prof`). */
  execArgv?: string[]
  /**
   * Registries. With more than one, every registry lists the ones started
   * before it, each service and client node connects to
   * {@link REGISTRIES_PER_NODE} of them at random, and only the cold trials
   * (registration, watch, discovery) run: join, ping and throughput are
   * single-registry figures.
   *
   * @default 1
   */
  registries?: number
}

/** Figures for one network size. Times are in milliseconds. */
export interface NetgetBenchResult {
  /** Network size, registry included. */
  nodes: number
  /** Processes the network ran in (registry included). */
  processes: number
  /** Of those, the processes hosting client (querying) nodes. */
  clientProcesses: number
  /** `registerWithNetwork()` of a fresh instance of a fresh service, on a node already connected to the registry. */
  registerMs: Distribution
  /** That call's duration plus a discovery issued by a node in another process right after it resolved. */
  visibleMs: Distribution
  /** Cold discovery (checkHealth false) until the first verified instance. */
  coldFirstMs: Distribution
  /** The same discovery until it resolved with every instance. */
  coldCompleteMs: Distribution
  /** A cold discovery by a third node with the default `checkHealth: true` (each instance dialled and pinged). */
  coldHealthCheckedMs: Distribution
  /** From the start of the register call of a fresh instance until a node watching its name (`watch(name)`, in another process) got the `added` event. */
  watchNotifiedMs: Distribution
  /** Registries in the network. */
  registries: number
  /** How long the steady network took to start (every node connected, services registered), in ms. */
  startupMs: number
  /** Per steady node, in ms: `start()`, then until connected to a registry, then its registration (service nodes). */
  startup: { startMs: Distribution, connectMs: Distribution, registerMs: Distribution }
  /** Connections open on the (first) registry once the network was up. */
  registryConnections: number
  /** The registry process's CPU over an idle window, in % of one core, per 1,000 connections open on it; NaN with several registries. */
  registryIdleCpuPercentPer1000: number
  /** The registry process's RSS growth from its empty start to the network being up, per connection open on it, in bytes; NaN with several registries. */
  registryRssBytesPerPeer: number
  /** How the throughput phase's processes were pinned to cores. */
  throughputPinning: string
  /** A new node's construction and start until its first discovery resolved. */
  joinMs: Distribution
  /** `ping()` of a service node by a client node, on an established connection. */
  pingMs: Distribution
  /** Discoveries resolved with every instance per second, `concurrency` clients each one at a time. */
  discoveriesPerSecond: number
  /** RSS growth of the worker processes over their baseline, divided by the nodes they host, in bytes. */
  rssBytesPerNode: number
  /** RSS growth of the registry's process over its baseline after every trial, in bytes. */
  rssBytesPerRegistry: number
  /** Total RSS of the registry's process after every trial, in bytes. */
  registryProcessRssBytes: number
  /** Trials and throughput discoveries that failed or returned fewer instances than published: `failedTrials.length`. */
  failures: number
  /**
   * Each of those failures (a figure's samples leave them out): every failed
   * or incomplete trial, and every throughput discovery that failed or
   * returned fewer instances than published.
   */
  failedTrials: Array<TrialFailure<NetgetFigure>>
}

/**
 * Run the netget benchmark on a fresh network of `options.nodes` nodes.
 * Every child process is shut down before the promise settles. Rejects if a
 * child dies or hangs, or if the network cannot be set up; a failed trial
 * only lands in `failedTrials`.
 */
export async function benchNetget (options: NetgetBenchOptions): Promise<NetgetBenchResult> {
  if (!Number.isInteger(options.nodes) || options.nodes < MIN_NODES) {
    throw new RangeError(`nodes must be an integer >= ${MIN_NODES}, got ${options.nodes}`)
  }

  const children: Child[] = []
  const spawn = (label: string): Child => {
    const child = Child.fork(WORKER_FILE, label, options.execArgv)
    children.push(child)
    return child
  }

  try {
    return await run(options, spawn)
  } finally {
    await Promise.all(children.map(async child => { await child.close() }))
  }
}

async function run (options: NetgetBenchOptions, spawn: (label: string) => Child): Promise<NetgetBenchResult> {
  const { nodes, trials, concurrency } = options
  const registryCount = options.registries ?? 1
  const peers = nodes - registryCount
  const registryChildren: Child[] = []
  const registryAddresses: string[] = []
  let emptyRss = 0

  for (let index = 0; index < registryCount; index++) {
    const registry = spawn(registryCount === 1 ? 'registry' : `registry-${index}`)
    registryChildren.push(registry)
    await registry.call('init', { network: NETWORK })
    const started = await registry.call<{ multiaddr: string, rss: number }>('startRegistry', { registryNodes: [...registryAddresses] })
    registryAddresses.push(started.multiaddr)
    emptyRss = index === 0 ? started.rss : emptyRss
  }

  const registry = registryChildren[0]
  const pickRegistries = registryCount === 1 ? undefined : () => pick(registryAddresses, REGISTRIES_PER_NODE)
  const workerCount = Math.max(MIN_WORKERS, Math.ceil(peers / NODES_PER_WORKER))
  const workers = Array.from({ length: workerCount }, (_, index) => spawn(`worker-${index}`))
  await Promise.all(workers.map(async worker => worker.call('init', { network: NETWORK, registryNodes: pickRegistries?.() ?? registryAddresses })))
  const serviceWorkers = workers.slice(0, Math.ceil(workerCount / 2))
  const clientWorkers = workers.slice(serviceWorkers.length)

  // the steady network: services (three instances per name) and clients, one worker after another
  const startupBegan = performance.now()
  const serviceCount = Math.floor(peers / 2)
  const serviceSpecs: NodeSpec[] = Array.from({ length: serviceCount }, (_, index) => ({
    id: `s${index}`,
    worker: serviceWorkers[index % serviceWorkers.length],
    service: `steady-${Math.floor(index / INSTANCES_PER_SERVICE)}`,
    register: true,
    registryNodes: pickRegistries?.()
  }))
  const clientSpecs: NodeSpec[] = Array.from({ length: peers - serviceCount }, (_, index) => ({
    id: `c${index}`,
    worker: clientWorkers[index % clientWorkers.length],
    registryNodes: pickRegistries?.()
  }))
  const log = new TrialLog(NETGET_FIGURES)
  const progress = (kind: string) => (count: number): void => { process.stderr.write(` ${kind} ${count} (${Math.round((performance.now() - startupBegan) / 1000)} s)`) }
  // a steady node that did not start is a failure of the start-up (counted, and the run exits 1); the others go on
  let startFailures = 0
  const failedStart = (id: string, error: string): void => { log.fail('startupMs', startFailures++, new Error(`node ${id}: ${error}`)) }
  const services = await startStaged(serviceSpecs, START_BATCH, START_LANES, failedStart, progress('services'))
  const clients = await startStaged(clientSpecs, START_BATCH, START_LANES, failedStart, progress('clients'))
  if (services.length < INSTANCES_PER_SERVICE || clients.length < 2) {
    throw new Error(`only ${services.length} service and ${clients.length} client nodes started: ${log.failures[0]?.error ?? ''}`)
  }
  const startupMs = performance.now() - startupBegan
  const workerRss = await Promise.all(workers.map(async worker => worker.call<RssReport>('rss')))

  // the registry idle: every node connected, nothing asked
  await new Promise(resolve => setTimeout(resolve, IDLE_SETTLE_MS))
  const idleStart = await registry.call<CpuReport>('cpu')
  await new Promise(resolve => setTimeout(resolve, IDLE_WINDOW_MS))
  const idleEnd = await registry.call<CpuReport>('cpu')
  const upRss = await registry.call<RssReport>('rss')
  const connections = idleEnd.connections
  const idleCpuPercent = PERCENT * ((idleEnd.cpuMicros - idleStart.cpuMicros) / 1000) / (idleEnd.atMs - idleStart.atMs)
  const single = registryCount === 1

  const steadyInstances = Math.min(INSTANCES_PER_SERVICE, services.length)

  for (let trial = 0; trial < trials; trial++) {
    await coldTrial(log, trial, serviceWorkers, clients, pickRegistries)
  }

  let throughput = { perSecond: Number.NaN, pinning: 'not run (several registries)' }
  if (single) {
    for (let trial = 0; trial < trials; trial++) {
      await joinTrial(log, trial, clientWorkers, steadyInstances)
    }
    for (let trial = 0; trial < trials; trial++) {
      await pingTrial(log, trial, clients, services)
    }
    throughput = await measureThroughput(log, clients, clientWorkers, concurrency, options.throughputMs, steadyInstances,
      async () => pinApart(registry.pid, clientWorkers.map(worker => worker.pid)))
  }

  const registryRss = await registry.call<RssReport>('rss')
  const hosted = workerRss.reduce((sum, report) => sum + report.nodes, 0)
  const grown = workerRss.reduce((sum, report) => sum + Math.max(0, report.rss - report.baseline), 0)

  return {
    nodes,
    processes: workers.length + registryCount,
    clientProcesses: clientWorkers.length,
    registries: registryCount,
    startupMs,
    startup: {
      startMs: distribution([...services, ...clients].map(node => node.timing.startMs)),
      connectMs: distribution([...services, ...clients].map(node => node.timing.connectMs)),
      registerMs: distribution(services.flatMap(node => node.timing.registerMs ?? []))
    },
    registerMs: log.distribution('registerMs'),
    visibleMs: log.distribution('visibleMs'),
    watchNotifiedMs: log.distribution('watchNotifiedMs'),
    coldFirstMs: log.distribution('coldFirstMs'),
    coldCompleteMs: log.distribution('coldCompleteMs'),
    coldHealthCheckedMs: log.distribution('coldHealthCheckedMs'),
    joinMs: log.distribution('joinMs'),
    pingMs: log.distribution('pingMs'),
    discoveriesPerSecond: throughput.perSecond,
    throughputPinning: throughput.pinning,
    registryConnections: connections,
    registryIdleCpuPercentPer1000: single && connections > 0 ? idleCpuPercent * PEERS_PER_THOUSAND / connections : Number.NaN,
    registryRssBytesPerPeer: single && connections > 0 ? Math.max(0, upRss.rss - emptyRss) / connections : Number.NaN,
    rssBytesPerNode: grown / hosted,
    rssBytesPerRegistry: Math.max(0, registryRss.rss - registryRss.baseline),
    registryProcessRssBytes: registryRss.rss,
    failures: log.failures.length,
    failedTrials: log.failures
  }
}

/** `count` distinct entries of `list` at random (all of them if it is shorter). */
function pick<T> (list: readonly T[], count: number): T[] {
  const shuffled = [...list]
  for (let index = shuffled.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1))
    ;[shuffled[index], shuffled[other]] = [shuffled[other], shuffled[index]]
  }
  return shuffled.slice(0, count)
}

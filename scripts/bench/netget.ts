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

import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { Child } from './ipc.js'
import { distribution } from './stats.js'
import type { Distribution } from './stats.js'
import type { DiscoverTiming, RssReport } from './netget-worker.js'

/** The compiled worker module forked for every netget process. */
const WORKER_FILE = fileURLToPath(new URL('./netget-worker.js', import.meta.url))

/** The network every benchmark node joins. */
const NETWORK = 'bench'

/** Instances of each service: a cold discovery's complete set is this many records. */
const INSTANCES_PER_SERVICE = 3

/** Most nodes hosted by one worker process. */
const NODES_PER_WORKER = 25

/** Fewest worker processes: service nodes and client nodes never share one. */
const MIN_WORKERS = 2

/** Smallest network with a registry, a full service and two clients. */
const MIN_NODES = 1 + INSTANCES_PER_SERVICE + 2

/** The steady service that join and throughput trials discover. */
const STEADY_SERVICE = 'steady-0'

const MS_PER_SECOND = 1000

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
}

/** Figures for one network size. Times are in milliseconds. */
export interface NetgetBenchResult {
  /** Network size, registry included. */
  nodes: number
  /** Processes the network ran in (registry included). */
  processes: number
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
  /** Trials or throughput discoveries that failed or returned fewer instances than published. */
  failures: number
}

interface Placed {
  id: string
  worker: Child
}

interface Started extends Placed {
  peerId: string
  multiaddr: string
}

/**
 * Run the netget benchmark on a fresh network of `options.nodes` nodes.
 * Every child process is shut down before the promise settles.
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
  const peers = nodes - 1
  const registry = spawn('registry')
  await registry.call('init', { network: NETWORK })
  const { multiaddr: registryAddress } = await registry.call<{ multiaddr: string }>('startRegistry')

  const workerCount = Math.max(MIN_WORKERS, Math.ceil(peers / NODES_PER_WORKER))
  const workers = Array.from({ length: workerCount }, (_, index) => spawn(`worker-${index}`))
  await Promise.all(workers.map(async worker => worker.call('init', { network: NETWORK, registryNodes: [registryAddress] })))
  const serviceWorkers = workers.slice(0, Math.ceil(workerCount / 2))
  const clientWorkers = workers.slice(serviceWorkers.length)

  // the steady network: services (three instances per name) and clients
  const serviceCount = Math.floor(peers / 2)
  const services = await startAll(Array.from({ length: serviceCount }, (_, index) => ({
    id: `s${index}`,
    worker: serviceWorkers[index % serviceWorkers.length],
    service: `steady-${Math.floor(index / INSTANCES_PER_SERVICE)}`,
    register: true
  })))
  const clients = await startAll(Array.from({ length: peers - serviceCount }, (_, index) => ({
    id: `c${index}`,
    worker: clientWorkers[index % clientWorkers.length]
  })))
  const workerRss = await Promise.all(workers.map(async worker => worker.call<RssReport>('rss')))
  const steadyInstances = Math.min(INSTANCES_PER_SERVICE, serviceCount)

  let failures = 0
  const registerMs: number[] = []
  const visibleMs: number[] = []
  const coldFirstMs: number[] = []
  const coldCompleteMs: number[] = []
  const coldHealthCheckedMs: number[] = []

  for (let trial = 0; trial < trials; trial++) {
    const outcome = await coldTrial(trial, serviceWorkers, clients)
    failures += outcome.failures
    registerMs.push(outcome.registerMs)
    visibleMs.push(outcome.visibleMs)
    if (outcome.cold.firstMs !== undefined) {
      coldFirstMs.push(outcome.cold.firstMs)
    }
    coldCompleteMs.push(outcome.cold.completeMs)
    coldHealthCheckedMs.push(outcome.healthChecked.completeMs)
  }

  const joinMs: number[] = []

  for (let trial = 0; trial < trials; trial++) {
    const joined = await clientWorkers[trial % clientWorkers.length].call<{ ms: number, count: number }>('join', { name: STEADY_SERVICE })
    joinMs.push(joined.ms)
    failures += joined.count === steadyInstances ? 0 : 1
  }

  const pingMs: number[] = []

  for (let trial = 0; trial < trials; trial++) {
    const client = clients[trial % clients.length]
    const target = services[trial % services.length]
    pingMs.push((await client.worker.call<{ ms: number }>('ping', { id: client.id, target: target.multiaddr })).ms)
  }

  const throughput = await measureThroughput(clients, clientWorkers, concurrency, options.throughputMs, steadyInstances)
  failures += throughput.incomplete
  const registryRss = await registry.call<RssReport>('rss')
  const hosted = workerRss.reduce((sum, report) => sum + report.nodes, 0)
  const grown = workerRss.reduce((sum, report) => sum + Math.max(0, report.rss - report.baseline), 0)

  return {
    nodes,
    processes: workers.length + 1,
    registerMs: distribution(registerMs),
    visibleMs: distribution(visibleMs),
    coldFirstMs: distribution(coldFirstMs),
    coldCompleteMs: distribution(coldCompleteMs),
    coldHealthCheckedMs: distribution(coldHealthCheckedMs),
    joinMs: distribution(joinMs),
    pingMs: distribution(pingMs),
    discoveriesPerSecond: throughput.perSecond,
    rssBytesPerNode: grown / hosted,
    rssBytesPerRegistry: Math.max(0, registryRss.rss - registryRss.baseline),
    registryProcessRssBytes: registryRss.rss,
    failures
  }
}

/** Starts nodes on their workers, all workers at once. */
async function startAll (specs: Array<Placed & { service?: string, register?: boolean }>): Promise<Started[]> {
  const byWorker = new Map<Child, typeof specs>()
  specs.forEach(spec => { byWorker.set(spec.worker, [...(byWorker.get(spec.worker) ?? []), spec]) })
  const started = new Map<string, Started>()

  await Promise.all([...byWorker].map(async ([worker, list]) => {
    const nodes = list.map(({ id, service, register }) => ({ id, service, register }))
    for (const node of await worker.call<Array<{ id: string, peerId: string, multiaddr: string }>>('startNodes', { nodes })) {
      started.set(node.id, { ...node, worker })
    }
  }))

  return specs.map(spec => started.get(spec.id) as Started)
}

async function stopAll (nodes: Placed[]): Promise<void> {
  const byWorker = new Map<Child, string[]>()
  nodes.forEach(node => { byWorker.set(node.worker, [...(byWorker.get(node.worker) ?? []), node.id]) })
  await Promise.all([...byWorker].map(async ([worker, ids]) => worker.call('stopNodes', { ids })))
}

interface ColdTrial {
  registerMs: number
  visibleMs: number
  cold: DiscoverTiming
  healthChecked: DiscoverTiming
  failures: number
}

/**
 * One trial on a fresh service name: start its instances (untimed, each
 * connected to the registry); register the first (timed) and let client A
 * discover it; register the others; then client B discovers it cold with
 * `checkHealth: false` and client C with the default health check. A, B and C
 * are three different client nodes in another process, and none of them has
 * asked for this name before.
 */
async function coldTrial (trial: number, serviceWorkers: Child[], clients: Started[]): Promise<ColdTrial> {
  const name = `svc-${trial}-${randomBytes(4).toString('hex')}`
  const instances = await startAll(Array.from({ length: INSTANCES_PER_SERVICE }, (_, index) => ({
    id: `t${trial}-${index}`,
    worker: serviceWorkers[(trial + index) % serviceWorkers.length],
    service: name
  })))
  const [a, b, c] = [0, 1, 2].map(offset => clients[(trial + offset) % clients.length])

  try {
    const [first, ...rest] = instances
    const registered = await first.worker.call<{ ms: number }>('register', { id: first.id })
    const seen = await a.worker.call<DiscoverTiming>('discover', { id: a.id, name })
    await Promise.all(rest.map(async instance => instance.worker.call('register', { id: instance.id })))
    const cold = await b.worker.call<DiscoverTiming>('discover', { id: b.id, name })
    const healthChecked = await c.worker.call<DiscoverTiming>('discover', { id: c.id, name, checkHealth: true })
    const failures = [seen.count >= 1, cold.count === INSTANCES_PER_SERVICE, healthChecked.count === INSTANCES_PER_SERVICE].filter(ok => !ok).length

    return { registerMs: registered.ms, visibleMs: registered.ms + seen.completeMs, cold, healthChecked, failures }
  } finally {
    await stopAll(instances)
  }
}

/**
 * `concurrency` client nodes (the steady clients, topped up with extra client
 * nodes for the phase) discover the steady service in a loop, one discovery
 * in flight each, for `durationMs`; returns complete discoveries per second.
 */
async function measureThroughput (clients: Started[], clientWorkers: Child[], concurrency: number, durationMs: number, expected: number): Promise<{ perSecond: number, incomplete: number }> {
  const extra = await startAll(Array.from({ length: Math.max(0, concurrency - clients.length) }, (_, index) => ({
    id: `h${index}`,
    worker: clientWorkers[index % clientWorkers.length]
  })))

  try {
    const hammering = [...clients, ...extra].slice(0, concurrency)
    const byWorker = new Map<Child, string[]>()
    hammering.forEach(node => { byWorker.set(node.worker, [...(byWorker.get(node.worker) ?? []), node.id]) })
    const results = await Promise.all([...byWorker].map(async ([worker, ids]) => worker.call<{ completed: number, incomplete: number, elapsedMs: number }>('hammer', { ids, name: STEADY_SERVICE, durationMs, expected })))
    const completed = results.reduce((sum, result) => sum + result.completed, 0)
    const elapsedMs = Math.max(...results.map(result => result.elapsedMs))

    return { perSecond: completed / (elapsedMs / MS_PER_SECOND), incomplete: results.reduce((sum, result) => sum + result.incomplete, 0) }
  } finally {
    await stopAll(extra)
  }
}

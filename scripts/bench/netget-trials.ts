/**
 * The timed trials of the netget benchmark, run from the parent on a network
 * already started by `netget.ts`: cold discovery of fresh services, join,
 * ping and throughput. Each trial's figures go to a {@link TrialLog}: a
 * sample when the trial succeeded, a failure when it threw or came back
 * incomplete.
 *
 * @packageDocumentation
 */

import { randomBytes } from 'node:crypto'
import { remoteError } from './errors.js'
import { DEFAULT_CALL_TIMEOUT_MS } from './ipc.js'
import { expectAtLeast } from './trials.js'
import type { Child } from './ipc.js'
import type { Pinning } from './pin.js'
import type { DiscoverTiming, HammerReport, StartResult, StartTiming } from './netget-worker.js'
import type { TrialLog } from './trials.js'

/** Instances of each service: a cold discovery's complete set is this many records. */
export const INSTANCES_PER_SERVICE = 3

/** The steady service that join and throughput trials discover. */
export const STEADY_SERVICE = 'steady-0'

/**
 * Time the parent allows one `startNodes` call per node it starts, in ms: a
 * node may wait minutes for a registry connection and retry its
 * registration on a loaded machine (the worker bounds each step).
 */
const START_CALL_MS_PER_NODE = 60_000

/** Extra time the parent allows a throughput call beyond its duration, in ms. */
const HAMMER_SLACK_MS = 60_000

const MS_PER_SECOND = 1000

/** The figures of the netget side, by their key in `NetgetBenchResult`. */
export const NETGET_FIGURES = ['startupMs', 'registerMs', 'visibleMs', 'watchNotifiedMs', 'coldFirstMs', 'coldCompleteMs', 'coldHealthCheckedMs', 'joinMs', 'pingMs', 'discoveriesPerSecond'] as const

/** One figure of the netget side. */
export type NetgetFigure = typeof NETGET_FIGURES[number]

/** The figures one cold trial yields, in the order it measures them. */
const COLD_FIGURES: readonly NetgetFigure[] = ['registerMs', 'visibleMs', 'watchNotifiedMs', 'coldFirstMs', 'coldCompleteMs', 'coldHealthCheckedMs']

/** A node to start on a worker. */
export interface Placed {
  id: string
  worker: Child
}

/** A started node. */
export interface Started extends Placed {
  peerId: string
  multiaddr: string
  /** Where its start-up went. */
  timing: StartTiming
}

/** Starts nodes on their workers, all workers at once. */
export async function startAll (specs: NodeSpec[]): Promise<Started[]> {
  const started = new Map<string, Started>()
  await Promise.all([...groupByWorker(specs)].map(async ([worker, list]) => { await startOn(worker, list, started) }))
  return specs.map(spec => started.get(spec.id) as Started)
}

/**
 * Starts nodes `lanes` workers at a time (one after the other within a
 * lane), `batch` nodes per call, so a large network comes up at the pace one
 * registry admits it rather than every process handshaking at once.
 */
export async function startStaged (specs: NodeSpec[], batch: number, lanes: number, onFailure: (id: string, error: string) => void, onBatch?: (started: number) => void): Promise<Started[]> {
  const started = new Map<string, Started>()
  const queue = [...groupByWorker(specs)]

  await Promise.all(Array.from({ length: lanes }, async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const [worker, list] = next
      for (let from = 0; from < list.length; from += batch) {
        await startOn(worker, list.slice(from, from + batch), started, onFailure)
        onBatch?.(started.size)
      }
    }
  }))

  return specs.flatMap(spec => started.get(spec.id) ?? [])
}

/** A node to start: where, and as what. */
export interface NodeSpec extends Placed {
  /** Its service name, for a service node. */
  service?: string
  /** Whether it registers once started. */
  register?: boolean
  /** Its own registries (a multi-registry network); the worker's by default. */
  registryNodes?: string[]
}

/**
 * Starts `list` on `worker`. With `onFailure`, a node that did not start is
 * reported there and left out; without, the call rejects.
 */
async function startOn (worker: Child, list: NodeSpec[], started: Map<string, Started>, onFailure?: (id: string, error: string) => void): Promise<void> {
  const nodes = list.map(({ id, service, register, registryNodes }) => ({ id, service, register, registryNodes }))
  const timeoutMs = Math.max(DEFAULT_CALL_TIMEOUT_MS, list.length * START_CALL_MS_PER_NODE)
  for (const node of await worker.call<StartResult[]>('startNodes', { nodes, keepGoing: onFailure !== undefined }, { timeoutMs })) {
    if (node.error === undefined) {
      started.set(node.id, { id: node.id, peerId: node.peerId, multiaddr: node.multiaddr, timing: node.timing, worker })
    } else {
      onFailure?.(node.id, node.error)
    }
  }
}

/** Stops nodes (started or not) on their workers. */
export async function stopAll (nodes: Placed[]): Promise<void> {
  await Promise.all([...groupByWorker(nodes)].map(async ([worker, list]) => worker.call('stopNodes', { ids: list.map(node => node.id) })))
}

function groupByWorker<T extends Placed> (nodes: readonly T[]): Map<Child, T[]> {
  const byWorker = new Map<Child, T[]>()
  nodes.forEach(node => { byWorker.set(node.worker, [...(byWorker.get(node.worker) ?? []), node]) })
  return byWorker
}

/**
 * Cold trial `trial` on a fresh service name: start its instances (untimed,
 * each connected to a registry); client W starts `watch(name)` (untimed,
 * until the registries answered with the empty set); register the first
 * (timed) and let client A discover it; W's first `added` event, less the
 * wall-clock time the register call began, is register → watcher notified;
 * register the others; then client B discovers it cold with
 * `checkHealth: false` and client C with the default health check. W, A, B
 * and C are client nodes in another process than the instances, and none of
 * them has asked for this name before. A discovery with fewer instances
 * than registered fails its figures.
 */
export async function coldTrial (log: TrialLog<NetgetFigure>, trial: number, serviceWorkers: Child[], clients: Started[], registryNodes?: () => string[]): Promise<void> {
  const name = `svc-${trial}-${randomBytes(4).toString('hex')}`
  const placed = Array.from({ length: INSTANCES_PER_SERVICE }, (_, index) => ({
    id: `t${trial}-${index}`,
    worker: serviceWorkers[(trial + index) % serviceWorkers.length],
    service: name,
    registryNodes: registryNodes?.()
  }))
  const [a, b, c, w] = [0, 1, 2, 3].map(offset => clients[(trial + offset) % clients.length])
  const watchId = `w${trial}`

  try {
    await log.attempt(trial, COLD_FIGURES, async () => {
      const [first, ...rest] = await startAll(placed)
      await w.worker.call('watch', { watchId, id: w.id, name })
      const registered = await first.worker.call<{ ms: number, atMs: number }>('register', { id: first.id })
      log.sample('registerMs', trial, registered.ms)
      const seen = await a.worker.call<DiscoverTiming>('discover', { id: a.id, name })
      expectAtLeast(seen.count, 1, 'instances')
      log.sample('visibleMs', trial, registered.ms + seen.completeMs)
      const notified = await w.worker.call<{ atMs: number }>('watchNotified', { watchId })
      log.sample('watchNotifiedMs', trial, notified.atMs - registered.atMs)
      await Promise.all(rest.map(async instance => instance.worker.call('register', { id: instance.id })))

      const cold = await b.worker.call<DiscoverTiming>('discover', { id: b.id, name })
      if (cold.firstMs === undefined) {
        log.fail('coldFirstMs', trial, new Error('no instance reached onInstance'))
      } else {
        log.sample('coldFirstMs', trial, cold.firstMs)
      }
      expectAtLeast(cold.count, INSTANCES_PER_SERVICE, 'instances')
      log.sample('coldCompleteMs', trial, cold.completeMs)

      const healthChecked = await c.worker.call<DiscoverTiming>('discover', { id: c.id, name, checkHealth: true })
      expectAtLeast(healthChecked.count, INSTANCES_PER_SERVICE, 'instances')
      log.sample('coldHealthCheckedMs', trial, healthChecked.completeMs)
    })
  } finally {
    await w.worker.call('closeWatch', { watchId })
    await stopAll(placed)
  }
}

/** Join trial `trial`: a new node in a client worker starts and discovers the steady service. */
export async function joinTrial (log: TrialLog<NetgetFigure>, trial: number, clientWorkers: Child[], expected: number): Promise<void> {
  await log.attempt(trial, ['joinMs'], async () => {
    const joined = await clientWorkers[trial % clientWorkers.length].call<{ ms: number, count: number }>('join', { name: STEADY_SERVICE })
    expectAtLeast(joined.count, expected, 'instances')
    log.sample('joinMs', trial, joined.ms)
  })
}

/** Ping trial `trial`: a client pings a service node on an established connection. */
export async function pingTrial (log: TrialLog<NetgetFigure>, trial: number, clients: Started[], services: Started[]): Promise<void> {
  const client = clients[trial % clients.length]
  const target = services[trial % services.length]

  await log.attempt(trial, ['pingMs'], async () => {
    log.sample('pingMs', trial, (await client.worker.call<{ ms: number }>('ping', { id: client.id, target: target.multiaddr })).ms)
  })
}

/**
 * `concurrency` client nodes (the steady clients, topped up with extra client
 * nodes for the phase) discover the steady service in a loop, one discovery
 * in flight each, for `durationMs`; returns complete discoveries per second
 * (`NaN` if the phase could not run). Each other discovery is a failure of
 * `discoveriesPerSecond`, numbered one worker after the other.
 */
export async function measureThroughput (log: TrialLog<NetgetFigure>, clients: Started[], clientWorkers: Child[], concurrency: number, durationMs: number, expected: number, pin: () => Promise<Pinning>): Promise<{ perSecond: number, pinning: string }> {
  const placed = Array.from({ length: Math.max(0, concurrency - clients.length) }, (_, index) => ({
    id: `h${index}`,
    worker: clientWorkers[index % clientWorkers.length]
  }))
  let perSecond = Number.NaN
  let pinning = 'not run'

  try {
    await log.attempt(0, ['discoveriesPerSecond'], async () => {
      const extra = await startAll(placed)
      const hammering = [...clients, ...extra].slice(0, concurrency)
      const pinned = await pin()
      pinning = pinned.description
      const results = await Promise.all([...groupByWorker(hammering)].map(async ([worker, nodes]) =>
        worker.call<HammerReport>('hammer', { ids: nodes.map(node => node.id), name: STEADY_SERVICE, durationMs, expected }, { timeoutMs: durationMs + HAMMER_SLACK_MS })))
        .finally(async () => { await pinned.release() })
      let offset = 0

      for (const result of results) {
        result.failures.forEach(failure => { log.fail('discoveriesPerSecond', offset + failure.call, remoteError(failure.name, failure.message)) })
        offset += result.calls
      }

      const completed = results.reduce((sum, result) => sum + result.completed, 0)
      perSecond = completed / (Math.max(...results.map(result => result.elapsedMs)) / MS_PER_SECOND)
    })
  } finally {
    await stopAll(placed)
  }

  return { perSecond, pinning }
}

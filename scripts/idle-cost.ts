/**
 * What idle connected peers cost a registry: one registry process and N
 * idle service nodes (each publishing one instance, so the registry measures
 * its liveness) in other processes, started in stages (`--per-child` nodes
 * per child process, one child after another). At each size of `--peers`
 * (cumulative: 100, then 300 more for 400, ...) it waits `--settle` ms, then
 * takes the registry's CPU time over `--duration` ms (`process.cpuUsage`,
 * as % of one core) and its RSS after a GC, and prints one JSON object.
 * Exits 1 if the network did not come up (a node failed to start, or fewer
 * connections than peers at a measurement).
 *
 * Usage: `node dist/scripts/idle-cost.js --peers 100,400,1000 [--per-child 50] [--duration 60000] [--settle 15000] [--cpu-prof DIR]`
 * (`--cpu-prof DIR`: a CPU profile of the registry over each measurement,
 * `DIR/registry-N-peers.cpuprofile`, for Chrome's DevTools; it adds a little CPU of its own).
 *
 * @packageDocumentation
 */

import { fork } from 'node:child_process'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { Session } from 'node:inspector/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Netget } from '../src/index.js'
import type { ChildProcess } from 'node:child_process'

/** Every node listens on loopback TCP, any port. */
const LISTEN = ['/ip4/127.0.0.1/tcp/0']

/** How long one node may take to start and register, in ms (a loaded machine needs long). */
const START_TIMEOUT_MS = 60_000

/** Registrations a node tries before the network counts as failed. */
const REGISTER_ATTEMPTS = 3

/** Nodes of one child started at once. */
const START_CONCURRENCY = 3

interface Args {
  peers: number[]
  perChild: number
  duration: number
  settle: number
  /** A directory for CPU profiles of the registry over each measurement (`registry-N-peers.cpuprofile`). */
  cpuProf?: string
}

interface Message {
  id?: number
  op?: string
  result?: unknown
  error?: string
  params?: Record<string, unknown>
}

function parseArgs (argv: string[]): Args {
  const args: Args = { peers: [100, 400], perChild: 50, duration: 60_000, settle: 15_000 }

  for (let i = 0; i < argv.length; i += 2) {
    const value = argv[i + 1] ?? ''

    switch (argv[i]) {
      case '--peers': args.peers = value.split(',').map(Number).sort((a, b) => a - b); break
      case '--per-child': args.perChild = Number(value); break
      case '--duration': args.duration = Number(value); break
      case '--settle': args.settle = Number(value); break
      case '--cpu-prof': args.cpuProf = value; break
      default: throw new Error(`unknown argument ${argv[i]}`)
    }
  }

  if (args.peers.some(n => !Number.isInteger(n) || n < 1) || !(args.perChild >= 1) || !(args.duration > 0) || !(args.settle >= 0)) {
    throw new Error('usage: idle-cost [--peers 100,400,1000] [--per-child 50] [--duration 60000] [--settle 15000] [--cpu-prof DIR]')
  }

  return args
}

function settledRss (): number {
  (globalThis as { gc?: () => void }).gc?.()
  return process.memoryUsage().rss
}

/**
 * Registers a started node, trying again (a loaded registry may time out a
 * put) up to {@link REGISTER_ATTEMPTS} times; resolves false if every attempt
 * failed (the node stays connected, an idle peer all the same).
 */
async function register (peer: Netget): Promise<boolean> {
  for (let attempt = 1; attempt <= REGISTER_ATTEMPTS; attempt++) {
    try {
      await peer.registerWithNetwork({ signal: AbortSignal.timeout(START_TIMEOUT_MS) })
      return true
    } catch {}
  }

  return false
}

/** The child side: a registry (`registry`) or a host of idle service nodes (`peers`). */
async function child (): Promise<void> {
  const nodes: Netget[] = []
  let dataDir: string | undefined

  const handlers: Record<string, (params: Record<string, unknown>) => Promise<unknown>> = {
    async startRegistry () {
      dataDir = await mkdtemp(join(tmpdir(), 'netget-idle-'))
      const registry = new Netget({ nodeType: 'registry', network: 'idle', listen: LISTEN, dataDir, registryNodes: [] })
      nodes.push(registry)
      await registry.start()
      return { multiaddr: registry.multiaddrs[0], rss: settledRss() }
    },
    async startPeers (params) {
      const { count, registry, first } = params as { count: number, registry: string, first: number }
      let next = 0
      let unregistered = 0
      await Promise.all(Array.from({ length: START_CONCURRENCY }, async () => {
        while (next < count) {
          const index = first + next++
          const peer = new Netget({ network: 'idle', listen: LISTEN, dataDir: false, registryNodes: [registry], metadata: { name: `idle-${index % 10}` } })
          nodes.push(peer)
          await peer.start()

          if (!await register(peer)) {
            unregistered++
          }
        }
      }))
      return { unregistered }
    },
    async connections () {
      return { connections: nodes[0]?.libp2p?.getConnections().length ?? 0 }
    },
    async measure (params) {
      const { duration, cpuProf, peers } = params as { duration: number, cpuProf?: string, peers: number }
      const session = cpuProf === undefined ? undefined : new Session()

      if (session !== undefined) {
        session.connect()
        await session.post('Profiler.enable')
        await session.post('Profiler.start')
      }

      const before = process.cpuUsage()
      const started = performance.now()
      await new Promise(resolve => setTimeout(resolve, duration))
      const used = process.cpuUsage(before)
      const wall = performance.now() - started

      if (session !== undefined && cpuProf !== undefined) {
        const { profile } = await session.post('Profiler.stop')
        await writeFile(join(cpuProf, `registry-${peers}-peers.cpuprofile`), JSON.stringify(profile))
        session.disconnect()
      }

      return { cpuPercent: 100 * (used.user + used.system) / 1000 / wall, rss: settledRss() }
    },
    async stop () {
      await Promise.all(nodes.map(async node => node.stop()))

      if (dataDir !== undefined) {
        await rm(dataDir, { recursive: true, force: true })
      }

      setTimeout(() => { process.exit(0) }, 100)
      return {}
    }
  }

  // the parent is gone (killed): do not linger
  process.on('disconnect', () => { process.exit(0) })
  process.on('message', (message: Message) => {
    const handler = handlers[message.op ?? '']
    handler(message.params ?? {}).then(
      result => process.send?.({ id: message.id, result }),
      (err: Error) => process.send?.({ id: message.id, error: `${err.name}: ${err.message}` })
    )
  })
}

/** A forked child and a request/response call over its IPC channel. */
class Child {
  readonly process: ChildProcess
  private nextId = 0
  private readonly pending = new Map<number, { resolve(value: unknown): void, reject(err: Error): void }>()

  constructor () {
    this.process = fork(fileURLToPath(import.meta.url), ['--child'], { execArgv: ['--expose-gc'] })
    this.process.on('message', (message: Message) => {
      const call = this.pending.get(message.id ?? -1)
      this.pending.delete(message.id ?? -1)

      if (message.error !== undefined) {
        call?.reject(new Error(message.error))
      } else {
        call?.resolve(message.result)
      }
    })
    this.process.on('exit', code => {
      for (const call of this.pending.values()) {
        call.reject(new Error(`child exited with ${code}`))
      }
      this.pending.clear()
    })
  }

  async call<T> (op: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject })
      this.process.send({ id, op, params })
    })
  }
}

async function parent (args: Args): Promise<number> {
  const registry = new Child()
  const hosts: Child[] = []
  const results: unknown[] = []
  let code = 0

  try {
    const { multiaddr, rss: baseRss } = await registry.call<{ multiaddr: string, rss: number }>('startRegistry')
    let started = 0
    let unregistered = 0

    for (const peers of args.peers) {
      while (started < peers) {
        const count = Math.min(args.perChild - (started % args.perChild), peers - started)

        if (started % args.perChild === 0) {
          hosts.push(new Child())
        }

        const { unregistered: failed } = await hosts[hosts.length - 1].call<{ unregistered: number }>('startPeers', { count, registry: multiaddr, first: started })
        unregistered += failed
        started += count
      }

      await new Promise(resolve => setTimeout(resolve, args.settle))
      const { connections } = await registry.call<{ connections: number }>('connections')
      const loadBefore = loadavg()[0]
      const { cpuPercent, rss } = await registry.call<{ cpuPercent: number, rss: number }>('measure', { duration: args.duration, cpuProf: args.cpuProf, peers })
      const result = {
        peers,
        connections,
        /** Peers whose every registration failed: connected, but not measured by the registry's liveness. */
        unregistered,
        registryCpuPercent: Number(cpuPercent.toFixed(2)),
        cpuPercentPer1000Peers: Number((cpuPercent * 1000 / peers).toFixed(2)),
        registryRssMb: Number((rss / 2 ** 20).toFixed(1)),
        rssPerPeerKb: Number(((rss - baseRss) / 1024 / peers).toFixed(1)),
        durationMs: args.duration,
        loadAverage: [Number(loadBefore.toFixed(2)), Number(loadavg()[0].toFixed(2))]
      }
      results.push(result)
      process.stderr.write(`${JSON.stringify(result)}\n`)

      if (connections < peers) {
        throw new Error(`only ${connections} of ${peers} peers connected to the registry`)
      }
    }
  } catch (err) {
    process.stderr.write(`idle-cost: the network failed to come up - ${(err as Error).message}\n`)
    code = 1
  } finally {
    await Promise.allSettled([registry, ...hosts].map(async host => {
      await host.call('stop')
      await new Promise(resolve => {
        const timer = setTimeout(resolve, 5_000)
        host.process.once('exit', () => { clearTimeout(timer); resolve(undefined) })
      })
    }))
    for (const host of [registry, ...hosts]) {
      host.process.kill()
    }
  }

  process.stdout.write(`${JSON.stringify({ perChild: args.perChild, results }, null, 2)}\n`)
  return code
}

if (process.argv.includes('--child')) {
  await child()
} else {
  process.exitCode = await parent(parseArgs(process.argv.slice(2)))
}

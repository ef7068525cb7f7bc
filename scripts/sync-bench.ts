/**
 * Measures registry federation (docs/PROTOCOL.md §17) on 127.0.0.1, in one
 * process, and prints one JSON object per figure (docs/RELIABILITY.md):
 *
 * - `join`: a registry holds N records; a new registry on an empty data dir
 *   that knows only it starts — the time until the new one holds all N, and
 *   the bytes the join exchanged (both directions, frames included);
 * - `in-sync`: one full reconciliation between the two once they agree —
 *   its bytes and time;
 * - `line`: 10 registries peered as a line (each knows its neighbours); a
 *   record stored at the first — the time until the tenth holds it.
 *
 * Usage: `node dist/scripts/sync-bench.js [--sizes 1000,10000]`
 *
 * @packageDocumentation
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { Netget } from '../src/index.js'
import { TESTNET_TIMERS } from '../src/testing/index.js'
import { storeRecords } from '../test/stored-records.js'
import type { NetgetInit } from '../src/index.js'

const NETWORK = 'syncbench'
/** Room for every record a bench registry takes from a peer (synced records count as relayed). */
const QUOTAS: NetgetInit['storeQuotas'] = { maxRecords: 100_000, maxRelayedRecords: 100_000, maxRelayedRecordsPerName: 100_000, maxRecordsPerName: 100_000 }

async function waitFor (check: () => boolean, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout

  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`not within ${timeout} ms`)
    }

    await new Promise(resolve => setTimeout(resolve, 5))
  }
}

async function registry (root: string, label: string, registryNodes: string[]): Promise<Netget> {
  const node = new Netget({
    ...TESTNET_TIMERS,
    nodeType: 'registry',
    network: NETWORK,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    dataDir: join(root, label),
    registryNodes,
    storeQuotas: QUOTAS,
    // no timed rounds during a measurement: only the ones on connecting and syncNow()
    syncInterval: 3_600_000
  })
  await node.start()
  return node
}

function bytes (node: Netget): number {
  const stats = node.syncStats()
  return stats.bytesSent + stats.bytesReceived
}

async function measureJoin (root: string, size: number): Promise<void> {
  const first = await registry(root, `first-${size}`, [])

  try {
    await storeRecords(first, Array.from({ length: size }, (_, i) => ({ name: `svc${i % 100}` })))
    const started = performance.now()
    const second = await registry(root, `second-${size}`, [first.multiaddrs[0]])

    try {
      await waitFor(() => second.syncStats().records === size, 120_000)
      const joinMs = performance.now() - started
      // the join session's bytes are counted when it ends, on each side (the first may count another, smaller session before)
      await waitFor(() => second.syncStats().sessions >= 1 && first.syncStats().recordsSent >= size, 60_000)
      const joinBytes = bytes(second)
      const before = bytes(first)
      const roundStarted = performance.now()
      await first.syncNow()
      const roundMs = performance.now() - roundStarted
      print({ figure: 'join', records: size, ms: Math.round(joinMs), bytes: joinBytes, bytesPerRecord: Math.round(joinBytes / size) })
      print({ figure: 'in-sync', records: size, ms: Math.round(roundMs * 10) / 10, bytes: bytes(first) - before })
    } finally {
      await second.stop()
    }
  } finally {
    await first.stop()
  }
}

async function measureLine (root: string, count: number): Promise<void> {
  const line: Netget[] = []

  try {
    for (let i = 0; i < count; i++) {
      line.push(await registry(root, `line-${i}`, i === 0 ? [] : [line[i - 1].multiaddrs[0]]))
    }

    await waitFor(() => line.every((node, i) => node.syncStats().peers >= (i === 0 || i === count - 1 ? 1 : 2)), 60_000)
    const started = performance.now()
    await storeRecords(line[0], [{ name: 'line' }])
    await waitFor(() => line[count - 1].syncStats().records === 1, 60_000)
    print({ figure: 'line', registries: count, ms: Math.round(performance.now() - started) })
  } finally {
    await Promise.all(line.map(async node => { await node.stop() }))
  }
}

function print (figure: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify({ ...figure, load: loadavg()[0].toFixed(2) }) + '\n')
}

async function main (argv: string[]): Promise<void> {
  const at = argv.indexOf('--sizes')
  const sizes = at === -1 ? [1_000, 10_000] : argv[at + 1].split(',').map(Number)
  const root = await mkdtemp(join(tmpdir(), 'netget-sync-bench-'))

  try {
    for (const size of sizes) {
      await measureJoin(root, size)
    }

    await measureLine(root, 10)
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

await main(process.argv.slice(2))

/**
 * Standalone check of the hyperdht benchmark: runs it at 10 and 50 nodes and
 * prints one JSON object per size, then the total wall time. Exits with 1 if
 * any trial failed.
 *
 * Usage: `node dist/scripts/bench/hyperdht-only.js`
 *
 * @packageDocumentation
 */

import { performance } from 'node:perf_hooks'
import { benchHyperdht } from './hyperdht.js'

/** Network sizes to measure, in order. */
const SIZES = [10, 50]

/** Announce-then-lookup rounds per size. */
const TRIALS = 30

/** Lookups in flight during the throughput phase. */
const CONCURRENCY = 20

/** Run every size and print the results; resolves to the exit code. */
export async function main (): Promise<number> {
  const start = performance.now()
  let failures = 0

  for (const nodes of SIZES) {
    const sizeStart = performance.now()
    const result = await benchHyperdht({ nodes, trials: TRIALS, concurrency: CONCURRENCY })
    const wallMs = Math.round(performance.now() - sizeStart)
    failures += result.failures
    console.log(JSON.stringify({ ...result, wallMs }, null, 2))
  }

  console.log(JSON.stringify({ totalMs: Math.round(performance.now() - start), failures }))
  return failures === 0 ? 0 : 1
}

process.exitCode = await main()

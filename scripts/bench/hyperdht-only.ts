/**
 * Standalone check of the hyperdht benchmark: runs it at 10 and 50 nodes and
 * prints one JSON object per size, then the total wall time.
 *
 * Usage: `node dist/scripts/bench/hyperdht-only.js`
 *
 * @packageDocumentation
 */

import { performance } from 'node:perf_hooks'
import { benchHyperdht } from './hyperdht.js'

/** Testnet sizes to measure, in order. */
const SIZES = [10, 50]

/** Announce-then-lookup rounds per size. */
const TRIALS = 30

/** Lookups in flight during the throughput phase. */
const CONCURRENCY = 20

/** Run every size and print the results. */
export async function main (): Promise<void> {
  const start = performance.now()

  for (const nodes of SIZES) {
    const sizeStart = performance.now()
    const result = await benchHyperdht({ nodes, trials: TRIALS, concurrency: CONCURRENCY })
    const wallMs = Math.round(performance.now() - sizeStart)
    console.log(JSON.stringify({ ...result, wallMs }, null, 2))
  }

  console.log(JSON.stringify({ totalMs: Math.round(performance.now() - start) }))
}

await main()

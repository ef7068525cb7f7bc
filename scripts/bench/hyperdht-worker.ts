/**
 * A child process of the benchmark that runs {@link benchHyperdht} for one
 * testnet size, so each size's RSS is measured in a fresh process and no
 * netget process competes with it for the CPU.
 *
 * Usage: forked by `run.js` (with `--expose-gc`); not meant to be started by hand.
 *
 * @packageDocumentation
 */

import { benchHyperdht } from './hyperdht.js'
import { serve } from './ipc.js'
import type { HyperdhtBenchOptions } from './hyperdht.js'

serve({
  bench: async (options: HyperdhtBenchOptions) => benchHyperdht(options)
}, async () => {})

/**
 * `npm run bench`: measures netget and hyperdht on 127.0.0.1 at the same
 * network sizes, prints one table with the ratio netget/hyperdht of every
 * figure, and writes it to `bench-results/` as JSON and markdown.
 *
 * Usage: `node dist/scripts/bench/run.js [--quick] [--sizes 10,50,100]
 * [--trials 30] [--concurrency 20] [--profile]`
 *
 * - `--quick`: N=10 only, 10 trials, a 1 s throughput phase (under a minute).
 * - `--sizes`: network sizes, registry included (default 10,50).
 * - `--profile`: every child process writes a V8 CPU profile to
 *   `bench-results/profiles/` (open in Chrome DevTools).
 *
 * @packageDocumentation
 */

import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, loadavg, totalmem, release } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Child } from './ipc.js'
import { benchNetget } from './netget.js'
import { markdown, notes } from './report.js'
import type { HyperdhtBenchResult } from './hyperdht.js'
import type { BenchReport, SizeResult } from './report.js'

const RESULTS_DIR = 'bench-results'
const DEFAULT_SIZES = [10, 50]
const QUICK_SIZES = [10]
const DEFAULT_TRIALS = 30
const QUICK_TRIALS = 10
const DEFAULT_CONCURRENCY = 20
const DEFAULT_THROUGHPUT_MS = 2_500
const QUICK_THROUGHPUT_MS = 1_000
const BYTES_PER_GB = 1024 ** 3

const HYPERDHT_WORKER = fileURLToPath(new URL('./hyperdht-worker.js', import.meta.url))

/** Parsed command line. */
interface Flags {
  sizes: number[]
  trials: number
  concurrency: number
  throughputMs: number
  profile: boolean
}

function parseFlags (argv: string[]): Flags {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      sizes: { type: 'string' },
      trials: { type: 'string' },
      concurrency: { type: 'string' },
      profile: { type: 'boolean', default: false }
    }
  })
  const quick = values.quick === true
  const integer = (flag: string, text: string | undefined, fallback: number, min: number): number => {
    if (text === undefined) {
      return fallback
    }
    const value = Number(text)
    if (!Number.isInteger(value) || value < min) {
      throw new RangeError(`--${flag} must be an integer >= ${min}, got "${text}"`)
    }
    return value
  }

  return {
    sizes: values.sizes === undefined ? (quick ? QUICK_SIZES : DEFAULT_SIZES) : values.sizes.split(',').map(size => integer('sizes', size, 0, 6)),
    trials: integer('trials', values.trials, quick ? QUICK_TRIALS : DEFAULT_TRIALS, 1),
    concurrency: integer('concurrency', values.concurrency, DEFAULT_CONCURRENCY, 1),
    throughputMs: quick ? QUICK_THROUGHPUT_MS : DEFAULT_THROUGHPUT_MS,
    profile: values.profile === true
  }
}

function machine (): string {
  const cpu = cpus()
  return `${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${Math.round(totalmem() / BYTES_PER_GB)} GB, Linux ${release()}, Node ${process.version}`
}

async function benchHyperdhtInChild (nodes: number, trials: number, concurrency: number, execArgv: string[]): Promise<HyperdhtBenchResult> {
  const child = Child.fork(HYPERDHT_WORKER, `hyperdht-${nodes}`, ['--expose-gc', ...execArgv])

  try {
    return await child.call<HyperdhtBenchResult>('bench', { nodes, trials, concurrency })
  } finally {
    await child.close()
  }
}

/** Runs every size, prints the table, writes `bench-results/`. */
export async function main (argv: string[]): Promise<void> {
  const flags = parseFlags(argv)
  const profileDir = join(RESULTS_DIR, 'profiles')
  const execArgv = flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []
  await mkdir(flags.profile ? profileDir : RESULTS_DIR, { recursive: true })
  const sizes: SizeResult[] = []
  const started = performance.now()
  const loadBefore = loadavg()[0]

  for (const nodes of flags.sizes) {
    process.stderr.write(`N=${nodes}: netget...`)
    const netget = await benchNetget({ nodes, trials: flags.trials, concurrency: flags.concurrency, throughputMs: flags.throughputMs, execArgv: ['--expose-gc', ...execArgv] })
    process.stderr.write(' hyperdht...')
    const hyperdht = await benchHyperdhtInChild(nodes, flags.trials, flags.concurrency, execArgv)
    process.stderr.write(` done (${Math.round((performance.now() - started) / 1000)} s)\n`)
    sizes.push({ nodes, netget, hyperdht })
  }

  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: machine(),
    load: [loadBefore, loadavg()[0]],
    command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
    trials: flags.trials,
    concurrency: flags.concurrency,
    sizes
  }
  const table = markdown(report)
  const text = [
    `netget vs hyperdht — ${report.date.slice(0, 10)}, ${report.machine}`,
    `${report.command}: ${report.trials} trials per figure, loopback; 1-min load average ${report.load.map(load => load.toFixed(1)).join(' → ')} on ${cpus().length} cores`,
    '',
    table,
    '',
    ...notes(report)
  ].join('\n')
  const stamp = report.date.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')

  console.log(text)
  await writeFile(join(RESULTS_DIR, `bench-${stamp}.json`), JSON.stringify(report, null, 2) + '\n')
  await writeFile(join(RESULTS_DIR, `bench-${stamp}.md`), text + '\n')
  await writeFile(join(RESULTS_DIR, 'latest.json'), JSON.stringify(report, null, 2) + '\n')
  await writeFile(join(RESULTS_DIR, 'latest.md'), text + '\n')
}

await main(process.argv.slice(2))

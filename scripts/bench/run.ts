/**
 * `npm run bench`: measures netget and hyperdht on 127.0.0.1 at the same
 * network sizes, prints one table with the ratio netget/hyperdht of every
 * figure, and writes it to `bench-results/` as JSON and markdown.
 *
 * Usage: `node dist/scripts/bench/run.js [--quick] [--sizes 10,50,100]
 * [--trials 30] [--concurrency 20] [--registries 10] [--profile] [--browser-only | --skip-browser]`
 *
 * - `--quick`: N=10 only, 10 trials, a 1 s throughput phase (under a minute).
 * - `--sizes`: network sizes, registries included (default 10,50). N=1000
 *   runs: the network starts one worker process after another.
 * - `--registries R`: also run each size as a network of R registries, every
 *   service and client node connected to 2 of them at random (registration,
 *   watch and discovery figures; rows prefixed `R registries`). Off by default.
 * - `--profile`: every child process writes a V8 CPU profile to
 *   `bench-results/profiles/` (open in Chrome DevTools).
 * - The browser figures (`--trials` pages in Debian's Chromium,
 *   `/usr/bin/chromium` or `NETGET_CHROMIUM`; see `browser.ts`) run after
 *   the sizes; `--browser-only` runs only them, `--skip-browser` leaves
 *   them out (a machine without Chromium).
 *
 * Exit code: 0 when every trial of every figure succeeded; 1 when any trial
 * failed or came back incomplete (each is printed, counted in the table and
 * listed in `latest.json`, and left out of the figures), and 1 when a child
 * process died or hung or the run could not be set up (nothing is written).
 *
 * @packageDocumentation
 */

import { mkdir, writeFile } from 'node:fs/promises'
import { cpus, loadavg, totalmem, release } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { describe } from './errors.js'
import { benchBrowser } from './browser.js'
import { benchHyperdht } from './hyperdht.js'
import { benchNetget } from './netget.js'
import { failureLines, jsonFailures, jsonRows, layout, markdown, notes } from './report.js'
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

/** How long the process may linger after the run before it is made to exit, in ms (a leaked handle must not hang it). */
const EXIT_WATCHDOG_MS = 10_000

/** Parsed command line. */
interface Flags {
  sizes: number[]
  trials: number
  concurrency: number
  throughputMs: number
  /** Registries of the extra multi-registry run; 0: none. */
  registries: number
  profile: boolean
  /** Run the network sizes. */
  sizesOn: boolean
  /** Run the browser figures. */
  browser: boolean
}

function parseFlags (argv: string[]): Flags {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      sizes: { type: 'string' },
      trials: { type: 'string' },
      concurrency: { type: 'string' },
      registries: { type: 'string' },
      profile: { type: 'boolean', default: false },
      'browser-only': { type: 'boolean', default: false },
      'skip-browser': { type: 'boolean', default: false }
    }
  })
  if (values['browser-only'] === true && values['skip-browser'] === true) {
    throw new RangeError('--browser-only and --skip-browser exclude each other')
  }
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
    registries: values.registries === undefined ? 0 : integer('registries', values.registries, 0, 2),
    profile: values.profile === true,
    sizesOn: values['browser-only'] !== true,
    browser: values['skip-browser'] !== true
  }
}

function machine (): string {
  const cpu = cpus()
  return `${cpu[0]?.model ?? 'unknown CPU'}, ${cpu.length} cores, ${Math.round(totalmem() / BYTES_PER_GB)} GB, Linux ${release()}, Node ${process.version}`
}

/**
 * Runs every size, prints the table, writes `bench-results/`; resolves to
 * the exit code: 1 if any trial failed, else 0. Rejects if a child process
 * died or hung.
 */
export async function main (argv: string[]): Promise<number> {
  const flags = parseFlags(argv)
  const profileDir = join(RESULTS_DIR, 'profiles')
  const execArgv = flags.profile ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []
  await mkdir(flags.profile ? profileDir : RESULTS_DIR, { recursive: true })
  const sizes: SizeResult[] = []
  /** The fewest services and clients a multi-registry run needs (three instances of a service, clients to discover them). */
  const MIN_MULTI_PEERS = 10
  const started = performance.now()
  const loadBefore = loadavg()[0]

  for (const nodes of flags.sizesOn ? flags.sizes : []) {
    process.stderr.write(`N=${nodes}: netget...`)
    const netget = await benchNetget({ nodes, trials: flags.trials, concurrency: flags.concurrency, throughputMs: flags.throughputMs, execArgv: ['--expose-gc', ...execArgv] })
    process.stderr.write(' hyperdht...')
    const hyperdht = await benchHyperdht({ nodes, trials: flags.trials, concurrency: flags.concurrency, throughputMs: flags.throughputMs, execArgv })
    let multi
    if (flags.registries > 0 && nodes - flags.registries < MIN_MULTI_PEERS) {
      process.stderr.write(` (no ${flags.registries}-registry run: it needs ${MIN_MULTI_PEERS} nodes beside the registries)`)
    } else if (flags.registries > 0) {
      process.stderr.write(` netget with ${flags.registries} registries...`)
      multi = await benchNetget({ nodes, trials: flags.trials, concurrency: flags.concurrency, throughputMs: flags.throughputMs, execArgv: ['--expose-gc', ...execArgv], registries: flags.registries })
    }
    process.stderr.write(` done (${Math.round((performance.now() - started) / 1000)} s)\n`)
    sizes.push({ nodes, netget, hyperdht, multi })
  }

  let browser
  if (flags.browser) {
    process.stderr.write('browser (Chromium)...')
    browser = await benchBrowser({ trials: flags.trials })
    process.stderr.write(` done (${Math.round((performance.now() - started) / 1000)} s)\n`)
  }

  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: machine(),
    load: [loadBefore, loadavg()[0]],
    command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`,
    trials: flags.trials,
    concurrency: flags.concurrency,
    sizes,
    browser
  }
  const table = markdown(report)
  const failed = sizes.reduce((sum, size) => sum + size.netget.failures + size.hyperdht.failures + (size.multi?.failures ?? 0), 0) + (browser?.failures ?? 0)
  const text = [
    `netget vs hyperdht — ${report.date.slice(0, 10)}, ${report.machine}`,
    `${report.command}: ${report.trials} trials per figure, loopback; 1-min load average ${report.load.map(load => load.toFixed(1)).join(' → ')} on ${cpus().length} cores`,
    '',
    layout(report),
    '',
    table,
    '',
    ...notes(report),
    '',
    failed === 0 ? 'No trial failed.' : `FAILED: ${failed} trials or throughput calls (left out of the figures; exit code 1):`,
    ...failureLines(report)
  ].join('\n')
  const stamp = report.date.replaceAll(':', '-').replace(/\.\d+Z$/, 'Z')

  const json = JSON.stringify({ ...report, layout: layout(report), rows: jsonRows(report), failures: jsonFailures(report) }, null, 2) + '\n'

  console.log(text)
  await writeFile(join(RESULTS_DIR, `bench-${stamp}.json`), json)
  await writeFile(join(RESULTS_DIR, `bench-${stamp}.md`), text + '\n')
  await writeFile(join(RESULTS_DIR, 'latest.json'), json)
  await writeFile(join(RESULTS_DIR, 'latest.md'), text + '\n')

  return failed === 0 ? 0 : 1
}

/** Runs {@link main} on `argv` and exits with its code (1 on any error), even if a handle is left open. */
async function cli (argv: string[]): Promise<void> {
  try {
    process.exitCode = await main(argv)
  } catch (err) {
    process.stderr.write(`\nbench failed: ${describe(err)}\n`)
    process.exitCode = 1
  }

  setTimeout(() => { process.exit() }, EXIT_WATCHDOG_MS).unref()
}

await cli(process.argv.slice(2))

/**
 * The benchmark's report: one table of netget and hyperdht figures per
 * network size with the ratio netget/hyperdht and the failed trials of
 * each side, as console text and markdown, and the same rows and failures as
 * flat lists for `latest.json`.
 *
 * @packageDocumentation
 */

import type { BrowserBenchResult, BrowserFigure } from './browser.js'
import type { HyperdhtBenchResult, HyperdhtFigure } from './hyperdht.js'
import type { NetgetBenchResult, NetgetFigure } from './netget.js'
import type { Distribution } from './stats.js'
import type { TrialFailure } from './trials.js'

const BYTES_PER_MB = 1024 * 1024
const BYTES_PER_KB = 1024
const MS_PER_SECOND = 1000

/** Size at which the first milestone applies. */
const MILESTONE_NODES = 50

/** The browser rows' N: the registry, the echo service and the page. */
const BROWSER_NODES = 3

/** Targets of the browser figures, in ms. */
const BROWSER_TARGETS = { firstInstanceMs: 250, pingMs: 2 }

/** Failures printed per figure and side; the JSON keeps all of them. */
const PRINTED_FAILURES = 5

/** One network size's results. */
export interface SizeResult {
  nodes: number
  netget: NetgetBenchResult
  hyperdht: HyperdhtBenchResult
  /** The same size as a multi-registry network (`--registries`), when one ran. */
  multi?: NetgetBenchResult
}

/** Everything one run produced. */
export interface BenchReport {
  /** ISO date of the run. */
  date: string
  /** CPU model, cores, memory, OS and Node version. */
  machine: string
  /** 1-minute load average at the start and the end of the run (other work on the machine skews every figure). */
  load: [number, number]
  /** The command line. */
  command: string
  trials: number
  concurrency: number
  sizes: SizeResult[]
  /** The browser figures (a page in Chromium), when they ran. */
  browser?: BrowserBenchResult
}

/** One row of the table. */
export interface Row {
  nodes: number
  figure: string
  unit: string
  netget: [number, number?]
  hyperdht?: [number, number?]
  /** netget/hyperdht of the medians (or of the single figures). */
  ratio?: number
  /** The first milestone at N=50, like `≤ 5`, and whether it is met; or a browser figure's target. */
  milestone?: string
  /** False where hyperdht has nothing to compare with (a browser peer): its cells read `n/a`. */
  counterpart?: false
  /** Failed trials of the figure on each side; `hyperdht` absent where it has no counterpart. */
  failed: { netget: TrialFailure[], hyperdht?: TrialFailure[] }
}

/** One row of `latest.json`'s `rows`: the table's figure name, medians (or single figures) and ratio. */
export interface JsonRow {
  nodes: number
  figure: string
  unit: string
  netget: number | null
  hyperdht: number | null
  ratio: number | null
  /** Failed trials of the figure per side (`hyperdht` null where it has no counterpart). */
  failed: { netget: number, hyperdht: number | null }
}

/** One entry of `latest.json`'s `failures`. */
export interface JsonFailure {
  nodes: number
  /** The table's figure name. */
  figure: string
  /** Which system's trial failed. */
  side: 'netget' | 'hyperdht'
  trial: number
  /** `"Name: message"`. */
  error: string
}

/** The rows of every size (the single-registry network's, then the multi-registry network's where one ran), then the browser's. */
export function rows (report: BenchReport): Row[] {
  return [...sizeRows(report), ...(report.browser === undefined ? [] : browserRows(report.browser))]
}

/** The browser figures' rows: no hyperdht counterpart, each set against its target. */
function browserRows (result: BrowserBenchResult): Row[] {
  const row = (figure: string, key: BrowserFigure, target?: number): Row => {
    const values = result[key]
    return {
      nodes: BROWSER_NODES,
      figure,
      unit: 'ms',
      netget: [values.median, values.p95],
      counterpart: false,
      milestone: target === undefined ? undefined : `target ≤ ${target} ${values.median <= target ? 'met' : 'missed'}`,
      failed: { netget: result.failedTrials.filter(failure => failure.figure === key) }
    }
  }

  return [
    row('browser: page start → first instance (hyperdht: no browser peer, n/a)', 'firstInstanceMs', BROWSER_TARGETS.firstInstanceMs),
    row('browser: ping (established connection) (hyperdht: n/a)', 'pingMs', BROWSER_TARGETS.pingMs),
    row('browser: channel echo (open channel) (hyperdht: n/a)', 'echoMs')
  ]
}

function sizeRows (report: BenchReport): Row[] {
  return report.sizes.flatMap(({ nodes, netget, hyperdht, multi }) => {
    const goal = (text: string, met: boolean): string | undefined => nodes === MILESTONE_NODES ? `${text} ${met ? 'met' : 'missed'}` : undefined
    const failed = (result: NetgetBenchResult, ours: NetgetFigure, theirs?: HyperdhtFigure): Row['failed'] => ({
      netget: result.failedTrials.filter(failure => failure.figure === ours),
      hyperdht: theirs === undefined ? undefined : hyperdht.failedTrials.filter(failure => failure.figure === theirs)
    })
    const time = (result: NetgetBenchResult, figure: string, ours: NetgetFigure & keyof NetgetBenchResult, theirs: HyperdhtFigure & keyof HyperdhtBenchResult | undefined, target?: number): Row => {
      const a = result[ours] as Distribution
      const b = theirs === undefined ? undefined : hyperdht[theirs] as Distribution
      return {
        nodes,
        figure,
        unit: 'ms',
        netget: [a.median, a.p95],
        hyperdht: b === undefined ? undefined : [b.median, b.p95],
        ratio: b === undefined ? undefined : a.median / b.median,
        milestone: target === undefined || result !== netget ? undefined : goal(`≤ ${target}`, a.median <= target),
        failed: failed(result, ours, theirs)
      }
    }
    const single = (figure: string, unit: string, ours: number, theirs?: number): Row => ({
      nodes, figure, unit, netget: [ours], hyperdht: theirs === undefined ? undefined : [theirs], ratio: theirs === undefined ? undefined : ours / theirs, failed: { netget: [], hyperdht: theirs === undefined ? undefined : [] }
    })
    const discovery = (result: NetgetBenchResult, prefix: string): Row[] => [
      time(result, `${prefix}discovery, default (health included) (vs lookup complete)`, 'coldHealthCheckedMs', 'lookupCompleteMs', 25),
      time(result, `${prefix}registration → visible (vs announce)`, 'visibleMs', 'announceMs', 25),
      time(result, `${prefix}register → watcher notified (vs announce)`, 'watchNotifiedMs', 'announceMs'),
      time(result, `${prefix}register call (vs announce)`, 'registerMs', 'announceMs'),
      time(result, `${prefix}cold discovery without health check, first instance (vs lookup first)`, 'coldFirstMs', 'lookupFirstMs', 5),
      time(result, `${prefix}cold discovery without health check, complete (vs lookup complete)`, 'coldCompleteMs', 'lookupCompleteMs')
    ]

    return [
      ...discovery(netget, ''),
      time(netget, 'join → first discovery (vs bootstrap + lookup)', 'joinMs', 'joinMs', 100),
      time(netget, 'ping RTT', 'pingMs', 'pingMs'),
      {
        nodes,
        figure: `discoveries/s, one registry, ${report.concurrency} clients, pinned apart (vs lookups/s)`,
        unit: '/s',
        netget: [netget.discoveriesPerSecond],
        hyperdht: [hyperdht.lookupsPerSecond],
        ratio: netget.discoveriesPerSecond / hyperdht.lookupsPerSecond,
        milestone: goal('≥ 1000', netget.discoveriesPerSecond >= 1000),
        failed: failed(netget, 'discoveriesPerSecond', 'lookupsPerSecond')
      },
      single('registry idle CPU per 1,000 connected peers (vs testnet idle per 1,000 nodes)', '% core', netget.registryIdleCpuPercentPer1000, hyperdht.idleCpuPercentPer1000),
      single('registry RSS per connected peer (vs RSS per node)', 'KB', netget.registryRssBytesPerPeer / BYTES_PER_KB, hyperdht.rssBytesPerNode / BYTES_PER_KB),
      single('RSS per node', 'MB', netget.rssBytesPerNode / BYTES_PER_MB, hyperdht.rssBytesPerNode / BYTES_PER_MB),
      single('RSS per registry (vs per node)', 'MB', netget.rssBytesPerRegistry / BYTES_PER_MB, hyperdht.rssBytesPerNode / BYTES_PER_MB),
      { ...single('network start-up, every node connected (staged)', 's', netget.startupMs / MS_PER_SECOND), failed: failed(netget, 'startupMs') },
      ...(multi === undefined ? [] : discovery(multi, `${multi.registries} registries, 2 per node: `))
    ]
  })
}

function num (value: number | undefined): string {
  if (value === undefined) {
    return '—'
  }
  if (Number.isNaN(value)) {
    return 'n/a'
  }
  if (Math.abs(value) >= 100) {
    return Math.round(value).toLocaleString('en-US')
  }
  return value >= 10 ? value.toFixed(1) : value.toFixed(2)
}

function pair (values: [number, number?] | undefined): [string, string] {
  return [num(values?.[0]), values?.length === 2 ? num(values[1]) : '']
}

/** The table as markdown. */
export function markdown (report: BenchReport): string {
  const header = '| N | figure | unit | netget median | netget p95 | hyperdht median | hyperdht p95 | netget/hyperdht | failed trials netget | failed trials hyperdht | milestone (N=50) or target |'
  const lines = rows(report).map(row => {
    const [ngMedian, ngP95] = pair(row.netget)
    const [hdMedian, hdP95] = row.counterpart === false ? ['n/a', 'n/a'] : pair(row.hyperdht)
    const ratio = row.counterpart === false ? 'n/a' : row.ratio === undefined ? '—' : `${num(row.ratio)}×`
    const hdFailed = row.counterpart === false ? 'n/a' : row.failed.hyperdht?.length ?? '—'
    return `| ${row.nodes} | ${row.figure} | ${row.unit} | ${ngMedian} | ${ngP95} | ${hdMedian} | ${hdP95} | ${ratio} | ${row.failed.netget.length} | ${hdFailed} | ${row.milestone ?? ''} |`
  })
  return [header, '|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---|', ...lines].join('\n')
}

/**
 * The caption printed above the table: each side's process layout (alike:
 * the querying nodes never share a process with the nodes they query) and
 * how the throughput phase was pinned to cores.
 */
export function layout (report: BenchReport): string {
  if (report.sizes.length === 0) {
    return 'Layout: the browser figures only (see the note under the table).'
  }
  const netget = report.sizes.map(({ nodes, netget }) => `N=${nodes}: ${netget.processes} processes, clients in ${netget.clientProcesses}`).join('; ')
  const pinning = report.sizes.map(({ nodes, netget, hyperdht }) => `N=${nodes}: netget ${netget.throughputPinning}, hyperdht ${hyperdht.throughputPinning}`).join('; ')
  return 'Layout (alike on both sides: every discovery/lookup, watch, join and ping crosses a process boundary): ' +
    `netget — the registry alone in one process, service nodes and client (querying) nodes in separate worker processes (${netget}); ` +
    'hyperdht — the testnet\'s N−1 DHT server nodes (bootstrap and announcers) in one process, the querying node (ephemeral) in its own process (2 processes). ' +
    `Throughput: the same window for both, the server process (registry / testnet) and the client processes pinned to separate cores with taskset (${pinning}).`
}

/** Notes printed under the table: per size, trials counted and the registry process; then the browser's. */
export function notes (report: BenchReport): string[] {
  const browser = report.browser === undefined
    ? []
    : [`browser (N=${BROWSER_NODES}: a registry and an echo service with production defaults in the bench's process, the page in Chromium's): ` +
        `${report.browser.failures} failed trials; navigation start → first instance (bundle fetch and parse included) median/p95 ${num(report.browser.navigationToFirstMs.median)}/${num(report.browser.navigationToFirstMs.p95)} ms; ` +
        `of page start → first instance, start() (key, libp2p, registry connection) ${num(report.browser.startMs.median)}/${num(report.browser.startMs.p95)} ms, the discovery the rest; ` +
        'each trial a new page (fresh identity, no connection); ping and echo: the median of 10 per trial after a first one']
  return [...sizeNotes(report), ...browser]
}

function sizeNotes (report: BenchReport): string[] {
  return report.sizes.map(({ nodes, netget, hyperdht, multi }) =>
    `N=${nodes}: ${netget.failures} netget${multi === undefined ? '' : ` (+${multi.failures} with ${multi.registries} registries)`} and ${hyperdht.failures} hyperdht failed trials or throughput calls (left out of every figure); ` +
    `${netget.registryConnections} connections on the registry when idle; start-up ${num(netget.startupMs / MS_PER_SECOND)} s ` +
    `(per node, median/p95 ms: start() ${num(netget.startup.startMs.median)}/${num(netget.startup.startMs.p95)}, registry connection ${num(netget.startup.connectMs.median)}/${num(netget.startup.connectMs.p95)}, registration ${num(netget.startup.registerMs.median)}/${num(netget.startup.registerMs.p95)})` +
    `${multi === undefined ? '' : ` (${num(multi.startupMs / MS_PER_SECOND)} s with ${multi.registries} registries)`}; ` +
    `registry process RSS ${num(netget.registryProcessRssBytes / BYTES_PER_MB)} MB total; ` +
    `hyperdht lookup first result found in ${hyperdht.lookupFirstMs.samples}/${report.trials} trials; ` +
    'hyperdht has no health check nor watch: the default discovery and the watcher are set against its plain lookup and announce')
}

/** Every failure as printed lines: side, size, figure, trial and error; at most a few per figure and side. */
export function failureLines (report: BenchReport): string[] {
  const lines: string[] = []

  for (const row of rows(report)) {
    for (const side of ['netget', 'hyperdht'] as const) {
      const failures = row.failed[side] ?? []
      failures.slice(0, PRINTED_FAILURES).forEach(failure => {
        lines.push(`FAILED ${side} N=${row.nodes} "${row.figure}" trial ${failure.trial}: ${failure.error}`)
      })
      if (failures.length > PRINTED_FAILURES) {
        lines.push(`FAILED ${side} N=${row.nodes} "${row.figure}": … and ${failures.length - PRINTED_FAILURES} more (see latest.json)`)
      }
    }
  }

  return lines
}

/** The table's rows as `latest.json`'s flat `rows`. */
export function jsonRows (report: BenchReport): JsonRow[] {
  const finite = (value: number | undefined): number | null => value === undefined || !Number.isFinite(value) ? null : value
  return rows(report).map(row => ({
    nodes: row.nodes,
    figure: row.figure,
    unit: row.unit,
    netget: finite(row.netget[0]),
    hyperdht: finite(row.hyperdht?.[0]),
    ratio: finite(row.ratio),
    failed: { netget: row.failed.netget.length, hyperdht: row.failed.hyperdht?.length ?? null }
  }))
}

/** Every failure under the table's figure names, as `latest.json`'s flat `failures`. */
export function jsonFailures (report: BenchReport): JsonFailure[] {
  return rows(report).flatMap(row => (['netget', 'hyperdht'] as const).flatMap(side =>
    (row.failed[side] ?? []).map(failure => ({ nodes: row.nodes, figure: row.figure, side, trial: failure.trial, error: failure.error }))))
}

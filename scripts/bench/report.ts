/**
 * The benchmark's report: one table of netget and hyperdht figures per
 * network size with the ratio netget/hyperdht, as console text, markdown and
 * JSON.
 *
 * @packageDocumentation
 */

import type { HyperdhtBenchResult } from './hyperdht.js'
import type { NetgetBenchResult } from './netget.js'
import type { Distribution } from './stats.js'

const BYTES_PER_MB = 1024 * 1024

/** Size at which the first milestone applies. */
const MILESTONE_NODES = 50

/** One network size's results. */
export interface SizeResult {
  nodes: number
  netget: NetgetBenchResult
  hyperdht: HyperdhtBenchResult
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
  /** The first milestone at N=50, like `≤ 5`, and whether it is met. */
  milestone?: string
}

/** The rows of every size. */
export function rows (report: BenchReport): Row[] {
  return report.sizes.flatMap(({ nodes, netget, hyperdht }) => {
    const goal = (text: string, met: boolean): string | undefined => nodes === MILESTONE_NODES ? `${text} ${met ? 'met' : 'missed'}` : undefined
    const time = (figure: string, ours: Distribution, theirs: Distribution | undefined, target?: number): Row => ({
      nodes,
      figure,
      unit: 'ms',
      netget: [ours.median, ours.p95],
      hyperdht: theirs === undefined ? undefined : [theirs.median, theirs.p95],
      ratio: theirs === undefined ? undefined : ours.median / theirs.median,
      milestone: target === undefined ? undefined : goal(`≤ ${target}`, ours.median <= target)
    })
    const mb = (figure: string, ours: number, theirs: number): Row => ({
      nodes, figure, unit: 'MB', netget: [ours / BYTES_PER_MB], hyperdht: [theirs / BYTES_PER_MB], ratio: ours / theirs
    })

    return [
      time('registration → visible (vs announce)', netget.visibleMs, hyperdht.announceMs, 25),
      time('register call (vs announce)', netget.registerMs, hyperdht.announceMs),
      time('cold discovery, first instance (vs lookup first)', netget.coldFirstMs, hyperdht.lookupFirstMs, 5),
      time('cold discovery, complete (vs lookup complete)', netget.coldCompleteMs, hyperdht.lookupCompleteMs, 25),
      time('cold discovery, complete + health check', netget.coldHealthCheckedMs, undefined),
      time('join → first discovery (vs bootstrap + lookup)', netget.joinMs, hyperdht.joinMs, 100),
      time('ping RTT', netget.pingMs, hyperdht.pingMs),
      {
        nodes,
        figure: `discoveries/s, one registry, ${report.concurrency} clients (vs lookups/s)`,
        unit: '/s',
        netget: [netget.discoveriesPerSecond],
        hyperdht: [hyperdht.lookupsPerSecond],
        ratio: netget.discoveriesPerSecond / hyperdht.lookupsPerSecond,
        milestone: goal('≥ 1000', netget.discoveriesPerSecond >= 1000)
      },
      mb('RSS per node', netget.rssBytesPerNode, hyperdht.rssBytesPerNode),
      mb('RSS per registry (vs per node)', netget.rssBytesPerRegistry, hyperdht.rssBytesPerNode)
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
  const header = '| N | figure | unit | netget median | netget p95 | hyperdht median | hyperdht p95 | netget/hyperdht | milestone (N=50) |'
  const lines = rows(report).map(row => {
    const [ngMedian, ngP95] = pair(row.netget)
    const [hdMedian, hdP95] = pair(row.hyperdht)
    return `| ${row.nodes} | ${row.figure} | ${row.unit} | ${ngMedian} | ${ngP95} | ${hdMedian} | ${hdP95} | ${row.ratio === undefined ? '—' : `${num(row.ratio)}×`} | ${row.milestone ?? ''} |`
  })
  return [header, '|---:|---|---|---:|---:|---:|---:|---:|---|', ...lines].join('\n')
}

/** Notes printed under the table: failures and process layout. */
export function notes (report: BenchReport): string[] {
  return report.sizes.map(({ nodes, netget, hyperdht }) =>
    `N=${nodes}: netget in ${netget.processes} processes (registry alone), ${netget.failures} failed or incomplete discoveries; ` +
    `registry process RSS ${num(netget.registryProcessRssBytes / BYTES_PER_MB)} MB total; ` +
    `hyperdht in 1 process, lookup first result found in ${hyperdht.lookupFirstMs.samples}/${report.trials} trials`)
}

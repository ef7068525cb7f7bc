/**
 * A node's Prometheus metrics: the libp2p stack's, through
 * `@libp2p/prometheus-metrics`, and netget's own, in a prom-client registry
 * of the node's own (never prom-client's global one, which every node of a
 * process would share) or in the one the application gives.
 *
 * prom-client and @libp2p/prometheus-metrics are loaded only when a node
 * turns metrics on, so nodes without metrics (and the browser build) never
 * load them.
 */
import { InvalidOptionsError } from '../errors.js'
import { NO_METRICS, REFUSAL_REASONS } from './hooks.js'
import type { NetgetMetrics } from './hooks.js'
import type { ComponentLogger, Metrics } from '@libp2p/interface'

/** The part of a prom-client `Registry` netget uses. */
export interface PromRegistry {
  metrics(): Promise<string>
  readonly contentType: string
  getSingleMetric(name: string): unknown
}

/** What {@link createPrometheusMetrics} needs. */
export interface PrometheusMetricsInit {
  /** The application's prom-client Registry; netget's and libp2p's metrics are added to it. @default a registry of the node's own */
  registry?: PromRegistry
  /** Records the registry stores, per network, read at each scrape. */
  records(): Record<string, number>
  /** Peers connected now, read at each scrape. */
  peers(): number
}

/** A node's metrics once on. */
export interface PrometheusMetrics {
  /** The prom-client registry holding every metric of the node. */
  registry: PromRegistry
  /** The hooks features call. */
  hooks: NetgetMetrics
  /** The `metrics` option of `createLibp2p()`. */
  libp2p(components: { logger: ComponentLogger }): Metrics
  /** The Prometheus text of every metric. */
  text(): Promise<string>
  /** The `Content-Type` of {@link text}. */
  contentType: string
}

/** Upper bounds of the lookup latency histogram, in seconds. */
export const LOOKUP_LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

/* the module names as values, so neither tsc nor esbuild resolves them at build time */
const PROM_CLIENT = 'prom-client'
const LIBP2P_PROMETHEUS = '@libp2p/prometheus-metrics'

/**
 * Loads prom-client and @libp2p/prometheus-metrics and registers netget's
 * metrics. Throws InvalidOptionsError (option `metrics`) when the packages
 * are missing or `registry` already holds netget's metrics (one node per
 * registry).
 */
export async function createPrometheusMetrics (init: PrometheusMetricsInit): Promise<PrometheusMetrics> {
  let prom: any
  let libp2pPrometheus: any

  try {
    prom = await import(PROM_CLIENT)
    libp2pPrometheus = await import(LIBP2P_PROMETHEUS)
  } catch (err) {
    throw new InvalidOptionsError(`Option "metrics" needs the packages prom-client and @libp2p/prometheus-metrics: npm install prom-client @libp2p/prometheus-metrics (${(err as Error).message})`, { option: 'metrics', cause: err })
  }

  const own = init.registry === undefined
  const registry: PromRegistry = init.registry ?? new (prom.Registry ?? prom.default.Registry)()
  const client = prom.Counter === undefined ? prom.default : prom

  if (registry.getSingleMetric('netget_lookups_total') !== undefined) {
    throw new InvalidOptionsError('Option "metrics": this prom-client Registry already holds a netget node\'s metrics; give each node its own registry', { option: 'metrics' })
  }

  const metrics = (): NetgetMetrics => {
    const registers = [registry]
    const lookups = new client.Counter({ name: 'netget_lookups_total', help: 'Lookups this registry answered, by result (found, empty, refused, error)', labelNames: ['result'], registers })
    const latency = new client.Histogram({ name: 'netget_lookup_duration_seconds', help: 'Time from a lookup request read to its answer written, in seconds', buckets: LOOKUP_LATENCY_BUCKETS, registers })
    const puts = new client.Counter({ name: 'netget_puts_total', help: 'Records peers put to this registry, by result (stored, refused)', labelNames: ['result'], registers })
    const refusals = new client.Counter({ name: 'netget_refusals_total', help: 'Puts and requests this registry refused, by reason (a quota name, stale-seq, expired, invalid, read-restricted, other)', labelNames: ['reason'], registers })
    const attestations = new client.Counter({ name: 'netget_attestations_total', help: 'Liveness attestations made', registers })
    const watchers = new client.Gauge({ name: 'netget_watch_subscribers', help: 'Watch subscribers now', registers })
    const records = init.records
    const peers = init.peers
    // eslint-disable-next-line no-new
    new client.Gauge({
      name: 'netget_records',
      help: 'Service records this registry stores, per network',
      labelNames: ['network'],
      registers,
      collect (this: { set(labels: Record<string, string>, value: number): void }) {
        for (const [network, count] of Object.entries(records())) {
          this.set({ network }, count)
        }
      }
    })
    // eslint-disable-next-line no-new
    new client.Gauge({
      name: 'netget_connected_peers',
      help: 'Peers connected now',
      registers,
      collect (this: { set(value: number): void }) { this.set(peers()) }
    })

    for (const result of ['found', 'empty', 'refused', 'error']) {
      lookups.inc({ result }, 0)
    }

    for (const result of ['stored', 'refused']) {
      puts.inc({ result }, 0)
    }

    const hooks: NetgetMetrics = {
      lookup (result, seconds) {
        lookups.inc({ result })
        latency.observe(seconds)
      },
      put (result, reason) {
        puts.inc({ result })

        if (reason !== undefined) {
          hooks.refusal(reason)
        }
      },
      refusal (reason) { refusals.inc({ reason: REFUSAL_REASONS.has(reason) ? reason : 'other' }) },
      attestation () { attestations.inc() },
      watchSubscribers (delta) { watchers.inc(delta) }
    }
    return hooks
  }
  let registered: NetgetMetrics = NO_METRICS
  const libp2pMetrics = libp2pPrometheus.prometheusMetrics({ registry, preserveExistingMetrics: !own, collectDefaultMetrics: own })

  return {
    registry,
    hooks: {
      lookup (result, seconds) { registered.lookup(result, seconds) },
      put (result, reason) { registered.put(result, reason) },
      refusal (reason) { registered.refusal(reason) },
      attestation () { registered.attestation() },
      watchSubscribers (delta) { registered.watchSubscribers(delta) }
    },
    // libp2p's metrics clear the registry they are given (unless told to preserve it: the application's keeps its
    // metrics, and collects the process's default metrics itself), so netget's are registered right after
    libp2p: components => {
      const stack = libp2pMetrics(components)
      registered = metrics()
      return stack
    },
    text: async () => registry.metrics(),
    contentType: registry.contentType
  }
}

/** A node's metrics: the hooks features call (`hooks.ts`) and the Prometheus registry behind them (`prometheus.ts`). */
export { NO_METRICS, REFUSAL_REASONS } from './hooks.js'
export type { LookupResult, NetgetMetrics, PutResult, RefusalReason } from './hooks.js'
export { createPrometheusMetrics, LOOKUP_LATENCY_BUCKETS } from './prometheus.js'
export type { PrometheusMetrics, PrometheusMetricsInit, PromRegistry } from './prometheus.js'

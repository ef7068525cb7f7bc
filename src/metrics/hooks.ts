/**
 * What a node's features report for its metrics. Features call these hooks
 * whether or not metrics are on: with metrics off they are
 * {@link NO_METRICS}, which does nothing; with `metrics` on they feed the
 * node's Prometheus registry (`prometheus.ts`). Label values are a fixed
 * set, so a peer cannot grow the number of series.
 */

/** How a registry answered one lookup. */
export type LookupResult = 'found' | 'empty' | 'refused' | 'error'

/** What became of one record a peer put. */
export type PutResult = 'stored' | 'refused'

/**
 * Why a registry refused something: a storage quota's name
 * (`maxRecordsPerName`, `putsPerSecond`, ...), `stale-seq`, `expired`,
 * `invalid`, or `read-restricted`. Others count as `other`.
 */
export type RefusalReason = string

/** The hooks runtime features call. Every method is cheap and never throws. */
export interface NetgetMetrics {
  /** A lookup was answered (registries), after `seconds`. */
  lookup(result: LookupResult, seconds: number): void
  /** A record put reached the registry's store; `reason` when it was refused. */
  put(result: PutResult, reason?: RefusalReason): void
  /** Something other than a put was refused (a lookup of a read-restricted network, say). */
  refusal(reason: RefusalReason): void
  /** One liveness attestation was made (placeholder for the attestation feature). */
  attestation(): void
  /** Watch subscribers came (`delta` > 0) or went (`delta` < 0). */
  watchSubscribers(delta: number): void
}

/** The hooks of a node without metrics: they do nothing. */
export const NO_METRICS: NetgetMetrics = {
  lookup () {},
  put () {},
  refusal () {},
  attestation () {},
  watchSubscribers () {}
}

/** The refusal reasons counted under their own name; any other counts as `other`. */
export const REFUSAL_REASONS: ReadonlySet<string> = new Set([
  'maxRecords', 'maxBytes', 'maxRecordsPerName', 'maxRecordsPerSigner', 'maxRecordsPerAddress', 'maxRecordsPerConnection',
  'maxRecordsPerRemoteAddress', 'maxRelayedRecords', 'maxRelayedRecordsPerName', 'putsPerSecond',
  'stale-seq', 'expired', 'invalid', 'read-restricted'
])

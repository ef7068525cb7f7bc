/**
 * Summary statistics shared by the benchmark modules.
 *
 * @packageDocumentation
 */

/** Percentile used for the median, in percent. */
const MEDIAN_PERCENTILE = 50

/** Percentile used for the tail figure, in percent. */
const TAIL_PERCENTILE = 95

/**
 * A summary of a set of measurements, all in the unit of the samples.
 */
export interface Distribution {
  /** 50th percentile by nearest rank; `NaN` when there are no samples. */
  median: number
  /** 95th percentile by nearest rank; `NaN` when there are no samples. */
  p95: number
  /** How many samples were summarised. */
  samples: number
}

/**
 * The `p`th percentile of ascending `sorted` by the nearest-rank method:
 * the smallest sample with at least `p`% of the samples at or below it.
 */
function nearestRank (sorted: readonly number[], p: number): number {
  if (sorted.length === 0) {
    return Number.NaN
  }

  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length))
  return sorted[rank - 1]
}

/**
 * Summarise `samples` as median and p95 (nearest rank). The input is not
 * modified.
 *
 * @example
 * ```ts
 * distribution([3, 1, 2]) // { median: 2, p95: 3, samples: 3 }
 * ```
 */
export function distribution (samples: readonly number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b)

  return {
    median: nearestRank(sorted, MEDIAN_PERCENTILE),
    p95: nearestRank(sorted, TAIL_PERCENTILE),
    samples: sorted.length
  }
}

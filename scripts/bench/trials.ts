/**
 * Samples and failures of a benchmark's figures. A trial either yields a
 * sample of a figure or a failure of it, never both: a failed or incomplete
 * trial is not a latency sample. For every latency figure, samples plus
 * failures equal the trials run.
 *
 * @example
 * ```ts
 * const log = new TrialLog(['pingMs'] as const)
 * for (let trial = 0; trial < 10; trial++) {
 *   await log.attempt(trial, ['pingMs'], async () => { log.sample('pingMs', trial, await ping()) })
 * }
 * log.distribution('pingMs') // the successful trials only
 * log.failures // [{ figure: 'pingMs', trial: 3, error: 'TimeoutError: ...' }]
 * ```
 *
 * @packageDocumentation
 */

import { describe, IncompleteTrialError, isFatal } from './errors.js'
import { distribution } from './stats.js'
import type { Distribution } from './stats.js'

/** One failed or incomplete trial of one figure of one system. */
export interface TrialFailure<K extends string = string> {
  /** The figure, named by its key in the system's result (e.g. `coldCompleteMs`). */
  figure: K
  /**
   * The trial, from 0. For a throughput figure, the failed call's number
   * within the throughput phase.
   */
  trial: number
  /** `"Name: message"` of the error, e.g. `"TimeoutError: The operation was aborted due to timeout"`. */
  error: string
}

/** Samples and failures of the figures `K`, filled trial by trial. */
export class TrialLog<K extends string> {
  /** Every failure so far, in the order they happened. */
  readonly failures: Array<TrialFailure<K>> = []
  private readonly samples = new Map<K, number[]>()
  private readonly recorded = new Set<string>()

  constructor (figures: readonly K[]) {
    figures.forEach(figure => { this.samples.set(figure, []) })
  }

  /** Records `value` as trial `trial`'s sample of `figure`. */
  sample (figure: K, trial: number, value: number): void {
    this.mark(figure, trial)
    this.samples.get(figure)?.push(value)
  }

  /** Records that trial `trial` of `figure` failed with `err`. */
  fail (figure: K, trial: number, err: unknown): void {
    this.mark(figure, trial)
    this.failures.push({ figure, trial, error: describe(err) })
  }

  /**
   * Runs trial `trial`'s steps; if they throw, each of `figures` not yet
   * recorded for this trial fails with that error. A fatal error (a child
   * died or hangs) is rethrown: the run cannot go on.
   */
  async attempt (trial: number, figures: readonly K[], steps: () => Promise<void>): Promise<void> {
    try {
      await steps()
    } catch (err) {
      if (isFatal(err)) {
        throw err
      }
      figures.filter(figure => !this.recorded.has(key(figure, trial))).forEach(figure => { this.fail(figure, trial, err) })
    }
  }

  /** The summary of `figure`'s successful trials. */
  distribution (figure: K): Distribution {
    return distribution(this.samples.get(figure) ?? [])
  }

  private mark (figure: K, trial: number): void {
    if (this.recorded.has(key(figure, trial))) {
      throw new Error(`trial ${trial} of ${figure} recorded twice`)
    }
    this.recorded.add(key(figure, trial))
  }
}

function key (figure: string, trial: number): string {
  return `${figure}#${trial}`
}

/**
 * Throws an `IncompleteTrialError` unless `count` is at least `expected`.
 *
 * @param what - what was counted, e.g. `"instances"`
 */
export function expectAtLeast (count: number, expected: number, what: string): void {
  if (count < expected) {
    throw new IncompleteTrialError(`${count} of ${expected} ${what}`)
  }
}

import { anySignal } from 'any-signal'
import { raceSignal } from 'race-signal'
import { errorOutput } from './outcome.js'
import { probeHttp, probeTcp } from './probes.js'
import type { CheckResult, ResolvedCheck } from './types.js'
import type { Outcome } from './outcome.js'
import type { Logger } from '@libp2p/interface'

/** What a {@link CheckRunner} needs. */
export interface CheckRunnerInit {
  check: ResolvedCheck
  log: Logger
  /** Called with the result of every run that ended before stop(). */
  onResult(result: CheckResult): void
}

/**
 * Runs one check: now, then `interval` ms after each run ends, so two runs
 * of the same check never overlap. Each run has its own signal, aborted at
 * `timeout` (a timed-out run is `critical`) or by stop(); a run stop()
 * interrupted reports nothing. A `run` function that ignored its signal
 * is not called again until its last call settles (the check stays
 * `critical`, timed out). stop() clears the timer.
 */
export class CheckRunner {
  private readonly init: CheckRunnerInit
  private readonly controller = new AbortController()
  private timer?: ReturnType<typeof setTimeout>
  private running?: Promise<void>
  /** A `run` function called before is still pending (it ignored its timed-out signal). */
  private pending = false

  constructor (init: CheckRunnerInit) {
    this.init = init
  }

  /** Runs the check now (or joins the run under way) and keeps running it; resolves when this run has reported. */
  async start (): Promise<void> {
    if (this.controller.signal.aborted) {
      return
    }

    clearTimeout(this.timer)
    this.timer = undefined
    this.running ??= this.runOnce().finally(() => {
      this.running = undefined
      this.schedule()
    })
    await this.running
  }

  /** Aborts a run under way and clears the timer; for good. */
  stop (): void {
    this.controller.abort()
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private schedule (): void {
    if (this.controller.signal.aborted) {
      return
    }

    this.timer = setTimeout(() => {
      this.timer = undefined
      void this.start()
    }, this.init.check.interval)
  }

  private async runOnce (): Promise<void> {
    const { check, log } = this.init
    const timeout = AbortSignal.timeout(check.timeout)
    const signal = anySignal([this.controller.signal, timeout])
    let outcome: Outcome

    if (this.pending) {
      // never two calls of one function at once: the check stays critical (timed out) until it settles
      log('check %s: its previous run has not settled yet; not run again', check.name)
      signal.clear()
      return
    }

    try {
      outcome = await this.probe(signal)
    } catch (err) {
      if (this.controller.signal.aborted) {
        return
      }

      outcome = { status: 'critical', output: timeout.aborted ? `timed out after ${check.timeout} ms` : errorOutput(err) }
    } finally {
      signal.clear()
    }

    if (this.controller.signal.aborted) {
      return
    }

    log.trace('check %s: %s %s', check.name, outcome.status, outcome.output)
    this.init.onResult({ name: check.name, ...outcome, at: Date.now() })
  }

  /** Runs the check once; throws only when `signal` aborted (or a `run` function threw). */
  private async probe (signal: AbortSignal): Promise<Outcome> {
    const { check } = this.init

    if ('http' in check) {
      return probeHttp(check.http, check.expect, signal)
    }

    if ('tcp' in check) {
      return probeTcp(check.tcp, signal)
    }

    this.pending = true
    const call = Promise.resolve().then(async () => check.run(signal)).finally(() => { this.pending = false })
    // a function that ignores its signal still times out
    const value: unknown = await raceSignal(call, signal)
    return value === true
      ? { status: 'passing', output: '' }
      : { status: 'critical', output: value === false ? 'returned false' : `returned ${typeof value}, not true` }
  }
}

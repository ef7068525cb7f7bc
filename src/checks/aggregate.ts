import type { CheckResult, CheckStatus, ServiceStatusDetail } from './types.js'

/** What an {@link AggregateStatus} needs. */
export interface AggregateStatusInit {
  /** The checks' names, in `checks` order (the order outputs are picked in). */
  names: string[]
  /** How long the status may stay `critical` before {@link AggregateStatusInit.onCriticalTooLong}, in ms; 0: never. */
  deregisterCriticalAfter: number
  /** The aggregate status changed. */
  onChange(detail: ServiceStatusDetail): void
  /** The status has been `critical` for `deregisterCriticalAfter` ms without a break (once per critical spell). */
  onCriticalTooLong(): void
}

const RANK: Record<CheckStatus, number> = { passing: 0, warning: 1, critical: 2 }

/**
 * The status machine of a service's checks. It holds the latest result of
 * each check; the aggregate is the worst of them (Consul's rule: any
 * `critical` → `critical`, else any `warning` → `warning`, else `passing`),
 * `passing` before any result. It reports every change, and times each
 * critical spell: `deregisterCriticalAfter` ms after the result that made
 * the aggregate critical, unless a result ended the spell first, the spell
 * is overdue ({@link criticalTooLong}). stop() clears that timer.
 */
export class AggregateStatus {
  private readonly init: AggregateStatusInit
  private readonly results = new Map<string, CheckResult>()
  private current: CheckStatus = 'passing'
  private criticalSince?: number
  private timer?: ReturnType<typeof setTimeout>
  private overdue = false

  constructor (init: AggregateStatusInit) {
    this.init = init
  }

  /** The aggregate status now. */
  get status (): CheckStatus {
    return this.current
  }

  /** true once the current critical spell lasted `deregisterCriticalAfter` ms. */
  get criticalTooLong (): boolean {
    return this.overdue
  }

  /**
   * How long the current critical spell has lasted, in ms (0 when not
   * critical). Once overdue, at least `deregisterCriticalAfter`: Node's timers
   * run on a monotonic clock and can fire a millisecond before `Date.now()`
   * says the time is up.
   */
  get criticalFor (): number {
    if (this.criticalSince === undefined) {
      return 0
    }

    const elapsed = Date.now() - this.criticalSince
    return this.overdue ? Math.max(elapsed, this.init.deregisterCriticalAfter) : elapsed
  }

  /** The output of the first check (in `names` order) whose status is the aggregate's; `''` when passing. */
  get output (): string {
    return this.current === 'passing' ? '' : this.report().find(result => result.status === this.current)?.output ?? ''
  }

  /** The latest result of each check that ran, in `names` order. */
  report (): CheckResult[] {
    return this.init.names.flatMap(name => this.results.get(name) ?? [])
  }

  /** Takes a check's result; reports a change of the aggregate. */
  update (result: CheckResult): void {
    this.results.set(result.name, result)
    const next = this.report().reduce<CheckStatus>((worst, { status }) => RANK[status] > RANK[worst] ? status : worst, 'passing')

    if (next === this.current) {
      return
    }

    const previous = this.current
    this.current = next

    if (next === 'critical') {
      this.restartCriticalClock()
    } else {
      this.clearCriticalClock()
    }

    this.init.onChange({ status: next, previous, output: this.output, checks: this.report() })
  }

  /** Starts timing the critical spell afresh from now (if critical): after a new registration, say. */
  restartCriticalClock (): void {
    this.clearCriticalClock()

    if (this.current !== 'critical') {
      return
    }

    this.criticalSince = Date.now()
    const { deregisterCriticalAfter } = this.init

    if (deregisterCriticalAfter > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined
        this.overdue = true
        this.init.onCriticalTooLong()
      }, deregisterCriticalAfter)
    }
  }

  /** Clears the timer. */
  stop (): void {
    clearTimeout(this.timer)
    this.timer = undefined
  }

  private clearCriticalClock (): void {
    this.stop()
    this.criticalSince = undefined
    this.overdue = false
  }
}

import { anySignal } from 'any-signal'
import { raceSignal } from 'race-signal'
import { AggregateStatus } from './aggregate.js'
import { CheckRunner } from './check-runner.js'
import type { CheckResult, CheckStatus, ResolvedCheck, ServiceDeregisteredDetail, ServiceStatusDetail } from './types.js'
import type { Logger } from '@libp2p/interface'

/** What a {@link ServiceChecks} needs: the checks, and the hooks into the node's announcer. */
export interface ServiceChecksInit {
  checks: ResolvedCheck[]
  /** See option `deregisterCriticalAfter`; 0: never withdraw. */
  deregisterCriticalAfter: number
  /** Bounds each withdrawal and re-announcement, in ms. */
  publishTimeout: number
  log: Logger
  /** The aggregate status changed: re-publish the record now (if it is announced), with the new status. */
  republish(): void
  /** Withdraw the record (the node's withdrawal path), because the checks stayed critical. */
  withdraw(signal: AbortSignal): Promise<void>
  /** Announce the record again, because the checks passed after a withdrawal. */
  announce(signal: AbortSignal): Promise<void>
  onStatus(detail: ServiceStatusDetail): void
  onDeregistered(detail: ServiceDeregisteredDetail): void
  /** A withdrawal or re-announcement failed; the re-announcement is retried after the next check result. */
  onError(err: Error): void
}

/**
 * A service node's checks, from registration to unregistration: runs each
 * one (a {@link CheckRunner}), keeps their aggregate ({@link AggregateStatus}),
 * and keeps the published record in step with it. A status change
 * re-publishes the record at once; a critical spell that lasts
 * `deregisterCriticalAfter` withdraws it; the first non-critical result
 * after that announces it again (retried at every result until it works).
 * One withdrawal or announcement at a time; stop() ends everything.
 */
export class ServiceChecks {
  private readonly init: ServiceChecksInit
  private readonly aggregate: AggregateStatus
  private runners: CheckRunner[] = []
  private controller?: AbortController
  /** Whether the record is out: not yet (before the first registration), published, or withdrawn because of a critical spell. */
  private state: 'unannounced' | 'published' | 'withdrawn' = 'unannounced'
  private busy?: Promise<void>

  constructor (init: ServiceChecksInit) {
    this.init = init
    this.aggregate = new AggregateStatus({
      names: init.checks.map(check => check.name),
      deregisterCriticalAfter: init.deregisterCriticalAfter,
      onChange: detail => {
        init.log('checks %s (was %s) %s', detail.status, detail.previous, detail.output)
        init.onStatus(detail)
        // the announcer ignores this while the record is withdrawn, and
        // publishes again after a publication under way
        init.republish()
      },
      onCriticalTooLong: () => { this.settle() }
    })
  }

  /** The aggregate status, as the next record publishes it. */
  get status (): CheckStatus {
    return this.aggregate.status
  }

  /**
   * Starts the checks and resolves when each has run once (or `signal`
   * aborts), so that the first record carries a measured status. Does
   * nothing while they run.
   */
  async start (signal: AbortSignal): Promise<void> {
    if (this.controller !== undefined) {
      return
    }

    this.controller = new AbortController()
    this.state = 'unannounced'
    this.runners = this.init.checks.map(check => new CheckRunner({ check, log: this.init.log, onResult: result => { this.onResult(result) } }))
    await raceSignal(Promise.all(this.runners.map(async runner => runner.start())), signal)
  }

  /**
   * The node announced its record (a registration): from now on a critical
   * spell is timed, afresh, and may withdraw it.
   */
  announced (): void {
    this.state = 'published'
    this.aggregate.restartCriticalClock()
  }

  /** Stops every check and timer, and waits for a withdrawal or announcement under way (aborted). Safe twice. */
  async stop (): Promise<void> {
    this.controller?.abort()
    this.controller = undefined
    this.runners.forEach(runner => { runner.stop() })
    this.runners = []
    this.aggregate.stop()
    await this.busy
  }

  private onResult (result: CheckResult): void {
    this.aggregate.update(result)
    this.settle()
  }

  /** Withdraws or re-announces when the status calls for it and nothing is under way. */
  private settle (): void {
    const controller = this.controller

    if (this.busy !== undefined || controller === undefined) {
      return
    }

    const status = this.aggregate.status
    const withdraw = this.state === 'published' && status === 'critical' && this.aggregate.criticalTooLong
    const announce = this.state === 'withdrawn' && status !== 'critical'

    if (!withdraw && !announce) {
      return
    }

    const { init } = this
    const signal = anySignal([controller.signal, AbortSignal.timeout(init.publishTimeout)])
    const criticalFor = this.aggregate.criticalFor
    const output = this.aggregate.output
    const step = withdraw
      ? init.withdraw(signal).finally(() => {
        // the announcer stopped re-announcing even if no registry took the withdrawal
        this.state = 'withdrawn'
        init.log('withdrew the record after %d ms critical', criticalFor)
        init.onDeregistered({ criticalFor, output })
      })
      : init.announce(signal).then(() => {
        this.state = 'published'
        init.log('announced again: checks %s', status)
      })

    this.busy = step
      .catch(err => {
        if (!controller.signal.aborted) {
          init.onError(err)
        }
      })
      .finally(() => {
        signal.clear()
        this.busy = undefined

        if (this.controller === controller) {
          this.settle()
        }
      })
  }
}

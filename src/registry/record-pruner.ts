import type { RecordIndex } from './record-index.js'
import type { Logger, Startable } from '@libp2p/interface'

/** What a {@link RecordPruner} needs. */
export interface RecordPrunerInit {
  index: Pick<RecordIndex, 'prune'>
  /** How often expired records are deleted, in ms. */
  interval: number
  log: Logger
}

/** Deletes a registry's expired records on an interval, one sweep at a time. */
export class RecordPruner implements Startable {
  private readonly init: RecordPrunerInit
  private timer?: ReturnType<typeof setInterval>
  private sweeping = false

  constructor (init: RecordPrunerInit) {
    this.init = init
  }

  start (): void {
    if (this.timer !== undefined) {
      return
    }

    this.timer = setInterval(() => { void this.sweep() }, this.init.interval)
  }

  stop (): void {
    clearInterval(this.timer)
    this.timer = undefined
  }

  /** Deletes every expired record now (skipped while a sweep runs); returns how many went. */
  async sweep (): Promise<number> {
    if (this.sweeping) {
      return 0
    }

    this.sweeping = true

    try {
      return await this.init.index.prune()
    } catch (err) {
      this.init.log('pruning expired records failed - %e', err)
      return 0
    } finally {
      this.sweeping = false
    }
  }
}

import { MAX_CACHED_ANSWERS } from '../constants.js'
import type { ServiceInstance } from '../types.js'

/**
 * The last verified answer per service name, every live instance with the
 * health it had, kept until its records expire, for discoveries with
 * `allowStale` when no registry can be reached. At most `maxNames` names
 * (the least recently answered go first).
 */
export class AnswerCache {
  private readonly answers = new Map<string, ServiceInstance[]>()
  private readonly maxNames: number

  constructor (maxNames = MAX_CACHED_ANSWERS) {
    this.maxNames = maxNames
  }

  /** Keeps `instances` (withdrawn and expired ones already left out) as the answer for `name`. */
  set (name: string, instances: ServiceInstance[]): void {
    this.answers.delete(name)

    if (instances.length === 0) {
      return
    }

    this.answers.set(name, instances)

    while (this.answers.size > this.maxNames) {
      this.answers.delete(this.answers.keys().next().value as string)
    }
  }

  /** The cached instances of `name` whose records have not expired, each marked `stale`; undefined if none. */
  get (name: string, now = Date.now()): ServiceInstance[] | undefined {
    const live = (this.answers.get(name) ?? []).filter(instance => instance.expiresAt > now)

    if (live.length === 0) {
      this.answers.delete(name)
      return undefined
    }

    return live.map(instance => ({ ...instance, health: { ...instance.health }, stale: true }))
  }

  /** Names held. */
  get size (): number {
    return this.answers.size
  }

  clear (): void {
    this.answers.clear()
  }
}

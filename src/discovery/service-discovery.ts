import { setMaxListeners } from 'main-event'
import { raceSignal } from 'race-signal'
import { DISCOVERY_CONCURRENT_CHECKS } from '../constants.js'
import { ServiceNotFoundError } from '../errors.js'
import { byHealth, isAvailable, matchesFilter, toInstance } from '../instances/instances.js'
import { attestedHealth, localHealth } from '../liveness/instance-health.js'
import type { AnswerCache } from './answer-cache.js'
import type { FindRecordsResult, RecordFinder } from './record-finder.js'
import type { HealthMonitor } from '../health/health-monitor.js'
import type { VerifiedRecord } from '../records/verify.js'
import type { DiscoverOptions, InstanceHealth, ServiceInstance } from '../types.js'

/** What a {@link ServiceDiscovery} needs. */
export interface ServiceDiscoveryComponents {
  network: string
  records: Pick<RecordFinder, 'findRecords'>
  health: Pick<HealthMonitor<VerifiedRecord>, 'health' | 'observe' | 'untrack'>
  /** Where each verified answer is kept for `allowStale`. */
  cache?: AnswerCache
  /** Most health pings one discovery runs at once. @default DISCOVERY_CONCURRENT_CHECKS (16) */
  concurrentChecks?: number
}

/**
 * The discovery pipeline behind `discoverServiceNode()`: verified records
 * and attestations (registries first, the DHT when needed), then health,
 * filter and order, or a ServiceNotFoundError saying what was seen and who
 * was asked.
 *
 * Health (see {@link DiscoverOptions.checkHealth}): a valid attestation of a
 * trusted registry decides; this node pings only instances no registry
 * attests (or every instance with `'local'`, where a failed ping of its own
 * never drops an instance a registry attests alive).
 */
export class ServiceDiscovery {
  private readonly components: ServiceDiscoveryComponents
  /** Searches under way, by name and mode. */
  private readonly searches = new Map<string, SharedSearch>()

  constructor (components: ServiceDiscoveryComponents) {
    this.components = components
  }

  /**
   * Every live instance of `name` that passes the options, healthy first;
   * see {@link DiscoverOptions}. Concurrent discoveries of one name with the
   * same `checkHealth` and `thorough` share one search (each applies its own
   * filter): a thousand callers asking at once cost the registries one
   * lookup, not a thousand. The shared search ends when its last caller gives
   * up.
   */
  async discover (name: string, options: DiscoverOptions & { signal: AbortSignal }): Promise<ServiceInstance[]> {
    const { network } = this.components
    const answer = options.onInstance === undefined
      ? await this.shared(name, options)
      : await this.search(name, options, options.signal)

    // each caller gets its own objects: a shared search's answer is not theirs to change
    return select(answer.instances.map(instance => ({ ...instance, health: { ...instance.health } })), options, () => {
      const { instances, found } = answer
      const seen = instances.length === 0 ? 'no live record' : `${instances.length} instance(s), none healthy or matching the filter`
      const asked = `asked ${found.registriesAnswered} registr${found.registriesAnswered === 1 ? 'y' : 'ies'}${found.walkedDht ? ' and the DHT' : ''}`
      return new ServiceNotFoundError(`No live instance of "${name}" on network "${network}" (${seen}; ${asked})`, name, network, {
        report: { registriesAnswered: found.registriesAnswered, walkedDht: found.walkedDht, instancesSeen: instances.length }
      })
    })
  }

  /** Joins the search under way for the same name and mode, or starts one; leaves it if `options.signal` aborts. */
  private async shared (name: string, options: DiscoverOptions & { signal: AbortSignal }): Promise<Answer> {
    const key = JSON.stringify([name, options.checkHealth ?? true, options.thorough === true])
    let search = this.searches.get(key)

    if (search === undefined) {
      const controller = new AbortController()
      // every lookup and ping of the shared search listens to it
      setMaxListeners(Infinity, controller.signal)
      const created: SharedSearch = { controller, callers: 0, answer: this.search(name, options, controller.signal) }
      created.answer.catch(() => {}).finally(() => {
        if (this.searches.get(key) === created) {
          this.searches.delete(key)
        }
      })
      this.searches.set(key, created)
      search = created
    }

    const joined = search
    joined.callers++

    try {
      return await raceSignal(joined.answer, options.signal)
    } finally {
      if (--joined.callers === 0 && options.signal.aborted) {
        joined.controller.abort(options.signal.reason)

        if (this.searches.get(key) === joined) {
          this.searches.delete(key)
        }
      }
    }
  }

  /** One search: records and attestations, then the health of each live instance. */
  private async search (name: string, options: DiscoverOptions, signal: AbortSignal): Promise<Answer> {
    const { records: finder, health } = this.components
    const mode = options.checkHealth ?? true
    const found = await finder.findRecords(name, {
      signal,
      thorough: options.thorough,
      health: true,
      onRecord: options.onInstance === undefined
        ? undefined
        : record => {
          if (!record.withdrawn) {
            options.onInstance?.(toInstance(record, localHealth(health.health(record.peerId))))
          }
        }
    })
    const now = Date.now()
    const live: VerifiedRecord[] = []

    for (const record of found.records.values()) {
      if (record.withdrawn) {
        health.untrack(record.peerId)
      } else if (record.expiresAt > now) {
        live.push(record)
      }
    }

    // a bounded number of pings at a time: a lookup answer may hold a
    // thousand records, most of them perhaps fake (docs/RELIABILITY.md)
    const instances: ServiceInstance[] = new Array(live.length)
    let next = 0
    await Promise.all(Array.from({ length: Math.min(live.length, this.components.concurrentChecks ?? DISCOVERY_CONCURRENT_CHECKS) }, async () => {
      while (next < live.length && !signal.aborted) {
        const index = next++
        const record = live[index]
        instances[index] = toInstance(record, await this.healthOf(record, attestedHealth(found.attestations.get(record.peerId), now), mode, signal))
      }
    }))
    signal.throwIfAborted()
    this.components.cache?.set(name, instances)
    return { instances, found }
  }

  /**
   * The last verified answer for `name`, marked stale, filtered like a
   * discovery; undefined if there is none or every record in it expired.
   */
  stale (name: string, options: DiscoverOptions): ServiceInstance[] | undefined {
    const cached = this.components.cache?.get(name)

    if (cached === undefined) {
      return undefined
    }

    try {
      return select(cached, options, () => new Error('none'))
    } catch {
      return undefined
    }
  }

  private async healthOf (record: VerifiedRecord, attested: InstanceHealth | undefined, mode: DiscoverOptions['checkHealth'], signal: AbortSignal): Promise<InstanceHealth> {
    const { health } = this.components

    if (mode !== 'local') {
      // an attestation needs no dial; without one, ping only if allowed
      return attested ?? localHealth(await health.observe(record, { signal, ping: mode !== false }))
    }

    const local = localHealth(await health.observe(record, { signal, ping: true }))
    return local.status !== 'healthy' && attested?.status === 'healthy' ? attested : local
  }
}

/** What one search found: every live instance with its health, and how the search went. */
interface Answer {
  instances: ServiceInstance[]
  found: Pick<FindRecordsResult, 'registriesAnswered' | 'walkedDht'>
}

interface SharedSearch {
  answer: Promise<Answer>
  controller: AbortController
  /** Callers waiting for it. */
  callers: number
}

/** Applies `includeUnhealthy`, the filter and the order; throws `notFound()` if nothing is left. */
function select (instances: ServiceInstance[], options: DiscoverOptions, notFound: () => Error): ServiceInstance[] {
  const matches = instances
    .filter(instance => options.includeUnhealthy === true || isAvailable(instance))
    .filter(instance => matchesFilter(instance, options.filter))
    .sort(byHealth)

  if (matches.length === 0) {
    throw notFound()
  }

  return matches
}

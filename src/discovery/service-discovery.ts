import { DISCOVERY_CONCURRENT_CHECKS } from '../constants.js'
import { ServiceNotFoundError } from '../errors.js'
import { byHealth, matchesFilter, toInstance } from '../instances/instances.js'
import type { RecordFinder } from './record-finder.js'
import type { HealthMonitor } from '../health/health-monitor.js'
import type { VerifiedRecord } from '../records/verify.js'
import type { DiscoverOptions, ServiceInstance } from '../types.js'

/** What a {@link ServiceDiscovery} needs. */
export interface ServiceDiscoveryComponents {
  network: string
  records: Pick<RecordFinder, 'findRecords'>
  health: Pick<HealthMonitor<VerifiedRecord>, 'health' | 'observe' | 'untrack'>
  /** Most health pings one discovery runs at once. @default DISCOVERY_CONCURRENT_CHECKS (16) */
  concurrentChecks?: number
}

/**
 * The discovery pipeline behind `discoverServiceNode()`: verified records
 * (registries first, the DHT when needed), then health, filter and order,
 * or a ServiceNotFoundError saying what was seen and who was asked.
 */
export class ServiceDiscovery {
  private readonly components: ServiceDiscoveryComponents

  constructor (components: ServiceDiscoveryComponents) {
    this.components = components
  }

  /** Every live instance of `name` that passes the options, healthy first; see {@link DiscoverOptions}. */
  async discover (name: string, options: DiscoverOptions & { signal: AbortSignal }): Promise<ServiceInstance[]> {
    const { records: finder, health, network } = this.components
    const { signal } = options
    const found = await finder.findRecords(name, {
      signal,
      thorough: options.thorough,
      onRecord: options.onInstance === undefined
        ? undefined
        : record => {
          if (!record.withdrawn) {
            options.onInstance?.(toInstance(record, health.health(record.peerId)))
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
        instances[index] = toInstance(live[index], await health.observe(live[index], { signal, ping: options.checkHealth }))
      }
    }))
    signal.throwIfAborted()

    const matches = instances
      .filter(instance => options.includeUnhealthy === true || instance.health.status !== 'unhealthy')
      .filter(instance => matchesFilter(instance, options.filter))
      .sort(byHealth)

    if (matches.length === 0) {
      const seen = instances.length === 0 ? 'no live record' : `${instances.length} instance(s), none healthy or matching the filter`
      const asked = `asked ${found.registriesAnswered} registr${found.registriesAnswered === 1 ? 'y' : 'ies'}${found.walkedDht ? ' and the DHT' : ''}`
      throw new ServiceNotFoundError(`No live instance of "${name}" on network "${network}" (${seen}; ${asked})`, name, network, {
        report: { registriesAnswered: found.registriesAnswered, walkedDht: found.walkedDht, instancesSeen: instances.length }
      })
    }

    return matches
  }
}

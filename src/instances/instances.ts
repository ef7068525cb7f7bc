import type { Health } from '../health/health-monitor.js'
import type { ServiceRecord } from '../records/record.js'
import type { DiscoverOptions, InstanceHealth, ServiceInstance } from '../types.js'

/** A verified record and its health, as discovery returns it. */
export function toInstance (record: ServiceRecord, health: InstanceHealth): ServiceInstance {
  return {
    peerId: record.peerId,
    name: record.name,
    network: record.network,
    multiaddrs: record.multiaddrs,
    metadata: record.metadata,
    seq: record.seq,
    expiresAt: record.expiresAt,
    health: { ...health }
  }
}

/** True if the instance passes `filter` (see {@link DiscoverOptions.filter}). */
export function matchesFilter (instance: ServiceInstance, filter: DiscoverOptions['filter']): boolean {
  if (filter === undefined) {
    return true
  }

  if (typeof filter === 'function') {
    return filter(instance)
  }

  return Object.entries(filter).every(([key, expected]) => {
    const actual = instance.metadata[key]
    return actual !== undefined && String(actual) === String(expected)
  })
}

const HEALTH_ORDER = { healthy: 0, unknown: 1, unhealthy: 2 }

/** Sort order of results: healthy first, then unknown, then unhealthy; lower RTT first. */
export function byHealth (a: { health: Pick<Health, 'status' | 'rttMs'> }, b: { health: Pick<Health, 'status' | 'rttMs'> }): number {
  return HEALTH_ORDER[a.health.status] - HEALTH_ORDER[b.health.status] || (a.health.rttMs ?? Infinity) - (b.health.rttMs ?? Infinity)
}

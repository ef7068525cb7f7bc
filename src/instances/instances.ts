import type { Health } from '../health/health-monitor.js'
import type { CheckStatus, ServiceRecord } from '../records/record.js'
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
    health: { ...health },
    status: record.status ?? 'passing'
  }
}

/** True if the instance answers pings (or was not pinged yet) and its checks are not `critical`: what discovery returns without `includeUnhealthy`. */
export function isAvailable (instance: Pick<ServiceInstance, 'health' | 'status'>): boolean {
  return instance.health.status !== 'unhealthy' && instance.status !== 'critical'
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
const STATUS_ORDER = { passing: 0, warning: 1, critical: 2 }

/** What results are sorted by. */
interface Ranked {
  health: Pick<Health, 'status' | 'rttMs'>
  /** The instance's check status. @default 'passing' */
  status?: CheckStatus
}

/** Sort order of results: checks passing, then warning, then critical; within each, healthy first, then unknown, then unhealthy; lower RTT first. */
export function byHealth (a: Ranked, b: Ranked): number {
  return STATUS_ORDER[a.status ?? 'passing'] - STATUS_ORDER[b.status ?? 'passing'] ||
    HEALTH_ORDER[a.health.status] - HEALTH_ORDER[b.health.status] ||
    (a.health.rttMs ?? Infinity) - (b.health.rttMs ?? Infinity)
}

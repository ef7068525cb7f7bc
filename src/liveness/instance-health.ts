import { ATTESTATION_CLOCK_SKEW } from '../constants.js'
import type { Attestation, VerifiedAttestation } from './attestation.js'
import type { Health } from '../health/health-monitor.js'
import type { InstanceHealth } from '../types.js'

/**
 * An instance's health from the registries' attestations (docs/PROTOCOL.md
 * §15), or undefined if none is valid now: `healthy` if any trusted registry
 * attests it `alive` (the lowest RTT, the latest measurement), `unhealthy`
 * if every one attests it `down`.
 */
export function attestedHealth (attestations: VerifiedAttestation[] | undefined, now = Date.now()): InstanceHealth | undefined {
  const valid = (attestations ?? []).filter(attestation => attestation.expiresAt + ATTESTATION_CLOCK_SKEW > now)

  if (valid.length === 0) {
    return undefined
  }

  const alive = valid.filter(attestation => attestation.status === 'alive')
  const counted = alive.length > 0 ? alive : valid
  const rtts = alive.flatMap(attestation => attestation.rttMs === undefined ? [] : [attestation.rttMs])

  return {
    status: alive.length > 0 ? 'healthy' : 'unhealthy',
    source: 'registry',
    rttMs: rtts.length === 0 ? undefined : Math.min(...rtts),
    lastSeen: alive.length === 0 ? undefined : Math.max(...alive.map(attestation => attestation.measuredAt)),
    registries: counted.map(attestation => attestation.registry).sort()
  }
}

/** An instance's health as this node's own pings measured it. */
export function localHealth (health: Pick<Health, 'status' | 'rttMs' | 'lastSeen'>): InstanceHealth {
  return { status: health.status, source: health.status === 'unknown' ? 'none' : 'local', rttMs: health.rttMs, lastSeen: health.lastSeen }
}

/** A publisher's health as the registry serving it measures it. */
export function registryHealth (measurement: Pick<Attestation, 'status' | 'rttMs' | 'measuredAt'>, registry: string): InstanceHealth {
  const alive = measurement.status === 'alive'
  return { status: alive ? 'healthy' : 'unhealthy', source: 'registry', rttMs: alive ? measurement.rttMs : undefined, lastSeen: alive ? measurement.measuredAt : undefined, registries: [registry] }
}

import { ATTESTATION_CLOCK_SKEW } from '../constants.js'
import { matchesFilter, toInstance } from '../instances/instances.js'
import { attestedHealth } from '../liveness/instance-health.js'
import type { VerifiedAttestation } from '../liveness/attestation.js'
import type { VerifiedRecord } from '../records/verify.js'
import type { DiscoverOptions, InstanceHealth, ServiceInstance } from '../types.js'

/** One change of a watched service. */
export interface WatchEvent {
  /**
   * `added`: a live instance appeared (the first events are the current
   * set); `updated`: it re-published its record with other addresses,
   * metadata or check status (a re-announcement of the same is not a
   * change); `removed`: it withdrew, its record
   * expired, or no registry holds it any more; `health`: its health status
   * changed.
   */
  type: 'added' | 'updated' | 'removed' | 'health'
  /** The instance as it is now (as it was last, for `removed`). */
  instance: ServiceInstance
}

/** What one registry told a watch: its records and attestations of the service. */
export interface SourceState {
  records: Map<string, VerifiedRecord>
  attestations: Map<string, VerifiedAttestation>
  /** Attestations pushed on a live subscription stay current until the next push: their expiry does not count. */
  pushed: boolean
  /**
   * Publishers whose attestation the registry's last full answer did not
   * repeat (it restarted, say): theirs counts only until it expires.
   */
  unconfirmed: Set<string>
}

/**
 * A watch's merged view over its registries: for each instance, the highest
 * `seq` any registry holds, and the health their attestations give; and the
 * instances last reported, so that a change is reported once however many
 * registries repeat it, and a resync after a reconnect reports only what
 * really changed.
 */
export class WatchView {
  readonly sources = new Map<string, SourceState>()
  private readonly reported = new Map<string, ServiceInstance>()
  private readonly filter: DiscoverOptions['filter']

  constructor (filter: DiscoverOptions['filter']) {
    this.filter = filter
  }

  /** The state of one registry, created empty. */
  source (registry: string, pushed: boolean): SourceState {
    let state = this.sources.get(registry)

    if (state === undefined) {
      state = { records: new Map(), attestations: new Map(), pushed, unconfirmed: new Set() }
      this.sources.set(registry, state)
    }

    state.pushed = pushed
    return state
  }

  /** The instances reported now. */
  instances (): ServiceInstance[] {
    return [...this.reported.values()]
  }

  /** Peer IDs held by any source or reported. */
  peers (): Set<string> {
    const peers = new Set(this.reported.keys())

    for (const state of this.sources.values()) {
      state.records.forEach((_record, peerId) => peers.add(peerId))
    }

    return peers
  }

  /** The earliest expiry of a record a live instance is reported from, or of an unconfirmed attestation, if any. */
  nextExpiry (now = Date.now()): number | undefined {
    const expiries = this.instances().map(instance => instance.expiresAt)

    for (const state of this.sources.values()) {
      for (const peerId of state.unconfirmed) {
        const expiresAt = state.attestations.get(peerId)?.expiresAt

        if (expiresAt !== undefined && expiresAt + ATTESTATION_CLOCK_SKEW >= now) {
          expiries.push(expiresAt + ATTESTATION_CLOCK_SKEW)
        }
      }
    }

    return expiries.length === 0 ? undefined : Math.min(...expiries)
  }

  /** Recomputes the given instances and returns the changes to report, in order. */
  update (peerIds: Iterable<string>, now = Date.now()): WatchEvent[] {
    const events: WatchEvent[] = []

    for (const peerId of peerIds) {
      const before = this.reported.get(peerId)
      const after = this.current(peerId, now)

      if (after === undefined) {
        if (before !== undefined) {
          this.reported.delete(peerId)
          events.push({ type: 'removed', instance: before })
        }
        continue
      }

      this.reported.set(peerId, after)

      if (before === undefined) {
        events.push({ type: 'added', instance: after })
      } else if (before.seq !== after.seq && describe(before) !== describe(after)) {
        events.push({ type: 'updated', instance: after })
      } else if (before.health.status !== after.health.status) {
        events.push({ type: 'health', instance: after })
      }
    }

    return events
  }

  private current (peerId: string, now: number): ServiceInstance | undefined {
    let best: VerifiedRecord | undefined
    const attestations: VerifiedAttestation[] = []

    for (const state of this.sources.values()) {
      const record = state.records.get(peerId)

      if (record !== undefined && (best === undefined || record.seq > best.seq)) {
        best = record
      }

      const attestation = state.attestations.get(peerId)

      if (attestation !== undefined) {
        attestations.push(state.pushed && !state.unconfirmed.has(peerId) ? { ...attestation, expiresAt: Number.MAX_SAFE_INTEGER } : attestation)
      }
    }

    if (best === undefined || best.withdrawn || best.expiresAt <= now) {
      return undefined
    }

    const health: InstanceHealth = attestedHealth(attestations, now) ?? { status: 'unknown', source: 'none' }
    const instance = toInstance(best, health)
    return matchesFilter(instance, this.filter) ? instance : undefined
  }
}

/** What a re-publication may change: addresses, metadata, check status. */
function describe (instance: ServiceInstance): string {
  const { multiaddrs, metadata } = instance
  return JSON.stringify([multiaddrs, metadata, (instance as { status?: unknown }).status])
}

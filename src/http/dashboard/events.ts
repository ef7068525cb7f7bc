/**
 * The events of a registry's `GET /api/events` stream (server-sent events),
 * shared by the server (`src/http/event-stream.ts`) and the dashboard page
 * (`page.ts`). Types only: nothing here runs.
 */
import type { ServiceEntry, SnapshotLimits } from '../services-snapshot.js'

/** `event: snapshot` — everything at once; the first event of every connection, and sent again whenever the server resyncs. */
export interface SnapshotEvent {
  /** The network this stream follows (`/api/events?network=NAME`, else the registry's first). */
  network: string
  /** Every network the registry serves. */
  networks: string[]
  /** The registry answering, with its addresses. */
  registry: { peerId: string, multiaddrs: string[] }
  /** Unix ms when the snapshot was built. */
  generatedAt: number
  limits: SnapshotLimits
  /** true if a cap left services or instances out. */
  truncated: boolean
  /** The snapshot's services in name order (the `/api/services` entries, uncapped by page). */
  services: ServiceEntry[]
  /** The last attested RTT samples of each publisher this registry measures, oldest first, in ms (at most {@link RTT_HISTORY}). */
  rtt: Record<string, number[]>
}

/** `event: service` — one service as it is now; no instance left (`instances: []`) means it is gone. */
export type ServiceEvent = ServiceEntry

/** `event: liveness` — a measurement of one publisher by this registry. */
export interface LivenessEvent {
  peerId: string
  status: 'alive' | 'down'
  /** Smoothed RTT in ms; absent while down. */
  rttMs?: number
  /** Unix ms. */
  measuredAt: number
}

/** How many RTT samples per publisher a snapshot carries and the page draws. */
export const RTT_HISTORY = 60

import type { CheckStatus, ServiceDeregisteredDetail, ServiceStatusDetail } from './checks/types.js'
import type { Health } from './health/health-monitor.js'
import type { ServiceMetadata } from './records/record.js'
import type { AnnounceResult } from './service/announcer.js'
import type { AbortOptions } from '@libp2p/interface'

/** One live instance of a service, as discovery returns it. */
export interface ServiceInstance {
  /** The instance's peer ID. */
  peerId: string
  /** The service name. */
  name: string
  /** The network it was found on. */
  network: string
  /** Where it can be dialled, each ending in `/p2p/<peerId>`. */
  multiaddrs: string[]
  /** Its published metadata. */
  metadata: ServiceMetadata
  /** The sequence number of its record. */
  seq: number
  /** Unix ms at which its record expires unless re-published. */
  expiresAt: number
  /** Its health, and where that came from (see README, "Health and checks"). */
  health: InstanceHealth
  /**
   * True if this answer is the node's last verified one, returned because no
   * registry could be reached (`allowStale`); absent otherwise.
   */
  stale?: true
  /**
   * The status of its own service checks, as its record publishes it:
   * `passing`, `warning` or `critical` (README, "Checks"); `passing` for an
   * instance without checks. Discovery leaves `critical` instances out
   * unless `includeUnhealthy` is set.
   */
  status: CheckStatus
}

/**
 * An instance's health, as reported to users. `source` says who measured it:
 * - `registry`: a registry this node trusts for the network attests that the
 *   instance is connected to it and answers its pings (`healthy`), or that it
 *   is not (`unhealthy`); `rttMs` is the registry's smoothed RTT to it;
 * - `local`: this node's own libp2p pings (`checkHealth: 'local'`, or an
 *   instance no registry attests); `rttMs` is this node's RTT to it;
 * - `none`: nobody measured it (`unknown`).
 */
export interface InstanceHealth {
  /** `healthy`, `unhealthy`, or `unknown` (not measured). */
  status: Health['status']
  /** Who measured `status`. */
  source: 'registry' | 'local' | 'none'
  /** Round-trip time in milliseconds (registry ↔ instance for `registry`, this node ↔ instance for `local`). */
  rttMs?: number
  /**
   * Unix ms of the last measurement that found it alive (`registry`: of the
   * latest signed attestation, which a registry keeps while the instance is
   * steady, so up to about half its validity older than its last ping).
   */
  lastSeen?: number
  /** `registry` only: the registries whose attestations decided `status`. */
  registries?: string[]
}

/** A registry connection event's detail. */
export interface RegistryEventDetail {
  /** The registry's peer ID. */
  peerId: string
  /** The address it is kept connected on. */
  multiaddr: string
  /** The network it serves for this node (a registry serving several networks peers per network). */
  network: string
}

/** The events a {@link Netget} node emits. */
export interface NetgetEvents {
  /** A registry connection opened. */
  'registry:connected': CustomEvent<RegistryEventDetail>
  /** A registry connection closed; it is redialled with backoff. */
  'registry:disconnected': CustomEvent<RegistryEventDetail>
  /** A tracked instance answered after being unknown or unhealthy. */
  'instance:healthy': CustomEvent<ServiceInstance>
  /** A tracked instance stopped answering pings. */
  'instance:unhealthy': CustomEvent<ServiceInstance>
  /** This node's record was (re-)published. */
  'service:announced': CustomEvent<AnnounceResult>
  /** A background re-publication failed; it is retried at the next interval or reconnect. */
  'service:error': CustomEvent<Error>
  /** The aggregate status of this node's checks (option `checks`) changed; the record is re-published with it at once. */
  'service:status': CustomEvent<ServiceStatusDetail>
  /** The checks stayed `critical` for `deregisterCriticalAfter`: the record was withdrawn; it is announced again when they pass. */
  'service:deregistered': CustomEvent<ServiceDeregisteredDetail>
}

/** Options of {@link Netget.discoverServiceNode}. */
export interface DiscoverOptions extends AbortOptions {
  /**
   * Keep only instances whose metadata matches: an object whose every entry
   * must equal the metadata's (compared as strings), or a predicate.
   */
  filter?: Record<string, unknown> | ((instance: ServiceInstance) => boolean)
  /** Also return instances that are unhealthy (no answer to pings) or whose own checks are `critical`. @default false */
  includeUnhealthy?: boolean
  /**
   * Where health comes from. `true` (the default): registries' attestations,
   * and this node's own ping only for instances no trusted registry attests;
   * `'local'`: this node pings every instance itself (a failed ping never
   * drops an instance a registry attests alive); `false`: attestations only,
   * nothing is pinged. @default true
   */
  checkHealth?: boolean | 'local'
  /**
   * When no registry can be reached, return the last verified answer for
   * this service (kept until its records expire), each instance marked
   * `stale: true`, instead of failing. @default false
   */
  allowStale?: boolean
  /** Walk the DHT even when registries answered. @default false */
  thorough?: boolean
  /** Called with each verified instance as soon as it arrives (health not yet checked). */
  onInstance?(instance: ServiceInstance): void
}

/** Options of {@link Netget.stop}. */
export interface StopOptions extends AbortOptions {
  /**
   * Publish a withdrawal so readers drop this instance at once. With false,
   * the record stays until it expires or health checks flag the instance.
   *
   * @default true
   */
  withdraw?: boolean
}

/** Lifecycle states of a node. */
export type NetgetStatus = 'stopped' | 'starting' | 'started' | 'stopping'

/**
 * What {@link Netget.observeRegistry} reports: the registry's own change
 * feeds, as they happen. Every callback is optional.
 */
export interface RegistryObserver {
  /** A record of service `name` signed by `peerId` was stored, replaced (a new `seq`, a withdrawal) or removed (`removed: true`). */
  record?(change: { name: string, peerId: string, removed: boolean }): void
  /** This registry measured a publisher connected to it: `alive` with its smoothed RTT in ms, or `down` (no RTT). */
  liveness?(measurement: { peerId: string, status: 'alive' | 'down', rttMs?: number, measuredAt: number }): void
  /** The node stopped: no call follows (observe again after a restart). */
  stopped?(): void
}

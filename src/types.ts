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
  /** Its health as this node measured it. */
  health: InstanceHealth
}

/** An instance's health, as reported to users. */
export interface InstanceHealth {
  /** `healthy`: answered its last ping; `unhealthy`: did not (see README, "Health"); `unknown`: not pinged yet. */
  status: Health['status']
  /** Round-trip time of the last successful ping, in milliseconds. */
  rttMs?: number
  /** Unix ms of the last successful ping. */
  lastSeen?: number
}

/** A registry connection event's detail. */
export interface RegistryEventDetail {
  /** The registry's peer ID. */
  peerId: string
  /** The address it is kept connected on. */
  multiaddr: string
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
}

/** Options of {@link Netget.discoverServiceNode}. */
export interface DiscoverOptions extends AbortOptions {
  /**
   * Keep only instances whose metadata matches: an object whose every entry
   * must equal the metadata's (compared as strings), or a predicate.
   */
  filter?: Record<string, unknown> | ((instance: ServiceInstance) => boolean)
  /** Also return instances that are unhealthy. @default false */
  includeUnhealthy?: boolean
  /** Ping instances whose health is not known yet before returning. @default true */
  checkHealth?: boolean
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

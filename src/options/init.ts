import type { ResolvedCheck, ServiceCheck } from '../checks/types.js'
import type { ServiceMetadata } from '../records/record.js'
import type { StoreQuotas } from '../registry/store-quotas.js'
import type { PromRegistry } from '../metrics/index.js'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The two kinds of netget node. */
export type NodeType = 'service' | 'registry'

/**
 * Options of `new Netget()`. Every one is optional; durations are in
 * milliseconds.
 *
 * Each option's default, unit, meaning and check live in one table,
 * `OPTIONS` in `./table.ts`; the `@default` of every option here must read
 * exactly as that table prints it (test/options.spec.ts compares them).
 */
export interface NetgetInit {
  /**
   * `service`: a node that may publish one service and discover others (a
   * DHT client). `registry`: a stable DHT server that stores records and
   * answers lookups.
   *
   * @default `'service'`
   */
  nodeType?: NodeType
  /**
   * The service this node publishes; `metadata.name` is its name. Any JSON
   * object up to 8 KiB.
   *
   * @default none: the node publishes nothing (discovery only)
   */
  metadata?: ServiceMetadata
  /**
   * The network to join: `development`, `production` or any name of 1 to 32
   * lowercase letters, digits and inner dashes.
   *
   * @default the first of `networks`, else `'development'`
   */
  network?: string
  /**
   * Registries: every network this one process serves, the first being
   * `network`. Each is a network name, or `{ network, authority?,
   * credential?, readRestricted?, storeQuotas?, registryNodes? }` for a
   * network with settings of its own. The node stays one libp2p peer (one
   * key, one set of connections) running one kad-dht per network, each with
   * its own protocol id, datastore and quotas. The top-level `authority`
   * and `credential` are the first network's; `readRestricted`,
   * `storeQuotas` and `registryNodes` apply to every network that does not
   * set its own.
   *
   * @default `[network]`: one network
   */
  networks?: Array<string | ServedNetworkInit>
  /**
   * Registry multiaddrs, each ending in `/p2p/<peer id>`. When given,
   * bootstrap.json is not read.
   *
   * @default the network's list in bootstrap.json
   */
  registryNodes?: Array<string | Multiaddr>
  /**
   * A bootstrap.json to read instead of the default (see the README).
   *
   * @default `$NETGET_BOOTSTRAP`, `./bootstrap.json`, or the file shipped with the package
   */
  bootstrapFile?: string
  /**
   * Multiaddrs to listen on.
   *
   * @default registries: `['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/ws']`; services with a name: `['/ip4/0.0.0.0/tcp/0', '/ip4/0.0.0.0/tcp/0/ws']` (free ports); discovery-only nodes: `[]`
   */
  listen?: string[]
  /**
   * Multiaddrs to publish instead of the listen addresses (for NAT or proxies).
   *
   * @default `[]`
   */
  announce?: string[]
  /**
   * Where the node keeps its identity key (and, for registries, its records).
   * `false` keeps everything in memory (a new peer ID on every start).
   *
   * @default registries: `'.netget/<network>/registry'`; services with a name: `'.netget/<network>/<name>'`; discovery-only nodes: `false`
   */
  dataDir?: string | false
  /**
   * Use this key as the node's identity instead of the one in `dataDir`.
   *
   * @default the key in `dataDir` (created on first start), or a new one on every start when `dataDir` is `false`
   */
  privateKey?: PrivateKey
  /**
   * How long a published record stays valid, in milliseconds; at most 24
   * hours.
   *
   * @default `600_000`
   */
  recordTtl?: number
  /**
   * How often a service re-publishes its record, in milliseconds; must be
   * less than `recordTtl`.
   *
   * @default `180_000`, or a third of `recordTtl` when that is less
   */
  reannounceInterval?: number
  /**
   * Random spread of each re-announce, as a fraction of the interval (0 to
   * 0.5).
   *
   * @default `0.1`
   */
  reannounceJitter?: number
  /**
   * How often tracked instances are pinged, in milliseconds.
   *
   * @default `10_000`
   */
  healthInterval?: number
  /**
   * How long one health ping may take, in milliseconds.
   *
   * @default `2_000`
   */
  healthTimeout?: number
  /**
   * Failed pings in a row after which a healthy instance is unhealthy.
   *
   * @default `3`
   */
  healthFailureThreshold?: number
  /**
   * Checks this service node runs on what it fronts, like Consul's agent
   * checks: `{ http: 'http://127.0.0.1:8080/health', expect? }`,
   * `{ tcp: '127.0.0.1:5432' }` or `{ run: signal => boolean }`, each with
   * an optional `name`, `interval` (ms, default 10 000) and `timeout` (ms,
   * default 2 000); at most 32. Their aggregate status (`passing`,
   * `warning`, `critical`) is published in the record, re-published at
   * once when it changes; discovery leaves `critical` instances out. Only
   * for a node that publishes a service (`metadata.name`). See the README,
   * "Health and checks".
   *
   * @default `[]`
   */
  checks?: ServiceCheck[]
  /**
   * How long the checks may stay `critical` before the service withdraws
   * its record, in milliseconds (it keeps checking, and announces again
   * when they pass); `0` never withdraws. Consul's
   * `DeregisterCriticalServiceAfter`.
   *
   * @default `60_000`
   */
  deregisterCriticalAfter?: number
  /**
   * Timeout of a public operation called without a signal, in milliseconds.
   *
   * @default `10_000`
   */
  operationTimeout?: number
  /**
   * Timeout of one request to one registry, in milliseconds.
   *
   * @default `3_000`
   */
  requestTimeout?: number
  /**
   * Timeout of one dial to a registry, in milliseconds.
   *
   * @default `5_000`
   */
  dialTimeout?: number
  /**
   * First delay before redialling a lost registry, in milliseconds; it
   * doubles (with jitter) up to `redialMaxDelay`.
   *
   * @default `500`
   */
  redialMinDelay?: number
  /**
   * Longest delay between redials of a lost registry, in milliseconds; not
   * less than `redialMinDelay`.
   *
   * @default `30_000`, or `redialMinDelay` when that is more
   */
  redialMaxDelay?: number
  /**
   * How often a registry deletes expired records, in milliseconds.
   *
   * @default `60_000`
   */
  recordCleanupInterval?: number
  /**
   * How often a registry reconciles its records with each connected peer
   * registry, in milliseconds (it also does on connecting, and pushes each
   * record it accepts at once). Other nodes ignore it.
   *
   * @default `30_000`
   */
  syncInterval?: number
  /**
   * Registries: storage quotas and the put rate per connection, each one
   * given replacing its default (see `StoreQuotas`). Other nodes ignore it.
   *
   * @default each quota's own: 256 records per connection, 20 puts/s per connection (burst 100), …
   */
  storeQuotas?: Partial<StoreQuotas>
  /**
   * Most open connections.
   *
   * @default registries: `2_000`; others: `300`
   */
  maxConnections?: number
  /**
   * A libp2p connection gater deciding which peers and addresses this node
   * may dial or accept.
   *
   * @default none in Node; in a browser, the page's dial policy (`dialPolicy`)
   */
  connectionGater?: ConnectionGater
  /**
   * The peer ID of a closed network's authority: only peers holding a
   * credential it signed may publish (and, where registries restrict reads,
   * look up); see the README, "Closed networks".
   *
   * @default the network's `authority` in bootstrap.json; none (an open network)
   */
  authority?: string
  /**
   * This node's credential on a closed network: the path of a file written
   * by `netget-peer network grant` (Node; a replaced file is picked up
   * within `trustRefreshInterval`), or the credential's bytes.
   *
   * @default none
   */
  credential?: string | Uint8Array
  /**
   * Registries of a closed network: refuse lookups and DHT requests from
   * peers that presented no valid credential.
   *
   * @default `false`
   */
  readRestricted?: boolean
  /**
   * On a closed network, how often the credential file is checked for a
   * replacement.
   *
   * @default `10_000`
   */
  trustRefreshInterval?: number
  /**
   * On a closed network, how often revocations are fetched from the
   * registries.
   *
   * @default `30_000`
   */
  revocationRefreshInterval?: number
  /**
   * Prometheus metrics (Node): `true` keeps the libp2p stack's and netget's
   * metrics in a prom-client registry of the node's own; a prom-client
   * `Registry` adds them to the application's. Read them with
   * `node.metrics()`; a registry's HTTP port serves them at `/metrics`.
   * Needs the packages `prom-client` and `@libp2p/prometheus-metrics`.
   *
   * @default `false`
   */
  metrics?: boolean | PromRegistry
}

/** One network a registry serves, when it serves several (option `networks`). */
export interface ServedNetworkInit {
  /** The network's name. */
  network: string
  /** A closed network's authority. @default the network's `authority` in bootstrap.json; none (open) */
  authority?: string
  /** This registry's credential on that closed network (a file of `netget-peer network grant`, or its bytes). @default none */
  credential?: string | Uint8Array
  /** Refuse lookups from peers without a credential (closed networks). @default the top-level `readRestricted` */
  readRestricted?: boolean
  /** This network's own quotas (counted apart from the other networks'). @default the top-level `storeQuotas` */
  storeQuotas?: Partial<StoreQuotas>
  /** The peer registries of this network. @default the top-level `registryNodes`, else the network's list in bootstrap.json */
  registryNodes?: Array<string | Multiaddr>
}

/** A network a registry serves, checked: see {@link ServedNetworkInit}. */
export type ServedNetwork = ServedNetworkInit

/** The options that have no default: after validation they may still be absent. */
export type OptionalOption = 'metadata' | 'networks' | 'registryNodes' | 'bootstrapFile' | 'privateKey' | 'storeQuotas' | 'connectionGater' | 'authority' | 'credential'

/**
 * Options after validation, with every default applied: {@link NetgetInit}
 * with every option that has a default required, plus the service name.
 */
export type NetgetConfig = Required<Omit<NetgetInit, OptionalOption | 'checks'>> & Pick<NetgetInit, Exclude<OptionalOption, 'networks'>> & {
  /** The networks a registry serves when given (`networks`), each as an object; the first is `network`. */
  networks?: ServedNetwork[]
  /** `metadata.name`, when the node publishes a service. */
  serviceName?: string
  /** The checks, validated, each with its name, interval and timeout filled in. */
  checks: ResolvedCheck[]
}

import * as C from '../constants.js'
import { InvalidOptionsError } from '../errors.js'
import { assertNetworkName, isPeerIdString } from '../protocol/names.js'
import { parseRegistryAddress } from '../registries/registry-address.js'
import { isPlainObject } from '../records/record.js'
import { preview } from '../text.js'
import { resolveChecks } from '../checks/definition.js'
import { checkMetadata, count, duration, multiaddrs } from './checks.js'
import type { NetgetConfig, NetgetInit, ServedNetwork } from './init.js'
import type { PromRegistry } from '../metrics/index.js'
import type { StoreQuotas } from '../registry/store-quotas.js'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/**
 * Every option of `new Netget()` in one table: its meaning, unit, default and
 * check. `normalizeOptions()` is driven by it, the README's options table is
 * printed from it (`node dist/scripts/options-table.js`), and the `@default`
 * of each option's TSDoc in {@link NetgetInit} must read as it prints the
 * default (test/options.spec.ts holds the three together).
 */

/** The quotas `storeQuotas` takes. */
const STORE_QUOTAS: readonly string[] = ['maxRecords', 'maxBytes', 'maxRecordsPerName', 'maxRecordsPerSigner', 'maxRecordsPerAddress', 'maxRecordsPerConnection', 'maxRecordsPerRemoteAddress', 'maxRelayedRecords', 'maxRelayedRecordsPerName', 'putsPerSecond', 'putBurst'] satisfies Array<keyof StoreQuotas>

/** The name of an option. */
export type OptionName = keyof NetgetInit

/**
 * What a derived default may depend on. These options all have fixed
 * defaults, so they are settled before any derived default is worked out.
 */
export type DefaultContext = Readonly<Pick<NetgetConfig, 'nodeType' | 'network' | 'networks' | 'serviceName' | 'recordTtl' | 'redialMinDelay'>>

type Value<K extends OptionName> = Exclude<NetgetConfig[K], undefined>

/**
 * An option's default, applied with `??` when the option is left out:
 * - a fixed value, a named constant of constants.ts, shown in the docs as
 *   its literal;
 * - a function of other options (a cross-option default), with
 *   `defaultDoc` saying the rule;
 * - none (the option stays absent), with `defaultDoc` saying what happens
 *   then.
 */
type Default<K extends OptionName> =
  | { default: Value<K>, defaultDoc?: never }
  | { default: (context: DefaultContext) => Value<K>, defaultDoc: string }
  | { default?: undefined, defaultDoc: string }

/** One option: everything netget knows about it. */
export type OptionSpec<K extends OptionName> = Default<K> & {
  /** What the option is, one line of markdown (the README's "meaning" column). */
  doc: string
  /** The unit of a numeric option; absent for options that are not quantities. */
  unit?: string
  /**
   * Checks a value given by the caller (or the default): throws
   * InvalidOptionsError with `option` set, or returns what the config holds.
   */
  check: (value: unknown, option: K) => NetgetConfig[K]
}

/** The options table: one entry per option of {@link NetgetInit}, in the order they are checked. */
export type OptionTable = { readonly [K in OptionName]-?: OptionSpec<K> }

/** A rule between two options, checked once every default is applied. */
export interface OptionRule {
  /** The rule, one line of markdown (printed under the README's options table). */
  doc: string
  /** Throws InvalidOptionsError naming the option to change. */
  check: (config: NetgetConfig) => void
}

export const OPTIONS: OptionTable = {
  nodeType: {
    doc: '`\'service\'`: publishes one service and/or discovers others (a DHT client). `\'registry\'`: a stable DHT server that stores records and answers lookups.',
    default: C.DEFAULT_NODE_TYPE,
    check: (value, option) => {
      if (value !== 'service' && value !== 'registry') {
        throw new InvalidOptionsError(`Option "nodeType" must be "service" or "registry", got ${preview(value)}`, { option })
      }

      return value
    }
  },
  metadata: {
    doc: `The service this node publishes: any JSON object up to ${C.MAX_METADATA_BYTES / 1024} KiB; \`metadata.name\` is the service name (1–64 letters, digits, inner \`.\` \`_\` \`-\`).`,
    defaultDoc: 'none: the node publishes nothing (discovery only)',
    check: value => checkMetadata(value)
  },
  network: {
    doc: 'The network to join: 1–32 lowercase letters, digits, inner dashes.',
    default: ({ networks }) => networks?.[0]?.network ?? C.DEFAULT_NETWORK,
    defaultDoc: `the first of \`networks\`, else ${code(C.DEFAULT_NETWORK)}`,
    check: (value, option) => {
      assertNetworkName(value, option)
      return value
    }
  },
  networks: {
    doc: 'Registries: every network this process serves, the first being `network`: names, or `{ network, authority, credential, readRestricted, storeQuotas, registryNodes }`. One libp2p node, one kad-dht per network (own protocol id, datastore, quotas); top-level `authority` and `credential` are the first network\'s, the other three apply to every network that sets none; see [Several networks](#several-networks-in-one-registry).',
    defaultDoc: '`[network]`: one network',
    check: (value, option) => servedNetworks(value, option)
  },
  registryNodes: {
    doc: 'Registry multiaddrs, each ending in `/p2p/<peer id>`. When given, bootstrap.json is not read.',
    defaultDoc: 'the network\'s list in bootstrap.json',
    check: (value, option) => {
      if (!Array.isArray(value)) {
        throw new InvalidOptionsError('Option "registryNodes" must be an array of multiaddrs ending in /p2p/<peer id>', { option })
      }

      for (const address of value) {
        parseRegistryAddress(address, option)
      }

      return value as Array<string | Multiaddr>
    }
  },
  bootstrapFile: {
    doc: 'Path of the bootstrap file to read (see [bootstrap.json](#bootstrapjson)).',
    defaultDoc: `\`$${C.BOOTSTRAP_FILE_ENV}\`, \`./bootstrap.json\`, or the file shipped with the package`,
    check: (value, option) => {
      if (typeof value !== 'string' || value === '') {
        throw new InvalidOptionsError('Option "bootstrapFile" must be the path of a bootstrap.json file', { option })
      }

      return value
    }
  },
  listen: {
    doc: 'Multiaddrs to listen on.',
    default: ({ nodeType, serviceName }) => nodeType === 'registry' ? C.DEFAULT_REGISTRY_LISTEN : serviceName !== undefined ? C.DEFAULT_SERVICE_LISTEN : [],
    defaultDoc: `registries: ${code(C.DEFAULT_REGISTRY_LISTEN)}; services with a name: ${code(C.DEFAULT_SERVICE_LISTEN)} (free ports); discovery-only nodes: ${code([])}`,
    check: multiaddrs
  },
  announce: {
    doc: 'Multiaddrs to publish instead of the listen addresses (behind NAT or a proxy).',
    default: C.DEFAULT_ANNOUNCE,
    check: multiaddrs
  },
  dataDir: {
    doc: 'Where the identity key (`peer.key`, mode 0600) and, for registries, the record store live. `false` keeps everything in memory (a new peer ID each start). One node per directory: a second one gets `DataDirLockedError`.',
    default: ({ nodeType, network, serviceName }) => nodeType === 'registry' ? dataDirOf(network, 'registry') : serviceName !== undefined ? dataDirOf(network, serviceName) : false,
    defaultDoc: `registries: ${code(dataDirOf('<network>', 'registry'))}; services with a name: ${code(dataDirOf('<network>', '<name>'))}; discovery-only nodes: ${code(false)}`,
    check: (value, option) => {
      if (value !== false && (typeof value !== 'string' || value === '')) {
        throw new InvalidOptionsError('Option "dataDir" must be a directory path, or false to keep everything in memory', { option })
      }

      return value
    }
  },
  privateKey: {
    doc: 'A libp2p `PrivateKey` to use as the identity; an Ed25519 key, the only type netget records accept.',
    defaultDoc: 'the key in `dataDir` (created on first start), or a new one on every start when `dataDir` is `false`',
    check: (value, option) => {
      if (typeof (value as Partial<PrivateKey> | null)?.sign !== 'function') {
        throw new InvalidOptionsError('Option "privateKey" must be a libp2p PrivateKey (from @libp2p/crypto/keys)', { option })
      }

      if ((value as PrivateKey).type !== 'Ed25519') {
        throw new InvalidOptionsError(`Option "privateKey" must be an Ed25519 key (generateKeyPair('Ed25519')); netget records signed by a ${String((value as PrivateKey).type)} key are refused by every reader`, { option })
      }

      return value as PrivateKey
    }
  },
  recordTtl: {
    doc: 'How long a published record stays valid (at most 24 h).',
    unit: 'ms',
    default: C.DEFAULT_RECORD_TTL,
    check: (value, option) => {
      const ttl = duration(value, option)

      if (ttl > C.MAX_RECORD_TTL) {
        throw new InvalidOptionsError(`Option "recordTtl" must be at most ${C.MAX_RECORD_TTL} (24 hours), got ${ttl}`, { option })
      }

      return ttl
    }
  },
  reannounceInterval: {
    doc: 'How often a service re-publishes its record (less than `recordTtl`).',
    unit: 'ms',
    default: ({ recordTtl }) => Math.min(C.DEFAULT_REANNOUNCE_INTERVAL, Math.floor(recordTtl / 3)),
    defaultDoc: `${code(C.DEFAULT_REANNOUNCE_INTERVAL)}, or a third of \`recordTtl\` when that is less`,
    check: duration
  },
  reannounceJitter: {
    doc: 'Random spread of each re-announce, as a fraction of the interval (0–0.5).',
    unit: 'fraction',
    default: C.DEFAULT_REANNOUNCE_JITTER,
    check: (value, option) => {
      if (typeof value !== 'number' || !(value >= 0 && value <= 0.5)) {
        throw new InvalidOptionsError(`Option "reannounceJitter" must be a number from 0 to 0.5, got ${preview(value)}`, { option })
      }

      return value
    }
  },
  healthInterval: {
    doc: 'How often tracked instances are pinged.',
    unit: 'ms',
    default: C.DEFAULT_HEALTH_INTERVAL,
    check: duration
  },
  healthTimeout: {
    doc: 'How long one ping may take.',
    unit: 'ms',
    default: C.DEFAULT_HEALTH_TIMEOUT,
    check: duration
  },
  healthFailureThreshold: {
    doc: 'Failed pings in a row after which a healthy instance is unhealthy.',
    unit: 'pings',
    default: C.DEFAULT_HEALTH_FAILURE_THRESHOLD,
    check: count
  },
  checks: {
    doc: `Checks a service node runs on what it fronts: \`{ http: URL, expect? }\` (2xx passes, 429 warns), \`{ tcp: 'host:port' }\`, \`{ run: signal => boolean }\`, each with optional \`name\`, \`interval\` (ms, default ${literal(C.DEFAULT_CHECK_INTERVAL)}), \`timeout\` (ms, default ${literal(C.DEFAULT_CHECK_TIMEOUT)}); at most ${C.MAX_CHECKS}. Their status is published in the record; see [Checks](#checks).`,
    default: [],
    check: resolveChecks
  },
  deregisterCriticalAfter: {
    doc: 'How long the checks may stay `critical` before the service withdraws its record (it keeps checking and announces again when they pass); `0`: never.',
    unit: 'ms',
    default: C.DEFAULT_DEREGISTER_CRITICAL_AFTER,
    check: (value, option) => {
      if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
        throw new InvalidOptionsError(`Option "deregisterCriticalAfter" must be a number of milliseconds, 0 or more (0: never withdraw), got ${preview(value)}`, { option })
      }

      return value
    }
  },
  operationTimeout: {
    doc: 'Timeout of a public call made without a signal.',
    unit: 'ms',
    default: C.DEFAULT_OPERATION_TIMEOUT,
    check: duration
  },
  requestTimeout: {
    doc: 'Timeout of one lookup at one registry.',
    unit: 'ms',
    default: C.DEFAULT_REQUEST_TIMEOUT,
    check: duration
  },
  dialTimeout: {
    doc: 'Timeout of one dial to a registry.',
    unit: 'ms',
    default: C.DEFAULT_DIAL_TIMEOUT,
    check: duration
  },
  redialMinDelay: {
    doc: 'First delay before redialling a lost registry; it doubles, with jitter, up to `redialMaxDelay`, for as long as the node runs.',
    unit: 'ms',
    default: C.DEFAULT_REDIAL_MIN_DELAY,
    check: duration
  },
  redialMaxDelay: {
    doc: 'Longest delay between redials of a lost registry (not less than `redialMinDelay`).',
    unit: 'ms',
    default: ({ redialMinDelay }) => Math.max(C.DEFAULT_REDIAL_MAX_DELAY, redialMinDelay),
    defaultDoc: `${code(C.DEFAULT_REDIAL_MAX_DELAY)}, or \`redialMinDelay\` when that is more`,
    check: duration
  },
  recordCleanupInterval: {
    doc: 'How often a registry deletes expired records.',
    unit: 'ms',
    default: C.DEFAULT_RECORD_CLEANUP_INTERVAL,
    check: duration
  },
  syncInterval: {
    doc: 'How often a registry reconciles its records with each connected peer registry (also on connecting; accepted records are pushed at once).',
    unit: 'ms',
    default: C.DEFAULT_SYNC_INTERVAL,
    check: duration
  },
  storeQuotas: {
    doc: 'A registry\'s storage quotas and put rate, each one given replacing its default: `maxRecords`, `maxBytes`, `maxRecordsPerName`, `maxRecordsPerSigner`, `maxRecordsPerAddress`, `maxRecordsPerConnection`, `maxRecordsPerRemoteAddress`, `maxRelayedRecords`, `maxRelayedRecordsPerName`, `putsPerSecond`, `putBurst`; see [docs/RELIABILITY.md](docs/RELIABILITY.md#flood).',
    defaultDoc: `each quota's own: ${C.DEFAULT_MAX_RECORDS_PER_CONNECTION} records per connection, ${C.DEFAULT_PUTS_PER_SECOND} puts/s per connection (burst ${C.DEFAULT_PUT_BURST}), …`,
    check: (value, option) => {
      if (!isPlainObject(value)) {
        throw new InvalidOptionsError('Option "storeQuotas" must be an object like { maxRecordsPerConnection: 256 }', { option })
      }

      for (const [quota, limit] of Object.entries(value)) {
        if (!STORE_QUOTAS.includes(quota)) {
          throw new InvalidOptionsError(`Option "storeQuotas": unknown quota ${preview(quota)}; the quotas are ${STORE_QUOTAS.join(', ')}`, { option })
        }

        if (limit !== undefined && (typeof limit !== 'number' || !(limit > 0) || (quota !== 'putsPerSecond' && !Number.isSafeInteger(limit)))) {
          throw new InvalidOptionsError(`Option "storeQuotas": "${quota}" must be ${quota === 'putsPerSecond' ? 'a positive number' : 'a whole number of at least 1'}, got ${preview(limit)}`, { option })
        }
      }

      return { ...value } as Partial<StoreQuotas>
    }
  },
  maxConnections: {
    doc: `Connection limit. Registries also accept ${C.REGISTRY_INBOUND_CONNECTION_THRESHOLD} new connections per second from one IP (many peers behind one NAT).`,
    unit: 'connections',
    default: ({ nodeType }) => nodeType === 'registry' ? C.REGISTRY_MAX_CONNECTIONS : C.SERVICE_MAX_CONNECTIONS,
    defaultDoc: `registries: ${code(C.REGISTRY_MAX_CONNECTIONS)}; others: ${code(C.SERVICE_MAX_CONNECTIONS)}`,
    check: count
  },
  connectionGater: {
    doc: 'A libp2p connection gater deciding which peers and addresses this node may dial or accept.',
    defaultDoc: 'none in Node; in a browser, the page\'s dial policy (`dialPolicy`)',
    check: (value, option) => {
      if (typeof value !== 'object' || value === null) {
        throw new InvalidOptionsError('Option "connectionGater" must be a libp2p ConnectionGater: an object of optional deny* functions', { option })
      }

      return value as ConnectionGater
    }
  },
  authority: {
    doc: 'The peer ID of a closed network\'s authority: only holders of a credential it signed may publish; see [Closed networks](#closed-networks).',
    defaultDoc: 'the network\'s `authority` in bootstrap.json; none (an open network)',
    check: (value, option) => {
      if (!isPeerIdString(value)) {
        throw new InvalidOptionsError(`Option "authority" must be the peer ID of the network's authority (12D3KooW...), got ${preview(value)}`, { option })
      }

      return value
    }
  },
  credential: {
    doc: 'This node\'s credential on a closed network: a file written by `netget-peer network grant` (a replaced file is picked up), or its bytes.',
    defaultDoc: 'none',
    check: (value, option) => {
      if (!(value instanceof Uint8Array) && (typeof value !== 'string' || value === '')) {
        throw new InvalidOptionsError('Option "credential" must be the path of a credential file or the credential\'s bytes (a Uint8Array)', { option })
      }

      return value
    }
  },
  readRestricted: {
    doc: 'Registries of a closed network: refuse lookups and DHT requests from peers that presented no valid credential.',
    default: false,
    check: (value, option) => {
      if (typeof value !== 'boolean') {
        throw new InvalidOptionsError(`Option "readRestricted" must be true or false, got ${preview(value)}`, { option })
      }

      return value
    }
  },
  trustRefreshInterval: {
    doc: 'On a closed network, how often the credential file is checked for a replacement.',
    unit: 'ms',
    default: C.DEFAULT_TRUST_REFRESH_INTERVAL,
    check: duration
  },
  revocationRefreshInterval: {
    doc: 'On a closed network, how often revocations are fetched from the registries.',
    unit: 'ms',
    default: C.DEFAULT_REVOCATION_REFRESH_INTERVAL,
    check: duration
  },
  metrics: {
    doc: 'Prometheus metrics (Node): `true` keeps the libp2p stack\'s and netget\'s metrics in a prom-client registry of the node\'s own; a prom-client `Registry` adds them to the application\'s (one node per registry). Read with `await node.metrics()`; a registry\'s HTTP port serves them at `/metrics`. Needs `prom-client` and `@libp2p/prometheus-metrics`.',
    default: false,
    check: (value, option) => {
      if (typeof value === 'boolean' || (typeof value === 'object' && value !== null && typeof (value as { metrics?: unknown }).metrics === 'function' && typeof (value as { getSingleMetric?: unknown }).getSingleMetric === 'function')) {
        return value as boolean | PromRegistry
      }

      throw new InvalidOptionsError(`Option "metrics" must be true, false or a prom-client Registry, got ${preview(value)}`, { option })
    }
  }
}

/** The rules between options, checked in this order after every default is applied. */
export const OPTION_RULES: readonly OptionRule[] = [
  {
    doc: '`networks` is for registries, and its first network is `network`.',
    check: ({ networks, network, nodeType }) => {
      if (networks === undefined) {
        return
      }

      if (nodeType !== 'registry' && networks.length > 1) {
        throw new InvalidOptionsError('Option "networks": only a registry node serves several networks; a service node joins one (option "network")', { option: 'networks' })
      }

      if (networks[0].network !== network) {
        throw new InvalidOptionsError(`Option "network" ("${network}") must be the first of "networks" ("${networks[0].network}"), or be left out`, { option: 'network' })
      }
    }
  },
  {
    doc: '`reannounceInterval` must be less than `recordTtl`, or records expire between announcements.',
    check: ({ reannounceInterval, recordTtl }) => {
      if (reannounceInterval >= recordTtl) {
        throw new InvalidOptionsError(`Option "reannounceInterval" (${reannounceInterval}) must be less than "recordTtl" (${recordTtl}), or records expire between announcements`, { option: 'reannounceInterval' })
      }
    }
  },
  {
    doc: '`checks` need a service to check: a node with `metadata.name` (not a registry).',
    check: ({ checks, nodeType, serviceName }) => {
      if (checks.length > 0 && (nodeType === 'registry' || serviceName === undefined)) {
        throw new InvalidOptionsError(`Option "checks" is for a service node that publishes a service: ${nodeType === 'registry' ? 'a registry node publishes none' : 'give metadata: { name: "MyService" }'}`, { option: 'checks' })
      }
    }
  },
  {
    doc: '`redialMaxDelay` must not be less than `redialMinDelay`.',
    check: ({ redialMaxDelay, redialMinDelay }) => {
      if (redialMaxDelay < redialMinDelay) {
        throw new InvalidOptionsError(`Option "redialMaxDelay" (${redialMaxDelay}) must not be less than "redialMinDelay" (${redialMinDelay})`, { option: 'redialMaxDelay' })
      }
    }
  }
]

/** Checks option `networks`: a non-empty list of distinct networks, each a name or an object of that network's settings. */
function servedNetworks (value: unknown, option: string): ServedNetwork[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > C.MAX_SERVED_NETWORKS) {
    throw new InvalidOptionsError(`Option "networks" must be a list of 1 to ${C.MAX_SERVED_NETWORKS} networks, each a name like "production" or { network: "production", authority: "12D3KooW..." }, got ${preview(value)}`, { option })
  }

  const names = new Set<string>()

  return value.map((entry: unknown, i) => {
    const at = `${option}[${i}]`
    const given: Record<string, unknown> = typeof entry === 'string' ? { network: entry } : isPlainObject(entry) ? entry : {}

    if (typeof entry !== 'string' && !isPlainObject(entry)) {
      throw new InvalidOptionsError(`Option "${at}" must be a network name or an object like { network: "production" }, got ${preview(entry)}`, { option: at })
    }

    for (const key of Object.keys(given)) {
      if (!SERVED_NETWORK_OPTIONS.includes(key)) {
        throw new InvalidOptionsError(`Option "${at}": unknown setting ${preview(key)}; a network takes ${SERVED_NETWORK_OPTIONS.join(', ')}`, { option: at })
      }
    }

    assertNetworkName(given.network, `${at}.network`)

    if (names.has(given.network)) {
      throw new InvalidOptionsError(`Option "${option}" names network "${given.network}" twice`, { option: at })
    }

    names.add(given.network)
    const served: ServedNetwork = { network: given.network }

    for (const key of ['authority', 'credential', 'readRestricted', 'storeQuotas', 'registryNodes'] as const) {
      if (given[key] !== undefined) {
        (served as unknown as Record<string, unknown>)[key] = (OPTIONS[key].check as (value: unknown, option: string) => unknown)(given[key], `${at}.${key}`)
      }
    }

    return served
  })
}

/** The settings one entry of `networks` takes. */
const SERVED_NETWORK_OPTIONS: readonly string[] = ['network', 'authority', 'credential', 'readRestricted', 'storeQuotas', 'registryNodes'] satisfies Array<keyof ServedNetwork>

/** The options in table order, typed for iteration. */
export function optionEntries (): Array<[OptionName, OptionSpec<OptionName>]> {
  return Object.entries(OPTIONS) as Array<[OptionName, OptionSpec<OptionName>]>
}

/**
 * An option's default as the README and its TSDoc `@default` show it
 * (markdown): the literal of a fixed default, else its `defaultDoc`.
 */
export function defaultText (spec: OptionSpec<OptionName>): string {
  return spec.defaultDoc ?? code(spec.default)
}

/** The default data directory of a node named `name` on `network`. */
function dataDirOf (network: string, name: string): string {
  return `${C.DATA_DIR_ROOT}/${network}/${name}`
}

/** A value as TypeScript source in markdown code: `'development'`, `600_000`, `['/ip4/…']`, `false`. */
function code (value: unknown): string {
  return `\`${literal(value)}\``
}

function literal (value: unknown): string {
  if (typeof value === 'string') {
    return `'${value}'`
  }

  if (typeof value === 'number' && Number.isSafeInteger(value)) {
    // digit groups as in the source: 600_000
    return String(value).replace(/\B(?=(\d{3})+$)/g, '_')
  }

  if (Array.isArray(value)) {
    return `[${value.map(literal).join(', ')}]`
  }

  return String(value)
}

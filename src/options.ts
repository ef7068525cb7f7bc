import { multiaddr } from '@multiformats/multiaddr'
import * as C from './constants.js'
import { InvalidOptionsError } from './errors.js'
import { assertNetworkName, assertServiceName } from './protocol/names.js'
import { isPlainObject } from './records/record.js'
import type { ServiceMetadata } from './records/record.js'
import type { ConnectionGater, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { preview } from './text.js'

/** The two kinds of netget node. */
export type NodeType = 'service' | 'registry'

/**
 * Options of `new Netget()`. Every one is optional; durations are in
 * milliseconds.
 */
export interface NetgetInit {
  /**
   * `service`: a node that may publish one service and discover others (a
   * DHT client). `registry`: a stable DHT server that stores records and
   * answers lookups.
   *
   * @default 'service'
   */
  nodeType?: NodeType
  /** The service this node publishes; `metadata.name` is its name. Any JSON object up to 8 KiB. */
  metadata?: ServiceMetadata
  /**
   * The network to join: `development`, `production` or any name of 1 to 32
   * lowercase letters, digits and inner dashes.
   *
   * @default 'development'
   */
  network?: string
  /** Registry multiaddrs, each ending in `/p2p/<peer id>`. @default the network's list in bootstrap.json */
  registryNodes?: Array<string | Multiaddr>
  /** A bootstrap.json to read instead of the default (see README). @default $NETGET_BOOTSTRAP, ./bootstrap.json, or the packaged file */
  bootstrapFile?: string
  /** Multiaddrs to listen on. @default registries: TCP 4001 and WebSockets 4002 on all interfaces; services: random TCP and WebSockets ports; discovery-only nodes: none */
  listen?: string[]
  /** Multiaddrs to publish instead of the listen addresses (for NAT or proxies). @default [] */
  announce?: string[]
  /**
   * Where the node keeps its identity key (and, for registries, its records).
   * `false` keeps everything in memory (a new peer ID on every start).
   *
   * @default registries: `.netget/<network>/registry`; services with a name: `.netget/<network>/<name>`; discovery-only nodes: false
   */
  dataDir?: string | false
  /** Use this key as the node's identity instead of the one in `dataDir`. */
  privateKey?: PrivateKey
  /** How long a published record stays valid. @default 600_000 (10 minutes); at most 24 hours */
  recordTtl?: number
  /** How often a service re-publishes its record; must be less than `recordTtl`. @default 180_000 */
  reannounceInterval?: number
  /** Random spread of each re-announce, as a fraction of the interval (0 to 0.5). @default 0.1 */
  reannounceJitter?: number
  /** How often tracked instances are pinged. @default 10_000 */
  healthInterval?: number
  /** How long one health ping may take. @default 2_000 */
  healthTimeout?: number
  /** Failed pings in a row after which a healthy instance is unhealthy. @default 3 */
  healthFailureThreshold?: number
  /** Timeout of a public operation called without a signal. @default 10_000 */
  operationTimeout?: number
  /** Timeout of one request to one registry. @default 3_000 */
  requestTimeout?: number
  /** Timeout of one dial to a registry. @default 5_000 */
  dialTimeout?: number
  /** First delay before redialling a lost registry (doubles up to `redialMaxDelay`). @default 500 */
  redialMinDelay?: number
  /** Longest delay between redials of a lost registry. @default 30_000 */
  redialMaxDelay?: number
  /** How often a registry deletes expired records. @default 60_000 */
  recordCleanupInterval?: number
  /** Most open connections. @default registries 2_000, others 300 */
  maxConnections?: number
  /**
   * A libp2p connection gater deciding which peers and addresses this node
   * may dial or accept. @default none in Node; in a browser, the page's dial
   * policy (see the README, "Browser")
   */
  connectionGater?: ConnectionGater
}

/** Options after validation, with every default applied. */
export interface NetgetConfig {
  nodeType: NodeType
  metadata?: ServiceMetadata
  serviceName?: string
  network: string
  registryNodes?: Array<string | Multiaddr>
  bootstrapFile?: string
  listen: string[]
  announce: string[]
  dataDir: string | false
  privateKey?: PrivateKey
  recordTtl: number
  reannounceInterval: number
  reannounceJitter: number
  healthInterval: number
  healthTimeout: number
  healthFailureThreshold: number
  operationTimeout: number
  requestTimeout: number
  dialTimeout: number
  redialMinDelay: number
  redialMaxDelay: number
  recordCleanupInterval: number
  maxConnections: number
  connectionGater?: ConnectionGater
}

const KNOWN_OPTIONS = new Set([
  'nodeType', 'metadata', 'network', 'registryNodes', 'bootstrapFile', 'listen', 'announce', 'dataDir', 'privateKey',
  'recordTtl', 'reannounceInterval', 'reannounceJitter', 'healthInterval', 'healthTimeout', 'healthFailureThreshold',
  'operationTimeout', 'requestTimeout', 'dialTimeout', 'redialMinDelay', 'redialMaxDelay', 'recordCleanupInterval', 'maxConnections', 'connectionGater'
])

/**
 * Checks `new Netget()` options and applies the defaults. Throws
 * InvalidOptionsError naming the option, what it got and what it takes.
 */
export function normalizeOptions (init: NetgetInit = {}): NetgetConfig {
  if (!isPlainObject(init)) {
    throw new InvalidOptionsError('Netget options must be an object, like { network: "production" }')
  }

  for (const key of Object.keys(init)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new InvalidOptionsError(`Unknown option ${preview(key)}; see the README for the options new Netget() takes`)
    }
  }

  const nodeType = init.nodeType ?? 'service'

  if (nodeType !== 'service' && nodeType !== 'registry') {
    throw new InvalidOptionsError(`Option "nodeType" must be "service" or "registry", got ${preview(nodeType)}`)
  }

  const network = init.network ?? C.DEFAULT_NETWORK
  assertNetworkName(network)

  const metadata = init.metadata === undefined ? undefined : checkMetadata(init.metadata)
  const serviceName = metadata?.name as string | undefined

  if (init.registryNodes !== undefined && !Array.isArray(init.registryNodes)) {
    throw new InvalidOptionsError('Option "registryNodes" must be an array of multiaddrs ending in /p2p/<peer id>')
  }

  if (init.bootstrapFile !== undefined && (typeof init.bootstrapFile !== 'string' || init.bootstrapFile === '')) {
    throw new InvalidOptionsError('Option "bootstrapFile" must be the path of a bootstrap.json file')
  }

  const defaultListen = nodeType === 'registry' ? C.DEFAULT_REGISTRY_LISTEN : serviceName !== undefined ? C.DEFAULT_SERVICE_LISTEN : []
  const listen = checkMultiaddrs(init.listen ?? defaultListen, 'listen')
  const announce = checkMultiaddrs(init.announce ?? [], 'announce')

  if (init.dataDir !== undefined && init.dataDir !== false && (typeof init.dataDir !== 'string' || init.dataDir === '')) {
    throw new InvalidOptionsError('Option "dataDir" must be a directory path, or false to keep everything in memory')
  }

  const defaultDataDir = nodeType === 'registry' ? `.netget/${network}/registry` : serviceName !== undefined ? `.netget/${network}/${serviceName}` : false
  const dataDir = init.dataDir ?? defaultDataDir

  if (init.privateKey !== undefined && typeof (init.privateKey as Partial<PrivateKey> | null)?.sign !== 'function') {
    throw new InvalidOptionsError('Option "privateKey" must be a libp2p PrivateKey (from @libp2p/crypto/keys)')
  }

  const recordTtl = duration(init, 'recordTtl', C.DEFAULT_RECORD_TTL)

  if (recordTtl > C.MAX_RECORD_TTL) {
    throw new InvalidOptionsError(`Option "recordTtl" must be at most ${C.MAX_RECORD_TTL} (24 hours), got ${recordTtl}`)
  }

  const reannounceInterval = duration(init, 'reannounceInterval', Math.min(C.DEFAULT_REANNOUNCE_INTERVAL, Math.floor(recordTtl / 3)))

  if (reannounceInterval >= recordTtl) {
    throw new InvalidOptionsError(`Option "reannounceInterval" (${reannounceInterval}) must be less than "recordTtl" (${recordTtl}), or records expire between announcements`)
  }

  const reannounceJitter = init.reannounceJitter ?? C.DEFAULT_REANNOUNCE_JITTER

  if (typeof reannounceJitter !== 'number' || !(reannounceJitter >= 0 && reannounceJitter <= 0.5)) {
    throw new InvalidOptionsError(`Option "reannounceJitter" must be a number from 0 to 0.5, got ${preview(reannounceJitter)}`)
  }

  const redialMinDelay = duration(init, 'redialMinDelay', C.DEFAULT_REDIAL_MIN_DELAY)
  const redialMaxDelay = duration(init, 'redialMaxDelay', Math.max(C.DEFAULT_REDIAL_MAX_DELAY, redialMinDelay))

  if (redialMaxDelay < redialMinDelay) {
    throw new InvalidOptionsError(`Option "redialMaxDelay" (${redialMaxDelay}) must not be less than "redialMinDelay" (${redialMinDelay})`)
  }

  return {
    nodeType,
    metadata,
    serviceName,
    network,
    registryNodes: init.registryNodes,
    bootstrapFile: init.bootstrapFile,
    listen,
    announce,
    dataDir,
    privateKey: init.privateKey as PrivateKey | undefined,
    recordTtl,
    reannounceInterval,
    reannounceJitter,
    healthInterval: duration(init, 'healthInterval', C.DEFAULT_HEALTH_INTERVAL),
    healthTimeout: duration(init, 'healthTimeout', C.DEFAULT_HEALTH_TIMEOUT),
    healthFailureThreshold: count(init, 'healthFailureThreshold', C.DEFAULT_HEALTH_FAILURE_THRESHOLD),
    operationTimeout: duration(init, 'operationTimeout', C.DEFAULT_OPERATION_TIMEOUT),
    requestTimeout: duration(init, 'requestTimeout', C.DEFAULT_REQUEST_TIMEOUT),
    dialTimeout: duration(init, 'dialTimeout', C.DEFAULT_DIAL_TIMEOUT),
    redialMinDelay,
    redialMaxDelay,
    recordCleanupInterval: duration(init, 'recordCleanupInterval', C.DEFAULT_RECORD_CLEANUP_INTERVAL),
    maxConnections: count(init, 'maxConnections', nodeType === 'registry' ? C.REGISTRY_MAX_CONNECTIONS : C.SERVICE_MAX_CONNECTIONS),
    connectionGater: checkGater(init.connectionGater)
  }
}

/** Checks service metadata: a JSON object, a valid `name` if any, at most 8 KiB. */
export function checkMetadata (metadata: unknown): Record<string, unknown> {
  if (!isPlainObject(metadata)) {
    throw new InvalidOptionsError('Option "metadata" must be an object like { name: "DatabaseService", version: "1.4.0" }')
  }

  if (metadata.name !== undefined) {
    assertServiceName(metadata.name)
  }

  let json: string

  try {
    json = JSON.stringify(metadata)
  } catch (err) {
    // first line only: V8's circular-structure message spans several
    throw new InvalidOptionsError(`Option "metadata" must be JSON-serialisable: ${(err as Error).message.split('\n')[0]}`, { cause: err })
  }

  const size = new TextEncoder().encode(json).byteLength

  if (size > C.MAX_METADATA_BYTES) {
    throw new InvalidOptionsError(`Option "metadata" is ${size} bytes as JSON; at most ${C.MAX_METADATA_BYTES} are allowed — publish a URL to larger data instead`)
  }

  return JSON.parse(json)
}

function checkMultiaddrs (value: unknown, option: string): string[] {
  if (!Array.isArray(value)) {
    throw new InvalidOptionsError(`Option "${option}" must be an array of multiaddr strings like "/ip4/0.0.0.0/tcp/4001"`)
  }

  return value.map((entry: unknown) => {
    try {
      return multiaddr(entry as string).toString()
    } catch (err) {
      throw new InvalidOptionsError(`Option "${option}": ${preview(entry)} is not a valid multiaddr (like "/ip4/0.0.0.0/tcp/4001")`, { cause: err })
    }
  })
}

function duration (init: NetgetInit, option: keyof NetgetInit, fallback: number): number {
  const value = init[option] ?? fallback

  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new InvalidOptionsError(`Option "${option}" must be a positive number of milliseconds, got ${preview(value)}`)
  }

  return value
}

function count (init: NetgetInit, option: keyof NetgetInit, fallback: number): number {
  const value = init[option] ?? fallback

  if (!Number.isSafeInteger(value) || (value as number) < 1) {
    throw new InvalidOptionsError(`Option "${option}" must be a whole number of at least 1, got ${preview(value)}`)
  }

  return value as number
}

function checkGater (value: unknown): ConnectionGater | undefined {
  if (value !== undefined && (typeof value !== 'object' || value === null)) {
    throw new InvalidOptionsError('Option "connectionGater" must be a libp2p ConnectionGater: an object of optional deny* functions')
  }

  return value as ConnectionGater | undefined
}

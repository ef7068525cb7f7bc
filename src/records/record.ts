import { RecordEnvelope } from '@libp2p/peer-record'
import { multiaddr } from '@multiformats/multiaddr'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { MAX_CREDENTIAL_BYTES, MAX_METADATA_BYTES, MAX_RECORD_MULTIADDRS, NETWORK_ID_PATTERN, SERVICE_NAME_PATTERN } from '../constants.js'
import { InvalidRecordError } from '../errors.js'
import type { PrivateKey, Record as Libp2pSignedRecord } from '@libp2p/interface'

/** Domain string every netget record signature is bound to. */
export const RECORD_DOMAIN = 'netget-service-record'

/** Payload type of a netget record envelope: the UTF-8 bytes of `/netget/service-record/1`. */
export const RECORD_PAYLOAD_TYPE = uint8ArrayFromString('/netget/service-record/1')

/** Version number carried in every record payload. */
export const RECORD_VERSION = 1

/**
 * A service's status as its record carries it: the aggregate of the
 * publisher's own checks, with Consul's meaning (any critical check makes it
 * `critical`, else any warning `warning`).
 */
export type CheckStatus = 'passing' | 'warning' | 'critical'

/** A service's metadata: any JSON object; `name` is the service name. */
export type ServiceMetadata = Record<string, unknown>

/** One service instance as its publisher describes it. */
export interface ServiceRecord {
  /** The network the record belongs to. */
  network: string
  /** The service name (`metadata.name`). */
  name: string
  /** The publisher's peer ID, base58btc string. */
  peerId: string
  /** Where the instance can be dialled, each ending in `/p2p/<peerId>`. */
  multiaddrs: string[]
  /** Free-form JSON metadata. */
  metadata: ServiceMetadata
  /** Sequence number; a reader keeps the highest it has seen. */
  seq: number
  /** Unix time in milliseconds after which the record is void. */
  expiresAt: number
  /** True for the tombstone a stopping instance publishes. */
  withdrawn: boolean
  /** On a closed network: the publisher's credential envelope, signed by the network's authority. */
  credential?: Uint8Array
  /**
   * The aggregate status of the publisher's service checks. Absent in
   * records of writers without checks (or older than the field), which
   * readers take as `passing`; a string other than the three is read as
   * `critical` (docs/PROTOCOL.md, §4.1).
   */
  status?: CheckStatus
}

/** The values of a record's `status`. */
const RECORD_STATUSES: readonly string[] = ['passing', 'warning', 'critical'] satisfies CheckStatus[]

/**
 * The payload of a record envelope, in the shape @libp2p/peer-record's
 * `RecordEnvelope.seal` takes.
 */
class ServiceRecordPayload implements Libp2pSignedRecord {
  readonly domain = RECORD_DOMAIN
  readonly codec = RECORD_PAYLOAD_TYPE
  private readonly bytes: Uint8Array

  constructor (bytes: Uint8Array) {
    this.bytes = bytes
  }

  marshal (): Uint8Array {
    return this.bytes
  }

  equals (other: unknown): boolean {
    return other instanceof ServiceRecordPayload && uint8ArrayEquals(this.bytes, other.bytes)
  }
}

/** Encodes a record as the UTF-8 JSON payload described in docs/PROTOCOL.md. */
export function encodeRecord (record: ServiceRecord): Uint8Array {
  return uint8ArrayFromString(JSON.stringify({
    v: RECORD_VERSION,
    network: record.network,
    name: record.name,
    peerId: record.peerId,
    multiaddrs: record.multiaddrs,
    metadata: record.metadata,
    seq: record.seq,
    expiresAt: record.expiresAt,
    withdrawn: record.withdrawn,
    credential: record.credential === undefined ? undefined : uint8ArrayToString(record.credential, 'base64url'),
    status: record.status
  }))
}

/**
 * Decodes and shape-checks a record payload. Throws InvalidRecordError naming
 * the first field that is wrong. Checks nothing that needs the key, the
 * signature or the clock.
 */
export function decodeRecord (payload: Uint8Array): ServiceRecord {
  let parsed: unknown

  try {
    parsed = JSON.parse(uint8ArrayToString(payload))
  } catch (err) {
    throw new InvalidRecordError('Record payload is not valid UTF-8 JSON', { cause: err })
  }

  if (!isPlainObject(parsed)) {
    throw new InvalidRecordError('Record payload is not a JSON object')
  }

  const { v, network, name, peerId, multiaddrs, metadata, seq, expiresAt, withdrawn, credential, status } = parsed

  if (v !== RECORD_VERSION) {
    // never String(v): a deeply nested array overflows the stack when printed
    throw new InvalidRecordError(`Record version ${typeof v === 'number' ? v : typeof v} is not supported (expected ${RECORD_VERSION})`)
  }

  if (typeof network !== 'string' || !NETWORK_ID_PATTERN.test(network)) {
    throw new InvalidRecordError('Record field "network" is missing or not a valid network name')
  }

  if (typeof name !== 'string' || !SERVICE_NAME_PATTERN.test(name)) {
    throw new InvalidRecordError('Record field "name" is missing or not a valid service name')
  }

  if (typeof peerId !== 'string' || peerId.length === 0) {
    throw new InvalidRecordError('Record field "peerId" is missing')
  }

  if (!Array.isArray(multiaddrs) || multiaddrs.length > MAX_RECORD_MULTIADDRS || !multiaddrs.every(isMultiaddrString)) {
    throw new InvalidRecordError(`Record field "multiaddrs" must be an array of at most ${MAX_RECORD_MULTIADDRS} valid multiaddr strings`)
  }

  if (!(multiaddrs as string[]).every(address => dialsPeer(address, peerId))) {
    throw new InvalidRecordError('Record field "multiaddrs" has an address of another peer: a "/p2p/" part must name the record\'s own peer ID')
  }

  if (!isPlainObject(metadata)) {
    throw new InvalidRecordError('Record field "metadata" must be a JSON object')
  }

  if (metadata.name !== undefined && metadata.name !== name) {
    throw new InvalidRecordError('Record field "metadata.name" differs from "name"')
  }

  let metadataJson: string

  try {
    metadataJson = JSON.stringify(metadata)
  } catch (err) {
    // JSON.parse takes nesting that JSON.stringify cannot print back (RangeError)
    throw new InvalidRecordError('Record field "metadata" is nested too deeply', { cause: err })
  }

  if (uint8ArrayFromString(metadataJson).byteLength > MAX_METADATA_BYTES) {
    throw new InvalidRecordError(`Record metadata is larger than ${MAX_METADATA_BYTES} bytes`)
  }

  if (!Number.isSafeInteger(seq) || (seq as number) < 0) {
    throw new InvalidRecordError('Record field "seq" must be a non-negative safe integer')
  }

  if (!Number.isSafeInteger(expiresAt) || (expiresAt as number) <= 0) {
    throw new InvalidRecordError('Record field "expiresAt" must be a positive safe integer (Unix ms)')
  }

  if (typeof withdrawn !== 'boolean') {
    throw new InvalidRecordError('Record field "withdrawn" must be a boolean')
  }

  if (credential !== undefined && (typeof credential !== 'string' || credential.length > MAX_CREDENTIAL_BYTES * 2 || !/^[A-Za-z0-9_-]*$/.test(credential))) {
    throw new InvalidRecordError('Record field "credential" must be a base64url string of a credential envelope')
  }

  if (status !== undefined && typeof status !== 'string') {
    throw new InvalidRecordError('Record field "status" must be a string: "passing", "warning" or "critical"')
  }

  return {
    network,
    name,
    peerId,
    multiaddrs: multiaddrs as string[],
    metadata,
    seq: seq as number,
    expiresAt: expiresAt as number,
    withdrawn,
    ...(credential === undefined ? {} : { credential: uint8ArrayFromString(credential as string, 'base64url') }),
    // a status this reader does not know (a newer writer's) is the worst it knows
    ...(status === undefined ? {} : { status: RECORD_STATUSES.includes(status) ? status as CheckStatus : 'critical' })
  }
}

/** Seals a record in a signed envelope and returns the envelope's protobuf bytes. */
export async function sealRecord (record: ServiceRecord, privateKey: PrivateKey): Promise<Uint8Array> {
  const envelope = await RecordEnvelope.seal(new ServiceRecordPayload(encodeRecord(record)), privateKey)
  return envelope.marshal()
}

/** True for a non-null object that is not an array. */
export function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** False if the address's last `/p2p/` part names a peer other than `peerId` (a record may not claim another peer's addresses). */
function dialsPeer (address: string, peerId: string): boolean {
  const named = multiaddr(address).getComponents().findLast(component => component.name === 'p2p')?.value
  return named === undefined || named === peerId
}

function isMultiaddrString (value: unknown): boolean {
  if (typeof value !== 'string' || value.length > 1024) {
    return false
  }

  try {
    multiaddr(value)
    return true
  } catch {
    return false
  }
}

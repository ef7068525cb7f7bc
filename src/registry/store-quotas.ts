import {
  DEFAULT_MAX_RECORDS_PER_ADDRESS,
  DEFAULT_MAX_RECORDS_PER_CONNECTION,
  DEFAULT_MAX_RECORDS_PER_NAME,
  DEFAULT_MAX_RECORDS_PER_REMOTE_ADDRESS,
  DEFAULT_MAX_RECORDS_PER_SIGNER,
  DEFAULT_MAX_RELAYED_RECORDS,
  DEFAULT_MAX_RELAYED_RECORDS_PER_NAME,
  DEFAULT_MAX_STORED_BYTES,
  DEFAULT_MAX_STORED_RECORDS,
  DEFAULT_PUT_BURST,
  DEFAULT_PUTS_PER_SECOND
} from '../constants.js'

/**
 * How much a registry stores, and how fast one connection may put. A record
 * is *direct* when the peer that delivered it (the remote peer of the kad
 * stream it came on) is its signer, *relayed* when another peer delivered it
 * (kad replication or a GET's correction by another DHT peer, a replay, or a
 * flood of records signed by throwaway keys), and *loaded* when it was read
 * from disk at start. When the deliverer is not known (a write of this node's
 * own), a record is direct if its signer is connected. Replacing a stored
 * record of the same key counts once.
 */
export interface StoreQuotas {
  /** Records of every service together. @default 100000 */
  maxRecords: number
  /** Envelope bytes of every service together. @default 268435456 (256 MiB) */
  maxBytes: number
  /** Records of one service name. @default 10000 */
  maxRecordsPerName: number
  /** Records signed by one key, over every service name. @default 64 */
  maxRecordsPerSigner: number
  /** Direct records whose signer was connected from one IP address. @default 5000 */
  maxRecordsPerAddress: number
  /** Records (direct or relayed) delivered through one connection. @default 256 */
  maxRecordsPerConnection: number
  /** Records (direct or relayed) delivered through connections from one remote IP address. @default 5000 */
  maxRecordsPerRemoteAddress: number
  /** Sustained record puts one connection may make, in puts per second (a token bucket). @default 20 */
  putsPerSecond: number
  /** Record puts one connection may make at once, before `putsPerSecond` applies. @default 100 */
  putBurst: number
  /** Relayed records of every service together. @default 10000 */
  maxRelayedRecords: number
  /** Relayed records of one service name. @default 1000 */
  maxRelayedRecordsPerName: number
}

/** Fills in the default of every quota not given. */
export function storeQuotas (init: Partial<StoreQuotas> = {}): StoreQuotas {
  return {
    maxRecords: init.maxRecords ?? DEFAULT_MAX_STORED_RECORDS,
    maxBytes: init.maxBytes ?? DEFAULT_MAX_STORED_BYTES,
    maxRecordsPerName: init.maxRecordsPerName ?? DEFAULT_MAX_RECORDS_PER_NAME,
    maxRecordsPerSigner: init.maxRecordsPerSigner ?? DEFAULT_MAX_RECORDS_PER_SIGNER,
    maxRecordsPerAddress: init.maxRecordsPerAddress ?? DEFAULT_MAX_RECORDS_PER_ADDRESS,
    maxRecordsPerConnection: init.maxRecordsPerConnection ?? DEFAULT_MAX_RECORDS_PER_CONNECTION,
    maxRecordsPerRemoteAddress: init.maxRecordsPerRemoteAddress ?? DEFAULT_MAX_RECORDS_PER_REMOTE_ADDRESS,
    putsPerSecond: init.putsPerSecond ?? DEFAULT_PUTS_PER_SECOND,
    putBurst: init.putBurst ?? DEFAULT_PUT_BURST,
    maxRelayedRecords: init.maxRelayedRecords ?? DEFAULT_MAX_RELAYED_RECORDS,
    maxRelayedRecordsPerName: init.maxRelayedRecordsPerName ?? DEFAULT_MAX_RELAYED_RECORDS_PER_NAME
  }
}

/** How a stored record came in: see {@link StoreQuotas}. */
export type RecordOrigin = 'direct' | 'relayed' | 'loaded'

/** What the quotas count of one stored record. */
export interface CountedRecord {
  name: string
  peerId: string
  /** Envelope bytes. */
  size: number
  origin: RecordOrigin
  /** Direct records: the IP address the signer was connected from. */
  address?: string
  /** The id of the connection that delivered it, when known. */
  connection?: string
  /** The remote IP address of the connection that delivered it, when known. */
  deliveredFrom?: string
}

/** A quota that would be exceeded, and how to say so. */
export interface QuotaRefusal {
  quota: keyof StoreQuotas
  reason: string
}

/** Counts what a registry stores against its {@link StoreQuotas}. */
export class StoreUsage {
  readonly quotas: StoreQuotas
  records = 0
  bytes = 0
  relayed = 0
  private readonly perName = new Map<string, { records: number, relayed: number }>()
  private readonly perSigner = new Map<string, number>()
  private readonly perAddress = new Map<string, number>()
  /** Stored records by the connection that delivered them; an entry goes when its count reaches 0 or the connection closes. */
  private readonly perConnection = new Map<string, number>()
  private readonly perRemoteAddress = new Map<string, number>()

  constructor (quotas: StoreQuotas) {
    this.quotas = quotas
  }

  /** Which quota storing `next` in place of `previous` (same key, if any) would exceed, or undefined. */
  refusal (next: CountedRecord, previous?: CountedRecord): QuotaRefusal | undefined {
    const q = this.quotas
    const name = this.perName.get(next.name) ?? { records: 0, relayed: 0 }
    const relayedNow = next.origin === 'relayed' && previous?.origin !== 'relayed'

    if (previous === undefined && this.records >= q.maxRecords) {
      return { quota: 'maxRecords', reason: `the registry stores ${this.records} records, its maximum` }
    }

    if (this.bytes - (previous?.size ?? 0) + next.size > q.maxBytes) {
      return { quota: 'maxBytes', reason: `the registry stores ${this.bytes} envelope bytes; ${next.size} more exceed its maximum of ${q.maxBytes}` }
    }

    if (previous === undefined && name.records >= q.maxRecordsPerName) {
      return { quota: 'maxRecordsPerName', reason: `service "${next.name}" has ${name.records} records, its maximum` }
    }

    if (previous === undefined && (this.perSigner.get(next.peerId) ?? 0) >= q.maxRecordsPerSigner) {
      return { quota: 'maxRecordsPerSigner', reason: `peer ${next.peerId} signed ${q.maxRecordsPerSigner} stored records, its maximum` }
    }

    if (next.address !== undefined && next.address !== previous?.address && (this.perAddress.get(next.address) ?? 0) >= q.maxRecordsPerAddress) {
      return { quota: 'maxRecordsPerAddress', reason: `publishers connected from ${next.address} stored ${q.maxRecordsPerAddress} records, its maximum` }
    }

    if (next.connection !== undefined && next.connection !== previous?.connection && (this.perConnection.get(next.connection) ?? 0) >= q.maxRecordsPerConnection) {
      return { quota: 'maxRecordsPerConnection', reason: `connection ${next.connection} delivered ${q.maxRecordsPerConnection} stored records, its maximum` }
    }

    if (next.deliveredFrom !== undefined && next.deliveredFrom !== previous?.deliveredFrom && (this.perRemoteAddress.get(next.deliveredFrom) ?? 0) >= q.maxRecordsPerRemoteAddress) {
      return { quota: 'maxRecordsPerRemoteAddress', reason: `connections from ${next.deliveredFrom} delivered ${q.maxRecordsPerRemoteAddress} stored records, its maximum` }
    }

    if (relayedNow && this.relayed >= q.maxRelayedRecords) {
      return { quota: 'maxRelayedRecords', reason: `the registry stores ${this.relayed} records put by peers other than their signer, its maximum` }
    }

    if (relayedNow && name.relayed >= q.maxRelayedRecordsPerName) {
      return { quota: 'maxRelayedRecordsPerName', reason: `service "${next.name}" has ${name.relayed} records put by peers other than their signer, its maximum` }
    }

    return undefined
  }

  /** How many tracked connections have records counted against them (bounded: see {@link forgetConnection}). */
  get connections (): number {
    return this.perConnection.size
  }

  /**
   * Stops counting records against a closed connection: a new connection
   * starts at 0, while the per-IP count stays as long as the records do.
   */
  forgetConnection (id: string): void {
    this.perConnection.delete(id)
  }

  add (record: CountedRecord): void {
    this.count(record, 1)
  }

  remove (record: CountedRecord): void {
    this.count(record, -1)
  }

  private count (record: CountedRecord, delta: 1 | -1): void {
    this.records += delta
    this.bytes += delta * record.size
    const name = this.perName.get(record.name) ?? { records: 0, relayed: 0 }
    name.records += delta

    if (record.origin === 'relayed') {
      this.relayed += delta
      name.relayed += delta
    }

    if (name.records === 0) {
      this.perName.delete(record.name)
    } else {
      this.perName.set(record.name, name)
    }

    bump(this.perSigner, record.peerId, delta)

    if (record.address !== undefined) {
      bump(this.perAddress, record.address, delta)
    }

    if (record.connection !== undefined) {
      bump(this.perConnection, record.connection, delta)
    }

    if (record.deliveredFrom !== undefined) {
      bump(this.perRemoteAddress, record.deliveredFrom, delta)
    }
  }
}

function bump (counts: Map<string, number>, key: string, delta: number): void {
  const next = (counts.get(key) ?? 0) + delta

  if (next <= 0) {
    counts.delete(key)
  } else {
    counts.set(key, next)
  }
}

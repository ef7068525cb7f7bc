import { Record as DhtRecord } from '@libp2p/kad-dht'
import { peerIdFromString } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { MAX_LOOKUP_PAGE_BYTES, MAX_LOOKUP_RESULTS } from '../constants.js'
import { InvalidRecordError, QuotaExceededError } from '../errors.js'
import { currentDelivery } from '../libp2p/delivery-context.js'
import { parseRecordKey, recordKey } from '../records/keys.js'
import { storedRecordKey } from '../records/validator.js'
import { ObservedDatastore } from './observed-datastore.js'
import { PutRate } from './put-rate.js'
import { rankRecords, decodeCursor, encodeCursor, compareRanks } from './record-rank.js'
import { StoreUsage, storeQuotas } from './store-quotas.js'
import type { IndexedRecord } from './indexed-record.js'
import type { StoreQuotas } from './store-quotas.js'
import type { Delivery } from '../libp2p/delivery-context.js'
import type { NetgetMetrics } from '../metrics/index.js'
import type { Connection, Logger, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'
import type { Datastore, Key } from 'interface-datastore'

export type { IndexedRecord } from './indexed-record.js'

/**
 * The part of libp2p the index asks who is connected; with its events, it
 * forgets a connection's counts and put rate when the connection closes.
 */
export type IndexPeers = Pick<Libp2p, 'peerId' | 'getConnections'> & Partial<Pick<Libp2p, 'addEventListener' | 'removeEventListener'>>

/** What a {@link RecordIndex} needs. */
export interface RecordIndexInit {
  network: string
  /** The datastore kad-dht writes to; the index wraps it. */
  datastore: Datastore
  /** kad-dht's `datastorePrefix` for the network. */
  datastorePrefix: string
  log: Logger
  /** Storage quotas; each one not given takes its default (see {@link StoreQuotas}). */
  quotas?: Partial<StoreQuotas>
  /** Counts each put a peer makes, stored or refused (with the reason). @default none */
  metrics?: Pick<NetgetMetrics, 'put'>
}

/** Most bytes of envelopes a registry keeps in memory for lookup answers. */
export const ENVELOPE_CACHE_BYTES = 8 * 1024 * 1024

/** A change of what the index holds: `record` is the new one, undefined when the instance's record is gone. */
export interface IndexChange {
  name: string
  peerId: string
  record?: IndexedRecord
}

/** Which records of a service one lookup answer holds. */
export interface PageOptions {
  /** Where the previous page ended (its `next`), or none for the first page. */
  cursor?: string
  /** Most records. @default MAX_LOOKUP_RESULTS (1000) */
  limit?: number
  /** Most envelope bytes together. @default MAX_LOOKUP_PAGE_BYTES (1 MiB) */
  maxBytes?: number
  /** @default Date.now() */
  now?: number
}

/** One page of a service's records, best ranked first. */
export interface RecordPage {
  records: IndexedRecord[]
  /** The cursor of the next page; absent on the last one. */
  next?: string
}

/**
 * A registry's in-memory index of the service records its DHT stores, by
 * service name. kad-dht keeps records under opaque base32 keys; the index
 * sits in the datastore's write path (see {@link ObservedDatastore}), so it
 * sees every record kad-dht stores, and it
 *
 * - refuses a write whose `seq` is not higher than the stored one, under the
 *   key's lock (kad-dht validates and writes unserialised), and skips a
 *   write of the very bytes stored;
 * - refuses a write over a storage quota ({@link StoreQuotas}), logging why,
 *   counting each record against the connection that delivered it (and that
 *   connection's remote IP) when the write runs in a delivery context
 *   (`src/libp2p/delivery-context.ts`); a record delivered by a peer that
 *   did not sign it is relayed;
 * - limits the rate of puts per connection ({@link RecordIndex.admitDelivery},
 *   run by the kad validator before it checks a signature);
 * - answers "the records of service X" in pages, ranked (see
 *   `record-rank.ts`), reading the envelopes from the datastore.
 *
 * It is rebuilt from the datastore on start (expired records are deleted),
 * so a restarted registry serves what it held.
 */
export class RecordIndex {
  /** The datastore to give libp2p: writes through it are checked and indexed. */
  readonly datastore: Datastore
  /** What is stored, counted against the quotas. */
  readonly usage: StoreUsage
  private readonly inner: Datastore
  private readonly network: string
  private readonly datastorePrefix: string
  private readonly recordPrefix: string
  private readonly log: Logger
  private readonly byName = new Map<string, Map<string, IndexedRecord>>()
  /** The names each signer has a record under. */
  private readonly byPeer = new Map<string, Set<string>>()
  private readonly listeners = new Set<(change: IndexChange) => void>()
  /** Recently served envelopes, by `<name>/<peerId>`, with the `seq` they hold. */
  private readonly envelopeCache = new Map<string, { seq: number, envelope: Uint8Array }>()
  private envelopeCacheBytes = 0
  private readonly rate: PutRate
  private peers?: IndexPeers
  private readonly metrics?: Pick<NetgetMetrics, 'put'>
  private readonly onConnectionClose = (event: CustomEvent<Connection>): void => {
    this.usage.forgetConnection(event.detail.id)
    this.rate.forget(event.detail.id)
  }

  constructor (init: RecordIndexInit) {
    this.inner = init.datastore
    this.network = init.network
    this.datastorePrefix = init.datastorePrefix
    this.recordPrefix = `${init.datastorePrefix}/record/`
    this.log = init.log
    this.metrics = init.metrics
    this.usage = new StoreUsage(storeQuotas(init.quotas))
    this.rate = new PutRate({ perSecond: this.usage.quotas.putsPerSecond, burst: this.usage.quotas.putBurst })
    this.datastore = new ObservedDatastore<IndexedRecord>(init.datastore, {
      admit: async (key, value, options) => this.admit(key, value, options),
      onPut: (key, _value, admitted) => { if (admitted !== undefined) { this.add(admitted) } },
      onDelete: (key) => { this.remove(key) }
    })
  }

  /** Calls `listener` on every record stored, replaced or removed; returns the function that stops it. */
  onChange (listener: (change: IndexChange) => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** The stored record of one instance. */
  record (name: string, peerId: string): IndexedRecord | undefined {
    return this.get(name, peerId)
  }

  /** The names a signer has records under (withdrawals included). */
  namesOf (peerId: string): string[] {
    return [...(this.byPeer.get(peerId) ?? [])]
  }

  /** Lets the index see who is connected (ranking, and direct vs relayed puts). */
  attach (peers: IndexPeers): void {
    this.peers?.removeEventListener?.('connection:close', this.onConnectionClose)
    this.peers = peers
    peers.addEventListener?.('connection:close', this.onConnectionClose)
  }

  /** Stops listening to the node given to {@link attach}. */
  detach (): void {
    this.peers?.removeEventListener?.('connection:close', this.onConnectionClose)
    this.peers = undefined
  }

  /**
   * The put rate: throws QuotaExceededError (`putsPerSecond`) if the
   * connection that delivered a record has put more than its token bucket
   * allows (`putBurst` at once, `putsPerSecond` after). The kad validator
   * calls it for each inbound `PUT_VALUE` of a netget key, before checking
   * the signature, so a flood over the rate costs no verification; kad-dht
   * then resets the stream, which the putter sees as a refusal.
   */
  admitDelivery (delivery: Delivery, key: Uint8Array): void {
    if (!this.rate.take(delivery.connection.id)) {
      const err = new QuotaExceededError(`Registry put rate putsPerSecond: connection ${delivery.connection.id} put more than ${this.usage.quotas.putBurst} records at once or ${this.usage.quotas.putsPerSecond} a second`, 'putsPerSecond')
      this.log('refused to store %s (delivered by %p) - %s', uint8ArrayToString(key).slice(0, 80), delivery.connection.remotePeer, err.message)
      this.metrics?.put('refused', 'putsPerSecond')
      throw err
    }
  }

  /** How many connections the index tracks (put rates and per-connection counts): bounded by the open ones. */
  get trackedConnections (): number {
    return Math.max(this.usage.connections, this.rate.size)
  }

  /**
   * Reads every stored record into the index, one at a time; deletes the
   * expired ones and the ones that do not decode.
   */
  async load (now = Date.now()): Promise<void> {
    const started = performance.now()
    const stale: Key[] = []

    for await (const { key, value } of this.inner.query({ prefix: this.recordPrefix })) {
      const record = this.decode(key, value, 'loaded')?.record

      if (record === undefined || record.expiresAt <= now) {
        stale.push(key)
      } else {
        this.add(record)
      }
    }

    for (let i = 0; i < stale.length; i += 1000) {
      const batch = this.inner.batch()
      stale.slice(i, i + 1000).forEach(key => { batch.delete(key) })
      await batch.commit()
    }

    this.log('indexed %d stored records (%d envelope bytes) and deleted %d expired or unreadable ones in %d ms', this.size, this.usage.bytes, stale.length, Math.round(performance.now() - started))
  }

  /** How many records the index holds. */
  get size (): number {
    return this.usage.records
  }

  /** Every record the index holds (expired ones not yet pruned included), in no order. */
  * records (): Generator<IndexedRecord> {
    for (const instances of this.byName.values()) {
      yield * instances.values()
    }
  }

  /** The names of every service the index holds a record of. */
  names (): string[] {
    return [...this.byName.keys()].sort()
  }

  /**
   * One page of the unexpired records of `name`, withdrawals included, best
   * ranked first. Throws InvalidRecordError on a cursor this index did not make.
   */
  page (name: string, options: PageOptions = {}): RecordPage {
    const limit = options.limit ?? MAX_LOOKUP_RESULTS
    const maxBytes = options.maxBytes ?? MAX_LOOKUP_PAGE_BYTES
    const now = options.now ?? Date.now()
    const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor)
    const live = [...this.byName.get(name)?.values() ?? []].filter(record => record.expiresAt > now)
    const ranked = rankRecords(live, this.connectedPeers())
    let start = 0

    if (after !== undefined) {
      while (start < ranked.length && compareRanks(ranked[start].rank, after) <= 0) {
        start++
      }
    }

    const records: IndexedRecord[] = []
    let bytes = 0
    let end = start

    for (; end < ranked.length && records.length < limit; end++) {
      const { record } = ranked[end]

      if (records.length > 0 && bytes + record.size > maxBytes) {
        break
      }

      records.push(record)
      bytes += record.size
    }

    return { records, next: end < ranked.length && end > start ? encodeCursor(ranked[end - 1].rank) : undefined }
  }

  /**
   * The stored envelopes of `records`, in order; a record deleted meanwhile
   * is left out. The most recently read envelopes (up to
   * {@link ENVELOPE_CACHE_BYTES}) are kept in memory, by instance and `seq`.
   */
  async envelopes (records: IndexedRecord[]): Promise<Uint8Array[]> {
    const envelopes: Uint8Array[] = []

    for (const record of records) {
      const id = `${record.name}/${record.peerId}`
      const cached = this.envelopeCache.get(id)

      if (cached?.seq === record.seq) {
        envelopes.push(cached.envelope)
        continue
      }

      const envelope = await this.read(this.storedKey(record.name, record.peerId))

      if (envelope !== undefined) {
        envelopes.push(envelope)
        this.cacheEnvelope(id, record.seq, envelope)
      }
    }

    return envelopes
  }

  private cacheEnvelope (id: string, seq: number, envelope: Uint8Array): void {
    const previous = this.envelopeCache.get(id)

    if (previous !== undefined) {
      this.envelopeCache.delete(id)
      this.envelopeCacheBytes -= previous.envelope.byteLength
    }

    this.envelopeCache.set(id, { seq, envelope })
    this.envelopeCacheBytes += envelope.byteLength

    while (this.envelopeCacheBytes > ENVELOPE_CACHE_BYTES) {
      const [oldest, entry] = this.envelopeCache.entries().next().value as [string, { envelope: Uint8Array }]
      this.envelopeCache.delete(oldest)
      this.envelopeCacheBytes -= entry.envelope.byteLength
    }
  }

  /** Deletes expired records from the datastore (and so from the index). */
  async prune (now = Date.now()): Promise<number> {
    const expired = [...this.byName.values()]
      .flatMap(instances => [...instances.values()])
      .filter(record => record.expiresAt <= now)

    for (const record of expired) {
      await this.datastore.delete(this.storedKey(record.name, record.peerId))
    }

    return expired.length
  }

  /** Checks a write under its key's lock: see the class description. */
  private async admit (key: Key, value: Uint8Array, options?: { signal?: AbortSignal }): Promise<IndexedRecord | false | undefined> {
    if (!key.toString().startsWith(this.recordPrefix)) {
      return undefined // not a record (a provider entry): write it, index nothing
    }

    const decoded = this.decode(key, value, 'direct')

    if (decoded === undefined) {
      throw this.refuse(key, new InvalidRecordError(`Not a ${this.network} service record under its own key`, { code: 'bad-key' }), 'invalid')
    }

    const { record, envelope } = decoded

    if (record.expiresAt <= Date.now()) {
      throw this.refuse(key, new InvalidRecordError(`Record expired at ${new Date(record.expiresAt).toISOString()}`, { code: 'expired' }), 'expired')
    }
    const storedEnvelope = await this.read(key, options)

    if (storedEnvelope !== undefined) {
      if (uint8ArrayEquals(storedEnvelope, envelope)) {
        this.metrics?.put('stored')
        return false // the very record stored: nothing to do
      }

      const stored = this.get(record.name, record.peerId)

      if (stored !== undefined && record.seq <= stored.seq) {
        throw this.refuse(key, new InvalidRecordError(`Record seq ${record.seq} is not higher than the stored seq ${stored.seq} (replay or race)`, { code: 'stale-seq' }), 'stale-seq')
      }
    }

    const delivery = currentDelivery()
    Object.assign(record, delivery === undefined ? this.originOf(record.peerId) : deliveredOrigin(record.peerId, delivery.connection))
    const refusal = this.usage.refusal(record, this.get(record.name, record.peerId))

    if (refusal !== undefined) {
      throw this.refuse(key, new QuotaExceededError(`Registry storage quota ${refusal.quota}: ${refusal.reason}`, refusal.quota), refusal.quota, delivery)
    }

    this.metrics?.put('stored')
    return record
  }

  private refuse (key: Key, err: Error, reason: string, delivery = currentDelivery()): Error {
    this.metrics?.put('refused', reason)
    const from = delivery === undefined ? '' : ` (delivered by ${delivery.connection.remotePeer.toString()})`
    this.log('refused to store %s%s - %s', key.toString().slice(this.recordPrefix.length, this.recordPrefix.length + 80), from, err.message)
    return err
  }

  /** Whether the signer is connected now (then the record is direct) and from which IP address. */
  private originOf (peerId: string): Pick<IndexedRecord, 'origin' | 'address'> {
    if (this.peers === undefined) {
      return { origin: 'relayed' }
    }

    if (this.peers.peerId.toString() === peerId) {
      return { origin: 'direct' }
    }

    let peer: PeerId

    try {
      peer = peerIdFromString(peerId)
    } catch {
      return { origin: 'relayed' }
    }

    const connection = this.peers.getConnections(peer).find(connection => connection.status === 'open')

    if (connection === undefined) {
      return { origin: 'relayed' }
    }

    return { origin: 'direct', address: hostOf(connection.remoteAddr) }
  }

  private connectedPeers (): Set<string> {
    const peers = new Set<string>()

    if (this.peers !== undefined) {
      peers.add(this.peers.peerId.toString())

      for (const connection of this.peers.getConnections()) {
        peers.add(connection.remotePeer.toString())
      }
    }

    return peers
  }

  /** Decodes a stored value into what the index keeps, or undefined if it is not a record of this network under its own key. */
  private decode (key: Key, value: Uint8Array, origin: IndexedRecord['origin']): { record: IndexedRecord, envelope: Uint8Array } | undefined {
    const parts = this.parse(key)

    if (parts === undefined) {
      return undefined
    }

    try {
      const envelope = DhtRecord.deserialize(value).value
      const payload: unknown = JSON.parse(uint8ArrayToString(RecordEnvelope.createFromProtobuf(envelope).payload))

      if (typeof payload !== 'object' || payload === null) {
        return undefined
      }

      const { network, name, peerId, seq, expiresAt, withdrawn } = payload as Record<string, unknown>

      if (network !== this.network || name !== parts.name || peerId !== parts.peerId || !Number.isSafeInteger(seq) || !Number.isSafeInteger(expiresAt)) {
        return undefined
      }

      return { envelope, record: { name: parts.name, peerId: parts.peerId, seq: seq as number, expiresAt: expiresAt as number, withdrawn: withdrawn === true, size: envelope.byteLength, origin } }
    } catch {
      return undefined
    }
  }

  private get (name: string, peerId: string): IndexedRecord | undefined {
    return this.byName.get(name)?.get(peerId)
  }

  private add (record: IndexedRecord): void {
    let instances = this.byName.get(record.name)

    if (instances === undefined) {
      instances = new Map()
      this.byName.set(record.name, instances)
    }

    const previous = instances.get(record.peerId)

    if (previous !== undefined) {
      this.usage.remove(previous)
    }

    instances.set(record.peerId, record)
    this.usage.add(record)
    let names = this.byPeer.get(record.peerId)

    if (names === undefined) {
      names = new Set()
      this.byPeer.set(record.peerId, names)
    }

    names.add(record.name)
    this.emit({ name: record.name, peerId: record.peerId, record })
  }

  private emit (change: IndexChange): void {
    for (const listener of this.listeners) {
      try {
        listener(change)
      } catch (err) {
        this.log.error('an index listener failed - %e', err)
      }
    }
  }

  private remove (key: Key): void {
    const parts = this.parse(key)

    if (parts === undefined) {
      return
    }

    const instances = this.byName.get(parts.name)
    const record = instances?.get(parts.peerId)

    if (instances === undefined || record === undefined) {
      return
    }

    instances.delete(parts.peerId)
    this.usage.remove(record)

    if (instances.size === 0) {
      this.byName.delete(parts.name)
    }

    const names = this.byPeer.get(parts.peerId)
    names?.delete(parts.name)

    if (names?.size === 0) {
      this.byPeer.delete(parts.peerId)
    }

    this.emit({ name: parts.name, peerId: parts.peerId })
  }

  private async read (key: Key, options?: { signal?: AbortSignal }): Promise<Uint8Array | undefined> {
    try {
      return DhtRecord.deserialize(await this.inner.get(key, options)).value
    } catch {
      return undefined
    }
  }

  private storedKey (name: string, peerId: string): Key {
    return storedRecordKey(this.datastorePrefix, recordKey(this.network, name, peerId))
  }

  private parse (key: Key): { name: string, peerId: string } | undefined {
    const text = key.toString()

    if (!text.startsWith(this.recordPrefix)) {
      return undefined
    }

    try {
      const parts = parseRecordKey(uint8ArrayFromString(text.slice(this.recordPrefix.length), 'base32'))
      return parts.network === this.network ? parts : undefined
    } catch {
      return undefined
    }
  }
}

/**
 * The origin of a record delivered on `connection`: direct when the peer on
 * it signed the record (and then from the connection's IP address), relayed
 * otherwise; either way counted against the connection and its IP address.
 */
function deliveredOrigin (signer: string, connection: Connection): Pick<IndexedRecord, 'origin' | 'address' | 'connection' | 'deliveredFrom'> {
  const host = hostOf(connection.remoteAddr)
  const direct = connection.remotePeer.toString() === signer
  return { origin: direct ? 'direct' : 'relayed', address: direct ? host : undefined, connection: connection.id, deliveredFrom: host }
}

function hostOf (address: Multiaddr): string | undefined {
  return address.getComponents().find(component => ['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(component.name))?.value
}

import { Record as DhtRecord } from '@libp2p/kad-dht'
import { Key } from 'interface-datastore'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { parseRecordKey } from '../records/keys.js'
import { peekRecord } from '../records/verify.js'
import { ObservedDatastore } from './observed-datastore.js'
import type { Logger } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

/** One stored record as the index keeps it. */
interface IndexedRecord {
  envelope: Uint8Array
  seq: number
  expiresAt: number
  storedKey: Key
}

/** What a {@link RecordIndex} needs. */
export interface RecordIndexInit {
  network: string
  /** The datastore kad-dht writes to; the index wraps it. */
  datastore: Datastore
  /** kad-dht's `datastorePrefix` for the network. */
  datastorePrefix: string
  log: Logger
}

/**
 * A registry's in-memory index of the service records its DHT stores, by
 * service name. kad-dht keeps records under opaque base32 keys; the index
 * watches the datastore (see {@link ObservedDatastore}) so a registry can
 * answer "every instance of service X" in one step. It is rebuilt from the
 * datastore on start, so a restarted registry serves what it held.
 */
export class RecordIndex {
  /** The datastore to give libp2p: writes through it update the index. */
  readonly datastore: Datastore
  private readonly inner: Datastore
  private readonly network: string
  private readonly recordPrefix: string
  private readonly log: Logger
  private readonly byName = new Map<string, Map<string, IndexedRecord>>()

  constructor (init: RecordIndexInit) {
    this.inner = init.datastore
    this.network = init.network
    this.recordPrefix = `${init.datastorePrefix}/record/`
    this.log = init.log
    this.datastore = new ObservedDatastore(init.datastore, {
      onPut: (key, value) => { this.add(key, value) },
      onDelete: (key) => { this.remove(key) }
    })
  }

  /** Reads every stored record into the index. */
  async load (): Promise<void> {
    for await (const { key, value } of this.inner.query({ prefix: this.recordPrefix })) {
      this.add(key, value)
    }

    this.log('indexed %d stored records', this.size)
  }

  /** How many records the index holds. */
  get size (): number {
    let size = 0

    for (const instances of this.byName.values()) {
      size += instances.size
    }

    return size
  }

  /** The names of every service the index holds a record of. */
  names (): string[] {
    return [...this.byName.keys()].sort()
  }

  /** The envelopes of every unexpired record of `name`, withdrawals included. */
  lookup (name: string, limit: number, now = Date.now()): Uint8Array[] {
    const envelopes: Uint8Array[] = []

    for (const record of this.byName.get(name)?.values() ?? []) {
      if (envelopes.length >= limit) {
        break
      }

      if (record.expiresAt > now) {
        envelopes.push(record.envelope)
      }
    }

    return envelopes
  }

  /** Deletes expired records from the datastore (and so from the index). */
  async prune (now = Date.now()): Promise<number> {
    const expired = [...this.byName.values()]
      .flatMap(instances => [...instances.values()])
      .filter(record => record.expiresAt <= now)

    for (const record of expired) {
      await this.datastore.delete(record.storedKey)
    }

    return expired.length
  }

  private add (key: Key, value: Uint8Array): void {
    const parts = this.parse(key)

    if (parts === undefined) {
      return
    }

    let envelope: Uint8Array

    try {
      envelope = DhtRecord.deserialize(value).value
    } catch {
      return
    }

    const record = peekRecord(envelope)

    if (record === undefined || record.network !== this.network || record.name !== parts.name || record.peerId !== parts.peerId) {
      return
    }

    let instances = this.byName.get(parts.name)

    if (instances === undefined) {
      instances = new Map()
      this.byName.set(parts.name, instances)
    }

    instances.set(parts.peerId, { envelope, seq: record.seq, expiresAt: record.expiresAt, storedKey: key })
  }

  private remove (key: Key): void {
    const parts = this.parse(key)

    if (parts === undefined) {
      return
    }

    const instances = this.byName.get(parts.name)
    instances?.delete(parts.peerId)

    if (instances?.size === 0) {
      this.byName.delete(parts.name)
    }
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

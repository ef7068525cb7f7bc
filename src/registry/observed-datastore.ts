import { BaseDatastore } from 'datastore-core'
import type { AbortOptions } from '@libp2p/interface'
import type { Datastore, Key, KeyQuery, Pair, Query } from 'interface-datastore'

/** Called after a key was written or deleted through an {@link ObservedDatastore}. */
export interface DatastoreObserver {
  onPut(key: Key, value: Uint8Array): void
  onDelete(key: Key): void
}

/**
 * A datastore that passes every call to another one and tells an observer
 * about each successful write and delete. A registry hands it to libp2p so
 * that it learns of every record kad-dht stores, without reading kad-dht's
 * internals.
 */
export class ObservedDatastore extends BaseDatastore {
  private readonly inner: Datastore
  private readonly observer: DatastoreObserver

  constructor (inner: Datastore, observer: DatastoreObserver) {
    super()
    this.inner = inner
    this.observer = observer
  }

  async put (key: Key, value: Uint8Array, options?: AbortOptions): Promise<Key> {
    const stored = await this.inner.put(key, value, options)
    this.observer.onPut(key, value)
    return stored
  }

  async get (key: Key, options?: AbortOptions): Promise<Uint8Array> {
    return this.inner.get(key, options)
  }

  async has (key: Key, options?: AbortOptions): Promise<boolean> {
    return this.inner.has(key, options)
  }

  async delete (key: Key, options?: AbortOptions): Promise<void> {
    await this.inner.delete(key, options)
    this.observer.onDelete(key)
  }

  async * _all (query: Query, options?: AbortOptions): AsyncGenerator<Pair> {
    yield * this.inner.query(query, options)
  }

  async * _allKeys (query: KeyQuery, options?: AbortOptions): AsyncGenerator<Key> {
    yield * this.inner.queryKeys(query, options)
  }
}

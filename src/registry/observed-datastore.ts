import { BaseDatastore } from 'datastore-core'
import type { AbortOptions } from '@libp2p/interface'
import type { Datastore, Key, KeyQuery, Pair, Query } from 'interface-datastore'

/**
 * Decides about, and hears of, every write and delete through an
 * {@link ObservedDatastore}. `admit` and the write, and `onPut`, run under a
 * lock of the key, so no two writes or deletes of one key interleave.
 */
export interface DatastoreObserver<T = unknown> {
  /**
   * Called before a write, under the key's lock. Throw to refuse the write
   * (the caller's `put` rejects with that error); return `false` to skip it
   * (the caller's `put` resolves, nothing is written: an idempotent repeat).
   * Whatever else it returns (`undefined` too) is handed to `onPut`.
   */
  admit?(key: Key, value: Uint8Array, options?: AbortOptions): Promise<T | false | undefined>
  /** Called after a write, still under the key's lock, with what `admit` returned. */
  onPut(key: Key, value: Uint8Array, admitted?: T): void
  /** Called after a delete, under the key's lock. */
  onDelete(key: Key): void
}

/**
 * A datastore that passes every call to another one, lets an observer refuse
 * writes, and tells it about each successful write and delete. A registry
 * hands it to libp2p so that it sees every record kad-dht stores, without
 * reading kad-dht's internals. Writes and deletes of one key are serialised:
 * kad-dht validates a PUT_VALUE and writes it later, unserialised, so two
 * puts of one key can otherwise validate against the same stored record and
 * land in either order.
 */
export class ObservedDatastore<T = unknown> extends BaseDatastore {
  private readonly inner: Datastore
  private readonly observer: DatastoreObserver<T>
  /** The tail of each key's queue of writes and deletes. */
  private readonly locks = new Map<string, Promise<void>>()

  constructor (inner: Datastore, observer: DatastoreObserver<T>) {
    super()
    this.inner = inner
    this.observer = observer
  }

  async put (key: Key, value: Uint8Array, options?: AbortOptions): Promise<Key> {
    return this.locked(key, async () => {
      const admitted = this.observer.admit === undefined ? undefined : await this.observer.admit(key, value, options)

      if (admitted === false) {
        return key
      }

      const stored = await this.inner.put(key, value, options)
      this.observer.onPut(key, value, admitted)
      return stored
    })
  }

  async get (key: Key, options?: AbortOptions): Promise<Uint8Array> {
    return this.inner.get(key, options)
  }

  async has (key: Key, options?: AbortOptions): Promise<boolean> {
    return this.inner.has(key, options)
  }

  async delete (key: Key, options?: AbortOptions): Promise<void> {
    await this.locked(key, async () => {
      await this.inner.delete(key, options)
      this.observer.onDelete(key)
    })
  }

  async * _all (query: Query, options?: AbortOptions): AsyncGenerator<Pair> {
    yield * this.inner.query(query, options)
  }

  async * _allKeys (query: KeyQuery, options?: AbortOptions): AsyncGenerator<Key> {
    yield * this.inner.queryKeys(query, options)
  }

  /** Runs `task` once every earlier write or delete of `key` has settled. */
  private async locked<R> (key: Key, task: () => Promise<R>): Promise<R> {
    const id = key.toString()
    const previous = this.locks.get(id) ?? Promise.resolve()
    let release = (): void => {}
    const current = new Promise<void>(resolve => { release = resolve })
    const tail = previous.then(async () => current)
    this.locks.set(id, tail)

    try {
      await previous
      return await task()
    } finally {
      release()

      if (this.locks.get(id) === tail) {
        this.locks.delete(id)
      }
    }
  }
}

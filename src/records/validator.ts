import { Record as DhtRecord } from '@libp2p/kad-dht'
import { Key } from 'interface-datastore'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { InvalidRecordError } from '../errors.js'
import { currentDelivery } from '../libp2p/delivery-context.js'
import { parseRecordKey } from './keys.js'
import { peekRecord, verifyRecord } from './verify.js'
import type { RecordExpectations } from './verify.js'
import type { Delivery } from '../libp2p/delivery-context.js'
import type { SelectFn, ValidateFn } from '@libp2p/kad-dht'
import type { Datastore } from 'interface-datastore'

/** What the DHT validator needs to know about the node it runs in. */
export interface RecordValidatorInit {
  /** The network this DHT serves; records of any other network are rejected. */
  network: string
  /** The node's datastore, to refuse a record older than the one stored. */
  datastore?: Datastore
  /** kad-dht's `datastorePrefix` for this DHT. */
  datastorePrefix: string
  /** Closed networks: refuses a record whose publisher holds no valid credential for it. */
  checkPublisher?: RecordExpectations['checkPublisher']
  /**
   * Called first, with the connection that delivered the record, when the
   * validator runs for a record a peer put here (an inbound `PUT_VALUE`;
   * kad-dht runs no validator on the other inbound requests). Throw to
   * refuse it before any signature is checked: a registry's put rate.
   */
  admitDelivery?(delivery: Delivery, key: Uint8Array): void
  /** The reader's clock, Unix ms (test vectors fix it). @default Date.now */
  now?: () => number
}

/**
 * The datastore key kad-dht stores a record's value under (mirrors kad-dht's
 * `bufferToRecordKey`: `<prefix>/record/<base32 of the DHT key>`).
 */
export function storedRecordKey (datastorePrefix: string, key: Uint8Array): Key {
  return new Key(`${datastorePrefix}/record/${uint8ArrayToString(key, 'base32')}`, false)
}

/**
 * The kad-dht validator for keys under `/netget/`. kad-dht calls it on every
 * incoming PUT_VALUE, every value in a GET response, and local reads. Besides
 * verifying the record ({@link verifyRecord}), it refuses a record whose
 * `seq` is lower than the one already stored here, or an equal `seq` with a
 * different content: kad-dht does not run selectors on PUT, so without this
 * a replayed old record would overwrite a newer one.
 *
 * This check alone cannot close a race: kad-dht validates a PUT_VALUE and
 * writes it later, unserialised, so a replay validated before the owner's
 * newer write could land after it. A registry therefore checks again where
 * the write happens, under a per-key lock (`RecordIndex`, through
 * `ObservedDatastore`): a record whose `seq` is not higher than the stored
 * one is refused there, and the very bytes stored are not written again.
 */
export function createRecordValidator (init: RecordValidatorInit): ValidateFn {
  return async (key, value, options) => {
    const delivery = currentDelivery()

    if (delivery !== undefined) {
      init.admitDelivery?.(delivery, key)
    }

    const parts = parseRecordKey(key)

    if (parts.network !== init.network) {
      throw new InvalidRecordError(`Record key names network "${parts.network}", but this DHT serves "${init.network}"`, { code: 'wrong-network' })
    }

    const record = await verifyRecord(value, { network: init.network, name: parts.name, peerId: parts.peerId, checkPublisher: init.checkPublisher, now: init.now?.() })

    if (init.datastore == null) {
      return
    }

    let storedBytes: Uint8Array

    try {
      storedBytes = DhtRecord.deserialize(await init.datastore.get(storedRecordKey(init.datastorePrefix, key), options)).value
    } catch {
      return // nothing stored yet, or unreadable: nothing to compare with
    }

    if (uint8ArrayEquals(storedBytes, value)) {
      return
    }

    const stored = peekRecord(storedBytes)

    if (stored == null) {
      return
    }

    if (record.seq < stored.seq) {
      throw new InvalidRecordError(`Record seq ${record.seq} is older than the stored seq ${stored.seq} (replay)`, { code: 'stale-seq' })
    }

    if (record.seq === stored.seq) {
      throw new InvalidRecordError(`Record seq ${record.seq} is already stored with other content`, { code: 'stale-seq' })
    }
  }
}

/**
 * The kad-dht selector for keys under `/netget/`: the record with the highest
 * `seq` wins; undecodable records never do.
 */
export const selectRecord: SelectFn = (_key, records) => {
  let best = 0
  let bestSeq = -1

  records.forEach((bytes, index) => {
    const seq = peekRecord(bytes)?.seq ?? -1

    if (seq > bestSeq) {
      best = index
      bestSeq = seq
    }
  })

  return best
}

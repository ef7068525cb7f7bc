import { Record as DhtRecord } from '@libp2p/kad-dht'
import { InvalidRecordError } from '../errors.js'
import { dhtDatastorePrefix } from '../protocol/ids.js'
import { recordKey } from '../records/keys.js'
import { storedRecordKey } from '../records/validator.js'
import { verifyRecord } from '../records/verify.js'
import type { RecordIndex } from './record-index.js'
import type { RecordExpectations, VerifiedRecord } from '../records/verify.js'

/** What {@link storeEnvelope} needs. */
export interface RecordIntake {
  /** The network id (a closed network's `<name>@<authority>`). */
  network: string
  index: Pick<RecordIndex, 'datastore'>
  /** Closed networks: refuses a record whose publisher holds no valid credential for it. */
  checkPublisher?: RecordExpectations['checkPublisher']
}

/**
 * Verifies one record envelope (every check of docs/PROTOCOL.md §4.4) and
 * writes it where kad-dht keeps it, through the record index's write path
 * (its rollback and quota checks, under the key's lock). The one way a
 * registry takes a record other than kad `PUT_VALUE`: the record put
 * protocol and registry sync both use it. Resolves with the record and
 * its key; rejects with InvalidRecordError or QuotaExceededError (a refusal)
 * or another error (a failure). `verified`: what {@link verifyRecord} made of
 * this very envelope, when the caller ran it already.
 */
export async function storeEnvelope (intake: RecordIntake, envelope: Uint8Array, signal: AbortSignal, verified?: VerifiedRecord): Promise<{ record: VerifiedRecord, key: Uint8Array }> {
  if (envelope.byteLength === 0) {
    throw new InvalidRecordError('A record envelope is never empty', { code: 'bad-request' })
  }

  const record = verified ?? await verifyRecord(envelope, { network: intake.network, checkPublisher: intake.checkPublisher })
  const key = recordKey(intake.network, record.name, record.peerId)
  await intake.index.datastore.put(storedRecordKey(dhtDatastorePrefix(intake.network), key), new DhtRecord(key, envelope, new Date()).serialize(), { signal })
  return { record, key }
}

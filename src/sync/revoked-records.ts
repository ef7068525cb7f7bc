import { dhtDatastorePrefix } from '../protocol/ids.js'
import { recordKey } from '../records/keys.js'
import { storedRecordKey } from '../records/validator.js'
import { verifyRecord } from '../records/verify.js'
import { openRevocation } from '../trust/revocation.js'
import type { RecordExpectations } from '../records/verify.js'
import type { RecordIndex } from '../registry/record-index.js'

/** What {@link dropRevoked} reads and deletes. */
export interface RevokedRecordsInit {
  /** The network id. */
  network: string
  index: Pick<RecordIndex, 'datastore' | 'record' | 'envelopes' | 'namesOf'>
  /** Checks a record's publisher against the credentials and the revocations held (the revocation is held already). */
  checkPublisher: NonNullable<RecordExpectations['checkPublisher']>
}

/**
 * Deletes the stored records a revocation voids (docs/PROTOCOL.md §17.5):
 * every record of the revocation's peer whose credential no longer passes
 * for the reason `revoked`. Call it once the revocation is held. Resolves
 * with how many went; a revocation that does not open deletes nothing.
 */
export async function dropRevoked (init: RevokedRecordsInit, envelope: Uint8Array): Promise<number> {
  const { network, index, checkPublisher } = init
  const { revocation } = await openRevocation(envelope)
  let dropped = 0

  for (const name of index.namesOf(revocation.peer)) {
    const record = index.record(name, revocation.peer)
    const [stored] = record === undefined ? [] : await index.envelopes([record])

    if (stored === undefined || !await isRevoked(stored, network, checkPublisher)) {
      continue
    }

    await index.datastore.delete(storedRecordKey(dhtDatastorePrefix(network), recordKey(network, name, revocation.peer)))
    dropped++
  }

  return dropped
}

async function isRevoked (envelope: Uint8Array, network: string, checkPublisher: RevokedRecordsInit['checkPublisher']): Promise<boolean> {
  try {
    await verifyRecord(envelope, { network, checkPublisher })
    return false
  } catch (err) {
    return (err as { reason?: unknown }).reason === 'revoked'
  }
}

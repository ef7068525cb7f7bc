import type { CountedRecord } from './store-quotas.js'

/**
 * One stored record as the index keeps it: what ranking and quotas need,
 * never the envelope (about 250 bytes of heap per record; the envelope is
 * read from the datastore when a lookup answers).
 */
export interface IndexedRecord extends CountedRecord {
  seq: number
  expiresAt: number
  withdrawn: boolean
}

import { RecordEnvelope } from '@libp2p/peer-record'
import { CLOCK_SKEW_TOLERANCE, MAX_RECORD_BYTES, MAX_RECORD_TTL } from '../constants.js'
import { InvalidRecordError } from '../errors.js'
import { openEnvelope } from './envelope.js'
import { RECORD_DOMAIN, RECORD_PAYLOAD_TYPE, decodeRecord } from './record.js'
import type { ServiceRecord } from './record.js'

/** What a verified record must match. */
export interface RecordExpectations {
  /** The network the reader is on. */
  network: string
  /** The service name the reader asked for (or that the key names). */
  name?: string
  /** The peer ID the key names. */
  peerId?: string
  /** The reader's clock, Unix ms. @default Date.now() */
  now?: number
  /**
   * On a closed network: checks that the publisher may publish this record
   * (its credential); throws to refuse it.
   */
  checkPublisher?(record: ServiceRecord): Promise<void>
}

/** A record whose envelope and content passed every check. */
export interface VerifiedRecord extends ServiceRecord {
  /** The envelope's bytes, exactly as received. */
  envelope: Uint8Array
}

/**
 * Opens a record envelope and checks every rule of docs/PROTOCOL.md except
 * rollback (which needs the stored record): size, signature, domain, payload
 * type, payload shape, signer = record peer ID (= key peer ID), network,
 * name, not expired, expiry not too far ahead. Throws InvalidRecordError.
 */
export async function verifyRecord (envelopeBytes: Uint8Array, expect: RecordExpectations): Promise<VerifiedRecord> {
  const { payload, signer } = await openEnvelope(envelopeBytes, RECORD_DOMAIN, RECORD_PAYLOAD_TYPE, MAX_RECORD_BYTES, 'Record')
  let record: ServiceRecord

  try {
    record = decodeRecord(payload)
  } catch (err) {
    const message = (err as Error).message
    throw new InvalidRecordError(message, { cause: err, code: message.startsWith('Record version') ? 'unsupported-version' : 'bad-record' })
  }

  if (signer !== record.peerId) {
    throw new InvalidRecordError(`Record for peer ${record.peerId} is signed by another peer (${signer})`, { code: 'wrong-peer' })
  }

  if (expect.peerId !== undefined && expect.peerId !== record.peerId) {
    throw new InvalidRecordError(`Record is stored under peer ${expect.peerId} but is for peer ${record.peerId}`, { code: 'wrong-peer' })
  }

  if (record.network !== expect.network) {
    throw new InvalidRecordError(`Record belongs to network "${record.network}", not "${expect.network}"`, { code: 'wrong-network' })
  }

  if (expect.name !== undefined && record.name !== expect.name) {
    throw new InvalidRecordError(`Record is for service "${record.name}", not "${expect.name}"`, { code: 'wrong-name' })
  }

  const now = expect.now ?? Date.now()

  if (record.expiresAt <= now) {
    throw new InvalidRecordError(`Record expired at ${new Date(record.expiresAt).toISOString()}`, { code: 'expired' })
  }

  if (record.expiresAt > now + MAX_RECORD_TTL + CLOCK_SKEW_TOLERANCE) {
    throw new InvalidRecordError('Record expiry is further ahead than the 24 hour maximum', { code: 'expiry-too-far' })
  }

  await expect.checkPublisher?.(record)
  return { ...record, envelope: envelopeBytes }
}

/**
 * Reads the record inside an envelope without checking the signature, for
 * comparing against bytes that were verified when they were stored. Returns
 * undefined if the bytes do not decode.
 */
export function peekRecord (envelopeBytes: Uint8Array): ServiceRecord | undefined {
  try {
    return decodeRecord(RecordEnvelope.createFromProtobuf(envelopeBytes).payload)
  } catch {
    return undefined
  }
}

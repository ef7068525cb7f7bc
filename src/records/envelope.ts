import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import { openCertified } from './certified-envelopes.js'
import { InvalidRecordError } from '../errors.js'
import type { PrivateKey, Record as Libp2pSignedRecord } from '@libp2p/interface'

/**
 * netget's signed objects (service records, credentials, revocations) are
 * libp2p signed envelopes (RFC 0002): a payload, its type, and a signature
 * over a domain string, so a signature made for one kind of object can never
 * pass as another.
 */

class SignedPayload implements Libp2pSignedRecord {
  readonly domain: string
  readonly codec: Uint8Array
  private readonly bytes: Uint8Array

  constructor (domain: string, codec: Uint8Array, bytes: Uint8Array) {
    this.domain = domain
    this.codec = codec
    this.bytes = bytes
  }

  marshal (): Uint8Array {
    return this.bytes
  }

  equals (other: unknown): boolean {
    return other instanceof SignedPayload && uint8ArrayEquals(this.bytes, other.bytes)
  }
}

/** What an opened envelope holds. */
export interface OpenedEnvelope {
  /** The payload bytes. */
  payload: Uint8Array
  /** The signer's peer ID (base58btc string form). */
  signer: string
}

/** Seals `payload` under `domain` and `payloadType`; returns the envelope's protobuf bytes. */
export async function sealEnvelope (domain: string, payloadType: Uint8Array, payload: Uint8Array, privateKey: PrivateKey): Promise<Uint8Array> {
  const envelope = await RecordEnvelope.seal(new SignedPayload(domain, payloadType, payload), privateKey)
  return envelope.marshal()
}

/**
 * Opens an envelope and checks its size, signature (over `domain`) and
 * payload type. Throws InvalidRecordError saying which check failed; `what`
 * names the object in messages (`Credential`, `Revocation`).
 */
export async function openEnvelope (bytes: Uint8Array, domain: string, payloadType: Uint8Array, maxBytes: number, what: string): Promise<OpenedEnvelope> {
  if (bytes.byteLength > maxBytes) {
    throw new InvalidRecordError(`${what} is ${bytes.byteLength} bytes, more than the ${maxBytes} allowed`)
  }

  let envelope: RecordEnvelope

  try {
    envelope = await openCertified(bytes, domain)
  } catch (err) {
    throw new InvalidRecordError(`${what} envelope is malformed or its signature is not valid`, { cause: err })
  }

  if (!uint8ArrayEquals(envelope.payloadType, payloadType)) {
    throw new InvalidRecordError(`${what} envelope has the wrong payload type`)
  }

  return { payload: envelope.payload, signer: peerIdFromPublicKey(envelope.publicKey).toString() }
}

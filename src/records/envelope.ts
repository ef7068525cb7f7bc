import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import { CertifiedEnvelopes } from './certified-envelopes.js'
import { InvalidRecordError } from '../errors.js'
import type { PrivateKey, Record as Libp2pSignedRecord } from '@libp2p/interface'

/**
 * netget's signed objects (service records, credentials, revocations) are
 * libp2p signed envelopes (RFC 0002): a payload, its type, and a signature
 * over a domain string, so a signature made for one kind of object can never
 * pass as another.
 */

/** The one key type of netget identities, signatures and peer IDs (docs/PROTOCOL.md §1). */
export const SIGNING_KEY_TYPE = 'Ed25519'

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
 * Opens an envelope and checks its size, that it decodes, that its key is
 * Ed25519 (the only key type of docs/PROTOCOL.md §1), its signature (over
 * `domain`) and its payload type. Throws InvalidRecordError saying which
 * check failed, with the reason code of it (`too-large`, `bad-envelope`,
 * `bad-key-type`, `bad-signature`, `wrong-type`); `what` names the object
 * in messages (`Record`, `Credential`, `Revocation`).
 */
export async function openEnvelope (bytes: Uint8Array, domain: string, payloadType: Uint8Array, maxBytes: number, what: string): Promise<OpenedEnvelope> {
  if (bytes.byteLength > maxBytes) {
    throw new InvalidRecordError(`${what} is ${bytes.byteLength} bytes, more than the ${maxBytes} allowed`, { code: 'too-large' })
  }

  const key = certified.key(bytes, domain)
  const known = certified.get(key)

  if (known !== undefined && uint8ArrayEquals(known.payloadType, payloadType)) {
    return { payload: known.payload, signer: known.signer }
  }

  let envelope: RecordEnvelope

  try {
    envelope = RecordEnvelope.createFromProtobuf(bytes)
  } catch (err) {
    throw new InvalidRecordError(`${what} envelope is malformed (not a libp2p signed envelope with a valid public key)`, { cause: err, code: 'bad-envelope' })
  }

  if (envelope.publicKey.type !== SIGNING_KEY_TYPE) {
    throw new InvalidRecordError(`${what} envelope is signed by a ${envelope.publicKey.type} key; netget accepts ${SIGNING_KEY_TYPE} keys only`, { code: 'bad-key-type' })
  }

  let valid = false

  try {
    valid = await envelope.validate(domain)
  } catch (err) {
    throw new InvalidRecordError(`${what} envelope's signature is not valid`, { cause: err, code: 'bad-signature' })
  }

  if (!valid) {
    throw new InvalidRecordError(`${what} envelope's signature is not valid for the domain "${domain}"`, { code: 'bad-signature' })
  }

  if (!uint8ArrayEquals(envelope.payloadType, payloadType)) {
    throw new InvalidRecordError(`${what} envelope has the wrong payload type`, { code: 'wrong-type' })
  }

  const opened = { payload: envelope.payload, signer: peerIdFromPublicKey(envelope.publicKey).toString() }
  certified.set(key, { ...opened, payloadType })
  return opened
}

/** Envelopes that passed every check of {@link openEnvelope}, by their exact bytes. */
const certified = new CertifiedEnvelopes<OpenedEnvelope & { payloadType: Uint8Array }>()

import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { isPeerIdString } from '../protocol/names.js'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { MAX_CREDENTIAL_BYTES, MAX_CREDENTIAL_TTL, NETWORK_NAME_PATTERN } from '../constants.js'
import { InvalidRecordError } from '../errors.js'
import { openEnvelope, sealEnvelope } from '../records/envelope.js'
import { isPlainObject } from '../records/record.js'
import type { Credential } from './credential.js'
import type { PrivateKey } from '@libp2p/interface'

/** Domain string every revocation signature is bound to. */
export const REVOCATION_DOMAIN = 'netget-revocation'

/** Payload type of a revocation envelope: the UTF-8 bytes of `/netget/revocation/1`. */
export const REVOCATION_PAYLOAD_TYPE = uint8ArrayFromString('/netget/revocation/1')

/** Version number carried in every revocation payload. */
export const REVOCATION_VERSION = 1

/**
 * The authority's word that a peer's credentials are void: every credential
 * of `peer` issued at or before `revokedAt`, or only the one with
 * `credentialId`. A credential issued after `revokedAt` is valid again, so a
 * peer can be re-admitted. No credential lives longer than
 * {@link MAX_CREDENTIAL_TTL}, so a revocation can be forgotten that long
 * after `revokedAt`.
 */
export interface Revocation {
  network: string
  authority: string
  peer: string
  /** Unix ms. */
  revokedAt: number
  /** Only this credential; every credential of the peer when absent. */
  credentialId?: string
}

/** A revocation and the exact envelope bytes it came in. */
export interface SealedRevocation {
  revocation: Revocation
  envelope: Uint8Array
}

/** Encodes a revocation as the UTF-8 JSON payload of docs/PROTOCOL.md. */
export function encodeRevocation (revocation: Revocation): Uint8Array {
  const { network, authority, peer, revokedAt, credentialId } = revocation
  return uint8ArrayFromString(JSON.stringify({ v: REVOCATION_VERSION, network, authority, peer, revokedAt, ...(credentialId === undefined ? {} : { credentialId }) }))
}

/** Decodes and shape-checks a revocation payload; throws InvalidRecordError. */
export function decodeRevocation (payload: Uint8Array): Revocation {
  let parsed: unknown

  try {
    parsed = JSON.parse(uint8ArrayToString(payload))
  } catch (err) {
    throw new InvalidRecordError('Revocation payload is not valid UTF-8 JSON', { cause: err })
  }

  if (!isPlainObject(parsed) || parsed.v !== REVOCATION_VERSION) {
    throw new InvalidRecordError(`Revocation payload must be a JSON object with "v": ${REVOCATION_VERSION}`)
  }

  const { network, authority, peer, revokedAt, credentialId } = parsed

  if (typeof network !== 'string' || !NETWORK_NAME_PATTERN.test(network)) {
    throw new InvalidRecordError('Revocation field "network" is missing or not a valid network name')
  }

  if (!isPeerIdString(authority) || !isPeerIdString(peer)) {
    throw new InvalidRecordError('Revocation fields "authority" and "peer" must be peer IDs')
  }

  if (!Number.isSafeInteger(revokedAt) || (revokedAt as number) <= 0) {
    throw new InvalidRecordError('Revocation field "revokedAt" must be Unix ms')
  }

  if (credentialId !== undefined && (typeof credentialId !== 'string' || !/^[0-9a-f]{16}$/.test(credentialId))) {
    throw new InvalidRecordError('Revocation field "credentialId" must be 16 lowercase hex digits when present')
  }

  return { network, authority: authority as string, peer: peer as string, revokedAt: revokedAt as number, ...(credentialId === undefined ? {} : { credentialId: credentialId as string }) }
}

/** Signs a revocation with the network's authority key. */
export async function issueRevocation (init: Omit<Revocation, 'authority' | 'revokedAt'> & { now?: number }, authorityKey: PrivateKey): Promise<SealedRevocation> {
  const revocation: Revocation = {
    network: init.network,
    authority: peerIdFromPrivateKey(authorityKey).toString(),
    peer: init.peer,
    revokedAt: init.now ?? Date.now(),
    ...(init.credentialId === undefined ? {} : { credentialId: init.credentialId })
  }
  const payload = encodeRevocation(revocation)
  decodeRevocation(payload)
  return { revocation, envelope: await sealEnvelope(REVOCATION_DOMAIN, REVOCATION_PAYLOAD_TYPE, payload, authorityKey) }
}

/** Opens a revocation envelope: size, signature, payload type, shape, signer = its `authority`. Throws InvalidRecordError. */
export async function openRevocation (envelope: Uint8Array): Promise<SealedRevocation> {
  const opened = await openEnvelope(envelope, REVOCATION_DOMAIN, REVOCATION_PAYLOAD_TYPE, MAX_CREDENTIAL_BYTES, 'Revocation')
  const revocation = decodeRevocation(opened.payload)

  if (opened.signer !== revocation.authority) {
    throw new InvalidRecordError(`Revocation names authority ${revocation.authority} but is signed by ${opened.signer}`)
  }

  return { revocation, envelope }
}

/** True if `revocation` voids `credential`. */
export function revokes (revocation: Revocation, credential: Credential): boolean {
  if (revocation.peer !== credential.peer || revocation.network !== credential.network || revocation.authority !== credential.authority) {
    return false
  }

  return revocation.credentialId === undefined ? credential.issuedAt <= revocation.revokedAt : revocation.credentialId === credential.id
}

/** True once no credential this revocation can void is still valid. */
export function isObsolete (revocation: Revocation, now = Date.now()): boolean {
  return revocation.revokedAt + MAX_CREDENTIAL_TTL < now
}

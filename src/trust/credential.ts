import { randomBytes } from '@libp2p/crypto'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { isPeerIdString } from '../protocol/names.js'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { CLOCK_SKEW_TOLERANCE, MAX_CREDENTIAL_BYTES, MAX_CREDENTIAL_NAMES, MAX_CREDENTIAL_TTL, NETWORK_NAME_PATTERN } from '../constants.js'
import { CredentialError, InvalidRecordError } from '../errors.js'
import { openEnvelope, sealEnvelope } from '../records/envelope.js'
import { isPlainObject } from '../records/record.js'
import { isNamePattern, matchesNamePattern } from './names.js'
import type { PrivateKey } from '@libp2p/interface'

/** Domain string every credential signature is bound to. */
export const CREDENTIAL_DOMAIN = 'netget-credential'

/** Payload type of a credential envelope: the UTF-8 bytes of `/netget/credential/1`. */
export const CREDENTIAL_PAYLOAD_TYPE = uint8ArrayFromString('/netget/credential/1')

/** Version number carried in every credential payload. */
export const CREDENTIAL_VERSION = 1

/** What a credential lets its peer do on a closed network. */
export type CredentialRole = 'publish' | 'read' | 'registry'

/** Every role; `publish` and `registry` include `read`. */
export const CREDENTIAL_ROLES: readonly CredentialRole[] = ['publish', 'read', 'registry']

/** A closed network's permission for one peer, signed by the network's authority. */
export interface Credential {
  /** The network name. */
  network: string
  /** The authority's peer ID; the envelope must be signed by its key. */
  authority: string
  /** The peer this credential is for. */
  peer: string
  /** What the peer may do. */
  role: CredentialRole
  /** For `publish`: the service names or `prefix*` patterns it may publish; empty otherwise. */
  names: string[]
  /** Unix ms it was issued; a revocation of this peer at or after this time voids it. */
  issuedAt: number
  /** Unix ms after which it is void. */
  expiresAt: number
  /** A random id (16 hex digits), to revoke this one credential. */
  id: string
}

/** A credential together with the exact envelope bytes it came in. */
export interface SealedCredential {
  credential: Credential
  envelope: Uint8Array
}

/** Encodes a credential as the UTF-8 JSON payload of docs/PROTOCOL.md. */
export function encodeCredential (credential: Credential): Uint8Array {
  const { network, authority, peer, role, names, issuedAt, expiresAt, id } = credential
  return uint8ArrayFromString(JSON.stringify({ v: CREDENTIAL_VERSION, network, authority, peer, role, names, issuedAt, expiresAt, id }))
}

/** Decodes and shape-checks a credential payload; throws InvalidRecordError naming the first bad field. */
export function decodeCredential (payload: Uint8Array): Credential {
  let parsed: unknown

  try {
    parsed = JSON.parse(uint8ArrayToString(payload))
  } catch (err) {
    throw new InvalidRecordError('Credential payload is not valid UTF-8 JSON', { cause: err })
  }

  if (!isPlainObject(parsed) || parsed.v !== CREDENTIAL_VERSION) {
    throw new InvalidRecordError(`Credential payload must be a JSON object with "v": ${CREDENTIAL_VERSION}`)
  }

  const { network, authority, peer, role, names, issuedAt, expiresAt, id } = parsed

  if (typeof network !== 'string' || !NETWORK_NAME_PATTERN.test(network)) {
    throw new InvalidRecordError('Credential field "network" is missing or not a valid network name')
  }

  if (!isPeerIdString(authority) || !isPeerIdString(peer)) {
    throw new InvalidRecordError('Credential fields "authority" and "peer" must be peer IDs')
  }

  if (typeof role !== 'string' || !(CREDENTIAL_ROLES as readonly string[]).includes(role)) {
    throw new InvalidRecordError(`Credential field "role" must be one of ${CREDENTIAL_ROLES.join(', ')}`)
  }

  if (!Array.isArray(names) || names.length > MAX_CREDENTIAL_NAMES || !names.every(isNamePattern) || (role === 'publish') !== (names.length > 0)) {
    throw new InvalidRecordError(`Credential field "names" must list 1 to ${MAX_CREDENTIAL_NAMES} service names or prefix* patterns for role publish, and be empty for other roles`)
  }

  if (!Number.isSafeInteger(issuedAt) || !Number.isSafeInteger(expiresAt) || (issuedAt as number) <= 0 || (expiresAt as number) <= (issuedAt as number)) {
    throw new InvalidRecordError('Credential fields "issuedAt" and "expiresAt" must be Unix ms with expiresAt after issuedAt')
  }

  if ((expiresAt as number) - (issuedAt as number) > MAX_CREDENTIAL_TTL) {
    throw new InvalidRecordError(`Credential is valid for more than the ${MAX_CREDENTIAL_TTL / 86_400_000} days allowed`)
  }

  if (typeof id !== 'string' || !/^[0-9a-f]{16}$/.test(id)) {
    throw new InvalidRecordError('Credential field "id" must be 16 lowercase hex digits')
  }

  return { network, authority: authority as string, peer: peer as string, role: role as CredentialRole, names: names as string[], issuedAt: issuedAt as number, expiresAt: expiresAt as number, id }
}

/** What {@link issueCredential} needs. */
export interface IssueCredentialInit {
  network: string
  peer: string
  role: CredentialRole
  /** For `publish`: the names or `prefix*` patterns granted. */
  names?: string[]
  /** Validity in ms from now. */
  ttl: number
  /** The issuing clock, Unix ms. @default Date.now() */
  now?: number
}

/**
 * Issues a credential signed by the network's authority key. Throws
 * InvalidRecordError if the result would not pass {@link decodeCredential}.
 */
export async function issueCredential (init: IssueCredentialInit, authorityKey: PrivateKey): Promise<SealedCredential> {
  const now = init.now ?? Date.now()
  const credential: Credential = {
    network: init.network,
    authority: peerIdFromPrivateKey(authorityKey).toString(),
    peer: init.peer,
    role: init.role,
    names: init.names ?? [],
    issuedAt: now,
    expiresAt: now + init.ttl,
    id: uint8ArrayToString(randomBytes(8), 'base16')
  }
  const payload = encodeCredential(credential)
  decodeCredential(payload)
  return { credential, envelope: await sealEnvelope(CREDENTIAL_DOMAIN, CREDENTIAL_PAYLOAD_TYPE, payload, authorityKey) }
}

/**
 * Opens a credential envelope: size, signature, payload type, shape, and
 * signer = the `authority` it names. Checks nothing about who uses it or
 * when (see {@link checkCredential}). Throws InvalidRecordError.
 */
export async function openCredential (envelope: Uint8Array): Promise<SealedCredential> {
  const opened = await openEnvelope(envelope, CREDENTIAL_DOMAIN, CREDENTIAL_PAYLOAD_TYPE, MAX_CREDENTIAL_BYTES, 'Credential')
  const credential = decodeCredential(opened.payload)

  if (opened.signer !== credential.authority) {
    throw new InvalidRecordError(`Credential names authority ${credential.authority} but is signed by ${opened.signer}`)
  }

  return { credential, envelope }
}

/** What a credential must allow, for {@link checkCredential}. */
export interface CredentialExpectations {
  network: string
  authority: string
  /** The peer presenting or publishing with it. */
  peer: string
  /** Any of these roles will do. */
  roles: readonly CredentialRole[]
  /** For publishing: the service name it must grant. */
  name?: string
  /** The checking clock, Unix ms. @default Date.now() */
  now?: number
  /** True if this credential was revoked. @default never */
  isRevoked?(credential: Credential): boolean
}

/**
 * Checks that an opened credential allows what is asked. Throws
 * CredentialError with the reason and what to do about it.
 */
export function checkCredential (credential: Credential, expect: CredentialExpectations): void {
  const { network } = expect
  const now = expect.now ?? Date.now()
  const fail = (reason: CredentialError['reason'], message: string): never => {
    throw new CredentialError(message, reason, network)
  }

  if (credential.network !== network) {
    fail('wrong-network', `The credential is for network "${credential.network}", not "${network}"; ask the authority for one for "${network}"`)
  }

  if (credential.authority !== expect.authority) {
    fail('wrong-authority', `The credential was issued by authority ${credential.authority}, but network "${network}" has authority ${expect.authority}; use a credential from this network's authority`)
  }

  if (credential.peer !== expect.peer) {
    fail('wrong-peer', `The credential is for peer ${credential.peer}, not ${expect.peer}; a credential only works for the peer it was granted to (its peer.key)`)
  }

  if (!expect.roles.includes(credential.role)) {
    fail('wrong-role', `The credential grants role "${credential.role}"; this needs ${expect.roles.map(role => `"${role}"`).join(' or ')}`)
  }

  if (expect.name !== undefined && !credential.names.some(pattern => matchesNamePattern(expect.name as string, pattern))) {
    fail('name-not-granted', `The credential does not grant the service name "${expect.name}" (it grants ${credential.names.join(', ')}); ask the authority for a publish credential with --names ${expect.name}`)
  }

  if (credential.issuedAt > now + CLOCK_SKEW_TOLERANCE) {
    fail('not-yet-valid', `The credential was issued in the future (${new Date(credential.issuedAt).toISOString()}); check this machine's clock`)
  }

  if (credential.expiresAt <= now) {
    fail('expired', `The credential expired at ${new Date(credential.expiresAt).toISOString()}; ask the authority for a new one (netget-peer network grant) and replace the file`)
  }

  if (expect.isRevoked?.(credential) === true) {
    fail('revoked', `The credential of peer ${credential.peer} was revoked by the network's authority`)
  }
}

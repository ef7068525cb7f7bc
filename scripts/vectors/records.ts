import { MAX_RECORD_TTL, CLOCK_SKEW_TOLERANCE } from '../../src/constants.js'
import { sealEnvelope } from '../../src/records/envelope.js'
import { recordKey } from '../../src/records/keys.js'
import { RECORD_DOMAIN, RECORD_PAYLOAD_TYPE, sealRecord } from '../../src/records/record.js'
import { CREDENTIAL_DOMAIN, CREDENTIAL_PAYLOAD_TYPE, encodeCredential } from '../../src/trust/credential.js'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { EXPIRES_AT, NOW, SEQ, fixedKey, fixedSecp256k1Key, hex, peerIdOf } from './common.js'
import type { VectorFile, VectorGenerator } from './common.js'
import type { RefusalCode } from '../../src/errors.js'
import type { ServiceRecord } from '../../src/records/record.js'
import type { PrivateKey } from '@libp2p/interface'

/** The open network and the service of the vectors. */
export const NETWORK = 'production'
export const NAME = 'DatabaseService'

/** A record vector: a kad key, an envelope, and the verdict of a reader of `reader.network`. */
export interface RecordVector {
  description: string
  key: string
  envelope: string
  /** The payload's exact bytes, as UTF-8 text. */
  payload: string
  reader: { network: string, authority?: string }
  /** Valid vectors: the decoded fields. */
  record?: Record<string, unknown>
  /** Invalid vectors: the rule broken, the reason code, and a part of netget's message. */
  breaks?: string
  code?: RefusalCode
  /** `not-authorized`: the credential reason of §11.2. */
  reason?: string
  message?: string
}

/**
 * Payload fields in netget's order (that of `encodeRecord`), written out here on
 * purpose: the vectors are made independently of the encoder they check, so a
 * change to `encodeRecord` shows up as a vector that no longer matches.
 */
type Payload = Record<string, unknown>

function payloadOf (record: ServiceRecord): Payload {
  return {
    v: 1,
    network: record.network,
    name: record.name,
    peerId: record.peerId,
    multiaddrs: record.multiaddrs,
    metadata: record.metadata,
    seq: record.seq,
    expiresAt: record.expiresAt,
    withdrawn: record.withdrawn,
    ...(record.credential === undefined ? {} : { credential: uint8ArrayToString(record.credential, 'base64url') })
  }
}

async function raw (payload: string, key: PrivateKey, options: { domain?: string, payloadType?: string } = {}): Promise<Uint8Array> {
  return sealEnvelope(options.domain ?? RECORD_DOMAIN, options.payloadType === undefined ? RECORD_PAYLOAD_TYPE : uint8ArrayFromString(options.payloadType), uint8ArrayFromString(payload), key)
}

function keyText (network: string, name: string, peerId: string): string {
  return new TextDecoder().decode(recordKey(network, name, peerId))
}

/** The keys the record vectors are signed with. */
export async function recordKeys (): Promise<{ publisher: PrivateKey, other: PrivateKey, relay: PrivateKey, authority: PrivateKey }> {
  return { publisher: await fixedKey('publisher'), other: await fixedKey('other'), relay: await fixedKey('relay'), authority: await fixedKey('authority') }
}

/** A credential envelope of the vectors' authority, with a fixed id. */
export async function credentialEnvelope (authority: PrivateKey, fields: { network?: string, peer: string, role?: string, names?: string[], issuedAt?: number, expiresAt?: number, id?: string }): Promise<Uint8Array> {
  const payload = encodeCredential({
    network: fields.network ?? NETWORK,
    authority: peerIdOf(authority),
    peer: fields.peer,
    role: (fields.role ?? 'publish') as 'publish',
    names: fields.names ?? [NAME],
    issuedAt: fields.issuedAt ?? EXPIRES_AT - 7 * 24 * 60 * 60_000,
    expiresAt: fields.expiresAt ?? EXPIRES_AT + 60 * 60_000,
    id: fields.id ?? '00112233445566aa'
  })
  return sealEnvelope(CREDENTIAL_DOMAIN, CREDENTIAL_PAYLOAD_TYPE, payload, authority)
}

export const records: VectorGenerator = {
  file: 'records.json',
  async generate (): Promise<VectorFile> {
    const { publisher, other, relay, authority } = await recordKeys()
    const foreign = fixedSecp256k1Key('secp256k1')
    const peerId = peerIdOf(publisher)
    const base: ServiceRecord = {
      network: NETWORK,
      name: NAME,
      peerId,
      multiaddrs: [`/ip4/10.0.0.7/tcp/41237/p2p/${peerId}`, `/ip4/10.0.0.7/tcp/41238/ws/p2p/${peerId}`],
      metadata: { name: NAME, version: '1.4.0' },
      seq: SEQ,
      expiresAt: EXPIRES_AT,
      withdrawn: false
    }
    const key = keyText(NETWORK, NAME, peerId)
    const reader = { network: NETWORK }
    const valid: RecordVector[] = []
    const invalid: RecordVector[] = []

    const addValid = async (description: string, record: ServiceRecord, extra: { reader?: RecordVector['reader'], key?: string } = {}): Promise<void> => {
      const envelope = await sealRecord(record, publisher)
      valid.push({ description, key: extra.key ?? key, envelope: hex(envelope), payload: JSON.stringify(payloadOf(record)), reader: extra.reader ?? reader, record: payloadOf(record) })
    }
    const addRawValid = async (description: string, payload: string, record: Payload): Promise<void> => {
      valid.push({ description, key, envelope: hex(await raw(payload, publisher)), payload, reader, record })
    }
    const addInvalid = async (description: string, breaks: string, code: RefusalCode, message: string, payload: Payload | string, options: { signer?: PrivateKey, key?: string, domain?: string, payloadType?: string, reader?: RecordVector['reader'], reason?: string, envelope?: Uint8Array } = {}): Promise<void> => {
      const text = typeof payload === 'string' ? payload : JSON.stringify(payload)
      const envelope = options.envelope ?? await raw(text, options.signer ?? publisher, options)
      invalid.push({ description, key: options.key ?? key, envelope: hex(envelope), payload: text, reader: options.reader ?? reader, breaks, code, ...(options.reason === undefined ? {} : { reason: options.reason }), message })
    }
    const p = payloadOf(base)

    // valid
    await addValid('a live record with two addresses', base)
    await addValid('a circuit-relay address: only the last /p2p/ part counts, and it names peerId', { ...base, multiaddrs: [`/ip4/192.0.2.1/tcp/4001/p2p/${peerIdOf(relay)}/p2p-circuit/p2p/${peerId}`] })
    await addValid('an address without /p2p/ (readers append /p2p/<peerId> to dial it)', { ...base, multiaddrs: ['/ip4/10.0.0.7/tcp/41237'] })
    await addValid('a live record with no address (reachable only through peer routing; valid)', { ...base, multiaddrs: [] })
    await addValid('a withdrawal as netget publishes it', { ...base, multiaddrs: [], metadata: { name: NAME }, seq: SEQ + 1, withdrawn: true })
    await addValid('a withdrawal that still lists addresses and metadata (valid; readers ignore both)', { ...base, seq: SEQ + 1, withdrawn: true })
    await addValid('metadata without "name"', { ...base, metadata: { version: '1.4.0' } })
    await addValid('seq 0', { ...base, seq: 0 })
    await addValid('metadata of exactly 8192 UTF-8 bytes, 2-byte characters included', { ...base, metadata: { name: NAME, blob: 'é'.repeat(100) + 'x'.repeat(8192 - JSON.stringify({ name: NAME, blob: '' }).length - 200) } })
    await addRawValid('fields this reader does not know (a later minor version), which it ignores', JSON.stringify({ ...p, status: 'ready', 'x-future': { any: ['thing'] } }), p)
    await addRawValid('fields in another order, with whitespace: readers decode the JSON, they do not compare bytes', JSON.stringify({ withdrawn: false, expiresAt: EXPIRES_AT, seq: SEQ, metadata: base.metadata, multiaddrs: base.multiaddrs, peerId, name: NAME, network: NETWORK, v: 1 }, null, 1), p)

    // closed network: the network id and a credential
    const closedId = `${NETWORK}@${peerIdOf(authority)}`
    const closedReader = { network: closedId, authority: peerIdOf(authority) }
    const closedKey = keyText(closedId, NAME, peerId)
    const credential = await credentialEnvelope(authority, { peer: peerId })
    const closed: ServiceRecord = { ...base, network: closedId, credential }
    await addValid('a closed network: the network id in key and payload, the publisher\'s credential', closed, { reader: closedReader, key: closedKey })

    // invalid, one rule each
    const envelope = await sealRecord(base, publisher)
    const tampered = envelope.slice()
    tampered[tampered.length - 1] ^= 0x01
    const longAddress = (i: number): string => `/dns4/${'a'.repeat(900)}${i}.example/tcp/4001/p2p/${peerId}`
    await addInvalid('an envelope over 16384 bytes (20 long but valid addresses)', '§4.4 rule 1: the envelope is at most 16384 bytes', 'too-large', 'more than the 16384 allowed', { ...p, multiaddrs: Array.from({ length: 20 }, (_, i) => longAddress(i)) })
    await addInvalid('bytes that are not an envelope', '§4.4 rule 1: the envelope decodes', 'bad-envelope', 'envelope is malformed', '', { envelope: uint8ArrayFromString('{"not":"an envelope"}') })
    await addInvalid('a signature with one bit flipped', '§4.4 rule 2: the signature verifies', 'bad-signature', 'signature is not valid', JSON.stringify(p), { envelope: tampered })
    await addInvalid('signed for another domain (libp2p-peer-record)', '§4.4 rule 2: the signature verifies for the domain netget-service-record', 'bad-signature', 'signature is not valid', p, { domain: 'libp2p-peer-record' })
    const foreignId = peerIdOf(foreign)
    await addInvalid('signed by a secp256k1 key (its own peer ID throughout)', '§1 and §4.4 rule 2: the signer is an Ed25519 key', 'bad-key-type', 'secp256k1 key', { ...p, peerId: foreignId, multiaddrs: [`/ip4/10.0.0.8/tcp/4001/p2p/${foreignId}`] }, { signer: foreign, key: keyText(NETWORK, NAME, foreignId) })
    await addInvalid('a version 2 record: payload type /netget/service-record/2 (a v1 reader drops it)', '§4.4 rule 3 and §13: the payload type is /netget/service-record/1', 'wrong-type', 'wrong payload type', { ...p, v: 2 }, { payloadType: '/netget/service-record/2' })
    await addInvalid('"v": 2 under the version 1 payload type', '§4.4 rule 4 and §13: "v" is 1', 'unsupported-version', 'version 2 is not supported', { ...p, v: 2 })
    await addInvalid('a payload that is not JSON', '§4.4 rule 4: the payload is a UTF-8 JSON object', 'bad-record', 'not valid UTF-8 JSON', 'v=1;name=DatabaseService')
    await addInvalid('a payload that is a JSON array', '§4.4 rule 4: the payload is a JSON object', 'bad-record', 'not a JSON object', JSON.stringify([p]))
    const { withdrawn: _withdrawn, ...missing } = p
    await addInvalid('a payload without "withdrawn"', '§4.1: every field is present', 'bad-record', '"withdrawn" must be a boolean', missing)
    await addInvalid('a service name with a space', '§3 and §4.1: name matches the service-name pattern', 'bad-record', '"name" is missing or not a valid', { ...p, name: 'Database Service' })
    await addInvalid('33 addresses', '§4.1: at most 32 multiaddrs', 'bad-record', 'at most 32 valid multiaddr strings', { ...p, multiaddrs: Array.from({ length: 33 }, (_, i) => `/ip4/10.0.0.7/tcp/${4000 + i}/p2p/${peerId}`) })
    await addInvalid('an address of 1025 characters', '§4.1: each multiaddr is at most 1024 characters', 'bad-record', 'valid multiaddr strings', { ...p, multiaddrs: [`/dns4/${'a'.repeat(1025 - `/dns4//tcp/4001/p2p/${peerId}`.length)}/tcp/4001/p2p/${peerId}`] })
    await addInvalid('one address that does not parse (voids the whole record)', '§4.1: every multiaddr parses', 'bad-record', 'valid multiaddr strings', { ...p, multiaddrs: [base.multiaddrs[0], '/ip4/999.0.0.1/tcp/4001'] })
    await addInvalid('an address whose last /p2p/ part names another peer', '§4.1: the last /p2p/ part of an address names peerId', 'bad-record', 'an address of another peer', { ...p, multiaddrs: [`/ip4/10.0.0.9/tcp/4001/p2p/${peerIdOf(other)}`] })
    await addInvalid('a relay address that ends at the relay (/p2p-circuit without /p2p/<peerId>)', '§4.1: the last /p2p/ part of an address names peerId', 'bad-record', 'an address of another peer', { ...p, multiaddrs: [`/ip4/192.0.2.1/tcp/4001/p2p/${peerIdOf(relay)}/p2p-circuit`] })
    await addInvalid('metadata that is an array', '§4.1: metadata is a JSON object', 'bad-record', '"metadata" must be a JSON object', { ...p, metadata: [NAME] })
    await addInvalid('metadata.name other than name', '§4.1: metadata.name, if present, equals name', 'bad-record', '"metadata.name" differs', { ...p, metadata: { name: 'CacheService' } })
    await addInvalid('metadata of 8193 UTF-8 bytes but 8093 UTF-16 code units (JavaScript string length)', '§4.1: the UTF-8 length of JSON.stringify(metadata) is at most 8192', 'bad-record', 'larger than 8192 bytes', { ...p, metadata: { name: NAME, blob: 'é'.repeat(100) + 'x'.repeat(8193 - JSON.stringify({ name: NAME, blob: '' }).length - 200) } })
    await addInvalid('a negative seq', '§4.1: seq is a non-negative safe integer', 'bad-record', '"seq" must be a non-negative safe integer', { ...p, seq: -1 })
    await addInvalid('a fractional seq', '§4.1: seq is a non-negative safe integer', 'bad-record', '"seq" must be a non-negative safe integer', { ...p, seq: 1.5 })
    await addInvalid('expiresAt as a string', '§4.1: expiresAt is a positive safe integer', 'bad-record', '"expiresAt" must be a positive safe integer', { ...p, expiresAt: String(EXPIRES_AT) })
    await addInvalid('withdrawn as a string', '§4.1: withdrawn is a boolean', 'bad-record', '"withdrawn" must be a boolean', { ...p, withdrawn: 'false' })
    await addInvalid('a record for another peer ID than its signer', '§4.4 rule 5: the signer\'s peer ID equals peerId', 'wrong-peer', 'is signed by another peer', { ...p, peerId: peerIdOf(other), multiaddrs: [] }, { key: keyText(NETWORK, NAME, peerIdOf(other)) })
    await addInvalid('a record stored under another peer\'s key', '§4.4 rule 5: peerId equals the peer ID in the key', 'wrong-peer', 'is stored under peer', p, { key: keyText(NETWORK, NAME, peerIdOf(other)) })
    await addInvalid('a record of another network under this network\'s key', '§4.4 rule 6: the payload\'s network is the key\'s and the reader\'s', 'wrong-network', 'belongs to network "staging"', { ...p, network: 'staging' })
    await addInvalid('a key of another network', '§4.4 rule 6: the key\'s network is the reader\'s', 'wrong-network', 'Record key names network "staging"', { ...p, network: 'staging' }, { key: keyText('staging', NAME, peerId) })
    await addInvalid('an open network\'s record read on a closed network of the same name', '§4.4 rule 6 and §11.1: the network id includes the authority', 'wrong-network', 'belongs to network "production"', p, { key: closedKey, reader: closedReader })
    await addInvalid('a record under another service\'s key', '§4.4 rule 7: the key\'s name equals name', 'wrong-name', 'is for service "DatabaseService", not "CacheService"', p, { key: keyText(NETWORK, 'CacheService', peerId) })
    await addInvalid('expiresAt equal to the reader\'s clock', '§4.4 rule 8: expiresAt is later than the reader\'s clock', 'expired', 'Record expired at', { ...p, expiresAt: NOW })
    await addInvalid('expiresAt 24 h + 60 s + 1 ms ahead', '§4.4 rule 8: expiresAt is at most the reader\'s clock + 24 h + 60 s', 'expiry-too-far', 'further ahead than the 24 hour maximum', { ...p, expiresAt: NOW + MAX_RECORD_TTL + CLOCK_SKEW_TOLERANCE + 1 })
    await addInvalid('a key with four parts', '§4.3: keys are /netget/<network>/<name>/<peerId>', 'bad-key', 'not of the form', p, { key: `/netget/${NETWORK}/${NAME}` })

    // closed network: the credential (§11.2)
    const cp = payloadOf(closed)
    await addInvalid('a closed network\'s record without a credential', '§11.2: a record carries a credential that passes', 'not-authorized', 'presented no credential', { ...cp, credential: undefined }, { key: closedKey, reader: closedReader, reason: 'missing' })
    await addInvalid('a credential that grants another name', '§11.2: the credential grants the record\'s name', 'not-authorized', 'CacheService', { ...cp, credential: uint8ArrayToString(await credentialEnvelope(authority, { peer: peerId, names: ['CacheService'] }), 'base64url') }, { key: closedKey, reader: closedReader, reason: 'name-not-granted' })
    await addInvalid('a credential of another peer', '§11.2: the credential is for the record\'s peerId', 'not-authorized', peerIdOf(other), { ...cp, credential: uint8ArrayToString(await credentialEnvelope(authority, { peer: peerIdOf(other) }), 'base64url') }, { key: closedKey, reader: closedReader, reason: 'wrong-peer' })
    await addInvalid('a credential with role read', '§11.2: publishing needs role publish', 'not-authorized', 'read', { ...cp, credential: uint8ArrayToString(await credentialEnvelope(authority, { peer: peerId, role: 'read', names: [] }), 'base64url') }, { key: closedKey, reader: closedReader, reason: 'wrong-role' })
    await addInvalid('a record that outlives its credential by more than 60 s', '§11.2: expiresAt ≤ the credential\'s expiresAt + 60 s', 'not-authorized', 'outlives its credential', { ...cp, credential: uint8ArrayToString(await credentialEnvelope(authority, { peer: peerId, expiresAt: EXPIRES_AT - 60_001 - 1 }), 'base64url') }, { key: closedKey, reader: closedReader, reason: 'expired' })

    // no rollback (§4.4 rule 9): a stored record and a newer arrival
    const stored = await sealRecord({ ...base, seq: SEQ + 10 }, publisher)
    const expiredStored = await sealRecord({ ...base, seq: SEQ + 10, expiresAt: NOW - 1 }, publisher)
    const rollback = [
      { description: 'a lower seq than the stored one', stored, incoming: await sealRecord({ ...base, seq: SEQ + 9 }, publisher), accepted: false, code: 'stale-seq' },
      { description: 'the same seq with other bytes', stored, incoming: await sealRecord({ ...base, seq: SEQ + 10, metadata: { name: NAME, version: '2' } }, publisher), accepted: false, code: 'stale-seq' },
      { description: 'the very bytes stored (acknowledged, not written again)', stored, incoming: stored, accepted: true },
      { description: 'a higher seq', stored, incoming: await sealRecord({ ...base, seq: SEQ + 11 }, publisher), accepted: true },
      { description: 'a lower seq than a stored record that has expired but is still stored', stored: expiredStored, incoming: await sealRecord({ ...base, seq: SEQ + 9 }, publisher), accepted: false, code: 'stale-seq' }
    ].map(vector => ({ ...vector, key, stored: hex(vector.stored), incoming: hex(vector.incoming) }))

    return {
      description: 'Service records (docs/PROTOCOL.md §4): envelopes valid and invalid, judged by a reader of reader.network whose clock is `now`; invalid ones break one rule each, named by `breaks` and the reason code `code` (§12). `rollback`: a registry storing `stored` under `key` and receiving `incoming` (§4.4 rule 9). Keys are in keys.json.',
      now: NOW,
      valid,
      invalid,
      rollback
    }
  }
}

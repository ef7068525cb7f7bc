import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { sealEnvelope } from '../../src/records/envelope.js'
import { CREDENTIAL_DOMAIN, CREDENTIAL_PAYLOAD_TYPE } from '../../src/trust/credential.js'
import { encodeTrustRequest, encodeTrustResponse } from '../../src/trust/messages.js'
import { REVOCATION_DOMAIN, REVOCATION_PAYLOAD_TYPE, encodeRevocation } from '../../src/trust/revocation.js'
import { EXPIRES_AT, NOW, fixedKey, fixedSecp256k1Key, hex, peerIdOf } from './common.js'
import { NAME, NETWORK, credentialEnvelope } from './records.js'
import type { VectorFile, VectorGenerator } from './common.js'
import type { PrivateKey } from '@libp2p/interface'

const DAY = 24 * 60 * 60_000

export const trust: VectorGenerator = {
  file: 'trust.json',
  async generate (): Promise<VectorFile> {
    const authority = await fixedKey('authority')
    const other = await fixedKey('other')
    const publisher = peerIdOf(await fixedKey('publisher'))
    const registry = peerIdOf(await fixedKey('registry'))
    const authorityId = peerIdOf(authority)
    const check = { network: NETWORK, authority: authorityId, peer: publisher, roles: ['publish'], name: NAME, now: NOW }
    const rawCredential = async (payload: Record<string, unknown>, key: PrivateKey = authority, domain = CREDENTIAL_DOMAIN): Promise<Uint8Array> =>
      sealEnvelope(domain, CREDENTIAL_PAYLOAD_TYPE, uint8ArrayFromString(JSON.stringify(payload)), key)
    const fields = { v: 1, network: NETWORK, authority: authorityId, peer: publisher, role: 'publish', names: [NAME], issuedAt: EXPIRES_AT - 7 * DAY, expiresAt: EXPIRES_AT + 60 * 60_000, id: '00112233445566aa' }

    const credential = async (description: string, envelope: Uint8Array, verdict: { passes: true } | { reason: string, breaks: string }, checkAs: Record<string, unknown> = {}, revocations: Uint8Array[] = []): Promise<Record<string, unknown>> => ({
      description, envelope: hex(envelope), check: { ...check, ...checkAs }, ...(revocations.length === 0 ? {} : { revocations: revocations.map(hex) }), ...verdict
    })
    const revocation = async (payload: Record<string, unknown>, key: PrivateKey = authority): Promise<Uint8Array> =>
      sealEnvelope(REVOCATION_DOMAIN, REVOCATION_PAYLOAD_TYPE, uint8ArrayFromString(JSON.stringify(payload)), key)
    const revokeAll = await revocation({ v: 1, network: NETWORK, authority: authorityId, peer: publisher, revokedAt: EXPIRES_AT - DAY })
    const revokeOther = await revocation({ v: 1, network: NETWORK, authority: authorityId, peer: publisher, revokedAt: EXPIRES_AT - DAY, credentialId: 'ffffffffffffffff' })
    const revokeThis = await sealEnvelope(REVOCATION_DOMAIN, REVOCATION_PAYLOAD_TYPE, encodeRevocation({ network: NETWORK, authority: authorityId, peer: publisher, revokedAt: EXPIRES_AT - 8 * DAY, credentialId: '00112233445566aa' }), authority)
    const good = await credentialEnvelope(authority, { peer: publisher })

    const credentials = [
      await credential('a publish credential for one name', good, { passes: true }),
      await credential('a name pattern', await credentialEnvelope(authority, { peer: publisher, names: ['Database*'] }), { passes: true }),
      await credential('"*" grants every name', await credentialEnvelope(authority, { peer: publisher, names: ['*'] }), { passes: true }),
      await credential('a read credential, checked for reading (any role)', await credentialEnvelope(authority, { peer: publisher, role: 'read', names: [] }), { passes: true }, { roles: ['read', 'publish', 'registry'], name: undefined }),
      await credential('a registry credential, checked for serving', await credentialEnvelope(authority, { peer: registry, role: 'registry', names: [] }), { passes: true }, { peer: registry, roles: ['registry'], name: undefined }),
      await credential('issued 60 s after the checking clock (clock tolerance)', await credentialEnvelope(authority, { peer: publisher, issuedAt: NOW + 60_000 }), { passes: true }),
      await credential('an unknown extra field (ignored)', await rawCredential({ ...fields, 'x-future': 1 }), { passes: true }),
      await credential('a revocation of another credential id does not void it', good, { passes: true }, {}, [revokeOther]),
      await credential('signed for the record domain', await rawCredential(fields, authority, 'netget-service-record'), { reason: 'malformed', breaks: '§11.2: the envelope verifies under the domain netget-credential' }),
      await credential('names an authority other than its signer', await rawCredential(fields, other), { reason: 'malformed', breaks: '§11.2: the signer is `authority`' }),
      await credential('signed by a secp256k1 key', await rawCredential({ ...fields, authority: peerIdOf(fixedSecp256k1Key('secp256k1')) }, fixedSecp256k1Key('secp256k1')), { reason: 'malformed', breaks: '§1: signatures are Ed25519' }),
      await credential('a missing "id"', await rawCredential({ ...fields, id: undefined }), { reason: 'malformed', breaks: '§11.2: all fields are present' }),
      await credential('valid for more than 30 days', await credentialEnvelope(authority, { peer: publisher, issuedAt: EXPIRES_AT - 31 * DAY }), { reason: 'malformed', breaks: '§11.2: expiresAt ≤ issuedAt + 30 days' }),
      await credential('publish with no names', await rawCredential({ ...fields, names: [] }), { reason: 'malformed', breaks: '§11.2: role publish has 1 to 64 names' }),
      await credential('read with names', await rawCredential({ ...fields, role: 'read' }), { reason: 'malformed', breaks: '§11.2: other roles have names []' }, { roles: ['read', 'publish', 'registry'], name: undefined }),
      await credential('of another network', await credentialEnvelope(authority, { peer: publisher, network: 'staging' }), { reason: 'wrong-network', breaks: '§11.2: network is the network\'s name' }),
      await credential('of another authority', await credentialEnvelope(other, { peer: publisher }), { reason: 'wrong-authority', breaks: '§11.2: the signer is the network\'s authority' }),
      await credential('for another peer', await credentialEnvelope(authority, { peer: registry }), { reason: 'wrong-peer', breaks: '§11.2: peer is the presenting or publishing peer' }),
      await credential('role read, checked for publishing', await credentialEnvelope(authority, { peer: publisher, role: 'read', names: [] }), { reason: 'wrong-role', breaks: '§11.2: the role is one of those asked' }),
      await credential('grants another name', await credentialEnvelope(authority, { peer: publisher, names: ['Cache*'] }), { reason: 'name-not-granted', breaks: '§11.2: a pattern of names matches the name' }),
      await credential('issued more than 60 s after the checking clock', await credentialEnvelope(authority, { peer: publisher, issuedAt: NOW + 60_001 }), { reason: 'not-yet-valid', breaks: '§11.2: issuedAt ≤ now + 60 s' }),
      await credential('expired', await credentialEnvelope(authority, { peer: publisher, issuedAt: NOW - DAY, expiresAt: NOW }), { reason: 'expired', breaks: '§11.2: expiresAt > now' }),
      await credential('voided by a revocation of every credential issued before it', good, { reason: 'revoked', breaks: '§11.3: no held revocation voids it' }, {}, [revokeAll]),
      await credential('voided by a revocation of its id', good, { reason: 'revoked', breaks: '§11.3: no held revocation voids it' }, {}, [revokeThis])
    ]

    const revocations = [
      { description: 'every credential of a peer issued at or before revokedAt', envelope: hex(revokeAll), valid: true },
      { description: 'one credential by id', envelope: hex(revokeThis), valid: true },
      { description: 'signed by another key than its authority', envelope: hex(await revocation({ v: 1, network: NETWORK, authority: authorityId, peer: publisher, revokedAt: NOW }, other)), valid: false, code: 'malformed' },
      { description: 'a credentialId that is not 16 hex digits', envelope: hex(await revocation({ v: 1, network: NETWORK, authority: authorityId, peer: publisher, revokedAt: NOW, credentialId: 'XYZ' })), valid: false, code: 'malformed' },
      { description: 'a missing revokedAt', envelope: hex(await revocation({ v: 1, network: NETWORK, authority: authorityId, peer: publisher })), valid: false, code: 'malformed' }
    ]

    const b64 = (bytes: Uint8Array): string => uint8ArrayToString(bytes, 'base64url')
    const exchange = {
      request: { json: new TextDecoder().decode(encodeTrustRequest({ credential: good, revocations: [revokeAll] })), credential: b64(good), revocations: [b64(revokeAll)] },
      response: { json: new TextDecoder().decode(encodeTrustResponse({ revocations: [], error: { reason: 'missing', message: 'Network "production" is closed: peer … presented no credential' }, readRestricted: true })) }
    }

    return {
      description: 'Closed networks (docs/PROTOCOL.md §11): credentials checked as `check` says (network name, authority, peer, any of roles, name when publishing, the clock `now`) with `revocations` held; each passes or fails with `reason` (§11.2; `malformed` when the envelope does not open), `breaks` naming the rule. Revocations open (`valid`) or not. `exchange`: a trust request and response as JSON text (§11.4).',
      now: NOW,
      credentials,
      revocations,
      exchange
    }
  }
}

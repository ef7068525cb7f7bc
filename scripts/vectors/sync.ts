import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { encodeSyncMessage, MAX_SYNC_RANGES, MAX_SYNC_RECORDS, MAX_SYNC_REGISTRIES, MAX_SYNC_REVOCATIONS } from '../../src/protocol/sync-messages.js'
import { sealEnvelope } from '../../src/records/envelope.js'
import { sealRecord } from '../../src/records/record.js'
import { revocationDigest, revocationId } from '../../src/sync/revocation-exchange.js'
import { fingerprint, itemHash, itemId } from '../../src/sync/sync-set.js'
import { REVOCATION_DOMAIN, REVOCATION_PAYLOAD_TYPE, encodeRevocation } from '../../src/trust/revocation.js'
import { EXPIRES_AT, SEQ, fixedKey, hex, peerIdOf } from './common.js'
import { frame } from './lookup.js'
import { NAME, NETWORK } from './records.js'
import type { VectorFile, VectorGenerator } from './common.js'
import type { SyncMessage } from '../../src/protocol/sync-messages.js'

const text = (value: string): Uint8Array => uint8ArrayFromString(value)

export const sync: VectorGenerator = {
  file: 'sync.json',
  async generate (): Promise<VectorFile> {
    const publisherKey = await fixedKey('publisher')
    const publisher = peerIdOf(publisherKey)
    const other = peerIdOf(await fixedKey('other'))
    const registry = peerIdOf(await fixedKey('registry'))
    const held = [
      { name: 'CacheService', peerId: publisher, seq: SEQ },
      { name: NAME, peerId: other, seq: SEQ + 1 },
      { name: NAME, peerId: publisher, seq: SEQ }
    ]
    const items = await Promise.all(held.map(async record => {
      const id = itemId(record)
      return { id, seq: record.seq, hash: await itemHash(id, record.seq) }
    }))
    items.sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

    const fingerprints = [
      { description: 'an empty range', ids: [], fp: fingerprint([]) },
      { description: 'one item: its hash', ids: [items[0].id], fp: fingerprint(items.slice(0, 1)) },
      { description: 'every item of the set (the opener\'s first range)', ids: items.map(item => item.id), fp: fingerprint(items) }
    ]

    const authorityKey = await fixedKey('authority')
    const authority = peerIdOf(authorityKey)
    const revocationEnvelopes = await Promise.all([publisher, other].map(async (peer, i) =>
      sealEnvelope(REVOCATION_DOMAIN, REVOCATION_PAYLOAD_TYPE, encodeRevocation({ network: NETWORK, authority, peer, revokedAt: EXPIRES_AT - (i + 1) * 86_400_000 }), authorityKey)))
    const revocationIds = await Promise.all(revocationEnvelopes.map(revocationId))
    const revocations = {
      description: 'Two revocations of the network\'s authority, their ids (the first 8 bytes of SHA-256 of the envelope, hex) and the digest of both (the first 16 bytes of SHA-256 of the sorted ids joined by ",", hex) with their count (§17.5)',
      envelopes: revocationEnvelopes.map(hex),
      ids: revocationIds,
      digest: await revocationDigest(revocationIds)
    }

    const record = await sealRecord({ network: NETWORK, name: NAME, peerId: publisher, multiaddrs: [`/ip4/10.0.0.7/tcp/41237/p2p/${publisher}`], metadata: { name: NAME }, seq: SEQ, expiresAt: EXPIRES_AT, withdrawn: false }, publisherKey)
    const message = (description: string, value: SyncMessage, records: Uint8Array[] = []): Record<string, unknown> =>
      ({ description, frames: [hex(frame(encodeSyncMessage(value))), ...records.map(envelope => hex(frame(envelope)))], message: value })
    const all = items.map(item => item.id)
    const valid = [
      message('the opener\'s first message: one fingerprint over every id, and the registries it knows', {
        ranges: [{ lo: '', hi: null, fp: fingerprint(items), n: items.length }],
        want: [],
        records: 0,
        registries: [{ id: registry, addrs: [`/ip4/10.0.0.2/tcp/4001/p2p/${registry}`] }]
      }),
      message('an answer that lists the items of a small range and asks for one record', {
        ranges: [{ lo: '', hi: null, items: items.slice(1).map(item => [item.id, item.seq]) }],
        want: [all[0]],
        records: 0
      }),
      message('a split: two fingerprinted halves', {
        ranges: [{ lo: '', hi: all[1], fp: fingerprint(items.slice(0, 1)), n: 1 }, { lo: all[1], hi: null, fp: fingerprint(items.slice(1)), n: 2 }],
        want: [],
        records: 0
      }),
      message('a push: no ranges, one record frame after the JSON frame', { ranges: [], want: [], records: 1 }, [record]),
      message('a client asking only for the network\'s registries', { ranges: [], want: [], records: 0, registries: [] }),
      message('an answer saying the first record of the previous message was refused by a quota', { ranges: [], want: [], records: 0, refused: [[0, 'quota']] }),
      message('closed networks: the opener\'s first message with the digest of the revocations it holds (§17.5)', {
        ranges: [{ lo: '', hi: null, fp: fingerprint(items), n: items.length }],
        want: [],
        records: 0,
        registries: [],
        revocationDigest: revocations.digest
      }),
      message('closed networks: an answer naming the revocations it holds (the digests differed) and asking for one', { ranges: [], want: [], records: 0, revocationIds: revocationIds.slice(1), wantRevocations: revocationIds.slice(0, 1) })
    ]
    const tolerated = [
      { description: 'a reason code this version does not know: read as internal (§12)', frame: hex(frame(text('{"ranges":[],"want":[],"records":0,"refused":[[3,"x-future-code"]]}'))), message: { ranges: [], want: [], records: 0, refused: [[3, 'internal']] } }
    ]

    const bad = (description: string, body: string): Record<string, unknown> => ({ description, frame: hex(frame(text(body))), code: 'bad-request' })
    const empty = { ranges: [], want: [], records: 0 }
    const malformed = [
      bad('not JSON', 'ranges'),
      bad('a JSON array', '[]'),
      bad('no "want"', '{"ranges":[],"records":0}'),
      bad('"records" not an integer', '{"ranges":[],"want":[],"records":"1"}'),
      bad(`more than ${MAX_SYNC_RECORDS} records`, JSON.stringify({ ...empty, records: MAX_SYNC_RECORDS + 1 })),
      bad(`more than ${MAX_SYNC_RANGES} ranges`, JSON.stringify({ ...empty, ranges: Array.from({ length: MAX_SYNC_RANGES + 1 }, () => ({ lo: '', hi: null, fp: '0'.repeat(32), n: 0 })) })),
      bad('a wanted id without "/"', JSON.stringify({ ...empty, want: [NAME] })),
      bad('a range whose hi is not above its lo', JSON.stringify({ ...empty, ranges: [{ lo: all[1], hi: all[0], fp: '0'.repeat(32), n: 0 }] })),
      bad('a fingerprint that is not 32 lowercase hex digits', JSON.stringify({ ...empty, ranges: [{ lo: '', hi: null, fp: 'ABCD', n: 1 }] })),
      bad('a range with 17 items', JSON.stringify({ ...empty, ranges: [{ lo: '', hi: null, items: Array.from({ length: 17 }, (_, i) => [`${NAME}/${i}`, 1]) }] })),
      bad('a range with neither fp nor items', JSON.stringify({ ...empty, ranges: [{ lo: '', hi: null }] })),
      bad('a refusal whose code is not a string', JSON.stringify({ ...empty, refused: [[0, 42]] })),
      bad(`a refusal of position ${MAX_SYNC_RECORDS}`, JSON.stringify({ ...empty, refused: [[MAX_SYNC_RECORDS, 'quota']] })),
      bad('a revocation digest of null', JSON.stringify({ ...empty, revocationDigest: null })),
      bad('a revocation id that is not 16 lowercase hex digits', JSON.stringify({ ...empty, revocationIds: ['ABCDEF0123456789'] })),
      bad('a revocation envelope that is not base64url', JSON.stringify({ ...empty, revocations: ['not base64url!'] })),
      bad(`more than ${MAX_SYNC_REVOCATIONS} revocation envelopes`, JSON.stringify({ ...empty, revocations: Array.from({ length: MAX_SYNC_REVOCATIONS + 1 }, () => 'AAAA') })),
      bad(`more than ${MAX_SYNC_REGISTRIES} registries`, JSON.stringify({ ...empty, registries: Array.from({ length: MAX_SYNC_REGISTRIES + 1 }, () => ({ id: registry, addrs: [] })) }))
    ]

    return {
      description: 'Registry sync (docs/PROTOCOL.md §17). `items`: ids (`<service name>/<peer ID>`), seqs and item hashes (the first 16 bytes of SHA-256 of `<id> <seq>`), sorted by id; `fingerprints`: the XOR of the hashes of `ids`, as 32 hex digits. `messages.valid`: frames (hex: a minimal unsigned varint length, then the bytes; the first frame JSON, then `records` record envelopes) and the decoded JSON frame; `messages.tolerated` decode to `message`; `messages.malformed`: JSON frames a registry refuses with `code` (§12), ending the session; `revocations`: revocation ids and their digest (§17.5). In a message, `revocations` holds envelopes as base64url strings without padding.',
      items: items.map(item => ({ id: item.id, seq: item.seq, hash: hex(item.hash) })),
      fingerprints,
      revocations,
      messages: { valid, tolerated, malformed }
    }
  }
}

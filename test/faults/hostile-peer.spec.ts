/**
 * Hostile peer: a plain libp2p node (fixtures/hostile-peer.ts) feeds a
 * registry forged, foreign, stale, oversized and garbage records over the
 * network's own kad protocol, garbage kad and lookup frames, and poses as a
 * provider and as a registry. No bad record may be stored or returned by
 * discoverServiceNode; the registry must stay up; the honest instance must
 * stay discoverable.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { expect } from 'chai'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { createTestnet } from '../../src/testing/index.js'
import { tally } from './fixtures/figures.js'
import { ADD_PROVIDER, createHostilePeer, dhtRecord, key, kadMessage, lp, payload, PUT_VALUE, seal, text } from './fixtures/hostile-peer.js'
import type { HostilePeer } from './fixtures/hostile-peer.js'
import type { Netget } from '../../src/index.js'
import type { Testnet } from '../../src/testing/index.js'
import type { PrivateKey } from '@libp2p/interface'

const NETWORK = 'hostile'
const NAME = 'Svc'

/** `bytes` with the first occurrence of `from` (UTF-8) replaced by `to`, same length. */
function replaceBytes (bytes: Uint8Array, from: string, to: string): Uint8Array {
  const a = uint8ArrayFromString(from)
  const b = uint8ArrayFromString(to)
  const copy = bytes.slice()
  for (let i = 0; i + a.length <= copy.length; i++) {
    if (a.every((byte, j) => copy[i + j] === byte)) {
      copy.set(b, i)
      return copy
    }
  }
  throw new Error(`"${from}" not found`)
}

describe('Hostile peer', function () {
  this.timeout(90_000)
  let testnet: Testnet
  let honest: Netget
  let registry: Netget
  let hostile: HostilePeer
  let fakeKey: PrivateKey
  let fakeId: string
  let oldEnvelope: Uint8Array
  let currentSeq: number
  const figures: Record<string, number> = { badPuts: 0, badPutsAccepted: 0, rawKadFrames: 0, rawLookupFrames: 0, forgedLookupAnswers: 0, instancesReturnedThatAreBad: 0, registryCrashes: 0 }

  before(async () => {
    testnet = await createTestnet(0, { network: NETWORK })
    registry = testnet.registries[0]
    honest = testnet.createNode({ metadata: { name: NAME, role: 'honest' } })
    await honest.registerWithNetwork()
    hostile = await createHostilePeer(NETWORK, testnet.registryNodes)
    // capture the honest record as published, for the replay
    const frames = await hostile.rawLookup(registry.libp2p.peerId, [lp(uint8ArrayFromString(JSON.stringify({ name: NAME })))])
    expect(frames).to.have.length(2)
    oldEnvelope = frames[1]
    currentSeq = (await honest.registerWithNetwork()).record.seq
    fakeKey = await generateKeyPair('Ed25519')
    fakeId = peerIdFromPrivateKey(fakeKey).toString()
  })

  after(async () => {
    tally('hostile', figures)
    await hostile?.stop()
    await testnet?.destroy()
  })

  it('the registry refuses every forged, foreign, stale, oversized or garbage record put over kad', async () => {
    const honestId = honest.peerId
    const now = Date.now()
    const good = await seal(payload(NETWORK, NAME, fakeId), fakeKey)
    const tamperedSignature = oldEnvelope.slice()
    tamperedSignature[tamperedSignature.length - 1] ^= 0xff
    const tamperedPayload = replaceBytes(oldEnvelope, '"role":"honest"', '"role":"HACKED"')
    const garbage = Uint8Array.from({ length: 300 }, (_, i) => (i * 7919) % 256)
    const cases: Array<[string, Uint8Array, Uint8Array]> = [
      ['signature bytes flipped', key(NETWORK, NAME, honestId), tamperedSignature],
      ['payload changed under the honest signature', key(NETWORK, NAME, honestId), tamperedPayload],
      ['record for the honest peer signed by the attacker', key(NETWORK, NAME, honestId), await seal(payload(NETWORK, NAME, honestId, { seq: now * 2 }), hostile.key)],
      ['attacker record stored under the honest key', key(NETWORK, NAME, honestId), await seal(payload(NETWORK, NAME, hostile.peerId.toString(), { seq: now * 2 }), hostile.key)],
      ['record of another network', key(NETWORK, NAME, fakeId), await seal(payload('production', NAME, fakeId), fakeKey)],
      ['key of another network', key('production', NAME, fakeId), await seal(payload('production', NAME, fakeId), fakeKey)],
      ['right record under another network key', key('production', NAME, fakeId), good],
      ['record for another service name', key(NETWORK, NAME, fakeId), await seal(payload(NETWORK, 'Other', fakeId), fakeKey)],
      ['expired record', key(NETWORK, NAME, fakeId), await seal(payload(NETWORK, NAME, fakeId, { expiresAt: now - 1_000 }), fakeKey)],
      ['expiry 30 days ahead', key(NETWORK, NAME, fakeId), await seal(payload(NETWORK, NAME, fakeId, { expiresAt: now + 30 * 86_400_000 }), fakeKey)],
      ['envelope over 16 KiB', key(NETWORK, NAME, fakeId), await seal(payload(NETWORK, NAME, fakeId, { metadata: { name: NAME, blob: 'x'.repeat(20_000) } }), fakeKey)],
      ['metadata over 8 KiB', key(NETWORK, NAME, fakeId), await seal(payload(NETWORK, NAME, fakeId, { metadata: { name: NAME, blob: 'x'.repeat(9_000) } }), fakeKey)],
      ['33 multiaddrs', key(NETWORK, NAME, fakeId), await seal(payload(NETWORK, NAME, fakeId, { multiaddrs: Array.from({ length: 33 }, (_, i) => `/ip4/127.0.0.1/tcp/${i + 1}`) }), fakeKey)],
      ['invalid multiaddr', key(NETWORK, NAME, fakeId), await seal(payload(NETWORK, NAME, fakeId, { multiaddrs: ['/ip4/999.1.1.1/tcp/1'] }), fakeKey)],
      ['negative seq', key(NETWORK, NAME, fakeId), await seal(payload(NETWORK, NAME, fakeId, { seq: -1 }), fakeKey)],
      ['version 2', key(NETWORK, NAME, fakeId), await seal(payload(NETWORK, NAME, fakeId, { v: 2 }), fakeKey)],
      ['wrong envelope domain', key(NETWORK, NAME, fakeId), await seal(payload(NETWORK, NAME, fakeId), fakeKey, 'libp2p-peer-record')],
      ['wrong payload type', key(NETWORK, NAME, fakeId), await seal(payload(NETWORK, NAME, fakeId), fakeKey, undefined, uint8ArrayFromString('/netget/service-record/2'))],
      ['payload not JSON', key(NETWORK, NAME, fakeId), await seal(uint8ArrayFromString('{"v":1,'), fakeKey)],
      ['garbage bytes', key(NETWORK, NAME, fakeId), garbage],
      ['empty value', key(NETWORK, NAME, fakeId), new Uint8Array(0)],
      ['truncated envelope (half)', key(NETWORK, NAME, fakeId), good.subarray(0, good.byteLength >> 1)],
      ['truncated envelope (last 10 bytes)', key(NETWORK, NAME, fakeId), good.subarray(0, good.byteLength - 10)],
      ['replay of the older honest seq', key(NETWORK, NAME, honestId), oldEnvelope],
      ['malformed key', uint8ArrayFromString('/netget/hostile'), good],
      ['key with a bad service name', uint8ArrayFromString(`/netget/${NETWORK}/../${fakeId}`), good]
    ]

    const refusedBy: Record<string, number> = {}

    for (const [label, k, value] of cases) {
      figures.badPuts++
      const accepted = await hostile.put(k, value)
      refusedBy[label] = accepted
      if (accepted > 0) { figures.badPutsAccepted++ }
    }

    expect(Object.entries(refusedBy).filter(([, accepted]) => accepted > 0).map(([label]) => label), 'records the registry stored').to.deep.equal([])
    // the sanity case: a valid record of a (non-existent) peer is stored
    expect(await hostile.put(key(NETWORK, NAME, fakeId), good)).to.equal(1)
    expect(registry.status).to.equal('started')
  })

  it('survives garbage kad frames and ignores provider records for other peers', async () => {
    const registryId = registry.libp2p.peerId
    const ghost = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const frames: Array<[string, Uint8Array[]]> = [
      ['random bytes', [lp(Uint8Array.from({ length: 64 }, (_, i) => (i * 31 + 7) % 256))]],
      ['length prefix claims 5 MB', [Uint8Array.from([0x80, 0xa0, 0xb1, 0x02, 1, 2, 3])]],
      ['truncated frame', [Uint8Array.from([0x40, 0x08, 0x00, 0x12])]],
      ['PUT_VALUE without record', [lp(kadMessage({ type: PUT_VALUE, key: key(NETWORK, NAME, fakeId) }))]],
      ['PUT_VALUE with garbage record', [lp(kadMessage({ type: PUT_VALUE, key: key(NETWORK, NAME, fakeId), record: Uint8Array.from([1, 2, 3, 4, 5]) }))]],
      ['PUT_VALUE forged record', [lp(kadMessage({ type: PUT_VALUE, key: key(NETWORK, NAME, honest.peerId), record: dhtRecord(key(NETWORK, NAME, honest.peerId), await seal(payload(NETWORK, NAME, honest.peerId, { seq: Date.now() * 3 }), hostile.key)) }))]],
      ['unknown message type', [lp(kadMessage({ type: 99 }))]],
      ['ADD_PROVIDER for a peer that does not exist', [lp(kadMessage({ type: ADD_PROVIDER, key: (await import('./fixtures/hostile-peer.js').then(async m => m.cid(NETWORK, NAME))).multihash.bytes, providers: [{ id: ghost.toMultihash().bytes, addrs: [Uint8Array.from([4, 127, 0, 0, 1, 6, 0, 9])] }] }))]],
      ['ADD_PROVIDER with a bad CID', [lp(kadMessage({ type: ADD_PROVIDER, key: Uint8Array.from([0xff, 0xff]), providers: [] }))]]
    ]
    figures.rawKadFrames += frames.length
    const results = await Promise.all(frames.map(async ([label, bytes]) => [label, await hostile.rawKad(registryId, bytes)] as const))
    // none of these is answered as if it were a good request
    expect(results.filter(([, result]) => result === 'answered').map(([label]) => label)).to.deep.equal([])
    expect(registry.status).to.equal('started')
    // the registry still stores nothing forged under the honest key
    const answer = await hostile.rawLookup(registryId, [lp(uint8ArrayFromString(JSON.stringify({ name: NAME })))])
    expect(JSON.parse(text(answer[0]))).to.have.property('count', 2) // honest + the valid record of the non-existent peer
    expect(answer.slice(1).map(envelope => text(envelope)).filter(envelope => envelope.includes('HACKED'))).to.deep.equal([])
  })

  it('survives garbage on the lookup protocol', async () => {
    const registryId = registry.libp2p.peerId
    const requests: Uint8Array[][] = [
      [lp(uint8ArrayFromString('not json'))],
      [lp(uint8ArrayFromString('{"name": "../etc/passwd"}'))],
      [lp(uint8ArrayFromString('{"name": 42}'))],
      [lp(uint8ArrayFromString('[]'))],
      [lp(new Uint8Array(0))],
      [lp(new Uint8Array(20_000))],
      [Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f])],
      [Uint8Array.from([0x05, 0x7b])]
    ]
    // and 100 well-formed requests at once on one connection (more than the 32 streams allowed)
    const flood = Array.from({ length: 100 }, () => [lp(uint8ArrayFromString(JSON.stringify({ name: NAME })))])
    figures.rawLookupFrames += requests.length + flood.length
    const answers = await Promise.all([...requests, ...flood].map(async frames => hostile.rawLookup(registryId, frames).catch(() => [])))

    for (const answer of answers.slice(0, requests.length)) {
      // an error header, or a closed stream: never records
      expect(answer.length).to.be.at.most(1)
      if (answer.length === 1) { expect(JSON.parse(text(answer[0]))).to.have.property('error') }
    }

    expect(registry.status).to.equal('started')
    const full = answers.slice(requests.length).filter(answer => answer.length > 1 && answer.length === 1 + (JSON.parse(text(answer[0])).count as number))
    figures.floodAnsweredInFull = full.length
    expect(full.length, 'flood requests answered in full').to.be.greaterThan(0)
  })

  it('discovery returns only the honest instance, even walking the DHT through the hostile peer and asking it as a registry', async () => {
    // the hostile peer stored every bad record locally and serves it; it also provides the service
    await hostile.provide(NAME)
    const forged = [
      await seal(payload(NETWORK, NAME, honest.peerId, { seq: Date.now() * 2 }), hostile.key),
      await seal(payload(NETWORK, NAME, hostile.peerId.toString(), { expiresAt: Date.now() - 1 }), hostile.key),
      await seal(payload('production', NAME, hostile.peerId.toString()), hostile.key),
      oldEnvelope,
      Uint8Array.from([1, 2, 3])
    ]
    // a validly signed record of its own that claims the honest instance's addresses
    figures.badPuts++
    const hijack = await hostile.put(key(NETWORK, NAME, hostile.peerId.toString()), await seal(payload(NETWORK, NAME, hostile.peerId.toString(), { multiaddrs: honest.multiaddrs }), hostile.key))
    if (hijack > 0) { figures.badPutsAccepted++ }
    expect(hijack, 'registry stored a record claiming another peer\'s addresses').to.equal(0)
    // ... and answers the lookup protocol like a registry, with forgeries
    await hostile.node.handle(`/netget/${NETWORK}/lookup/1.0.0`, async stream => {
      const messages = lpStream(stream)
      await messages.read()
      await messages.writeV([uint8ArrayFromString(JSON.stringify({ count: forged.length })), ...forged])
      await stream.close()
    })
    figures.forgedLookupAnswers += forged.length

    const client = testnet.createNode()
    await client.start()
    await client.libp2p.dial(hostile.node.getMultiaddrs()[0])
    client.addRegistryNode(hostile.node.getMultiaddrs()[0].toString())

    for (const thorough of [false, true]) {
      const found = await client.discoverServiceNode(NAME, { thorough })
      figures.instancesReturnedThatAreBad += found.filter(instance => instance.peerId !== honest.peerId || instance.seq < currentSeq).length
      expect(found.map(instance => [instance.peerId, instance.metadata.role])).to.deep.equal([[honest.peerId, 'honest']])
      expect(found[0].seq).to.be.at.least(currentSeq)
    }

    // the non-existent peer's valid record is known, but only as unhealthy
    const all = await client.discoverServiceNode(NAME, { includeUnhealthy: true })
    expect(all.find(instance => instance.peerId === fakeId)?.health.status).to.equal('unhealthy')
    expect(all.some(instance => instance.peerId === hostile.peerId.toString())).to.equal(false)
    expect(registry.status).to.equal('started')
    expect(peerIdFromString(honest.peerId).equals(honest.libp2p.peerId)).to.equal(true)
  })
})

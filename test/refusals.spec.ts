import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { encode as varint } from 'uint8-varint'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { issueCredential, recordKey, sealRecord } from '../src/index.js'
import { sealEnvelope } from '../src/records/envelope.js'
import { RECORD_DOMAIN, RECORD_PAYLOAD_TYPE, encodeRecord } from '../src/records/record.js'
import { putRecord } from '../src/protocol/direct-put.js'
import { putProtocol } from '../src/protocol/ids.js'
import { createTestnet } from '../src/testing/index.js'
import { rejectionOf } from './helpers.js'
import { lookupAll, signedEntry } from './store-helpers.js'
import type { Netget, NetgetInit, ServiceRecord } from '../src/index.js'
import type { PutAnswer } from '../src/protocol/put-messages.js'
import type { Testnet } from '../src/testing/index.js'
import type { PrivateKey } from '@libp2p/interface'

const NAME = 'api'

/**
 * Refusals that say why: a registry answers a record put (docs/PROTOCOL.md
 * §5.1) with the reason code of the rule the record broke (§12), and a
 * publisher surfaces it as `RecordRejectedError.code`.
 */
describe('refusals with reason codes', function () {
  this.timeout(60_000)
  let testnet: Testnet
  let node: Netget

  const start = async (init: NetgetInit = {}, network = 'testnet'): Promise<void> => {
    testnet = await createTestnet(0, { network, registries: 0 })
    await testnet.startRegistry(undefined, init)
    node = testnet.createNode()
    await node.start()
    await node.libp2p.dial(multiaddr(testnet.registryNodes[0]))
  }

  const put = async (envelope: Uint8Array, key: Uint8Array = new Uint8Array(0)): Promise<PutAnswer> =>
    putRecord(node.libp2p, testnet.registries[0].libp2p.peerId, testnet.registries[0].networkId, key, envelope, AbortSignal.timeout(10_000))

  /** Sends raw bytes on a put stream; resolves with the answer. */
  const putRaw = async (bytes: Uint8Array): Promise<Record<string, unknown>> => {
    const stream = await node.libp2p.dialProtocol(testnet.registries[0].libp2p.peerId, putProtocol(testnet.network), { signal: AbortSignal.timeout(5_000) })

    try {
      stream.send(bytes)
      return JSON.parse(uint8ArrayToString((await lpStream(stream).read({ signal: AbortSignal.timeout(10_000) })).subarray()))
    } finally {
      stream.abort(new Error('done'))
    }
  }

  const record = (key: PrivateKey, fields: Partial<ServiceRecord> = {}): ServiceRecord => ({
    network: testnet.network,
    name: NAME,
    peerId: peerIdFromPrivateKey(key).toString(),
    multiaddrs: [],
    metadata: { name: NAME },
    seq: 10,
    expiresAt: Date.now() + 60_000,
    withdrawn: false,
    ...fields
  })

  afterEach(async () => {
    await testnet?.destroy()
  })

  it('stores a valid record and answers {"ok": true}; the record is then served', async () => {
    await start()
    const entry = await signedEntry(testnet.network, NAME)
    expect(await put(entry.value)).to.deep.equal({ ok: true })
    expect(await put(entry.value), 'the very record again').to.deep.equal({ ok: true })
    const found = await testnet.createNode().discoverServiceNode(NAME, { checkHealth: false })
    expect(found.map(instance => instance.peerId)).to.deep.equal([entry.peerId])
  })

  it('names each rule a record breaks', async () => {
    await start()
    const key = await generateKeyPair('Ed25519')
    const envelope = await sealRecord(record(key), key)
    const tampered = envelope.slice()
    tampered[tampered.length - 1] ^= 1
    const secp = await generateKeyPair('secp256k1')

    const cases: Array<[string, Uint8Array, string]> = [
      ['a tampered signature', tampered, 'bad-signature'],
      ['a record of another network', await sealRecord(record(key, { network: 'elsewhere' }), key), 'wrong-network'],
      ['an expired record', await sealRecord(record(key, { expiresAt: Date.now() - 1 }), key), 'expired'],
      ['a record valid for two days', await sealRecord(record(key, { expiresAt: Date.now() + 48 * 3600_000 }), key), 'expiry-too-far'],
      ['a record signed by a secp256k1 key', await sealRecord(record(secp), secp), 'bad-key-type'],
      ['a record for another peer than its signer', await sealRecord(record(key, { peerId: peerIdFromPrivateKey(secp).toString() }), key), 'wrong-peer'],
      ['a payload of the wrong shape', await sealEnvelope(RECORD_DOMAIN, RECORD_PAYLOAD_TYPE, encodeRecord({ ...record(key), seq: -1 }), key), 'bad-record'],
      ['bytes that are no envelope', Uint8Array.from([1, 2, 3]), 'bad-envelope']
    ]

    for (const [what, bytes, code] of cases) {
      const answer = await put(bytes)
      expect(answer, what).to.include({ ok: false, code })
      expect((answer as { error: string }).error, what).to.be.a('string').and.not.equal('')
    }
  })

  it('refuses a rollback with stale-seq and the seq it stores', async () => {
    await start()
    const key = await generateKeyPair('Ed25519')
    expect(await put(await sealRecord(record(key, { seq: 20 }), key))).to.deep.equal({ ok: true })
    expect(await put(await sealRecord(record(key, { seq: 19 }), key))).to.include({ ok: false, code: 'stale-seq', seq: 20 })
    expect(await put(await sealRecord(record(key, { seq: 20, metadata: { name: NAME, v: 2 } }), key))).to.include({ ok: false, code: 'stale-seq', seq: 20 })
  })

  it('refuses an oversized or an empty frame, saying so', async () => {
    await start()
    expect(await putRaw(Uint8Array.from([...varint(16_385), 0]))).to.include({ ok: false, code: 'too-large' })
    expect(await putRaw(Uint8Array.from([0]))).to.include({ ok: false, code: 'bad-request' })
  })

  it('names the quota that is full and the put rate', async () => {
    await start({ storeQuotas: { maxRecordsPerSigner: 1, putBurst: 3, putsPerSecond: 0.001 } })
    const key = await generateKeyPair('Ed25519')
    expect(await put(await sealRecord(record(key), key))).to.deep.equal({ ok: true })
    expect(await put(await sealRecord(record(key, { name: 'other', metadata: {} }), key))).to.include({ ok: false, code: 'quota', quota: 'maxRecordsPerSigner' })
    expect(await put(await sealRecord(record(key, { seq: 11 }), key))).to.deep.equal({ ok: true })
    expect(await put(await sealRecord(record(key, { seq: 12 }), key))).to.include({ ok: false, code: 'rate-limited' })
  })

  it('a publisher surfaces the code as RecordRejectedError.code', async () => {
    await start({ storeQuotas: { maxRecordsPerName: 1 } })
    expect(await put((await signedEntry(testnet.network, NAME)).value)).to.deep.equal({ ok: true })
    const service = testnet.createNode({ metadata: { name: NAME } })
    const err = await rejectionOf(service.registerWithNetwork())
    expect(err).to.have.property('name', 'RecordRejectedError')
    expect(err).to.have.property('code', 'quota')
    expect(err.message).to.include('maxRecordsPerName')
  })

  it('a publisher still registers with a registry that does not speak the put protocol (kad PUT_VALUE)', async () => {
    await start()
    await testnet.registries[0].libp2p.unhandle(putProtocol(testnet.network))
    const entry = await signedEntry(testnet.network, 'direct')
    expect(await put(entry.value, entry.key), 'a kad PUT_VALUE, echoed').to.deep.equal({ ok: true })
    const stale = await signedEntry(testnet.network, 'direct', { key: entry.privateKey, seq: 0 })
    expect(await rejectionOf(put(stale.value, stale.key)), 'a kad refusal is a reset, with no reason').to.have.property('name')
    const service = testnet.createNode({ metadata: { name: NAME } })
    await service.registerWithNetwork()
    const found = await testnet.createNode().discoverServiceNode(NAME, { checkHealth: false })
    expect(found.map(instance => instance.peerId)).to.deep.equal([service.peerId])
  })

  it('a closed network refuses a record without a passing credential with not-authorized and the credential reason', async () => {
    const authorityKey = await generateKeyPair('Ed25519')
    const authority = peerIdFromPrivateKey(authorityKey).toString()
    const registryKey = await generateKeyPair('Ed25519')
    const { envelope: registryCredential } = await issueCredential({ network: 'closed', peer: peerIdFromPrivateKey(registryKey).toString(), role: 'registry', ttl: 600_000 }, authorityKey)
    testnet = await createTestnet(0, { network: 'closed', registries: 0, nodeOptions: { authority } })
    const registry = await testnet.startRegistry(undefined, { privateKey: registryKey, credential: registryCredential })
    node = testnet.createNode()
    await node.start()
    await node.libp2p.dial(multiaddr(testnet.registryNodes[0]))
    const key = await generateKeyPair('Ed25519')
    const answer = await putRecord(node.libp2p, registry.libp2p.peerId, registry.networkId, recordKey(registry.networkId, NAME, ''), await sealRecord(record(key, { network: registry.networkId }), key), AbortSignal.timeout(10_000))
    expect(answer).to.include({ ok: false, code: 'not-authorized', reason: 'missing' })
  })

  it('a read-restricted registry refuses a lookup with not-authorized, and the lookup client rejects with that code', async () => {
    const authorityKey = await generateKeyPair('Ed25519')
    const authority = peerIdFromPrivateKey(authorityKey).toString()
    const registryKey = await generateKeyPair('Ed25519')
    const { envelope: registryCredential } = await issueCredential({ network: 'closed', peer: peerIdFromPrivateKey(registryKey).toString(), role: 'registry', ttl: 600_000 }, authorityKey)
    testnet = await createTestnet(0, { network: 'closed', registries: 0, nodeOptions: { authority } })
    const registry = await testnet.startRegistry(undefined, { privateKey: registryKey, credential: registryCredential, readRestricted: true })
    // not a configured registry: a node that may not use it would hang up at once (its trust exchange fails)
    node = testnet.createNode({ registryNodes: [] })
    await node.start()
    await node.libp2p.dial(multiaddr(testnet.registryNodes[0]))
    const err = await rejectionOf(lookupAll(node, registry.libp2p.peerId, registry.networkId, NAME))
    expect(err, err.message).to.have.property('name', 'InvalidRecordError')
    expect(err).to.have.property('code', 'not-authorized')
  })
})

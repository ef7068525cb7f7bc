import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Record as DhtRecord } from '@libp2p/kad-dht'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { MemoryDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { MAX_LOOKUP_PAGE_BYTES } from '../src/constants.js'
import { lookupProtocol } from '../src/index.js'
import { putToPeer } from '../src/protocol/direct-put.js'
import { dhtDatastorePrefix } from '../src/protocol/ids.js'
import { storedRecordKey } from '../src/records/validator.js'
import { RecordIndex } from '../src/registry/record-index.js'
import { createTestnet } from '../src/testing/index.js'
import { capturingLogger, freePort, heapAfterGc, nextEvent } from './helpers.js'
import { junkEntries, lookupAll, peek, putOverOneStream, rawLookup, signedEntry } from './store-helpers.js'
import type { Entry } from './store-helpers.js'
import type { Netget } from '../src/index.js'
import type { IndexPeers } from '../src/registry/record-index.js'
import type { Testnet } from '../src/testing/index.js'
import type { Datastore } from 'interface-datastore'

const NAME = 'api'

/**
 * These tests put up to 1,000 records over one connection, to test what lies
 * behind the per-connection quota and put rate (test/delivery.spec.ts):
 * ranking, paging and the relayed quotas. Registries here lift those two.
 */
const ONE_CONNECTION_FLOOD = { storeQuotas: { maxRecordsPerConnection: 10_000, putBurst: 10_000 } }

/** Writes `entry` through the index's datastore, as kad-dht does after validating a PUT_VALUE. */
async function store (index: RecordIndex, network: string, entry: Entry): Promise<void> {
  await index.datastore.put(storedRecordKey(dhtDatastorePrefix(network), entry.key), new DhtRecord(entry.key, entry.value, new Date()).serialize())
}

describe('registry lookups and storage', function () {
  this.timeout(120_000)
  let testnet: Testnet

  afterEach(async () => {
    await testnet?.destroy()
  })

  describe('ranking and paging', () => {
    let registryPeer: ReturnType<typeof peerIdFromString>
    let attacker: Netget

    it('answers an instance connected to the registry first, ahead of 1,000 records put before it by throwaway keys over one connection', async () => {
      testnet = await createTestnet(0, { nodeOptions: ONE_CONNECTION_FLOOD })
      registryPeer = testnet.registries[0].libp2p.peerId
      attacker = testnet.createNode()
      await attacker.start()
      const junk = await junkEntries(testnet.network, NAME, 1000)
      expect(await putOverOneStream(attacker, registryPeer, testnet.network, junk)).to.equal(1000)

      const honest = testnet.createNode({ metadata: { name: NAME } })
      await honest.registerWithNetwork()

      // a version 1 request (no cursor): the first page, the honest instance first
      const { header, envelopes } = await rawLookup(attacker, registryPeer, testnet.network, { name: NAME })
      expect(header.count).to.equal(1000)
      expect(header.next).to.be.a('string')
      expect(peek(envelopes)[0].peerId).to.equal(honest.peerId)

      // default discovery finds it without walking the DHT
      const found = await testnet.createNode().discoverServiceNode(NAME)
      expect(found.map(instance => instance.peerId)).to.deep.equal([honest.peerId])

      // the relayed-records quota of the name (1,000) is full: one more is refused
      const [more] = await junkEntries(testnet.network, NAME, 1)
      expect(await putOverOneStream(attacker, registryPeer, testnet.network, [more])).to.equal(0)
      expect((await lookupAll(attacker, registryPeer, testnet.network, NAME)).map(record => record.peerId)).to.not.include(more.peerId)
    })

    it('keeps the connected instance first after a restart (records load in key order)', async () => {
      testnet = await createTestnet(0, { registries: 0, nodeOptions: ONE_CONNECTION_FLOOD })
      const port = await freePort()
      const dataDir = testnet.dataDir('registry')
      const listen = [`/ip4/127.0.0.1/tcp/${port}`]
      const registry = testnet.createNode({ nodeType: 'registry', dataDir, listen })
      await registry.start()
      testnet.registryNodes.push(registry.multiaddrs[0])
      registryPeer = registry.libp2p.peerId
      attacker = testnet.createNode()
      await attacker.start()
      expect(await putOverOneStream(attacker, registryPeer, testnet.network, await junkEntries(testnet.network, NAME, 1000))).to.equal(1000)
      const honest = testnet.createNode({ metadata: { name: NAME } })
      await honest.registerWithNetwork()

      const lost = nextEvent(honest, 'registry:disconnected')
      await registry.stop()
      await lost
      const reconnected = nextEvent(honest, 'registry:connected', () => true, 30_000)
      const announced = nextEvent(honest, 'service:announced', () => true, 30_000)
      const restarted = testnet.createNode({ nodeType: 'registry', dataDir, listen })
      await restarted.start()
      await reconnected
      await announced

      const { envelopes } = await rawLookup(attacker, registryPeer, testnet.network, { name: NAME })
      expect(envelopes).to.have.length(1000)
      expect(peek(envelopes)[0].peerId).to.equal(honest.peerId)
      const found = await testnet.createNode().discoverServiceNode(NAME)
      expect(found.map(instance => instance.peerId)).to.deep.equal([honest.peerId])
    })

    it('bounds an answer to 1 MiB of envelopes and pages through every record', async () => {
      testnet = await createTestnet(0, { nodeOptions: ONE_CONNECTION_FLOOD })
      registryPeer = testnet.registries[0].libp2p.peerId
      attacker = testnet.createNode()
      await attacker.start()
      // 150 records of ~8.4 KB: 1.26 MB in all
      const big = await junkEntries(testnet.network, NAME, 150, { blob: 'x'.repeat(8000) })
      expect(await putOverOneStream(attacker, registryPeer, testnet.network, big)).to.equal(150)

      const first = await rawLookup(attacker, registryPeer, testnet.network, { name: NAME })
      const firstBytes = first.envelopes.reduce((sum, envelope) => sum + envelope.byteLength, 0)
      expect(first.header.count).to.be.below(150)
      expect(firstBytes).to.be.at.most(MAX_LOOKUP_PAGE_BYTES)
      expect(first.header.next).to.be.a('string')

      const second = await rawLookup(attacker, registryPeer, testnet.network, { name: NAME, cursor: first.header.next })
      expect(second.header).to.not.have.property('next')
      const paged = new Set(peek([...first.envelopes, ...second.envelopes]).map(record => record.peerId))
      expect(paged.size).to.equal(150)

      // the asker's limit
      const small = await rawLookup(attacker, registryPeer, testnet.network, { name: NAME, limit: 10 })
      expect(small.header.count).to.equal(10)
      expect(small.header.next).to.be.a('string')

      // netget's client reads every page, and stops at its own limit
      const all = await lookupAll(attacker, registryPeer, testnet.network, NAME)
      expect(new Set(all.map(record => record.peerId)).size).to.equal(150)
      expect(await lookupAll(attacker, registryPeer, testnet.network, NAME, 25)).to.have.length(25)

      // a cursor the registry did not make is refused
      const forged = await rawLookup(attacker, registryPeer, testnet.network, { name: NAME, cursor: 'x' })
      expect(forged.header).to.have.property('error')
    })
  })

  it('refuses a replay racing the owner\'s withdrawal: 15 rounds, none undone', async () => {
    testnet = await createTestnet(0)
    const registryPeer = testnet.registries[0].libp2p.peerId
    const ownerKey = await generateKeyPair('Ed25519')
    const owner = testnet.createNode({ privateKey: ownerKey })
    const attacker = testnet.createNode()
    await Promise.all([owner.start(), attacker.start()])
    const seq = Date.now()
    let undone = 0

    for (let round = 0; round < 15; round++) {
      const live = await signedEntry(testnet.network, NAME, { key: ownerKey, seq: seq + 2 * round })
      await putToPeer(owner.libp2p, registryPeer, testnet.network, live.key, live.value, AbortSignal.timeout(5_000))
      const withdrawal = await signedEntry(testnet.network, NAME, { key: ownerKey, seq: seq + 2 * round + 1, withdrawn: true })
      // the attacker replays the exact stored bytes, many times, around the owner's withdrawal
      const replays = Array.from({ length: 30 }, async (_, i) => {
        await new Promise(resolve => setTimeout(resolve, i % 10))
        await putToPeer(attacker.libp2p, registryPeer, testnet.network, live.key, live.value, AbortSignal.timeout(5_000)).catch(() => {})
      })
      await Promise.all([putToPeer(owner.libp2p, registryPeer, testnet.network, withdrawal.key, withdrawal.value, AbortSignal.timeout(5_000)), ...replays])

      const { envelopes } = await rawLookup(attacker, registryPeer, testnet.network, { name: NAME })
      const stored = peek(envelopes).find(record => record.peerId === live.peerId)

      if (stored?.withdrawn !== true) {
        undone++
      }
    }

    expect(undone, 'withdrawals undone by a replay').to.equal(0)
  })

  describe('malformed lookup frames', () => {
    /** Sends raw bytes on a lookup stream; resolves with the frames read and whether the registry ended the stream (not our timeout). */
    async function sendRaw (node: Netget, registry: Netget, bytes: Uint8Array): Promise<{ frames: string[], ended: boolean }> {
      await node.libp2p.dial(multiaddr(testnet.registryNodes[0]))
      const stream = await node.libp2p.dialProtocol(registry.libp2p.peerId, lookupProtocol(testnet.network), { signal: AbortSignal.timeout(5_000) })
      const signal = AbortSignal.timeout(30_000)
      const frames: string[] = []
      stream.send(bytes)
      const reader = lpStream(stream)

      try {
        while (true) {
          frames.push(uint8ArrayToString((await reader.read({ signal })).subarray()))
        }
      } catch {
        return { frames, ended: !signal.aborted }
      } finally {
        stream.abort(new Error('done'))
      }
    }

    for (const [what, bytes] of [
      ['a 10-byte varint prefix', new Uint8Array(10).fill(0xff)],
      ['a 10-byte varint prefix that ends', Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])],
      ['a frame over the 1024-byte request limit', Uint8Array.from([0xd0, 0x0f, 0x7b])]
    ] as const) {
      it(`answers ${what} with an error and closes the stream at once`, async () => {
        testnet = await createTestnet(0)
        const node = testnet.createNode()
        await node.start()
        const { frames, ended } = await sendRaw(node, testnet.registries[0], bytes)
        expect(ended, 'the registry closed the stream (before the 30 s test timeout)').to.equal(true)
        expect(frames).to.have.length(1)
        expect(JSON.parse(frames[0])).to.have.property('error')
        // the registry still answers
        expect((await rawLookup(node, testnet.registries[0].libp2p.peerId, testnet.network, { name: NAME })).header).to.deep.equal({ count: 0 })
      })
    }
  })

  describe('the record index', () => {
    const network = 'testnet'
    const prefix = dhtDatastorePrefix(network)

    it('refuses records over each quota and logs which one', async () => {
      const lines: string[] = []
      const connected = await generateKeyPair('Ed25519')
      const connectedId = peerIdFromPrivateKey(connected)
      // who is connected, from where: one peer from 10.0.0.1 (the index only reads getConnections)
      const peers = {
        peerId: peerIdFromPrivateKey(await generateKeyPair('Ed25519')),
        getConnections: (peer?: ReturnType<typeof peerIdFromString>) => peer === undefined || peer.equals(connectedId)
          ? [{ remotePeer: connectedId, remoteAddr: multiaddr('/ip4/10.0.0.1/tcp/4001'), status: 'open' }]
          : []
      } as unknown as IndexPeers
      const index = new RecordIndex({
        network,
        datastore: new MemoryDatastore(),
        datastorePrefix: prefix,
        log: capturingLogger(lines),
        quotas: { maxRecords: 6, maxBytes: 100_000, maxRecordsPerName: 4, maxRecordsPerSigner: 2, maxRecordsPerAddress: 1, maxRelayedRecords: 3, maxRelayedRecordsPerName: 2 }
      })
      index.attach(peers)
      const refusal = async (entry: Entry): Promise<string> => store(index, network, entry).then(() => 'stored', (err: Error & { quota?: string }) => err.quota ?? err.name)

      // relayed: 2 per name, 3 in all
      expect(await refusal((await junkEntries(network, 'a', 1))[0])).to.equal('stored')
      expect(await refusal((await junkEntries(network, 'a', 1))[0])).to.equal('stored')
      expect(await refusal((await junkEntries(network, 'a', 1))[0])).to.equal('maxRelayedRecordsPerName')
      expect(await refusal((await junkEntries(network, 'b', 1))[0])).to.equal('stored')
      expect(await refusal((await junkEntries(network, 'c', 1))[0])).to.equal('maxRelayedRecords')
      // direct: the connected signer, 1 per address (and 2 per signer)
      expect(await refusal(await signedEntry(network, 'a', { key: connected }))).to.equal('stored')
      expect(await refusal(await signedEntry(network, 'b', { key: connected }))).to.equal('maxRecordsPerAddress')
      // a newer record of a stored key is a replacement, not one more
      expect(await refusal(await signedEntry(network, 'a', { key: connected, seq: 2 }))).to.equal('stored')
      expect(index.size).to.equal(4)
      // bytes
      const huge = new RecordIndex({ network, datastore: new MemoryDatastore(), datastorePrefix: prefix, log: capturingLogger(lines), quotas: { maxBytes: 20_000 } })
      await store(huge, network, (await junkEntries(network, 'a', 1, { blob: 'x'.repeat(8000) }))[0])
      await store(huge, network, (await junkEntries(network, 'a', 1, { blob: 'x'.repeat(8000) }))[0])
      expect(await store(huge, network, (await junkEntries(network, 'a', 1, { blob: 'x'.repeat(8000) }))[0]).then(() => 'stored', (err: Error & { quota?: string }) => err.quota)).to.equal('maxBytes')
      // per name and per signer, without the relayed quotas in the way
      const counts = new RecordIndex({ network, datastore: new MemoryDatastore(), datastorePrefix: prefix, log: capturingLogger(lines), quotas: { maxRecordsPerName: 2, maxRecordsPerSigner: 1 } })
      await store(counts, network, (await junkEntries(network, 'a', 1))[0])
      await store(counts, network, (await junkEntries(network, 'a', 1))[0])
      expect(await store(counts, network, (await junkEntries(network, 'a', 1))[0]).then(() => 'stored', (err: Error & { quota?: string }) => err.quota)).to.equal('maxRecordsPerName')
      const signer = await generateKeyPair('Ed25519')
      await store(counts, network, await signedEntry(network, 'x', { key: signer }))
      expect(await store(counts, network, await signedEntry(network, 'y', { key: signer })).then(() => 'stored', (err: Error & { quota?: string }) => err.quota)).to.equal('maxRecordsPerSigner')

      for (const quota of ['maxRelayedRecordsPerName', 'maxRelayedRecords', 'maxRecordsPerAddress', 'maxBytes', 'maxRecordsPerName', 'maxRecordsPerSigner']) {
        expect(lines.some(line => line.startsWith('refused to store') && line.includes(`quota ${quota}:`)), `a logged refusal naming ${quota}`).to.equal(true)
      }
    })

    it('refuses a seq not higher than the stored one where it writes, and skips the very bytes stored', async () => {
      const index = new RecordIndex({ network, datastore: new MemoryDatastore(), datastorePrefix: prefix, log: capturingLogger([]) })
      const key = await generateKeyPair('Ed25519')
      const first = await signedEntry(network, NAME, { key, seq: 5 })
      await store(index, network, first)
      await store(index, network, first) // the same bytes: a no-op, not an error
      const older = await signedEntry(network, NAME, { key, seq: 4 })
      const same = await signedEntry(network, NAME, { key, seq: 5, metadata: { other: true } })
      expect(await store(index, network, older).then(() => 'stored', (err: Error) => err.name)).to.equal('InvalidRecordError')
      expect(await store(index, network, same).then(() => 'stored', (err: Error) => err.name)).to.equal('InvalidRecordError')
      // concurrent writes of one key are serialised: seq 7 then seq 6, both above the stored 5, leave 7
      const newest = await signedEntry(network, NAME, { key, seq: 7, withdrawn: true })
      const newer = await signedEntry(network, NAME, { key, seq: 6 })
      const results = await Promise.allSettled([store(index, network, newest), store(index, network, newer), store(index, network, first), store(index, network, older)])
      expect(results.map(result => result.status)).to.deep.equal(['fulfilled', 'rejected', 'rejected', 'rejected'])
      expect(peek(await index.envelopes(index.page(NAME).records))).to.deep.equal([{ peerId: first.peerId, seq: 7, withdrawn: true }])
    })

    it('holds no envelopes: loads 2,000 records of 8.4 KB from LevelDB in bounded memory, deleting expired ones', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'netget-index-'))
      let level: Datastore | undefined

      try {
        const opened = new LevelDatastore(dir)
        await opened.open()
        level = opened
        const writer = new RecordIndex({ network, datastore: level, datastorePrefix: prefix, log: capturingLogger([]), quotas: { maxRelayedRecordsPerName: 5000 } })
        const entries = await junkEntries(network, NAME, 2000, { blob: 'x'.repeat(8000) })
        const expiring = await Promise.all(Array.from({ length: 100 }, async () => signedEntry(network, NAME, { ttl: 60_000 })))

        for (const entry of [...entries, ...expiring]) {
          await store(writer, network, entry)
        }

        const envelopeBytes = entries.reduce((sum, entry) => sum + entry.value.byteLength, 0)
        entries.length = 0
        const before = heapAfterGc()
        const lines: string[] = []
        const reader = new RecordIndex({ network, datastore: level, datastorePrefix: prefix, log: capturingLogger(lines) })
        const started = performance.now()
        // load as if two minutes had passed: the 100 records with a one-minute TTL are expired
        await reader.load(Date.now() + 120_000)
        const loadMs = performance.now() - started
        const heap = heapAfterGc() - before
        expect(reader.size).to.equal(2000)
        expect(reader.usage.bytes).to.equal(envelopeBytes)
        // the envelopes are 17 MB; the index is about 250 bytes a record
        expect(heap, `index memory ${heap} bytes for ${envelopeBytes} envelope bytes`).to.be.below(2000 * 1024)
        let left = 0

        for await (const _ of level.queryKeys({ prefix: `${prefix}/record/` })) {
          left++
        }

        expect(left, 'expired records deleted from disk').to.equal(2000)
        expect(lines.some(line => line.startsWith('indexed'))).to.equal(true)
        // for the report
        process.stdout.write(`      (loaded 2,000 records, ${envelopeBytes} envelope bytes, in ${Math.round(loadMs)} ms; index memory ${Math.round(heap / 1024)} KiB)\n`)
      } finally {
        await (level as LevelDatastore | undefined)?.close()
        await rm(dir, { recursive: true, force: true })
      }
    })
  })
})

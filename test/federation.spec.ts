/**
 * Registry federation (docs/PROTOCOL.md §17), in one process: range
 * reconciliation, pushes, peer exchange, and that a peer registry's records
 * meet the same rules as a publisher's. Deadlines are generous (a busy CI
 * machine); the real times are measured by scripts/sync-bench.ts
 * (docs/RELIABILITY.md).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Record as DhtRecord } from '@libp2p/kad-dht'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'chai'
import { Key } from 'interface-datastore'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { recordKey, sealRecord } from '../src/index.js'
import { dhtDatastorePrefix } from '../src/protocol/ids.js'
import { decodeSyncMessage, encodeSyncMessage } from '../src/protocol/sync-messages.js'
import { Reconciler, SyncSnapshot, fingerprint, itemHash } from '../src/sync/index.js'
import { createTestnet } from '../src/testing/index.js'
import { lookupAll } from './store-helpers.js'
import { storeRecords } from './stored-records.js'
import type { Netget } from '../src/index.js'
import type { SyncMessage } from '../src/protocol/sync-messages.js'
import type { Testnet } from '../src/testing/index.js'
import type { Datastore } from 'interface-datastore'

/** Live instances a registry lists (nothing pinged). */
async function instanceCount (registry: Netget): Promise<number> {
  const services = await registry.listServices({ ping: false, maxInstances: 10_000, includeUnhealthy: true })
  return services.reduce((sum, service) => sum + service.instances.length, 0)
}

async function eventually (check: () => Promise<boolean> | boolean, timeout = 20_000): Promise<void> {
  const deadline = Date.now() + timeout
  const passes = async (): Promise<boolean> => { try { return await check() } catch { return false } }

  while (!(await passes())) {
    if (Date.now() > deadline) {
      throw new Error(`not within ${timeout} ms`)
    }

    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

/** Writes an envelope straight into a registry's datastore, as storeRecords does, with no signature check. */
async function storeRaw (registry: Netget, name: string, peerId: string, envelope: Uint8Array): Promise<void> {
  const datastore = (registry.libp2p as unknown as { components: { datastore: Datastore } }).components.datastore
  const dhtKey = recordKey(registry.network, name, peerId)
  await datastore.put(new Key(`${dhtDatastorePrefix(registry.network)}/record/${uint8ArrayToString(dhtKey, 'base32')}`, false), new DhtRecord(dhtKey, envelope, new Date()).serialize())
}

async function snapshotOf (entries: Array<[string, number]>): Promise<SyncSnapshot> {
  const items = await Promise.all(entries.map(async ([id, seq]) => ({ id, seq, hash: await itemHash(id, seq) })))
  return new SyncSnapshot(items.sort((a, b) => a.id < b.id ? -1 : 1))
}

/** Runs two reconcilers against each other in memory; returns what each sent and wanted, and the messages. */
async function reconcile (a: SyncSnapshot, b: SyncSnapshot): Promise<{ aSent: string[], bSent: string[], messages: SyncMessage[] }> {
  const sent = { a: [] as string[], b: [] as string[] }
  const sides = {
    a: new Reconciler({ snapshot: a, envelope: async id => { sent.a.push(id); return new Uint8Array(1) } }),
    b: new Reconciler({ snapshot: b, envelope: async id => { sent.b.push(id); return new Uint8Array(1) } })
  }
  const messages: SyncMessage[] = []
  sides.a.open()

  for (let round = 0; round < 64 && !(sides.a.idle && sides.b.idle); round++) {
    const from = round % 2 === 0 ? sides.a : sides.b
    const to = round % 2 === 0 ? sides.b : sides.a
    const { message } = await from.next()
    // every message goes through the codec, as on the wire
    const decoded = decodeSyncMessage(encodeSyncMessage(message))
    messages.push(decoded)
    to.receive(decoded)
  }

  return { aSent: sent.a.sort(), bSent: sent.b.sort(), messages }
}

describe('registry federation', function () {
  this.timeout(120_000)

  describe('range reconciliation', () => {
    it('sends exactly the records each side lacks or holds older, whatever the sizes', async () => {
      const common = Array.from({ length: 2_000 }, (_, i): [string, number] => [`svc${i % 7}/peer${String(i).padStart(5, '0')}`, 3])
      const a = await snapshotOf([...common, ['svc1/onlyA', 1], ['svc2/newer', 5], ['svc3/older', 1]])
      const b = await snapshotOf([...common, ['svc4/onlyB', 1], ['svc2/newer', 4], ['svc3/older', 2]])
      const { aSent, bSent, messages } = await reconcile(a, b)

      expect(aSent).to.deep.equal(['svc1/onlyA', 'svc2/newer'])
      expect(bSent).to.deep.equal(['svc3/older', 'svc4/onlyB'])
      // only differing ranges are split: far fewer items named than held
      const named = messages.flatMap(message => message.ranges).reduce((sum, range) => sum + ('items' in range ? range.items.length : 0), 0)
      expect(named).to.be.below(300)
    })

    it('ends after one message each way when both hold the same', async () => {
      const entries = Array.from({ length: 500 }, (_, i): [string, number] => [`svc/peer${i}`, i])
      const { aSent, bSent, messages } = await reconcile(await snapshotOf(entries), await snapshotOf(entries))
      expect(aSent).to.deep.equal([])
      expect(bSent).to.deep.equal([])
      // the answerer has nothing to say: on the wire, an empty answer ends the session
      expect(messages).to.have.length(1)
    })

    it('fills an empty side', async () => {
      const entries = Array.from({ length: 1_000 }, (_, i): [string, number] => [`svc/peer${i}`, 1])
      const { aSent, bSent } = await reconcile(await snapshotOf([]), await snapshotOf(entries))
      expect(aSent).to.deep.equal([])
      expect(bSent).to.have.length(1_000)
      expect(fingerprint([])).to.equal('0'.repeat(32))
    })

    it('refuses a malformed message with bad-request', () => {
      const frame = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))
      expect(() => decodeSyncMessage(frame({ ranges: [{ lo: 'b', hi: 'a', fp: '0'.repeat(32), n: 1 }], want: [], records: 0 }))).to.throw().with.property('code', 'bad-request')
      expect(() => decodeSyncMessage(frame({ ranges: [], want: [], records: 10_000 }))).to.throw().with.property('code', 'bad-request')
      expect(() => decodeSyncMessage(frame({ ranges: [{ lo: '', hi: null, items: Array.from({ length: 17 }, (_, i) => [`s/p${i}`, 1]) }], want: [], records: 0 }))).to.throw().with.property('code', 'bad-request')
    })
  })

  describe('between registries', () => {
    let testnet: Testnet | undefined

    afterEach(async () => {
      await testnet?.destroy()
      testnet = undefined
    })

    it('a new registry is complete soon after connecting to one peer registry', async () => {
      testnet = await createTestnet(0)
      const first = testnet.registries[0]
      await storeRecords(first, Array.from({ length: 300 }, (_, i) => ({ name: `svc${i % 5}` })))
      const second = await testnet.startRegistry()

      await eventually(async () => await instanceCount(second) === 300)
      // a session's counts are added when it ends, which may be after the last record is stored
      await eventually(() => second.syncStats().recordsReceived >= 300)
      expect(first.syncStats().peers).to.equal(1)
    })

    it('pushes a new record and a withdrawal to the peer registries at once', async () => {
      // no timed rounds within the test: only a push can bring the records over
      testnet = await createTestnet(0, { registries: 2, nodeOptions: { syncInterval: 3_600_000 } })
      const [first, second] = testnet.registries
      await eventually(() => first.syncStats().peers === 1 && second.syncStats().peers === 1)
      const key = await generateKeyPair('Ed25519')
      const peerId = peerIdFromPrivateKey(key).toString()
      const sealed = async (seq: number, withdrawn: boolean): Promise<Uint8Array> => sealRecord({ network: first.network, name: 'pushed', peerId, multiaddrs: [], metadata: { name: 'pushed' }, seq, expiresAt: Date.now() + 600_000, withdrawn }, key)

      // written straight into the first registry's store: neither kad nor a put carries it to the second
      await storeRaw(first, 'pushed', peerId, await sealed(1, false))
      await eventually(async () => (await lookupAll(first, second.libp2p.peerId, first.network, 'pushed'))[0]?.seq === 1)
      await storeRaw(first, 'pushed', peerId, await sealed(2, true))
      await eventually(async () => (await lookupAll(first, second.libp2p.peerId, first.network, 'pushed'))[0]?.withdrawn === true)
    })

    it('does not take from a peer registry what its own rules refuse', async () => {
      testnet = await createTestnet(0)
      const first = testnet.registries[0]
      // a forged record (signed by a key that is not the record's peer) and a record of a name over the second registry's quota
      const signer = await generateKeyPair('Ed25519')
      const claimed = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
      const forged = await sealRecord({ network: first.network, name: 'forged', peerId: claimed, multiaddrs: [], metadata: { name: 'forged' }, seq: 1, expiresAt: Date.now() + 600_000, withdrawn: false }, signer)
      await storeRaw(first, 'forged', claimed, forged)
      await storeRecords(first, Array.from({ length: 12 }, () => ({ name: 'crowded' })))
      // a rollback: the second registry holds seq 2 of an instance, the first seq 1
      const key = await generateKeyPair('Ed25519')
      const peerId = peerIdFromPrivateKey(key).toString()
      const sealed = async (seq: number): Promise<Uint8Array> => sealRecord({ network: first.network, name: 'rolled', peerId, multiaddrs: [], metadata: { name: 'rolled' }, seq, expiresAt: Date.now() + 600_000, withdrawn: false }, key)
      await storeRaw(first, 'rolled', peerId, await sealed(1))
      const second = await testnet.startRegistry(undefined, { registryNodes: [], storeQuotas: { maxRecordsPerName: 5 } })
      await storeRaw(second, 'rolled', peerId, await sealed(2))
      second.addRegistryNode(testnet.registryNodes[0])

      // the first registry takes the newer record from the second: sync ran both ways
      await eventually(async () => (await lookupAll(second, first.libp2p.peerId, first.network, 'rolled'))[0]?.seq === 2)
      await eventually(() => second.syncStats().recordsRefused >= 8)
      // and the first registry was told why, with reason codes (docs/PROTOCOL.md §12)
      await eventually(() => (first.syncStats().refusedByPeers.quota ?? 0) >= 7)
      expect(first.syncStats().refusedByPeers).to.include({ quota: 7 })
      expect(Object.keys(first.syncStats().refusedByPeers).filter(code => code !== 'quota')).to.have.length(1)
      const names = Object.fromEntries((await second.listServices({ ping: false, includeUnhealthy: true })).map(service => [service.name, service.instances.length]))
      expect(names).to.deep.equal({ crowded: 5, rolled: 1 })
      const rolled = await lookupAll(first, second.libp2p.peerId, first.network, 'rolled')
      expect(rolled.map(record => record.seq)).to.deep.equal([2])
    })

    it('registries learn each other from one peer; a client falls back to a learnt registry', async () => {
      testnet = await createTestnet(0)
      const hub = testnet.registries[0]
      const hubAddress = testnet.registryNodes[0]
      const left = await testnet.startRegistry(undefined, { registryNodes: [hubAddress] })
      const right = await testnet.startRegistry(undefined, { registryNodes: [hubAddress] })
      // left and right knew only the hub: the later one finds the earlier through it
      await eventually(() => right.registryNodes().some(({ peerId, connected }) => connected && peerId === left.peerId))

      const client = testnet.createNode({ registryNodes: [hubAddress] })
      await client.start()
      const service = testnet.createNode({ registryNodes: [testnet.registryNodes[2]], metadata: { name: 'elsewhere' } })
      await service.start()
      await service.registerWithNetwork()
      // the client learns the others, then loses its only registry
      await new Promise(resolve => setTimeout(resolve, 1_000))
      await hub.stop()
      await eventually(() => client.registryNodes().some(({ connected }) => connected))
      const found = await client.discoverServiceNode('elsewhere')
      expect(found.map(instance => instance.peerId)).to.deep.equal([service.peerId])
    })
  })
})

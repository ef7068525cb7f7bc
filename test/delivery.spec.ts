/**
 * Who delivered a put: kad-dht gives neither its validator nor its datastore
 * the remote peer of a PUT_VALUE, so netget runs each inbound kad stream in a
 * delivery context (`src/libp2p/delivery-context.ts`). These tests check, on
 * real nodes over 127.0.0.1, that the validator and the registry's write
 * path see the right connection, and the quotas built on it: records per
 * connection, puts per second per connection, relayed = delivered by a peer
 * that did not sign the record, and no map outliving its connection.
 */
import '../src/polyfills.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { expect } from 'chai'
import { MemoryDatastore } from 'datastore-core'
import { createNetgetLibp2p } from '../src/libp2p/create-node.js'
import { putToPeer } from '../src/protocol/direct-put.js'
import { dhtDatastorePrefix } from '../src/protocol/ids.js'
import { RecordIndex } from '../src/registry/record-index.js'
import { createTestnet } from '../src/testing/index.js'
import { capturingLogger } from './helpers.js'
import { junkEntries, putOverOneStream, signedEntry } from './store-helpers.js'
import type { Entry } from './store-helpers.js'
import type { Delivery } from '../src/libp2p/delivery-context.js'
import type { NetgetLibp2p } from '../src/libp2p/create-node.js'
import type { StoreQuotas } from '../src/registry/store-quotas.js'
import type { Testnet } from '../src/testing/index.js'
import type { PrivateKey } from '@libp2p/interface'

const NETWORK = 'delivery'

/** A registry's kad node built as the runtime builds one: a RecordIndex in the datastore's write path, its put rate in the validator. */
interface Server {
  libp2p: NetgetLibp2p
  index: RecordIndex
  /** What the validator was handed: the delivering peer and the key, per put. */
  seen: Array<{ peer: string, key: string }>
  lines: string[]
}

async function startServer (quotas: Partial<StoreQuotas> = {}): Promise<Server> {
  const lines: string[] = []
  const seen: Server['seen'] = []
  const index = new RecordIndex({ network: NETWORK, datastore: new MemoryDatastore(), datastorePrefix: dhtDatastorePrefix(NETWORK), log: capturingLogger(lines), quotas })
  const libp2p = await createNetgetLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    network: NETWORK,
    dhtServer: true,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    announce: [],
    datastore: index.datastore,
    maxConnections: 100,
    inboundConnectionThreshold: 100,
    providerValidity: 60_000,
    admitDelivery: (delivery: Delivery, key: Uint8Array) => {
      seen.push({ peer: delivery.connection.remotePeer.toString(), key: new TextDecoder().decode(key) })
      index.admitDelivery(delivery, key)
    }
  })
  index.attach(libp2p)
  await libp2p.start()
  return { libp2p, index, seen, lines }
}

async function startClient (server: Server, privateKey?: PrivateKey): Promise<NetgetLibp2p> {
  const libp2p = await createNetgetLibp2p({
    privateKey: privateKey ?? await generateKeyPair('Ed25519'),
    network: NETWORK,
    dhtServer: false,
    listen: [],
    announce: [],
    datastore: new MemoryDatastore(),
    maxConnections: 100,
    inboundConnectionThreshold: 100,
    providerValidity: 60_000
  })
  await libp2p.start()
  await libp2p.dial(server.libp2p.getMultiaddrs()[0], { signal: AbortSignal.timeout(10_000) })
  return libp2p
}

/** One direct put (a new kad stream): 'stored', or the refusal's name. */
async function put (client: NetgetLibp2p, server: Server, entry: Entry): Promise<string> {
  return putToPeer(client, server.libp2p.peerId, NETWORK, entry.key, entry.value, AbortSignal.timeout(10_000)).then(() => 'stored', (err: Error) => err.name)
}

describe('delivery: who put a record', function () {
  this.timeout(120_000)
  const stop: Array<{ stop: () => void | Promise<void> }> = []
  let testnet: Testnet | undefined

  afterEach(async () => {
    await Promise.all(stop.splice(0).map(async node => { await node.stop() }))
    await testnet?.destroy()
    testnet = undefined
  })

  it('the validator and the write path see the connection that delivered a PUT_VALUE; a record put by another peer than its signer is relayed', async () => {
    const server = await startServer()
    stop.push(server.libp2p)
    const signerKey = await generateKeyPair('Ed25519')
    const signer = await startClient(server, signerKey)
    const other = await startClient(server)
    stop.push(signer, other)

    // the signer puts its own record: direct, counted against its connection
    const own = await signedEntry(NETWORK, 'own', { key: signerKey })
    expect(await put(signer, server, own)).to.equal('stored')
    // another peer puts a record of the signer, who is connected: relayed all the same
    const forwarded = await signedEntry(NETWORK, 'forwarded', { key: signerKey })
    expect(await put(other, server, forwarded)).to.equal('stored')

    expect(server.seen).to.deep.equal([
      { peer: signer.peerId.toString(), key: new TextDecoder().decode(own.key) },
      { peer: other.peerId.toString(), key: new TextDecoder().decode(forwarded.key) }
    ])
    const [stored] = server.index.page('own').records
    const [relayed] = server.index.page('forwarded').records
    expect(stored).to.include({ peerId: own.peerId, origin: 'direct', address: '127.0.0.1', deliveredFrom: '127.0.0.1' })
    expect(stored.connection).to.equal(server.libp2p.getConnections(signer.peerId)[0].id)
    expect(relayed).to.include({ peerId: own.peerId, origin: 'relayed', deliveredFrom: '127.0.0.1' })
    expect(relayed.connection).to.equal(server.libp2p.getConnections(other.peerId)[0].id)
    // outside an inbound stream (this node's own write) there is no delivery: the validator is not asked
    expect(server.seen).to.have.length(2)
  })

  it('forgets a connection\'s counts and put rate when it closes; its records stay', async () => {
    const server = await startServer({ maxRecordsPerConnection: 3 })
    stop.push(server.libp2p)
    const client = await startClient(server)
    stop.push(client)

    for (const entry of await junkEntries(NETWORK, 'api', 3)) {
      expect(await put(client, server, entry)).to.equal('stored')
    }

    expect(await put(client, server, (await junkEntries(NETWORK, 'api', 1))[0])).to.equal('StreamResetError')
    expect(server.lines.some(line => line.includes('quota maxRecordsPerConnection:') && line.includes(`delivered by ${client.peerId.toString()}`)), 'a logged refusal naming the quota and the peer').to.equal(true)
    expect(server.index.trackedConnections).to.equal(1)

    const closed = new Promise(resolve => { server.libp2p.addEventListener('connection:close', resolve, { once: true }) })
    await client.hangUp(server.libp2p.peerId)
    await closed
    expect(server.index.trackedConnections).to.equal(0)
    expect(server.index.size).to.equal(3)

    // a new connection starts over
    await client.dial(server.libp2p.getMultiaddrs()[0], { signal: AbortSignal.timeout(10_000) })
    expect(await put(client, server, (await junkEntries(NETWORK, 'api', 1))[0])).to.equal('stored')
  })

  it('refuses puts beyond the per-connection quota; a publisher on another connection still registers', async () => {
    testnet = await createTestnet(0, { network: NETWORK, nodeOptions: { storeQuotas: { maxRecordsPerConnection: 5 } } })
    const registryPeer = testnet.registries[0].libp2p.peerId
    const attacker = testnet.createNode()
    await attacker.start()

    expect(await putOverOneStream(attacker, registryPeer, NETWORK, await junkEntries(NETWORK, 'payments', 10))).to.equal(5)
    // a new stream on the same connection is the same connection
    expect(await putOverOneStream(attacker, registryPeer, NETWORK, await junkEntries(NETWORK, 'payments', 1))).to.equal(0)

    const honest = testnet.createNode({ metadata: { name: 'payments' } })
    await honest.registerWithNetwork()
    const found = await testnet.createNode().discoverServiceNode('payments')
    expect(found.map(instance => instance.peerId)).to.deep.equal([honest.peerId])
  })

  it('refuses puts beyond the rate of one connection, lets them through again as it refills, and a publisher on another connection still registers', async () => {
    testnet = await createTestnet(0, { network: NETWORK, nodeOptions: { storeQuotas: { putBurst: 10, putsPerSecond: 1 } } })
    const registryPeer = testnet.registries[0].libp2p.peerId
    const attacker = testnet.createNode()
    await attacker.start()

    const accepted = await putOverOneStream(attacker, registryPeer, NETWORK, await junkEntries(NETWORK, 'payments', 30))
    // the burst, and what refilled (1 a second) while the puts ran
    expect(accepted).to.be.at.least(10).and.below(20)

    const honest = testnet.createNode({ metadata: { name: 'payments' } })
    await honest.registerWithNetwork()
    const found = await testnet.createNode().discoverServiceNode('payments')
    expect(found.map(instance => instance.peerId)).to.deep.equal([honest.peerId])

    await new Promise(resolve => setTimeout(resolve, 2_000))
    expect(await putOverOneStream(attacker, registryPeer, NETWORK, await junkEntries(NETWORK, 'payments', 1))).to.equal(1)
  })
})


import { generateKeyPair } from '@libp2p/crypto/keys'
import { Record as DhtRecord } from '@libp2p/kad-dht'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { mkdir, rename, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { expect } from 'chai'
import { logger } from '@libp2p/logger'
import { dhtProtocol, issueCredential, issueRevocation, recordKey, sealRecord, verifyRecord } from '../src/index.js'
import { NetworkTrust } from '../src/trust/network-trust.js'
import { dhtDatastorePrefix, syncProtocol } from '../src/protocol/ids.js'
import { askRegistries } from '../src/sync/sync-session.js'
import { SyncSnapshot, runInitiator } from '../src/sync/index.js'
import type { SyncRegistry } from '../src/protocol/sync-messages.js'
import { storedRecordKey } from '../src/records/validator.js'
import { createTestnet } from '../src/testing/index.js'
import { putOverOneStream } from './store-helpers.js'
import { nextEvent, rejectionOf } from './helpers.js'
import { GET_VALUE, kadMessage } from './faults/fixtures/hostile-peer.js'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import type { CredentialRole, Netget, NetgetInit, ServiceRecord } from '../src/index.js'
import type { Testnet } from '../src/testing/index.js'
import type { PrivateKey } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'

const NETWORK = 'closed'
const MINUTE = 60_000

/** A peer's identity and its credential, as node options. */
interface Grant {
  privateKey: PrivateKey
  credential: Uint8Array
  peerId: string
}

describe('closed networks', function () {
  let authorityKey: PrivateKey
  let authority: string
  let testnet: Testnet

  const grant = async (role: CredentialRole, names?: string[], options: { ttl?: number, now?: number, network?: string, authorityKey?: PrivateKey } = {}): Promise<Grant> => {
    const privateKey = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(privateKey).toString()
    const { envelope } = await issueCredential({ network: options.network ?? NETWORK, peer: peerId, role, names, ttl: options.ttl ?? 10 * MINUTE, now: options.now }, options.authorityKey ?? authorityKey)
    return { privateKey, credential: envelope, peerId }
  }

  const options = (given: Grant): NetgetInit => ({ privateKey: given.privateKey, credential: given.credential })

  /** A record of `name` for `given`'s key, carrying `credential` (none with null), sealed as a publisher would. */
  const sealedFor = async (registry: Netget, given: Grant, name: string, credential: Uint8Array | null = given.credential): Promise<{ key: Uint8Array, value: Uint8Array, peerId: string }> => {
    const record: ServiceRecord = {
      network: registry.networkId,
      name,
      peerId: given.peerId,
      multiaddrs: [`/ip4/127.0.0.1/tcp/9/p2p/${given.peerId}`],
      metadata: { name },
      seq: Date.now(),
      expiresAt: Date.now() + 5 * MINUTE,
      withdrawn: false,
      credential: credential ?? undefined
    }
    return { key: recordKey(registry.networkId, name, given.peerId), value: await sealRecord(record, given.privateKey), peerId: given.peerId }
  }

  /** What a registry that checks nothing would do: write the record straight into its store. */
  const inject = async (registry: Netget, entry: { key: Uint8Array, value: Uint8Array }): Promise<void> => {
    const datastore = (registry.libp2p as unknown as { components: { datastore: Datastore } }).components.datastore
    await datastore.put(storedRecordKey(dhtDatastorePrefix(registry.networkId), entry.key), new DhtRecord(entry.key, entry.value, new Date()).serialize())
  }

  const stored = async (registry: Netget, entry: { key: Uint8Array }): Promise<boolean> => {
    const datastore = (registry.libp2p as unknown as { components: { datastore: Datastore } }).components.datastore
    return datastore.has(storedRecordKey(dhtDatastorePrefix(registry.networkId), entry.key))
  }

  beforeEach(async () => {
    authorityKey = await generateKeyPair('Ed25519')
    authority = peerIdFromPrivateKey(authorityKey).toString()
    testnet = await createTestnet(0, { network: NETWORK, registries: 0, nodeOptions: { authority } })
  })

  afterEach(async () => {
    await testnet.destroy()
  })

  it('discovers an instance that holds a publish credential, on a network id that names the authority', async () => {
    const registry = await testnet.startRegistry(undefined, options(await grant('registry')))
    expect(registry.networkId).to.equal(`${NETWORK}@${authority}`)
    const service = testnet.createNode({ metadata: { name: 'payments' }, ...options(await grant('publish', ['payments'])) })
    await service.registerWithNetwork()

    const client = testnet.createNode(options(await grant('read')))
    const found = await client.discoverServiceNode('payments')
    expect(found.map(instance => instance.peerId)).to.deep.equal([service.peerId])
    expect(found[0].network).to.equal(`${NETWORK}@${authority}`)
  })

  it('refuses to register without a publish credential for the name, saying why', async () => {
    await testnet.startRegistry(undefined, options(await grant('registry')))
    const reader = testnet.createNode({ metadata: { name: 'payments' }, ...options(await grant('read')) })
    const err = await rejectionOf(reader.registerWithNetwork())
    expect(err).to.have.property('name', 'CredentialError')
    expect(err).to.have.property('reason', 'wrong-role')

    const other = testnet.createNode({ metadata: { name: 'payments' }, ...options(await grant('publish', ['orders-*'])) })
    const refused = await rejectionOf(other.registerWithNetwork())
    expect(refused).to.have.property('reason', 'name-not-granted')
  })

  const attacks: Array<[string, (registry: Netget) => Promise<{ key: Uint8Array, value: Uint8Array, peerId: string }>, RegExp]> = [
    ['no credential', async registry => sealedFor(registry, await grant('publish', ['payments']), 'payments', null), /presented no credential/],
    ['a credential for another name', async registry => sealedFor(registry, await grant('publish', ['orders']), 'payments'), /does not grant the service name/],
    ['a credential for another network', async registry => sealedFor(registry, await grant('publish', ['payments'], { network: 'staging' }), 'payments'), /is for network "staging"/],
    ['a credential of another authority', async registry => sealedFor(registry, await grant('publish', ['payments'], { authorityKey: await generateKeyPair('Ed25519') }), 'payments'), /issued by authority/],
    ['an expired credential', async registry => sealedFor(registry, await grant('publish', ['payments'], { ttl: MINUTE, now: Date.now() - 2 * MINUTE }), 'payments'), /expired/],
    ['another peer\'s credential', async registry => {
      const thief = await grant('publish', ['payments'])
      const victim = await grant('publish', ['payments'])
      return sealedFor(registry, thief, 'payments', victim.credential)
    }, /is for peer/]
  ]

  for (const [what, build] of attacks) {
    it(`refuses a record with ${what} at the registry, and readers drop it even from a lying registry`, async () => {
      const registry = await testnet.startRegistry(undefined, options(await grant('registry')))
      const attacker = testnet.createNode(options(await grant('read')))
      await attacker.start()
      const entry = await build(registry)

      expect(await putOverOneStream(attacker, registry.libp2p.peerId, registry.networkId, [entry])).to.equal(0)
      expect(await stored(registry, entry)).to.equal(false)

      await inject(registry, entry)
      expect(await stored(registry, entry)).to.equal(true)
      const client = testnet.createNode(options(await grant('read')))
      const err = await rejectionOf(client.discoverServiceNode('payments', { checkHealth: false }))
      expect(err).to.have.property('name', 'ServiceNotFoundError')
    })
  }

  it('states which rule refused each attack record', async () => {
    const registry = await testnet.startRegistry(undefined, options(await grant('registry')))
    const trust = new NetworkTrust({ network: NETWORK, authority, peerId: registry.peerId, log: logger('test') })

    for (const [what, build, rule] of attacks) {
      const entry = await build(registry)
      const err = await rejectionOf(verifyRecord(entry.value, { network: registry.networkId, checkPublisher: async record => { await trust.checkPublisher(record) } }))
      expect(err.message, what).to.match(rule)
    }
  })

  it('drops a revoked publisher\'s instance once the revocation reaches the readers', async () => {
    const registry = await testnet.startRegistry(undefined, options(await grant('registry')))
    const publisher = await grant('publish', ['payments'])
    const service = testnet.createNode({ metadata: { name: 'payments' }, ...options(publisher) })
    await service.registerWithNetwork()
    const client = testnet.createNode({ revocationRefreshInterval: 200, ...options(await grant('read')) })
    expect(await client.discoverServiceNode('payments')).to.have.length(1)

    const revoker = testnet.createNode(options(await grant('read')))
    const { envelope } = await issueRevocation({ network: NETWORK, peer: publisher.peerId }, authorityKey)
    expect(await revoker.publishRevocation(envelope)).to.equal(1)

    await waitUntil(async () => (await rejectionOf(client.discoverServiceNode('payments', { checkHealth: false })).catch(() => undefined))?.name === 'ServiceNotFoundError', 10_000)
    void registry
  })

  it('picks up a credential file replaced on disk, without a restart, and re-publishes with it', async () => {
    await testnet.startRegistry(undefined, options(await grant('registry')))
    // shorter than the testnet's 30 s record TTL: the record is cut to the credential's expiry
    const first = await grant('publish', ['payments'], { ttl: 20_000 })
    const firstExpiry = Date.now() + 20_000
    const path = join(testnet.dataDir('credential'), 'payments.credential')
    await mkdir(dirname(path), { recursive: true })
    await writeFile(path, first.credential)
    const service = testnet.createNode({ metadata: { name: 'payments' }, privateKey: first.privateKey, credential: path, trustRefreshInterval: 100 })
    const announced = await service.registerWithNetwork()
    expect(announced.record.expiresAt).to.be.at.most(firstExpiry)

    const { envelope } = await issueCredential({ network: NETWORK, peer: first.peerId, role: 'publish', names: ['payments'], ttl: 20 * MINUTE }, authorityKey)
    const republished = nextEvent(service, 'service:announced', event => event.detail.record.expiresAt > firstExpiry, 15_000)
    await writeFile(`${path}.new`, envelope)
    await rename(`${path}.new`, path)
    const renewed = (await republished).detail.record

    const client = testnet.createNode(options(await grant('read')))
    const [instance] = await client.discoverServiceNode('payments')
    expect(instance.seq).to.be.at.least(renewed.seq)
    expect(instance.expiresAt).to.be.greaterThan(firstExpiry)
  })

  it('does not use a registry that holds no registry credential', async () => {
    await testnet.startRegistry(undefined, options(await grant('read')))
    const client = testnet.createNode(options(await grant('read')))
    const err = await rejectionOf(client.discoverServiceNode('payments'))
    expect(err).to.have.property('name', 'CredentialError')
    expect(err.message).to.match(/holds no valid "registry" credential/)
  })

  it('a read-restricted registry refuses a peer without a credential, with a clear error', async () => {
    await testnet.startRegistry(undefined, { readRestricted: true, ...options(await grant('registry')) })
    const stranger = testnet.createNode()
    const err = await rejectionOf(stranger.discoverServiceNode('payments'))
    expect(err).to.have.property('name', 'CredentialError')
    expect(err).to.have.property('reason', 'missing')

    const reader = testnet.createNode(options(await grant('read')))
    expect((await rejectionOf(reader.discoverServiceNode('payments'))).name).to.equal('ServiceNotFoundError')
  })

  it('a read-restricted registry answers kad requests only on connections that presented a credential', async () => {
    const registry = await testnet.startRegistry(undefined, { readRestricted: true, ...options(await grant('registry')) })
    const address = multiaddr(testnet.registryNodes[0])
    const ask = async (node: Netget): Promise<string> => {
      const stream = await node.libp2p.dialProtocol(address, dhtProtocol(registry.networkId), { signal: AbortSignal.timeout(10_000) })
      const messages = lpStream(stream)
      await messages.write(kadMessage({ type: GET_VALUE, key: recordKey(registry.networkId, 'payments', registry.peerId) }))

      try {
        await messages.read({ signal: AbortSignal.timeout(20_000) })
        return 'answered'
      } catch (err) {
        return (err as Error).name
      } finally {
        stream.abort(new Error('done'))
      }
    }

    const reader = testnet.createNode(options(await grant('read')))
    const admitted = nextEvent(reader, 'registry:connected')
    await reader.start()
    await admitted
    expect(await ask(reader)).to.equal('answered')

    const stranger = testnet.createNode({ registryNodes: [] })
    await stranger.start()
    const refused = await ask(stranger)
    expect(refused).to.not.equal('answered')
    expect(refused).to.not.equal('TimeoutError')
  })

  it('names its peer registries to a node holding any credential, on the sync protocol, and to no one without one when read-restricted', async () => {
    const hub = await testnet.startRegistry(undefined, { readRestricted: true, ...options(await grant('registry')) })
    const hubAddress = multiaddr(testnet.registryNodes[0])
    const peer = await testnet.startRegistry(undefined, { readRestricted: true, registryNodes: [testnet.registryNodes[0]], ...options(await grant('registry')) })
    await waitUntil(async () => hub.registryNodes().some(({ peerId, connected }) => connected && peerId === peer.peerId), 30_000)
    const ask = async (node: Netget): Promise<SyncRegistry[]> => {
      const signal = AbortSignal.timeout(20_000)
      return askRegistries(await node.libp2p.dialProtocol(hubAddress, syncProtocol(hub.networkId), { signal }), signal)
    }

    // a reader is not a registry: it may not sync, but it may learn the registries to fall back on
    const reader = testnet.createNode(options(await grant('read')))
    const admitted = nextEvent(reader, 'registry:connected')
    await reader.start()
    await admitted
    expect((await ask(reader)).map(registry => registry.id)).to.include(peer.peerId)

    // ...and a record it pushes as a registry would is not taken, though its publisher may publish it
    const entry = await sealedFor(hub, await grant('publish', ['payments']), 'payments')
    const signal = AbortSignal.timeout(20_000)
    const stream = await reader.libp2p.dialProtocol(hubAddress, syncProtocol(hub.networkId), { signal })
    const refusedPush = await rejectionOf(runInitiator(stream, {
      snapshot: async () => new SyncSnapshot([]),
      envelope: async () => undefined,
      accept: async () => undefined,
      registries: () => [],
      onRegistries: () => {}
    }, signal, { records: [entry.value] }))
    expect(refusedPush.name).to.not.equal('TimeoutError')
    expect(await stored(hub, entry)).to.equal(false)

    const stranger = testnet.createNode({ registryNodes: [] })
    await stranger.start()
    expect((await rejectionOf(ask(stranger))).name).to.not.equal('TimeoutError')
  })

  it('never meets a network of the same name with another authority', async () => {
    const registry = await testnet.startRegistry(undefined, options(await grant('registry')))
    const service = testnet.createNode({ metadata: { name: 'payments' }, ...options(await grant('publish', ['payments'])) })
    await service.registerWithNetwork()

    const otherKey = await generateKeyPair('Ed25519')
    const otherAuthority = peerIdFromPrivateKey(otherKey).toString()
    const outsiderKey = await generateKeyPair('Ed25519')
    const { envelope } = await issueCredential({ network: NETWORK, peer: peerIdFromPrivateKey(outsiderKey).toString(), role: 'read', ttl: MINUTE }, otherKey)
    const outsider = testnet.createNode({ authority: otherAuthority, privateKey: outsiderKey, credential: envelope, registryNodes: testnet.registryNodes })
    const err = await rejectionOf(outsider.discoverServiceNode('payments'))
    expect(err.name).to.equal('NoRegistryReachableError')
    void registry
  })
})

async function waitUntil (check: () => Promise<boolean>, timeout: number): Promise<void> {
  const deadline = Date.now() + timeout

  while (!await check()) {
    if (Date.now() > deadline) {
      throw new Error(`condition not met within ${timeout} ms`)
    }

    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

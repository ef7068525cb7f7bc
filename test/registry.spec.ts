import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Record as DhtRecord } from '@libp2p/kad-dht'
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id'
import { expect } from 'chai'
import { MemoryDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { recordKey, sealRecord } from '../src/index.js'
import { createRecordValidator, storedRecordKey } from '../src/records/validator.js'
import { createTestnet } from '../src/testing/index.js'
import { freePort, nextEvent, rejectionOf } from './helpers.js'
import type { Netget, ServiceRecord } from '../src/index.js'
import type { Testnet } from '../src/testing/index.js'
import type { Connection, PeerId, PrivateKey } from '@libp2p/interface'

/** Puts a raw value under a raw key from `node` and counts the DHT servers that accepted it. */
async function putRaw (node: Netget, key: Uint8Array, value: Uint8Array): Promise<number> {
  let accepted = 0

  for await (const event of node.libp2p.services.dht.put(key, value, { signal: AbortSignal.timeout(5000) })) {
    if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') {
      accepted++
    }
  }

  return accepted
}

/**
 * What `registry` answers a kad GET_VALUE for `key` with: kad servers hand out
 * what they store without validating it, so this sees the registry's
 * datastore, expired records included. `valid`: a record the reader accepts;
 * `refused`: a record the reader's validator refuses; `none`: no record.
 */
async function storedAt (reader: Netget, registry: PeerId, key: Uint8Array): Promise<'valid' | 'refused' | 'none' | 'no answer'> {
  for await (const event of reader.libp2p.services.dht.get(key, { signal: AbortSignal.timeout(3000) })) {
    if (event.name === 'PEER_RESPONSE' && event.messageName === 'GET_VALUE' && event.from.equals(registry)) {
      return event.record == null ? 'none' : 'valid'
    }

    if (event.name === 'QUERY_ERROR' && event.from.equals(registry) && /invalid record/.test(event.error.message)) {
      return 'refused'
    }
  }

  return 'no answer'
}

describe('registry nodes', () => {
  let testnet: Testnet

  afterEach(async () => {
    await testnet?.destroy()
  })

  describe('validation of stored records', () => {
    let victimKey: PrivateKey
    let attackerKey: PrivateKey
    let victim: Netget
    let attacker: Netget
    let honest: ServiceRecord

    beforeEach(async () => {
      testnet = await createTestnet(0)
      victimKey = await generateKeyPair('Ed25519')
      attackerKey = await generateKeyPair('Ed25519')
      victim = testnet.createNode({ privateKey: victimKey, metadata: { name: 'api', owner: 'victim' } })
      honest = (await victim.registerWithNetwork()).record
      attacker = testnet.createNode({ privateKey: attackerKey })
      await attacker.start()
    })

    /** The registry's own validator, holding the honest record as the registry does: it names the rule that refuses an attack. */
    async function registryValidator (): Promise<(key: Uint8Array, value: Uint8Array) => Promise<void>> {
      const datastore = new MemoryDatastore()
      const key = recordKey(testnet.network, 'api', honest.peerId)
      await datastore.put(storedRecordKey('/dht', key), new DhtRecord(key, await sealRecord(honest, victimKey), new Date()).serialize())
      const validate = createRecordValidator({ network: testnet.network, datastore, datastorePrefix: '/dht' })
      return async (key, value) => { await validate(key, value) }
    }

    const attackerPeer = (): string => peerIdFromPrivateKey(attackerKey).toString()
    // the attacker's own addresses: with its /p2p/ part when the record is in its own name, without when it claims the victim's
    const attackerAddresses = (): string[] => attacker.multiaddrs
    const attackerTransports = (): string[] => attacker.multiaddrs.map(address => address.replace(/\/p2p\/[^/]+$/, ''))

    // each attack, and the rule that must refuse it (the message of the validator's InvalidRecordError)
    const attacks: Array<[string, () => Promise<[Uint8Array, Uint8Array]>, RegExp]> = [
      ['a forged signature (victim\'s record signed by another key)', async () => {
        const forged = { ...honest, seq: honest.seq + 10, multiaddrs: attackerTransports() }
        return [recordKey(testnet.network, 'api', honest.peerId), await sealRecord(forged, attackerKey)]
      }, /is signed by another peer/],
      ['a record for another peer ID than its key', async () => {
        const own = { ...honest, peerId: attackerPeer(), multiaddrs: attackerAddresses(), seq: honest.seq + 10 }
        return [recordKey(testnet.network, 'api', honest.peerId), await sealRecord(own, attackerKey)]
      }, /is stored under peer .* but is for peer/],
      ['a record of another network', async () => {
        const foreign = { ...honest, network: 'elsewhere', peerId: attackerPeer(), multiaddrs: attackerAddresses() }
        return [recordKey(testnet.network, 'api', foreign.peerId), await sealRecord(foreign, attackerKey)]
      }, /belongs to network "elsewhere"/],
      ['a key of another network', async () => {
        const foreign = { ...honest, network: 'elsewhere', peerId: attackerPeer(), multiaddrs: attackerAddresses() }
        return [recordKey('elsewhere', 'api', foreign.peerId), await sealRecord(foreign, attackerKey)]
      }, /Record key names network "elsewhere"/],
      ['an expired record', async () => {
        const expired = { ...honest, peerId: attackerPeer(), multiaddrs: attackerAddresses(), expiresAt: Date.now() - 1000 }
        return [recordKey(testnet.network, 'api', expired.peerId), await sealRecord(expired, attackerKey)]
      }, /Record expired at/],
      ['an oversized record', async () => {
        const huge = { ...honest, peerId: attackerPeer(), multiaddrs: attackerAddresses(), metadata: { name: 'api', blob: 'x'.repeat(20_000) } }
        return [recordKey(testnet.network, 'api', huge.peerId), await sealRecord(huge, attackerKey)]
      }, /bytes, more than the .* allowed/],
      ['garbage bytes', async () => {
        return [recordKey(testnet.network, 'api', attackerPeer()), uint8ArrayFromString('{"not":"an envelope"}')]
      }, /envelope is malformed/],
      ['a replay of an older, validly signed record', async () => {
        const older = { ...honest, seq: honest.seq - 1, metadata: { name: 'api', owner: 'stale' } }
        return [recordKey(testnet.network, 'api', honest.peerId), await sealRecord(older, victimKey)]
      }, /older than the stored seq .* \(replay\)/],
      ['a record in the attacker\'s name claiming the victim\'s /p2p/ addresses', async () => {
        const claim = { ...honest, peerId: attackerPeer() }
        return [recordKey(testnet.network, 'api', claim.peerId), await sealRecord(claim, attackerKey)]
      }, /has an address of another peer/]
    ]

    for (const [what, build, rule] of attacks) {
      it(`refuses ${what} and never returns it`, async () => {
        const [key, value] = await build()
        const validate = await registryValidator()
        expect((await rejectionOf(validate(key, value))).message).to.match(rule)
        expect(await putRaw(attacker, key, value)).to.equal(0)

        const found = await testnet.createNode().discoverServiceNode('api', { thorough: true, includeUnhealthy: true })
        expect(found).to.have.length(1)
        expect(found[0].peerId).to.equal(honest.peerId)
        expect(found[0].seq).to.equal(honest.seq)
        expect(found[0].metadata.owner).to.equal('victim')
        expect(testnet.registries[0].status).to.equal('started')
      })
    }

    it('accepts the honest publisher\'s newer record', async () => {
      const newer = { ...honest, seq: honest.seq + 1, metadata: { name: 'api', owner: 'victim', v: 2 } }
      expect(await putRaw(attacker, recordKey(testnet.network, 'api', honest.peerId), await sealRecord(newer, victimKey))).to.equal(1)
      const [found] = await testnet.createNode().discoverServiceNode('api')
      expect(found.metadata.v).to.equal(2)
    })
  })

  it('serves the records it held after a restart on the same data dir', async () => {
    testnet = await createTestnet(0, { registries: 0 })
    const dataDir = testnet.dataDir('registry')
    const registry = await testnet.startRegistry(dataDir)
    const registryPeer = registry.peerId
    const service = testnet.createNode({ metadata: { name: 'api', version: '2' } })
    await service.registerWithNetwork()
    const servicePeer = service.peerId
    // the service goes away without withdrawing, so it cannot re-announce
    await service.stop({ withdraw: false })
    await registry.stop()
    testnet.registryNodes.length = 0

    const restarted = await testnet.startRegistry(dataDir)
    expect(restarted.peerId).to.equal(registryPeer)
    const [instance] = await testnet.createNode().discoverServiceNode('api', { checkHealth: false })
    expect(instance.peerId).to.equal(servicePeer)
    expect(instance.metadata.version).to.equal('2')
  })

  it('adds and removes registries at runtime', async () => {
    testnet = await createTestnet(0, { registries: 2 })
    const [first, second] = testnet.registryNodes
    const node = testnet.createNode({ registryNodes: [first] })
    await node.start()
    await nextEvent(node, 'registry:connected')

    const connected = nextEvent(node, 'registry:connected', event => event.detail.multiaddr === second)
    expect(node.addRegistryNode(second)).to.equal(true)
    expect(node.addRegistryNode(second)).to.equal(false)
    await connected
    expect(node.registryNodes().map(registry => registry.connected)).to.deep.equal([true, true])

    const lost = nextEvent(node, 'registry:disconnected', event => event.detail.multiaddr === first)
    expect(await node.removeRegistryNode(first)).to.equal(true)
    await lost
    expect(node.registryNodes().map(registry => registry.multiaddr)).to.deep.equal([second])
    expect(await node.removeRegistryNode(first)).to.equal(false)
  })

  it('reconnects to a restarted registry by itself and re-announces', async () => {
    testnet = await createTestnet(0, { registries: 0 })
    const port = await freePort()
    const dataDir = testnet.dataDir('registry')
    const registry = await testnet.startRegistry(dataDir)
    await registry.stop()
    testnet.registryNodes.length = 0
    const fixed = testnet.createNode({ nodeType: 'registry', dataDir, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    await fixed.start()
    testnet.registryNodes.push(fixed.multiaddrs[0])

    // re-announcing dials the registry too: keep it out of the wait, so only the redial can bring the registry back
    const service = testnet.createNode({ metadata: { name: 'api' }, recordTtl: 120_000, reannounceInterval: 60_000 })
    await service.registerWithNetwork()
    const disconnected = nextEvent(service, 'registry:disconnected')
    await fixed.stop()
    await disconnected

    // the service redials with backoff and re-announces once the registry is back
    const reconnected = nextEvent(service, 'registry:connected')
    const announced = nextEvent(service, 'service:announced')
    const same = testnet.createNode({ nodeType: 'registry', dataDir, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    await same.start()
    await reconnected
    const { detail } = await announced
    expect(detail.storedBy).to.equal(1)
    const [instance] = await testnet.createNode().discoverServiceNode('api')
    expect(instance.peerId).to.equal(service.peerId)
  })

  it('deletes expired records from its datastore', async () => {
    testnet = await createTestnet(0, { registries: 0 })
    const dataDir = testnet.dataDir('registry')
    const registry = await testnet.startRegistry(dataDir)
    const registryPeer = peerIdFromString(registry.peerId)
    const lasting = testnet.createNode({ metadata: { name: 'lasting' } })
    await lasting.registerWithNetwork()
    const fleeting = testnet.createNode({ metadata: { name: 'fleeting' }, recordTtl: 1_000, reannounceInterval: 500 })
    const { record } = await fleeting.registerWithNetwork()
    const lastingKey = recordKey(testnet.network, 'lasting', lasting.peerId)
    const fleetingKey = recordKey(testnet.network, 'fleeting', record.peerId)
    // gone without withdrawing: only the expiry ends its record
    await fleeting.stop({ withdraw: false })

    const reader = testnet.createNode()
    const connected = nextEvent(reader, 'registry:connected')
    await reader.start()
    await connected
    expect(await storedAt(reader, registryPeer, lastingKey)).to.equal('valid')

    // the expired record stays in the datastore until the registry's cleanup (every recordCleanupInterval) deletes it
    const deadline = Date.now() + 15_000
    let state = await storedAt(reader, registryPeer, fleetingKey)
    expect(state).to.be.oneOf(['valid', 'refused'])

    while (state !== 'none' && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 200))
      state = await storedAt(reader, registryPeer, fleetingKey)
    }

    expect(state).to.equal('none')
    expect(Date.now()).to.be.greaterThan(record.expiresAt)

    // and on disk: the registry's LevelDB holds the lasting record and not the expired one
    await registry.stop()
    const level = new LevelDatastore(join(dataDir, 'datastore'))
    await level.open()
    const keys: string[] = []

    try {
      for await (const key of level.queryKeys({})) {
        keys.push(key.toString())
      }
    } finally {
      await level.close()
    }

    const onDisk = (key: Uint8Array): boolean => keys.some(stored => stored.endsWith(`/record/${uint8ArrayToString(key, 'base32')}`))
    expect(onDisk(lastingKey)).to.equal(true)
    expect(onDisk(fleetingKey)).to.equal(false)
  })

  it('does not ping its idle peers with libp2p\'s connection monitor, while they ping it', async function () {
    // libp2p's monitor pings every connection every 10 s and records the round trip on the connection
    this.timeout(60_000)
    testnet = await createTestnet(0)
    const peer = testnet.createNode()
    const connected = nextEvent(peer, 'registry:connected')
    await peer.start()
    await connected
    const registry = testnet.registries[0]
    const toRegistry = (): Connection | undefined => peer.libp2p.getConnections(peerIdFromString(registry.peerId))[0]
    const deadline = Date.now() + 25_000

    while (toRegistry()?.rtt === undefined && Date.now() < deadline) {
      await new Promise(resolve => setTimeout(resolve, 250))
    }

    // the peer's monitor pinged the registry, over the same connection the registry would ping back on;
    // the registry's ticks started before the peer's, so one of them would have landed by now
    expect(toRegistry()?.rtt).to.be.a('number')
    await new Promise(resolve => setTimeout(resolve, 1_000))
    const fromRegistry = registry.libp2p.getConnections(peerIdFromString(peer.peerId))
    expect(fromRegistry).to.have.length.greaterThan(0)
    expect(fromRegistry.map(connection => connection.rtt)).to.deep.equal(fromRegistry.map(() => undefined))
  })
})

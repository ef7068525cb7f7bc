import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'chai'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { recordKey, sealRecord } from '../src/index.js'
import { createTestnet } from '../src/testing/index.js'
import { freePort, nextEvent } from './helpers.js'
import type { Netget, ServiceRecord } from '../src/index.js'
import type { Testnet } from '../src/testing/index.js'
import type { PrivateKey } from '@libp2p/interface'

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

    const attacks: Array<[string, () => Promise<[Uint8Array, Uint8Array]>]> = [
      ['a forged signature (victim\'s record signed by another key)', async () => {
        const forged = { ...honest, seq: honest.seq + 10, multiaddrs: ['/ip4/6.6.6.6/tcp/1'] }
        return [recordKey(testnet.network, 'api', honest.peerId), await sealRecord(forged, attackerKey)]
      }],
      ['a record for another peer ID than its key', async () => {
        const own = { ...honest, peerId: peerIdFromPrivateKey(attackerKey).toString(), seq: honest.seq + 10 }
        return [recordKey(testnet.network, 'api', honest.peerId), await sealRecord(own, attackerKey)]
      }],
      ['a record of another network', async () => {
        const foreign = { ...honest, network: 'elsewhere', peerId: peerIdFromPrivateKey(attackerKey).toString() }
        return [recordKey(testnet.network, 'api', foreign.peerId), await sealRecord(foreign, attackerKey)]
      }],
      ['a key of another network', async () => {
        const foreign = { ...honest, network: 'elsewhere', peerId: peerIdFromPrivateKey(attackerKey).toString() }
        return [recordKey('elsewhere', 'api', foreign.peerId), await sealRecord(foreign, attackerKey)]
      }],
      ['an expired record', async () => {
        const expired = { ...honest, peerId: peerIdFromPrivateKey(attackerKey).toString(), expiresAt: Date.now() - 1000 }
        return [recordKey(testnet.network, 'api', expired.peerId), await sealRecord(expired, attackerKey)]
      }],
      ['an oversized record', async () => {
        const huge = { ...honest, peerId: peerIdFromPrivateKey(attackerKey).toString(), metadata: { name: 'api', blob: 'x'.repeat(20_000) } }
        return [recordKey(testnet.network, 'api', huge.peerId), await sealRecord(huge, attackerKey)]
      }],
      ['garbage bytes', async () => {
        return [recordKey(testnet.network, 'api', peerIdFromPrivateKey(attackerKey).toString()), uint8ArrayFromString('{"not":"an envelope"}')]
      }],
      ['a replay of an older, validly signed record', async () => {
        const older = { ...honest, seq: honest.seq - 1, metadata: { name: 'api', owner: 'stale' } }
        return [recordKey(testnet.network, 'api', honest.peerId), await sealRecord(older, victimKey)]
      }]
    ]

    for (const [what, build] of attacks) {
      it(`refuses ${what} and never returns it`, async () => {
        const [key, value] = await build()
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

    const service = testnet.createNode({ metadata: { name: 'api' } })
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
})

/**
 * Registry faults: one of two registries stops while clients discover; a
 * registry restarts on its data directory; every registry goes down and
 * comes back empty. Discovery must not fail, a restarted registry must keep
 * its identity and records, and services must re-announce on their own.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { expect } from 'chai'
import { Netget } from '../../src/index.js'
import { createTestnet, TESTNET_TIMERS } from '../../src/testing/index.js'
import { tally } from './fixtures/figures.js'
import { waitFor } from './fixtures/hostile-peer.js'
import type { Testnet } from '../../src/testing/index.js'
import type { PrivateKey } from '@libp2p/interface'

const NETWORK = 'regfaults'
const SERVICES = ['Alpha', 'Beta', 'Gamma']

interface RegistrySlot {
  key: PrivateKey
  port: number
  dataDir: string | false
  node?: Netget
  address: string
  peerId?: string
}

describe('Registry faults', function () {
  this.timeout(90_000)
  let testnet: Testnet
  const slots: RegistrySlot[] = []
  const figures: Record<string, number> = {}

  /** Starts (or restarts) the registry of a slot on its port, key and data directory. */
  async function startRegistry (slot: RegistrySlot, dataDir: string | false = slot.dataDir): Promise<Netget> {
    const node = new Netget({
      nodeType: 'registry',
      network: NETWORK,
      listen: [`/ip4/127.0.0.1/tcp/${slot.port}`],
      dataDir,
      privateKey: dataDir === false ? slot.key : undefined,
      registryNodes: slots.filter(other => other !== slot && other.address !== '').map(other => other.address),
      ...TESTNET_TIMERS
    })
    await node.start()
    slot.node = node
    slot.port = Number(node.multiaddrs[0].split('/')[4])
    slot.address = node.multiaddrs[0]
    slot.peerId = node.peerId
    return node
  }

  before(async () => {
    testnet = await createTestnet(0, { network: NETWORK, registries: 0 })

    for (let i = 0; i < 2; i++) {
      const slot: RegistrySlot = { key: await generateKeyPair('Ed25519'), port: 0, dataDir: testnet.dataDir('registry'), address: '' }
      slots.push(slot)
      await startRegistry(slot)
      // the identity it created in its data directory, to restart it in memory later
      slot.key = privateKeyFromProtobuf(await readFile(join(slot.dataDir as string, 'peer.key')))
      testnet.registryNodes.push(slot.address)
    }

    // precondition: every record on both registries (a service that registers
    // while only one registry is connected is stored there alone until its
    // next announcement)
    await Promise.all(SERVICES.map(async name => {
      const node = testnet.createNode({ metadata: { name } })
      await node.start()
      await waitFor(() => node.registryNodes().every(registry => registry.connected), 10_000, 'both registries connected')
      let storedBy = 0
      for (let attempt = 0; attempt < 5 && storedBy < 2; attempt++) {
        storedBy = (await node.registerWithNetwork()).storedBy
      }
      expect(storedBy, `${name} stored by both registries`).to.equal(2)
    }))
  })

  after(async () => {
    tally('registryFaults', figures)
    await Promise.all(slots.map(async slot => slot.node?.stop()))
    await testnet?.destroy()
  })

  it('with two registries, stopping one fails no discovery', async () => {
    const client = testnet.createNode()
    await client.start()
    await waitFor(() => client.registryNodes().every(registry => registry.connected), 10_000, 'both registries connected')
    let discoveries = 0
    let failures = 0
    let stopped = false
    const deadline = Date.now() + 3_000

    const worker = async (): Promise<void> => {
      while (Date.now() < deadline) {
        const name = SERVICES[discoveries % SERVICES.length]
        discoveries++
        try {
          const found = await client.discoverServiceNode(name)
          expect(found).to.have.length(1)
        } catch (err) {
          failures++
          console.log(`      discovery failed after ${stopped ? 'the stop' : 'start'}: ${(err as Error).name}: ${(err as Error).message}`)
        }
      }
    }

    await Promise.all([
      ...Array.from({ length: 4 }, worker),
      (async () => {
        await new Promise(resolve => setTimeout(resolve, 1_000))
        await slots[0].node?.stop()
        stopped = true
      })()
    ])

    figures.discoveriesWhileOneRegistryStopped = discoveries
    figures.failedDiscoveriesWhileOneRegistryStopped = failures
    console.log(`      ${discoveries} discoveries across the stop, ${failures} failed`)
    expect(stopped).to.equal(true)
    expect(failures).to.equal(0)
  })

  it('a registry restarted on its data directory keeps its identity and records', async () => {
    // registry 0 is stopped; stop the services without withdrawing, so that
    // only the store can bring their records back
    const seqs = new Map<string, number>()

    for (const node of testnet.nodes.filter(node => node.config.serviceName !== undefined)) {
      const [instance] = await testnet.createNode({ registryNodes: [slots[1].address] }).discoverServiceNode(node.config.serviceName as string)
      seqs.set(instance.peerId, instance.seq)
      await node.stop({ withdraw: false })
    }

    const oldPeerId = slots[0].peerId
    const restarted = await startRegistry(slots[0])
    expect(restarted.peerId).to.equal(oldPeerId)

    const reader = testnet.createNode({ registryNodes: [slots[0].address] })
    let intact = 0

    for (const name of SERVICES) {
      const found = await reader.discoverServiceNode(name, { includeUnhealthy: true, checkHealth: false })
      for (const instance of found) {
        if (seqs.get(instance.peerId) === instance.seq) { intact++ }
      }
    }

    figures.recordsBeforeRestart = seqs.size
    figures.recordsIntactAfterRestart = intact
    figures.recordsLostOnRestart = seqs.size - intact
    expect(intact).to.equal(SERVICES.length)
  })

  it('with every registry down and back (empty), services re-announce on their own and are found again', async () => {
    const services = await Promise.all(SERVICES.map(async name => {
      const node = testnet.createNode({ metadata: { name, generation: 2 } })
      await node.registerWithNetwork()
      return node
    }))

    await Promise.all(slots.map(async slot => slot.node?.stop()))
    await new Promise(resolve => setTimeout(resolve, 500))
    // back on the same addresses and identities, with nothing stored
    const started = Date.now()
    for (const slot of slots) { await startRegistry(slot, false) }

    const reader = testnet.createNode()
    await waitFor(async () => {
      const found = await Promise.all(SERVICES.map(async name => reader.discoverServiceNode(name, { filter: { generation: 2 } }).catch(() => [])))
      return found.every((instances, i) => instances.some(instance => instance.peerId === services[i].peerId))
    }, 15_000, 'services to re-announce')

    figures.reannouncedAfterAllRegistriesBackMs = Date.now() - started
    figures.servicesLostAfterAllRegistriesBack = 0
    console.log(`      all ${SERVICES.length} services discoverable ${Date.now() - started} ms after the registries came back`)
  })
})

import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromString } from '@libp2p/peer-id'
import { expect } from 'chai'
import { PING_PROTOCOL } from '../src/constants.js'
import { sealAttestation } from '../src/index.js'
import { createTestnet } from '../src/testing/index.js'
import { rejectionOf } from './helpers.js'
import type { Netget } from '../src/index.js'
import type { Testnet } from '../src/testing/index.js'
import type { PublisherLiveness } from '../src/liveness/publisher-liveness.js'
import type { PrivateKey } from '@libp2p/interface'

/** The parts of a running registry these tests reach into: its key, and what its lookup server attaches to answers. */
interface RegistryInternals {
  runtime: { run: { privateKey: PrivateKey, lookupServer: { init: { attestation(peerId: string): unknown } }, liveness: PublisherLiveness } }
}

function internals (registry: Netget): RegistryInternals['runtime']['run'] {
  return (registry as unknown as RegistryInternals).runtime.run
}

describe('registry-attested liveness', () => {
  let testnet: Testnet

  beforeEach(async () => {
    testnet = await createTestnet(0)
  })

  afterEach(async () => {
    await testnet.destroy()
  })

  it('answers discovery with the registry\'s attestation: one round trip, no dial of the instance', async () => {
    const service = testnet.createNode({ metadata: { name: 'api' } })
    await service.registerWithNetwork()
    const client = testnet.createNode()
    const [instance] = await client.discoverServiceNode('api')
    expect(instance.health).to.include({ status: 'healthy', source: 'registry' })
    expect(instance.health.registries).to.deep.equal([testnet.registries[0].peerId])
    expect(instance.health.lastSeen).to.be.a('number')
    expect(client.libp2p.getConnections().map(connection => connection.remotePeer.toString())).to.not.include(service.peerId)
  })

  it('measures a connected publisher on one warm ping stream: alive with an RTT, the same stream over many intervals', async () => {
    const service = testnet.createNode({ metadata: { name: 'api' } })
    await service.registerWithNetwork()
    const registry = testnet.registries[0]
    const { liveness } = internals(registry)
    const [connection] = registry.libp2p.getConnections(peerIdFromString(service.peerId))
    const pingStreams = (): string[] => connection.streams.filter(stream => stream.protocol === PING_PROTOCOL && stream.direction === 'outbound').map(stream => stream.id)
    // the testnet's health interval is 200 ms: 5 pings a second
    await new Promise(resolve => setTimeout(resolve, 1_000))
    const first = pingStreams()
    const before = liveness.measurement(service.peerId)
    await new Promise(resolve => setTimeout(resolve, 1_500))
    const after = liveness.measurement(service.peerId)

    expect(first).to.have.length(1)
    expect(pingStreams()).to.deep.equal(first)
    expect(after).to.include({ status: 'alive' })
    expect(after?.rttMs).to.be.a('number').and.be.above(0)
    expect(after?.measuredAt).to.be.above(before?.measuredAt ?? Infinity)
  })

  it('ignores a forged attestation, an expired one, and one signed by a registry the reader does not trust', async () => {
    const service = testnet.createNode({ metadata: { name: 'api' } })
    await service.registerWithNetwork()
    const registry = testnet.registries[0]
    const run = internals(registry)
    const stranger = await generateKeyPair('Ed25519')
    const now = Date.now()
    const down = { network: testnet.network, peerId: service.peerId, status: 'down' as const, measuredAt: now, expiresAt: now + 60_000 }
    const genuine = await sealAttestation(down, run.privateKey)
    const forged = genuine.slice()
    forged[forged.length - 1] ^= 0xff // the signature's last byte
    const cases = {
      genuine,
      forged,
      expired: await sealAttestation({ ...down, measuredAt: now - 120_000, expiresAt: now - 60_000 }, run.privateKey),
      untrusted: await sealAttestation(down, stranger),
      'other network': await sealAttestation({ ...down, network: 'elsewhere' }, run.privateKey)
    }
    const seen: Record<string, string> = {}

    for (const [label, envelope] of Object.entries(cases)) {
      run.lookupServer.init.attestation = () => envelope
      // a fresh reader each time: nothing cached, and it never pings (checkHealth: false)
      const client = testnet.createNode()
      const [instance] = await client.discoverServiceNode('api', { includeUnhealthy: true, checkHealth: false })
      seen[label] = `${instance.health.status}/${instance.health.source}`
      await client.stop()
    }

    // the genuine one shows the path works: a "down" that counted would show as unhealthy
    expect(seen).to.deep.equal({
      genuine: 'unhealthy/registry',
      forged: 'unknown/none',
      expired: 'unknown/none',
      untrusted: 'unknown/none',
      'other network': 'unknown/none'
    })
  })

  it('reports an instance that stops answering as unhealthy from the registry, and leaves it out, with no caller pinging it', async () => {
    const service = testnet.createNode({ metadata: { name: 'api' } })
    await service.registerWithNetwork()
    const peerId = service.peerId
    await service.stop({ withdraw: false })
    const client = testnet.createNode()
    const err = await rejectionOf(client.discoverServiceNode('api', { checkHealth: false }))
    expect(err).to.have.property('name', 'ServiceNotFoundError')
    const [instance] = await client.discoverServiceNode('api', { includeUnhealthy: true, checkHealth: false })
    expect(instance.peerId).to.equal(peerId)
    expect(instance.health).to.include({ status: 'unhealthy', source: 'registry' })
  })

  it('a caller\'s own failed ping does not drop an instance a registry attests alive', async () => {
    // reachable by its registry, but its published address leads nowhere for the caller
    const service = testnet.createNode({ metadata: { name: 'api' }, announce: ['/ip4/127.0.0.1/tcp/1'] })
    await service.registerWithNetwork()
    const client = testnet.createNode()
    const [instance] = await client.discoverServiceNode('api', { checkHealth: 'local' })
    expect(instance.peerId).to.equal(service.peerId)
    expect(instance.health).to.include({ status: 'healthy', source: 'registry' })
  })
})

describe('stale answers', () => {
  let testnet: Testnet

  beforeEach(async () => {
    testnet = await createTestnet(0)
  })

  afterEach(async () => {
    await testnet.destroy()
  })

  it('returns the last verified answer flagged stale with allowStale when no registry can be reached, and a clear error without it', async () => {
    const service = testnet.createNode({ metadata: { name: 'api', zone: 'a' } })
    await service.registerWithNetwork()
    const client = testnet.createNode()
    const [fresh] = await client.discoverServiceNode('api', { allowStale: true })
    expect(fresh).to.not.have.property('stale')

    const gone = new Promise<void>(resolve => { client.addEventListener('registry:disconnected', () => { resolve() }, { once: true }) })
    await testnet.registries[0].stop()
    await gone

    const stale = await client.discoverServiceNode('api', { allowStale: true })
    expect(stale).to.have.length(1)
    expect(stale[0]).to.include({ peerId: service.peerId, stale: true })
    expect(stale[0].metadata).to.deep.equal({ name: 'api', zone: 'a' })
    // the filter applies to stale answers too
    expect(await rejectionOf(client.discoverServiceNode('api', { allowStale: true, filter: { zone: 'b' } }))).to.have.property('name')

    const err = await rejectionOf(client.discoverServiceNode('api'))
    expect(err).to.have.property('name', 'NoRegistryReachableError')
    expect(err.message).to.match(/No registry of network "testnet" is reachable/)
    // a name never answered has nothing stale to give
    expect(await rejectionOf(client.discoverServiceNode('other', { allowStale: true }))).to.have.property('name', 'NoRegistryReachableError')
  })
})

describe('pickInstance()', () => {
  let testnet: Testnet

  before(async () => {
    testnet = await createTestnet(0)
    await Promise.all(['a', 'b', 'c'].map(async zone => testnet.createNode({ metadata: { name: 'api', zone } }).registerWithNetwork()))
  })

  after(async () => {
    await testnet.destroy()
  })

  it('round-robin goes through every healthy instance in turn', async () => {
    const client = testnet.createNode()
    const picks = []

    for (let i = 0; i < 6; i++) {
      picks.push((await client.pickInstance('api', { strategy: 'round-robin' })).metadata.zone)
    }

    expect(new Set(picks.slice(0, 3)).size).to.equal(3)
    expect(picks.slice(3)).to.deep.equal(picks.slice(0, 3))
  })

  it('nearest and random pick a healthy instance; a filter narrows the choice; a bad strategy is refused', async () => {
    const client = testnet.createNode()
    const nearest = await client.pickInstance('api')
    expect(nearest.health.status).to.equal('healthy')
    expect((await client.pickInstance('api', { strategy: 'random', filter: { zone: 'b' } })).metadata.zone).to.equal('b')
    expect((await client.pickInstance('api', { strategy: 'nearest', filter: { zone: 'c' } })).metadata.zone).to.equal('c')
    const err = await rejectionOf(client.pickInstance('api', { strategy: 'fastest' as 'random' }))
    expect(err).to.have.property('name', 'InvalidOptionsError')
    expect(err.message).to.equal('pickInstance() option "strategy" must be "nearest", "random" or "round-robin", not "fastest"')
  })
})

import { generateKeyPair } from '@libp2p/crypto/keys'
import { expect } from 'chai'
import { logger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import { RecordFinder } from '../src/discovery/record-finder.js'
import { Netget, recordKey, sealRecord } from '../src/index.js'
import { RegistryConnections } from '../src/registries/registry-connections.js'
import { createTestnet } from '../src/testing/index.js'
import { nextEvent, rejectionOf, startTcpRelay } from './helpers.js'
import type { NoRegistryReachableError, ServiceRecord } from '../src/index.js'
import type { Testnet } from '../src/testing/index.js'

describe('registration and discovery', () => {
  let testnet: Testnet

  beforeEach(async () => {
    testnet = await createTestnet(0)
  })

  afterEach(async () => {
    await testnet.destroy()
  })

  it('discovers every instance of a service with its metadata', async () => {
    const instances = await Promise.all(['eu', 'us', 'ap'].map(async region => {
      const node = testnet.createNode({ metadata: { name: 'DatabaseService', region, version: '1.4.0' } })
      const result = await node.registerWithNetwork()
      expect(result.storedBy).to.be.greaterThan(0)
      return node
    }))

    const client = testnet.createNode()
    const found = await client.discoverServiceNode('DatabaseService')

    expect(found.map(instance => instance.peerId).sort()).to.deep.equal(instances.map(node => node.peerId).sort())
    expect(found.map(instance => instance.metadata.region).sort()).to.deep.equal(['ap', 'eu', 'us'])

    for (const instance of found) {
      const node = instances.find(candidate => candidate.peerId === instance.peerId)
      expect(instance.name).to.equal('DatabaseService')
      expect(instance.network).to.equal(testnet.network)
      expect(instance.multiaddrs).to.deep.equal(node?.multiaddrs)
      // the registry it is connected to attests it: no ping of this node's own
      expect(instance.health).to.include({ status: 'healthy', source: 'registry' })
      expect(instance.health.registries).to.deep.equal([testnet.registries[0].peerId])
      expect(instance.expiresAt).to.be.greaterThan(Date.now())
    }
  })

  it('shares one search among concurrent discoveries of a name: 200 callers, one lookup at the registry', async () => {
    const service = testnet.createNode({ metadata: { name: 'api', zone: 'a' } })
    await service.registerWithNetwork()
    const client = testnet.createNode()
    await client.start()
    const index = (testnet.registries[0] as unknown as { runtime: { run: { index: { page(...args: unknown[]): unknown } } } }).runtime.run.index
    const page = index.page.bind(index)
    let lookups = 0
    index.page = (...args: unknown[]) => { lookups++; return page(...args) }

    const answers = await Promise.all(Array.from({ length: 200 }, async (_, i) => client.discoverServiceNode('api', i % 2 === 0 ? {} : { filter: { zone: 'a' } })))
    expect(answers.every(found => found.length === 1 && found[0].peerId === service.peerId)).to.equal(true)
    expect(lookups).to.equal(1)
    // each caller has its own objects
    answers[0][0].health.status = 'unknown'
    expect(answers[1][0].health.status).to.equal('healthy')
  })

  it('narrows results with a metadata filter', async () => {
    for (const region of ['eu', 'us', 'us']) {
      await testnet.createNode({ metadata: { name: 'api', region } }).registerWithNetwork()
    }

    const client = testnet.createNode()
    const us = await client.discoverServiceNode('api', { filter: { region: 'us' } })
    expect(us).to.have.length(2)
    expect(us.every(instance => instance.metadata.region === 'us')).to.equal(true)

    const eu = await client.discoverServiceNode('api', { filter: instance => instance.metadata.region === 'eu' })
    expect(eu).to.have.length(1)

    const none = await rejectionOf(client.discoverServiceNode('api', { filter: { region: 'mars' } }))
    expect(none).to.have.property('name', 'ServiceNotFoundError')
  })

  it('reports instances as soon as they are verified', async () => {
    await testnet.createNode({ metadata: { name: 'api' } }).registerWithNetwork()
    const early: string[] = []
    const earlyHealth: string[] = []
    const found = await testnet.createNode().discoverServiceNode('api', {
      onInstance: instance => {
        early.push(instance.peerId)
        earlyHealth.push(instance.health.status)
      }
    })
    expect(early).to.deep.equal(found.map(instance => instance.peerId))
    // reported before its health check, which then found it healthy
    expect(earlyHealth).to.deep.equal(['unknown'])
    expect(found[0].health.status).to.equal('healthy')
  })

  it('lets lookups that give up leave the shared lookup stream to the others', async () => {
    await testnet.createNode({ metadata: { name: 'api' } }).registerWithNetwork()
    const client = testnet.createNode()
    await client.discoverServiceNode('api', { checkHealth: false })
    const lookups = Array.from({ length: 200 }, async (_, index) => {
      const giveUp = index % 2 === 0
      const signal = giveUp ? AbortSignal.timeout(1 + index % 20) : undefined

      try {
        await client.discoverServiceNode('api', { checkHealth: false, signal })
        return 'found'
      } catch (err) {
        return giveUp ? 'gave up' : (err as Error).message
      }
    })
    const outcomes = await Promise.all(lookups)
    expect(outcomes.filter((outcome, index) => index % 2 === 1 && outcome !== 'found')).to.deep.equal([])
  })

  it('rejects with ServiceNotFoundError for an unknown service', async () => {
    const err = await rejectionOf(testnet.createNode().discoverServiceNode('nothing-here'))
    expect(err).to.have.property('name', 'ServiceNotFoundError')
    expect(err.message).to.match(/No live instance of "nothing-here" on network "testnet"/)
  })

  it('finds services by walking the DHT when no registry answers lookups', async () => {
    const service = testnet.createNode({ metadata: { name: 'api' } })
    await service.registerWithNetwork()
    const client = testnet.createNode()
    await client.start()
    await client.libp2p.dial(multiaddr(testnet.registryNodes[0]))
    // a discovery that knows no registry to ask: only the DHT can answer
    const discovery = new RecordFinder({
      libp2p: client.libp2p,
      network: testnet.network,
      registries: new RegistryConnections({ libp2p: client.libp2p, network: testnet.network, registries: [], redialMinDelay: 10, redialMaxDelay: 10, dialTimeout: 1000, log: logger('test'), onConnected () {}, onDisconnected () {} }),
      requestTimeout: 1000,
      log: logger('test')
    })
    const result = await discovery.findRecords('api', { signal: AbortSignal.timeout(5000) })
    expect(result.registriesAnswered).to.equal(0)
    expect(result.walkedDht).to.equal(true)
    expect([...result.records.keys()]).to.deep.equal([service.peerId])
  })

  it('re-publishes with a higher seq and readers keep the newest', async () => {
    const service = testnet.createNode({ metadata: { name: 'api' } })
    const first = await service.registerWithNetwork()
    const second = await service.registerWithNetwork()
    expect(second.record.seq).to.be.greaterThan(first.record.seq)
    const [instance] = await testnet.createNode().discoverServiceNode('api')
    expect(instance.seq).to.equal(second.record.seq)
  })

  it('re-announces on its interval, with a higher seq each time, without any reconnect', async () => {
    const service = testnet.createNode({ metadata: { name: 'api' }, reannounceInterval: 300 })
    const first = await service.registerWithNetwork()
    const registryEvents: string[] = []
    service.addEventListener('registry:connected', () => { registryEvents.push('connected') })
    service.addEventListener('registry:disconnected', () => { registryEvents.push('disconnected') })

    const second = await nextEvent(service, 'service:announced')
    const third = await nextEvent(service, 'service:announced')
    expect(second.detail.record.seq).to.be.greaterThan(first.record.seq)
    expect(third.detail.record.seq).to.be.greaterThan(second.detail.record.seq)
    expect(third.detail.storedBy).to.equal(1)
    expect(registryEvents).to.deep.equal([])

    // what the registry stores is the re-announced record, not the first one
    const [stored] = (await testnet.registries[0].listServices()).find(service => service.name === 'api')?.instances ?? []
    expect(stored?.seq).to.be.at.least(third.detail.record.seq)
  })

  it('drops a withdrawn instance at once', async () => {
    const staying = testnet.createNode({ metadata: { name: 'api' } })
    const leaving = testnet.createNode({ metadata: { name: 'api' } })
    await staying.registerWithNetwork()
    await leaving.registerWithNetwork()
    const client = testnet.createNode()
    expect(await client.discoverServiceNode('api')).to.have.length(2)

    await leaving.unregister()
    const found = await client.discoverServiceNode('api', { includeUnhealthy: true })
    expect(found.map(instance => instance.peerId)).to.deep.equal([staying.peerId])
  })

  it('withdraws on stop', async () => {
    const service = testnet.createNode({ metadata: { name: 'api' } })
    await service.registerWithNetwork()
    const client = testnet.createNode()
    await client.discoverServiceNode('api')
    await service.stop()
    const err = await rejectionOf(client.discoverServiceNode('api', { includeUnhealthy: true, checkHealth: false }))
    expect(err).to.have.property('name', 'ServiceNotFoundError')
  })
})

/** Puts a raw value under a raw key from a fresh node of `testnet`; resolves with how many DHT servers accepted it. */
async function putRaw (testnet: Testnet, key: Uint8Array, value: Uint8Array): Promise<number> {
  const putter = testnet.createNode()
  const connected = nextEvent(putter, 'registry:connected')
  await putter.start()
  await connected
  let accepted = 0

  for await (const event of putter.libp2p.services.dht.put(key, value, { signal: AbortSignal.timeout(5000) })) {
    if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') {
      accepted++
    }
  }

  return accepted
}

describe('two registries with different records of one instance', () => {
  // each testnet has one registry; both are on the network "testnet" and know nothing of each other
  let first: Testnet
  let second: Testnet

  beforeEach(async () => {
    first = await createTestnet(0)
    second = await createTestnet(0)
  })

  afterEach(async () => {
    await first.destroy()
    await second.destroy()
  })

  for (const lastAnswers of ['older', 'newer']) {
    it(`keeps the highest seq when the registry with the ${lastAnswers} record answers last`, async () => {
      const privateKey = await generateKeyPair('Ed25519')
      const instance = first.createNode({ privateKey })
      await instance.start()
      const record: ServiceRecord = { network: first.network, name: 'api', peerId: instance.peerId, multiaddrs: instance.multiaddrs, metadata: { name: 'api', v: 'old' }, seq: 1, expiresAt: Date.now() + 60_000, withdrawn: false }
      const key = recordKey(first.network, 'api', instance.peerId)
      expect(await putRaw(first, key, await sealRecord(record, privateKey))).to.equal(1)
      expect(await putRaw(second, key, await sealRecord({ ...record, seq: 2, metadata: { name: 'api', v: 'new' } }, privateKey))).to.equal(1)

      // the registry that is to answer last is reached through a relay that holds its answers back until the other one's arrived
      const [early, late] = lastAnswers === 'older' ? [second, first] : [first, second]
      const lateAddress = late.registryNodes[0]
      const relay = await startTcpRelay(Number(lateAddress.split('/')[4]))

      try {
        const client = first.createNode({ registryNodes: [early.registryNodes[0], lateAddress.replace(/\/tcp\/\d+\//, `/tcp/${relay.port}/`)] })
        let connected = 0
        const bothConnected = new Promise<void>(resolve => {
          client.addEventListener('registry:connected', () => { if (++connected === 2) resolve() })
        })
        await client.start()
        await bothConnected

        const arrived: number[] = []
        relay.hold()
        const found = await client.discoverServiceNode('api', {
          onInstance: found => {
            arrived.push(found.seq)
            relay.release()
          }
        })

        // a newer record replaces an older one; an older one after a newer one is ignored
        expect(arrived).to.deep.equal(lastAnswers === 'older' ? [2] : [1, 2])
        expect(found).to.have.length(1)
        expect(found[0].seq).to.equal(2)
        expect(found[0].metadata.v).to.equal('new')
      } finally {
        relay.release()
        await relay.close()
      }
    })
  }
})

describe('networks', () => {
  it('keeps development and production apart on the same host', async () => {
    const development = await createTestnet(0, { network: 'development' })
    const production = await createTestnet(0, { network: 'production' })

    try {
      const devService = development.createNode({ metadata: { name: 'api', env: 'dev' } })
      const prodService = production.createNode({ metadata: { name: 'api', env: 'prod' } })
      await devService.registerWithNetwork()
      await prodService.registerWithNetwork()

      // a production client that also knows the development registry
      const client = production.createNode({ registryNodes: [...production.registryNodes, ...development.registryNodes] })
      const found = await client.discoverServiceNode('api', { thorough: true })
      expect(found.map(instance => instance.peerId)).to.deep.equal([prodService.peerId])
      expect(found[0].metadata.env).to.equal('prod')

      // the development registry is not counted as one of the production client's registries
      const development0 = development.registries[0].peerId
      expect(client.registryNodes().find(registry => registry.peerId === development0)).to.have.property('connected', false)

      // a production client that only knows the development registry is told so at once, not after its timeout
      const lost = production.createNode({ registryNodes: development.registryNodes, operationTimeout: 60_000 })
      const started = Date.now()
      const err = await rejectionOf(lost.discoverServiceNode('api')) as NoRegistryReachableError
      expect(err.name).to.equal('NoRegistryReachableError')
      expect(Date.now() - started).to.be.below(20_000)
      expect(err.message).to.match(new RegExp(`^Registry ${development0.slice(0, 4)}…${development0.slice(-6)} serves development, not production: `))
      expect(err.mismatched).to.deep.equal([{ peerId: development0, networks: ['development'] }])
      // registering fails the same way
      const lostService = production.createNode({ registryNodes: development.registryNodes, metadata: { name: 'api' }, operationTimeout: 60_000 })
      expect(await rejectionOf(lostService.registerWithNetwork())).to.have.property('name', 'NoRegistryReachableError')
      // a service node is no registry at all
      const notRegistry = production.createNode({ registryNodes: [prodService.multiaddrs[0]], operationTimeout: 60_000 })
      expect((await rejectionOf(notRegistry.discoverServiceNode('api'))).message).to.match(/is not a registry \(it serves no netget network, so not production\)/)

      const devFound = await development.createNode().discoverServiceNode('api')
      expect(devFound.map(instance => instance.metadata.env)).to.deep.equal(['dev'])
    } finally {
      await development.destroy()
      await production.destroy()
    }
  })
})

describe('lifecycle', () => {
  it('start and stop are safe twice and in any order', async () => {
    const testnet = await createTestnet(0)

    try {
      const node = testnet.createNode()
      await node.stop()
      await Promise.all([node.start(), node.start()])
      expect(node.status).to.equal('started')
      await Promise.all([node.stop(), node.stop()])
      expect(node.status).to.equal('stopped')
      await node.start()
      expect(node.peerId).to.be.a('string')
      await node.stop()
      expect(() => node.peerId).to.throw().with.property('name', 'NotStartedError')
    } finally {
      await testnet.destroy()
    }
  })

  it('keeps its peer ID across restarts on the same data dir', async () => {
    const testnet = await createTestnet(0)

    try {
      const dataDir = testnet.dataDir('service')
      const first = testnet.createNode({ dataDir, metadata: { name: 'api' } })
      await first.start()
      const peerId = first.peerId
      const second = new Netget({ dataDir, network: testnet.network, registryNodes: testnet.registryNodes, listen: ['/ip4/127.0.0.1/tcp/0'] })
      const locked = await rejectionOf(second.start())
      expect(locked).to.have.property('name', 'DataDirLockedError')
      await first.stop()
      await second.start()
      expect(second.peerId).to.equal(peerId)
      await second.stop()
    } finally {
      await testnet.destroy()
    }
  })
})

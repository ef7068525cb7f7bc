import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import { Netget, parseBootstrapList } from '../src/index.js'
import { rejectionOf } from './helpers.js'
import type { NetgetInit } from '../src/index.js'

const PEER = '12D3KooWHFrmLWTTDD4NodngtRMEVYgxrsDzp4QT7ymiXaRNnJTP'

describe('options', () => {
  const bad: Array<[string, unknown, RegExp]> = [
    ['an unknown option', { netwrok: 'production' }, /Unknown option "netwrok"/],
    ['a bad nodeType', { nodeType: 'client' }, /"nodeType" must be "service" or "registry"/],
    ['a bad network name', { network: 'Prod Net' }, /"network" must be a network name/],
    ['metadata that is not an object', { metadata: 'db' }, /"metadata" must be an object/],
    ['a bad service name', { metadata: { name: 'has space' } }, /"metadata.name" must be a service name/],
    ['metadata over 8 KiB', { metadata: { name: 'db', blob: 'x'.repeat(9000) } }, /at most 8192 are allowed/],
    ['registryNodes that is not an array', { registryNodes: '/ip4/1.2.3.4/tcp/1' }, /"registryNodes" must be an array/],
    ['a registry without /p2p/', { registryNodes: ['/ip4/1.2.3.4/tcp/4001'] }, /has no \/p2p\/<peer id> part/],
    ['a registry that is not a multiaddr', { registryNodes: ['registry.example.com:4001'] }, /is not a valid multiaddr/],
    ['a registry with a bad peer ID', { registryNodes: ['/ip4/1.2.3.4/tcp/4001/p2p/QmNotAPeer'] }, /is not a valid peer ID/],
    ['a bad listen address', { listen: ['0.0.0.0:4001'] }, /"listen": "0.0.0.0:4001" is not a valid multiaddr/],
    ['a negative timeout', { operationTimeout: -1 }, /"operationTimeout" must be a positive number/],
    ['a TTL over 24 hours', { recordTtl: 25 * 3600_000 }, /"recordTtl" must be at most/],
    ['a re-announce interval not under the TTL', { recordTtl: 1000, reannounceInterval: 1000 }, /must be less than "recordTtl"/],
    ['a jitter over 0.5', { reannounceJitter: 2 }, /"reannounceJitter" must be a number from 0 to 0.5/],
    ['a fractional failure threshold', { healthFailureThreshold: 1.5 }, /"healthFailureThreshold" must be a whole number/],
    ['an empty dataDir', { dataDir: '' }, /"dataDir" must be a directory path/],
    ['a privateKey that is not a key', { privateKey: 'secret' }, /"privateKey" must be a libp2p PrivateKey/]
  ]

  for (const [what, init, message] of bad) {
    it(`rejects ${what} with InvalidOptionsError`, () => {
      expect(() => new Netget(init as NetgetInit)).to.throw(message).with.property('name', 'InvalidOptionsError')
    })
  }

  it('applies documented defaults', () => {
    const node = new Netget()
    expect(node.network).to.equal('development')
    expect(node.nodeType).to.equal('service')
    expect(node.config.dataDir).to.equal(false)
    expect(node.config.listen).to.deep.equal([])
    const service = new Netget({ metadata: { name: 'db' } })
    expect(service.config.dataDir).to.equal('.netget/development/db')
    expect(service.config.listen).to.have.length(2)
    const registry = new Netget({ nodeType: 'registry', network: 'production' })
    expect(registry.config.dataDir).to.equal('.netget/production/registry')
    expect(registry.config.maxConnections).to.equal(2000)
  })

  it('refuses to register without a service name, or from a registry', async () => {
    expect(await rejectionOf(new Netget({ dataDir: false }).registerWithNetwork())).to.have.property('name', 'InvalidOptionsError')
    expect(await rejectionOf(new Netget({ nodeType: 'registry', dataDir: false }).registerWithNetwork())).to.have.property('name', 'UnsupportedOperationError')
  })

  it('says so when no registry is configured or reachable', async () => {
    const none = new Netget({ network: 'lonely', dataDir: false, registryNodes: [] })
    const err = await rejectionOf(none.discoverServiceNode('api'))
    expect(err).to.have.property('name', 'NoRegistryReachableError')
    expect(err.message).to.match(/No registry nodes are configured for network "lonely"/)
    await none.stop()

    const unreachable = new Netget({ dataDir: false, registryNodes: [`/ip4/127.0.0.1/tcp/9/p2p/${PEER}`] })
    const failed = await rejectionOf(unreachable.discoverServiceNode('api'))
    expect(failed).to.have.property('name', 'NoRegistryReachableError')
    expect(failed.message).to.match(/No registry of network "development" is reachable \(\/ip4\/127.0.0.1\/tcp\/9/)
    await unreachable.stop()
  })

  it('says which addresses it cannot listen on when a port is taken', async () => {
    const first = new Netget({ dataDir: false, metadata: { name: 'api' }, listen: ['/ip4/127.0.0.1/tcp/0'], registryNodes: [] })
    await first.start()
    const taken = first.multiaddrs[0].split('/p2p/')[0]
    const second = new Netget({ dataDir: false, metadata: { name: 'api' }, listen: [taken], registryNodes: [] })
    const err = await rejectionOf(second.start())
    expect(err).to.have.property('name', 'ListenError')
    expect(err).to.have.property('addressInUse', true)
    expect(err.message).to.equal(`Cannot listen on ${taken}: a port is already in use; stop the process using it, or choose other "listen" addresses (tcp/0 picks a free port)`)
    expect(second.status).to.equal('stopped')
    await first.stop()
  })

  describe('bootstrap.json', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['invalid JSON', '{"version": 1,', /is not valid JSON/],
      ['a wrong version', '{"version": 2, "networks": {}}', /"version" must be 1/],
      ['missing networks', '{"version": 1}', /"networks" must be an object/],
      ['a bad network name', '{"version": 1, "networks": {"Prod": {"registryNodes": []}}}', /network name "Prod" is invalid/],
      ['registryNodes not an array', '{"version": 1, "networks": {"production": {"registryNodes": "x"}}}', /networks.production must be an object with a "registryNodes" array/],
      ['an address without /p2p/', '{"version": 1, "networks": {"production": {"registryNodes": ["/ip4/1.2.3.4/tcp/4001"]}}}', /networks.production.registryNodes\[0\]: .* has no \/p2p\/<peer id> part/],
      ['a repeated address', `{"version": 1, "networks": {"production": {"registryNodes": ["/ip4/1.2.3.4/tcp/4001/p2p/${PEER}", "/ip4/1.2.3.4/tcp/4001/p2p/${PEER}"]}}}`, /repeats/]
    ]

    for (const [what, text, message] of cases) {
      it(`rejects ${what} with InvalidBootstrapFileError`, () => {
        expect(() => parseBootstrapList(text, 'bootstrap.json')).to.throw(message).with.property('name', 'InvalidBootstrapFileError')
      })
    }

    it('reads the network\'s registries from the file a node is given', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'netget-bootstrap-'))

      try {
        const file = join(dir, 'bootstrap.json')
        await writeFile(file, JSON.stringify({ version: 1, networks: { production: { registryNodes: [`/ip4/127.0.0.1/tcp/9/p2p/${PEER}`] } } }))
        const node = new Netget({ network: 'production', bootstrapFile: file, dataDir: false })
        await node.start()
        expect(node.registryNodes().map(registry => registry.peerId)).to.deep.equal([PEER])
        await node.stop()

        await writeFile(file, '{ broken')
        const broken = new Netget({ network: 'production', bootstrapFile: file, dataDir: false })
        const err = await rejectionOf(broken.start())
        expect(err).to.have.property('name', 'InvalidBootstrapFileError')
        expect(err.message).to.include(file)
      } finally {
        await rm(dir, { recursive: true, force: true })
      }
    })

    it('ships a valid bootstrap.json with the default networks', async () => {
      const node = new Netget({ network: 'production', dataDir: false })
      await node.start()
      expect(node.registryNodes()).to.be.an('array')
      await node.stop()
    })
  })
})

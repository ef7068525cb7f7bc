/**
 * One registry process serving several networks (option `networks`): one
 * libp2p node, one kad-dht per network with its own protocol id, datastore
 * and quotas, and nothing crossing from one network to another.
 */
import { expect } from 'chai'
import { request } from 'node:http'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { InvalidOptionsError, Netget, RecordRejectedError, issueCredential, startRegistryHttp } from '../src/index.js'
import { dhtProtocol, lookupProtocol, syncProtocol } from '../src/protocol/ids.js'
import { TESTNET_TIMERS, createTestnet } from '../src/testing/index.js'
import type { ServicesResponse } from '../src/index.js'
import type { Testnet } from '../src/testing/index.js'

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

/** The peer IDs a registry lists under `name` on one network (nothing pinged). */
async function listed (registry: Netget, network: string, name: string): Promise<string[]> {
  const services = await registry.listServices({ network, name, ping: false, includeUnhealthy: true })
  return services.flatMap(service => service.instances.map(instance => instance.peerId)).sort()
}

const TCP = ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws']

/** A GET's status and body; with `until`, it hangs up once the body so far passes it (an event stream). */
async function get (url: string, until?: (body: string) => boolean): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, response => {
      let body = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        body += chunk

        if (until?.(body) === true) {
          req.destroy()
          resolve({ status: response.statusCode ?? 0, body })
        }
      })
      response.on('end', () => { resolve({ status: response.statusCode ?? 0, body }) })
    })
    req.setTimeout(15_000, () => { req.destroy(new Error(`no answer from ${url} within 15 s`)) })
    req.on('error', err => { if (!req.destroyed) { reject(err) } })
    req.end()
  })
}

describe('a registry serving several networks', function () {
  this.timeout(90_000)
  let testnet: Testnet

  beforeEach(async () => {
    testnet = await createTestnet(0, { network: 'alpha', registries: 0 })
  })

  afterEach(async () => {
    await testnet.destroy()
  })

  /** A node of `network` that uses the given registry addresses. */
  function nodeOf (network: string, registryNodes: string[], name?: string, metadata: Record<string, unknown> = {}): Netget {
    return testnet.createNode({ network, registryNodes, metadata: name === undefined ? undefined : { name, ...metadata } })
  }

  it('is one peer running a DHT, a lookup and a sync protocol per network', async () => {
    const registry = await testnet.startRegistry(undefined, { networks: ['alpha', 'beta'] })

    expect(registry.network).to.equal('alpha')
    expect(registry.networks).to.deep.equal(['alpha', 'beta'])
    expect(registry.libp2p.services.dht).to.not.equal(registry.libp2p.services['dht:beta'])
    const protocols = registry.libp2p.getProtocols()

    for (const network of ['alpha', 'beta']) {
      expect(protocols).to.include.members([dhtProtocol(network), lookupProtocol(network), syncProtocol(network)])
    }
  })

  it('keeps the networks isolated: one name on two networks, each client sees only its own', async () => {
    const registry = await testnet.startRegistry(undefined, { networks: ['alpha', 'beta'] })
    const addresses = registry.multiaddrs.filter(address => !address.includes('/ws'))
    const alpha = nodeOf('alpha', addresses, 'orders', { on: 'alpha' })
    const beta = nodeOf('beta', addresses, 'orders', { on: 'beta' })
    await alpha.start()
    await beta.start()
    await alpha.registerWithNetwork()
    await beta.registerWithNetwork()

    const alphaClient = nodeOf('alpha', addresses)
    const betaClient = nodeOf('beta', addresses)
    await alphaClient.start()
    await betaClient.start()
    const seenByAlpha = await alphaClient.discoverServiceNode('orders', { checkHealth: false })
    const seenByBeta = await betaClient.discoverServiceNode('orders', { checkHealth: false })

    expect(seenByAlpha.map(instance => instance.peerId)).to.deep.equal([alpha.peerId])
    expect(seenByAlpha[0].metadata.on).to.equal('alpha')
    expect(seenByBeta.map(instance => instance.peerId)).to.deep.equal([beta.peerId])
    expect(seenByBeta[0].metadata.on).to.equal('beta')
    expect(await listed(registry, 'alpha', 'orders')).to.deep.equal([alpha.peerId])
    expect(await listed(registry, 'beta', 'orders')).to.deep.equal([beta.peerId])
    // the default is the first network
    expect((await registry.listServices({ ping: false })).flatMap(service => service.instances.map(instance => instance.peerId))).to.deep.equal([alpha.peerId])
    expect(() => registry.syncStats({ network: 'gamma' })).to.throw(InvalidOptionsError, /does not serve network "gamma"; it serves "alpha", "beta"/)
  })

  it('applies each network\'s own quotas', async () => {
    const registry = await testnet.startRegistry(undefined, { networks: ['alpha', { network: 'beta', storeQuotas: { maxRecordsPerName: 1 } }] })
    const addresses = registry.multiaddrs.filter(address => !address.includes('/ws'))
    const publishers = ['alpha', 'alpha', 'beta', 'beta'].map(network => nodeOf(network, addresses, 'orders'))
    await Promise.all(publishers.map(async node => { await node.start() }))
    await publishers[0].registerWithNetwork()
    await publishers[1].registerWithNetwork()
    await publishers[2].registerWithNetwork()
    const refused = await publishers[3].registerWithNetwork().then(() => undefined, (err: Error) => err)

    expect(refused).to.be.instanceOf(RecordRejectedError)
    expect((refused as RecordRejectedError).code).to.equal('quota')
    expect(await listed(registry, 'alpha', 'orders')).to.deep.equal([publishers[0].peerId, publishers[1].peerId].sort())
    expect(await listed(registry, 'beta', 'orders')).to.deep.equal([publishers[2].peerId])
  })

  it('keeps each network\'s records on disk apart, and serves them again after a restart', async () => {
    const dataDir = testnet.dataDir('multi')
    const init = { networks: ['alpha', 'beta'] }
    let registry = await testnet.startRegistry(dataDir, init)
    const addresses = registry.multiaddrs.filter(address => !address.includes('/ws'))
    const alpha = nodeOf('alpha', addresses, 'orders')
    const beta = nodeOf('beta', addresses, 'billing')
    await alpha.start()
    await beta.start()
    await alpha.registerWithNetwork()
    await beta.registerWithNetwork()
    await alpha.stop({ withdraw: false })
    await beta.stop({ withdraw: false })
    await registry.stop()

    registry = await testnet.startRegistry(dataDir, init)

    expect(await listed(registry, 'alpha', 'orders')).to.have.length(1)
    expect(await listed(registry, 'beta', 'billing')).to.have.length(1)
    expect(await listed(registry, 'alpha', 'billing')).to.deep.equal([])
    expect(await listed(registry, 'beta', 'orders')).to.deep.equal([])
  })

  it('syncs each network with the peer registries of that network only', async () => {
    const first = await testnet.startRegistry(undefined, { networks: ['alpha', 'beta'], registryNodes: [] })
    const firstAddresses = first.multiaddrs.filter(address => !address.includes('/ws'))
    // the second serves beta and gamma: only beta is shared
    const second = await testnet.startRegistry(undefined, { network: 'beta', networks: ['beta', 'gamma'], registryNodes: firstAddresses })
    const betaPublisher = nodeOf('beta', firstAddresses, 'orders')
    const alphaPublisher = nodeOf('alpha', firstAddresses, 'orders')
    await betaPublisher.start()
    await alphaPublisher.start()
    await betaPublisher.registerWithNetwork()
    await alphaPublisher.registerWithNetwork()

    await eventually(async () => (await listed(second, 'beta', 'orders')).length === 1)
    expect(await listed(second, 'beta', 'orders')).to.deep.equal([betaPublisher.peerId])
    expect(await listed(second, 'gamma', 'orders')).to.deep.equal([])
    expect(first.syncStats({ network: 'beta' }).peers).to.equal(1)
    expect(first.syncStats({ network: 'alpha' }).peers).to.equal(0)
    expect(second.registryNodes().map(registry => registry.network)).to.include('beta')
  })

  it('serves an open and a closed network side by side: the closed one\'s credentials rule only there', async () => {
    const authorityKey = await generateKeyPair('Ed25519')
    const authority = peerIdFromPrivateKey(authorityKey).toString()
    const grant = async (role: 'registry' | 'publish', names?: string[]): Promise<{ privateKey: Awaited<ReturnType<typeof generateKeyPair>>, credential: Uint8Array }> => {
      const privateKey = await generateKeyPair('Ed25519')
      const { envelope } = await issueCredential({ network: 'beta', peer: peerIdFromPrivateKey(privateKey).toString(), role, names, ttl: 600_000 }, authorityKey)
      return { privateKey, credential: envelope }
    }
    const registryGrant = await grant('registry')
    const registry = await testnet.startRegistry(undefined, { privateKey: registryGrant.privateKey, networks: ['alpha', { network: 'beta', authority, credential: registryGrant.credential }] })
    const addresses = registry.multiaddrs.filter(address => !address.includes('/ws'))

    // alpha stays open: no credential needed
    const open = nodeOf('alpha', addresses, 'orders')
    await open.registerWithNetwork()
    expect(await listed(registry, 'alpha', 'orders')).to.deep.equal([open.peerId])

    // beta is closed: a publisher with a credential is stored, one without is refused
    const allowed = testnet.createNode({ network: 'beta', authority, registryNodes: addresses, metadata: { name: 'orders' }, ...await grant('publish', ['orders']) })
    await allowed.registerWithNetwork()
    const stranger = testnet.createNode({ network: 'beta', authority, registryNodes: addresses, metadata: { name: 'orders' } })
    const refused = await stranger.registerWithNetwork().then(() => undefined, (err: Error) => err)

    expect(refused, 'a publisher without a credential').to.be.instanceOf(Error)
    expect(await listed(registry, `beta@${authority}`, 'orders')).to.deep.equal([allowed.peerId])
    expect(registry.networks).to.deep.equal(['alpha', 'beta'])
  })

  it('lists each network over HTTP: ?network= picks one, an unknown one is a 404 naming those served', async () => {
    const registry = await testnet.startRegistry(undefined, { networks: ['alpha', 'beta'] })
    const http = await startRegistryHttp(registry, { port: 0, host: '127.0.0.1', snapshotInterval: 0 })

    try {
      const addresses = registry.multiaddrs.filter(address => !address.includes('/ws'))
      const beta = nodeOf('beta', addresses, 'billing')
      await beta.registerWithNetwork()

      const first = JSON.parse((await get(`${http.url}/api/services`)).body) as ServicesResponse
      const second = JSON.parse((await get(`${http.url}/api/services?network=beta`)).body) as ServicesResponse
      expect(first.network).to.equal('alpha')
      expect(first.networks).to.deep.equal(['alpha', 'beta'])
      expect(first.services).to.deep.equal([])
      expect(second.network).to.equal('beta')
      expect(second.services.map(service => service.name)).to.deep.equal(['billing'])
      expect((await get(`${http.url}/api/services/billing?network=beta`)).status).to.equal(200)
      expect((await get(`${http.url}/api/services/billing`)).status).to.equal(404)

      const unknown = await get(`${http.url}/api/services?network=gamma`)
      expect(unknown.status).to.equal(404)
      expect((JSON.parse(unknown.body) as { error: string }).error).to.match(/does not serve network "gamma"; it serves "alpha", "beta"/)
      expect((await get(`${http.url}/api/events?network=gamma`, () => true)).status).to.equal(404)

      const events = await get(`${http.url}/api/events?network=beta`, body => /event: snapshot\ndata: .*\n/.test(body))
      expect(events.status).to.equal(200)
      const snapshot = JSON.parse(/event: snapshot\ndata: (.*)\n/.exec(events.body)?.[1] ?? '{}') as { network: string, networks: string[], services: Array<{ name: string }> }
      expect(snapshot.network).to.equal('beta')
      expect(snapshot.networks).to.deep.equal(['alpha', 'beta'])
      expect(snapshot.services.map(service => service.name)).to.deep.equal(['billing'])
    } finally {
      await http.close()
    }
  })

  it('refuses options that cannot serve several networks, naming the option', () => {
    const attempt = (init: ConstructorParameters<typeof Netget>[0]): InvalidOptionsError => {
      try {
        void new Netget({ listen: TCP, dataDir: false, ...TESTNET_TIMERS, ...init })
      } catch (err) {
        return err as InvalidOptionsError
      }

      throw new Error('accepted')
    }

    expect(attempt({ networks: ['alpha', 'beta'] }).message).to.match(/only a registry node serves several networks/)
    expect(attempt({ nodeType: 'registry', networks: ['alpha', 'alpha'] }).message).to.match(/names network "alpha" twice/)
    expect(attempt({ nodeType: 'registry', network: 'beta', networks: ['alpha', 'beta'] }).option).to.equal('network')
    expect(attempt({ nodeType: 'registry', networks: [] }).option).to.equal('networks')
    expect(attempt({ nodeType: 'registry', networks: ['alpha', { network: 'Beta' }] }).option).to.equal('networks[1].network')
    expect(attempt({ nodeType: 'registry', networks: ['alpha', { network: 'beta', quotas: {} } as unknown as string] }).message).to.match(/unknown setting "quotas"/)
    expect(new Netget({ nodeType: 'registry', networks: ['beta', 'alpha'], dataDir: false }).network).to.equal('beta')
  })
})

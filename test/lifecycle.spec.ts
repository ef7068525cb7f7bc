import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { createTestnet } from '../src/testing/index.js'
import { nextEvent } from './helpers.js'
import type { Testnet } from '../src/testing/index.js'

describe('node lifecycle', () => {
  let testnet: Testnet | undefined

  afterEach(async () => {
    await testnet?.destroy()
    testnet = undefined
  })

  it('keeps registries added and removed while running across a restart', async () => {
    testnet = await createTestnet(0, { registries: 2 })
    const [first, second] = testnet.registryNodes
    const node = testnet.createNode({ registryNodes: [first] })
    await node.start()
    await nextEvent(node, 'registry:connected')

    const connected = nextEvent(node, 'registry:connected', event => event.detail.multiaddr === second)
    expect(node.addRegistryNode(second)).to.equal(true)
    await connected
    expect(await node.removeRegistryNode(first)).to.equal(true)

    await node.stop()
    expect(node.registryNodes().map(registry => registry.multiaddr)).to.deep.equal([second])

    const reconnected = nextEvent(node, 'registry:connected', event => event.detail.multiaddr === second)
    await node.start()
    await reconnected
    expect(node.registryNodes()).to.deep.equal([{ peerId: testnet.registries[1].peerId, multiaddr: second, network: testnet.network, connected: true }])
    expect(node.libp2p.getConnections().map(connection => connection.remotePeer.toString())).to.not.include(testnet.registries[0].peerId)
  })

  it('is starting as soon as start() is called, and config.registryNodes shows the list read from bootstrap.json', async () => {
    testnet = await createTestnet(0)
    const file = join(testnet.dataDir('bootstrap'))
    await mkdir(file)
    const path = join(file, 'bootstrap.json')
    await writeFile(path, JSON.stringify({ version: 1, networks: { [testnet.network]: { registryNodes: testnet.registryNodes } } }))
    const node = testnet.createNode({ registryNodes: undefined, bootstrapFile: path })
    expect(node.config.registryNodes).to.equal(undefined)
    const started = node.start()
    expect(node.status).to.equal('starting')
    await started
    expect(node.status).to.equal('started')
    expect(node.config.registryNodes).to.deep.equal(testnet.registryNodes)
  })

  it('keeps registries added and removed before start', async () => {
    testnet = await createTestnet(0, { registries: 2 })
    const [first, second] = testnet.registryNodes
    const node = testnet.createNode({ registryNodes: [first] })

    expect(node.addRegistryNode(second)).to.equal(true)
    expect(node.addRegistryNode(second)).to.equal(false)
    expect(await node.removeRegistryNode(first)).to.equal(true)
    expect(await node.removeRegistryNode(first)).to.equal(false)
    expect(node.registryNodes().map(registry => registry.multiaddr)).to.deep.equal([second])

    const connected = nextEvent(node, 'registry:connected')
    await node.start()
    expect((await connected).detail.multiaddr).to.equal(second)
    expect(node.registryNodes().map(registry => registry.multiaddr)).to.deep.equal([second])
  })

  it('reports "starting" as soon as start() is called', async () => {
    testnet = await createTestnet(0, { registries: 0 })
    const node = testnet.createNode({ listen: ['/ip4/127.0.0.1/tcp/0'] })
    const starting = node.start()
    expect(node.status).to.equal('starting')
    await starting
    expect(node.status).to.equal('started')
    await node.stop()
    expect(node.status).to.equal('stopped')
  })

  it('reports "stopped" after a failed start, and frees what it took', async () => {
    testnet = await createTestnet(0, { registries: 0 })
    const holder = testnet.createNode({ metadata: { name: 'holder' }, dataDir: testnet.dataDir('holder'), listen: ['/ip4/127.0.0.1/tcp/0'] })
    await holder.start()
    const port = Number(holder.multiaddrs[0].split('/')[4])
    const dataDir = testnet.dataDir('clash')
    const clash = testnet.createNode({ metadata: { name: 'clash' }, dataDir, listen: [`/ip4/127.0.0.1/tcp/${port}`] })
    const failed = await clash.start().then(() => undefined, (err: Error) => err)
    expect(failed?.name).to.equal('ListenError')
    expect(clash.status).to.equal('stopped')
    // the failed start released the data-dir lock
    const again = testnet.createNode({ metadata: { name: 'clash' }, dataDir, listen: ['/ip4/127.0.0.1/tcp/0'] })
    await again.start()
    expect(again.status).to.equal('started')
  })
})

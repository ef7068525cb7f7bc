/**
 * Registries announce themselves in their network's DHT (docs/PROTOCOL.md
 * §17.6). The registries' peer exchange would tell A of C as well, so the
 * test reads the announcement module's own output: a lookup run on A's DHT
 * that names C can only have found C's provider record.
 */
import { logger } from '@libp2p/logger'
import { expect } from 'chai'
import { RegistryAnnouncement, registryCid } from '../src/sync/registry-announcement.js'
import { createTestnet } from '../src/testing/index.js'
import type { SyncRegistry } from '../src/protocol/sync-messages.js'
import type { Testnet } from '../src/testing/index.js'

describe('registry federation: registries announced in the DHT', function () {
  this.timeout(120_000)
  let testnet: Testnet

  afterEach(async () => {
    await testnet?.destroy()
  })

  it('the registry key is the raw CID of SHA-256 of "netget registry <network id>"', async () => {
    const cid = await registryCid('production')
    expect(cid.version).to.equal(1)
    expect(cid.code).to.equal(0x55)
    expect((await registryCid('production')).equals(cid)).to.equal(true)
    expect((await registryCid('staging')).equals(cid)).to.equal(false)
  })

  it('a registry finds another that provides the key, knowing only a common bootstrap registry', async () => {
    testnet = await createTestnet(0)
    const hub = testnet.registries[0]
    const c = await testnet.startRegistry(undefined, { registryNodes: [testnet.registryNodes[0]] })
    const a = await testnet.startRegistry(undefined, { registryNodes: [testnet.registryNodes[0]] })
    const found: SyncRegistry[] = []
    const lookup = new RegistryAnnouncement({ dht: a.libp2p.services.dht, libp2p: a.libp2p, network: a.network, provide: false, timeout: 5_000, onRegistry: registry => { found.push(registry) }, log: logger('netget:test:announcement') })
    lookup.start()

    try {
      const deadline = Date.now() + 60_000

      while (!found.some(registry => registry.id === c.peerId) && Date.now() < deadline) {
        await lookup.run()
        await new Promise(resolve => setTimeout(resolve, 200))
      }
    } finally {
      lookup.stop()
    }

    const named = found.find(registry => registry.id === c.peerId)
    expect(named, `found ${found.map(registry => registry.id).join(', ')}; hub ${hub.peerId}`).to.not.equal(undefined)
    expect(named?.addrs.length).to.be.within(1, 8)
    expect(found.map(registry => registry.id)).to.not.include(a.peerId)
  })
})

import { expect } from 'chai'
import { createTestnet } from '../src/testing/index.js'

describe('smoke', () => {
  it('registers and discovers', async () => {
    const testnet = await createTestnet(0)
    try {
      const svc = testnet.createNode({ metadata: { name: 'api', port: 1 } })
      const t0 = performance.now()
      const res = await svc.registerWithNetwork()
      const t1 = performance.now()
      const client = testnet.createNode()
      const found = await client.discoverServiceNode('api')
      const t2 = performance.now()
      console.log('register', (t1 - t0).toFixed(1), 'discover', (t2 - t1).toFixed(1), res.storedBy, found[0].health)
      expect(found).to.have.length(1)
      expect(found[0].peerId).to.equal(svc.peerId)
    } finally {
      await testnet.destroy()
    }
  })
})

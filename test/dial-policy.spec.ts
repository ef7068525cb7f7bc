import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { DialPolicy } from '../src/browser/dial-policy.js'
import { Netget as BrowserNetget } from '../src/browser/netget.js'

async function peerId (): Promise<string> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
}

describe('browser dial policy', () => {
  let registry: string
  let instance: string
  let stranger: string
  // far enough ahead that a slow run (a busy machine) never reaches it
  const later = Date.now() + 24 * 60 * 60_000

  before(async () => {
    [registry, instance, stranger] = await Promise.all([peerId(), peerId(), peerId()])
  })

  /** Whether `policy` refuses `address` dialled as `peer`. */
  function denies (policy: DialPolicy, address: string, peer: string): boolean {
    return policy.denies(multiaddr(`${address}/p2p/${peer}`))
  }

  describe('pages whose registries are public', () => {
    let policy: DialPolicy

    beforeEach(() => {
      policy = new DialPolicy()
      policy.allowRegistry(registry, `/dns4/registry.example.com/tcp/443/tls/ws/p2p/${registry}`)
      policy.allowDiscovered(instance, later, [
        `/ip4/192.168.1.10/tcp/4002/ws/p2p/${instance}`,
        `/ip4/127.0.0.1/tcp/22/ws/p2p/${instance}`,
        `/dns4/api.example.com/tcp/443/tls/ws/p2p/${instance}`
      ])
    })

    it('is not a private network', () => {
      expect(policy.privateNetwork).to.equal(false)
    })

    it('refuses a discovered instance\'s ws:// and private addresses (a signed record cannot point the page at the LAN)', () => {
      expect(denies(policy, '/ip4/192.168.1.10/tcp/4002/ws', instance)).to.equal(true)
      expect(denies(policy, '/ip4/127.0.0.1/tcp/22/ws', instance)).to.equal(true)
      expect(denies(policy, '/ip4/203.0.113.9/tcp/80/ws', instance)).to.equal(true)
    })

    it('allows a discovered instance\'s public wss:// address', () => {
      expect(denies(policy, '/dns4/api.example.com/tcp/443/tls/ws', instance)).to.equal(false)
    })

    it('allows the registry at the address the page was given, and not on a private one it reports', () => {
      expect(denies(policy, '/dns4/registry.example.com/tcp/443/tls/ws', registry)).to.equal(false)
      expect(denies(policy, '/ip4/10.0.0.5/tcp/4002/ws', registry)).to.equal(true)
    })

    it('refuses ws:// and private addresses of peers it never discovered', () => {
      expect(denies(policy, '/ip4/192.168.1.10/tcp/4002/ws', stranger)).to.equal(true)
      expect(policy.denies(multiaddr('/ip4/192.168.1.10/tcp/4002/ws'))).to.equal(true)
    })
  })

  describe('pages whose registries are all private or loopback', () => {
    let policy: DialPolicy

    beforeEach(() => {
      policy = new DialPolicy()
      policy.allowRegistry(registry, `/ip4/127.0.0.1/tcp/4002/ws/p2p/${registry}`)
      policy.allowRegistry(registry, `/ip4/192.168.1.2/tcp/4002/ws/p2p/${registry}`)
    })

    it('is a private network', () => {
      expect(policy.privateNetwork).to.equal(true)
    })

    it('allows a discovered instance\'s ws:// and private addresses, until its record expires', () => {
      const now = Date.now()
      policy.allowDiscovered(instance, now + 1_000, [`/ip4/127.0.0.1/tcp/5000/ws/p2p/${instance}`])
      expect(policy.denies(multiaddr(`/ip4/127.0.0.1/tcp/5000/ws/p2p/${instance}`), now)).to.equal(false)
      expect(policy.denies(multiaddr(`/ip4/127.0.0.1/tcp/5000/ws/p2p/${instance}`), now + 1_000)).to.equal(true)
    })

    it('still refuses peers it never discovered', () => {
      expect(denies(policy, '/ip4/127.0.0.1/tcp/5000/ws', stranger)).to.equal(true)
    })

    it('dials only the first 4 addresses of a record, of any kind', () => {
      const addresses = Array.from({ length: 32 }, (_, i) => `/ip4/127.0.0.1/tcp/${6000 + i}/ws/p2p/${instance}`)
      policy.allowDiscovered(instance, later, addresses)
      const allowed = addresses.filter(address => !policy.denies(multiaddr(address)))
      expect(allowed).to.deep.equal(addresses.slice(0, 4))
    })
  })

  it('one public registry among private ones makes the network public', () => {
    const policy = new DialPolicy()
    policy.allowRegistry(registry, `/ip4/127.0.0.1/tcp/4002/ws/p2p/${registry}`)
    policy.allowRegistry(stranger, `/dns4/registry.example.com/tcp/443/tls/ws/p2p/${stranger}`)
    policy.allowDiscovered(instance, later, [`/ip4/127.0.0.1/tcp/5000/ws/p2p/${instance}`])
    expect(policy.privateNetwork).to.equal(false)
    expect(denies(policy, '/ip4/127.0.0.1/tcp/5000/ws', instance)).to.equal(true)
  })

  it('"strict" refuses ws:// and private addresses of everyone; "any" allows all', () => {
    const strict = new DialPolicy('strict')
    strict.allowRegistry(registry, `/ip4/127.0.0.1/tcp/4002/ws/p2p/${registry}`)
    expect(denies(strict, '/ip4/127.0.0.1/tcp/4002/ws', registry)).to.equal(true)
    expect(denies(strict, '/dns4/api.example.com/tcp/443/tls/ws', instance)).to.equal(false)

    const any = new DialPolicy('any')
    expect(denies(any, '/ip4/192.168.1.10/tcp/4002/ws', stranger)).to.equal(false)
  })
})

describe('browser Netget registry addresses', () => {
  it('tells a page given a TCP registry address that it needs /ws', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    expect(() => new BrowserNetget({ network: 'demo', registryNodes: [`/ip4/127.0.0.1/tcp/4001/p2p/${peer}`] })).to.throw(/registryNodes\[0\]: "\/ip4\/127\.0\.0\.1\/tcp\/4001\/p2p\/\w+" is not a WebSocket address, and a page can dial WebSockets only: give the registry's \/ws address/)
    const page = new BrowserNetget({ network: 'demo', registryNodes: [`/ip4/127.0.0.1/tcp/4002/ws/p2p/${peer}`] })
    expect(() => page.addRegistryNode(`/dns4/registry.example.com/tcp/4001/p2p/${peer}`)).to.throw(/addRegistryNode: .* is not a WebSocket address/)
    expect(page.addRegistryNode(`/dns4/registry.example.com/tcp/443/tls/ws/p2p/${peer}`)).to.equal(false)
  })
})

import { expect } from 'chai'
import { createTestnet } from '../src/testing/index.js'
import type { Netget, ServiceWatch, WatchEvent } from '../src/index.js'
import type { Testnet } from '../src/testing/index.js'

/** Collects a watch's changes, and waits for one that passes `accept`. */
function recorder (watch: ServiceWatch): { events: WatchEvent[], next(accept: (event: WatchEvent) => boolean, timeout?: number): Promise<WatchEvent> } {
  const events: WatchEvent[] = []
  const waiters: Array<{ accept(event: WatchEvent): boolean, resolve(event: WatchEvent): void }> = []
  watch.addEventListener('change', ({ detail }) => {
    events.push(detail)
    for (const waiter of [...waiters]) {
      if (waiter.accept(detail)) {
        waiters.splice(waiters.indexOf(waiter), 1)
        waiter.resolve(detail)
      }
    }
  })
  return {
    events,
    async next (accept, timeout = 15_000) {
      const seen = events.find(accept)
      if (seen !== undefined) {
        return seen
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error(`no matching watch event within ${timeout} ms; saw ${JSON.stringify(events.map(event => [event.type, event.instance.peerId.slice(-6)]))}`)) }, timeout)
        waiters.push({ accept, resolve: event => { clearTimeout(timer); resolve(event) } })
      })
    }
  }
}

describe('watch', () => {
  let testnet: Testnet

  beforeEach(async () => {
    testnet = await createTestnet(0)
  })

  afterEach(async () => {
    await testnet.destroy()
  })

  it('starts with the current set, then reports a registration and a stop as the registry pushes them', async () => {
    const first = testnet.createNode({ metadata: { name: 'api', zone: 'a' } })
    await first.registerWithNetwork()
    const client = testnet.createNode()
    const watch = client.watch('api')
    const changes = recorder(watch)
    await watch.ready
    expect(changes.events.map(event => [event.type, event.instance.peerId])).to.deep.equal([['added', first.peerId]])
    expect(watch.instances()[0].metadata).to.deep.equal({ name: 'api', zone: 'a' })

    // pushed, not polled: the poll interval is far longer than the wait
    const second = testnet.createNode({ metadata: { name: 'api', zone: 'b' } })
    const registered = Date.now()
    await second.registerWithNetwork()
    const added = await changes.next(event => event.type === 'added' && event.instance.peerId === second.peerId)
    expect(Date.now() - registered).to.be.below(5_000)
    expect(added.instance.metadata.zone).to.equal('b')

    const secondPeer = second.peerId
    const stopped = Date.now()
    await second.stop()
    await changes.next(event => event.type === 'removed' && event.instance.peerId === secondPeer)
    expect(Date.now() - stopped).to.be.below(5_000)
    expect(watch.instances().map(instance => instance.peerId)).to.deep.equal([first.peerId])
    await watch.close()
  })

  it('reports health from the registry: an instance that dies without withdrawing turns unhealthy, with no ping of the watcher', async () => {
    const service = testnet.createNode({ metadata: { name: 'api' } })
    await service.registerWithNetwork()
    const client = testnet.createNode()
    const watch = client.watch('api')
    const changes = recorder(watch)
    const added = await changes.next(event => event.type === 'added')
    expect(added.instance.health).to.include({ source: 'registry', status: 'healthy' })

    const servicePeer = service.peerId
    await service.stop({ withdraw: false })
    const down = await changes.next(event => event.type === 'health')
    expect(down.instance.health).to.include({ source: 'registry', status: 'unhealthy' })
    // the watcher never dialled the instance
    expect(client.libp2p.getConnections().map(connection => connection.remotePeer.toString())).to.not.include(servicePeer)
    await watch.close()
  })

  it('iterates: for await yields the current set and then the changes, and ends on close', async () => {
    const service = testnet.createNode({ metadata: { name: 'api' } })
    await service.registerWithNetwork()
    const client = testnet.createNode()
    const controller = new AbortController()
    const seen: string[] = []
    const later = testnet.createNode({ metadata: { name: 'api' } })

    for await (const change of client.watch('api', { signal: controller.signal })) {
      seen.push(`${change.type} ${change.instance.peerId}`)

      if (seen.length === 1) {
        await later.registerWithNetwork()
      } else {
        controller.abort()
      }
    }

    expect(seen).to.deep.equal([`added ${service.peerId}`, `added ${later.peerId}`])
  })

  it('resyncs after its registry restarts: no change lost, none reported twice', async () => {
    await testnet.destroy()
    testnet = await createTestnet(0)
    const registry = testnet.registries[0]
    const registryDir = registry.config.dataDir as string
    const registryPeer = registry.peerId
    const registryAddress = registry.multiaddrs.find(address => !address.includes('/ws')) as string
    const listen = [registryAddress.replace(/\/p2p\/.*$/, '')]
    const stays = testnet.createNode({ metadata: { name: 'api' } })
    const leaves = testnet.createNode({ metadata: { name: 'api' } })
    await stays.registerWithNetwork()
    await leaves.registerWithNetwork()
    const leavesPeer = leaves.peerId
    const client = testnet.createNode()
    const watch = client.watch('api')
    const changes = recorder(watch)
    await watch.ready
    await changes.next(event => event.type === 'added' && event.instance.peerId === leavesPeer)
    await changes.next(event => event.type === 'added' && event.instance.peerId === stays.peerId)

    // while the registry is down, one instance withdraws (the tombstone reaches no one) and another joins
    await registry.stop()
    await leaves.stop({ withdraw: false })
    const joins = testnet.createNode({ metadata: { name: 'api' } })
    await joins.start()

    // the registry comes back on the same port and data dir; the services re-announce on reconnect
    const revived: Netget = await testnet.startRegistry(registryDir, { listen })
    expect(revived.peerId).to.equal(registryPeer)
    await joins.registerWithNetwork()
    await changes.next(event => event.type === 'added' && event.instance.peerId === joins.peerId, 20_000)
    // the restarted registry holds its record but has not seen it since: nobody vouches for it any more
    const left = await changes.next(event => event.instance.peerId === leavesPeer && event.type === 'health', 20_000)
    expect(left.instance.health).to.include({ status: 'unknown', source: 'none' })

    const added = changes.events.filter(event => event.type === 'added').map(event => event.instance.peerId)
    expect(added.sort()).to.deep.equal([stays.peerId, leavesPeer, joins.peerId].sort())
    // the one that stayed: reported once, however often it re-announced and reconnected
    expect(changes.events.filter(event => event.instance.peerId === stays.peerId).map(event => event.type)).to.deep.equal(['added'])
    expect(changes.events.filter(event => event.instance.peerId === joins.peerId).map(event => event.type)).to.deep.equal(['added'])
    await watch.close()
  })

  it('falls back to periodic lookups where a registry does not push', async () => {
    const service = testnet.createNode({ metadata: { name: 'api' } })
    await service.registerWithNetwork()
    const client = testnet.createNode()
    await client.start()
    // a registry that takes no subscriptions: every subscribe is answered as a plain lookup
    const hub = (testnet.registries[0] as unknown as { runtime: { run: { subscriptions: { add(): boolean } } } }).runtime.run.subscriptions
    hub.add = () => false
    const watch = client.watch('api', { pollInterval: 200 })
    const changes = recorder(watch)
    await changes.next(event => event.type === 'added')
    const later = testnet.createNode({ metadata: { name: 'api' } })
    await later.registerWithNetwork()
    await changes.next(event => event.type === 'added' && event.instance.peerId === later.peerId)
    await watch.close()
  })
})

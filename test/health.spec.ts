import { expect } from 'chai'
import { createTestnet } from '../src/testing/index.js'
import { freePort, nextEvent, rejectionOf, startTcpRelay } from './helpers.js'
import type { Testnet } from '../src/testing/index.js'

describe('health', () => {
  let testnet: Testnet

  beforeEach(async () => {
    testnet = await createTestnet(0)
  })

  afterEach(async () => {
    await testnet.destroy()
  })

  it('flags a stopped instance unhealthy, leaves it out, and brings it back when it returns', async () => {
    const dataDir = testnet.dataDir('flaky')
    const flaky = testnet.createNode({ dataDir, metadata: { name: 'api' } })
    const steady = testnet.createNode({ metadata: { name: 'api' } })
    await flaky.registerWithNetwork()
    await steady.registerWithNetwork()
    const flakyPeer = flaky.peerId

    const client = testnet.createNode()
    // its own pings, so it tracks both and tells of changes
    expect(await client.discoverServiceNode('api', { checkHealth: 'local' })).to.have.length(2)

    // the instance dies without withdrawing its record
    const unhealthy = nextEvent(client, 'instance:unhealthy', event => event.detail.peerId === flakyPeer)
    await flaky.stop({ withdraw: false })
    const flagged = await unhealthy
    expect(flagged.detail.health.status).to.equal('unhealthy')

    const active = await client.discoverServiceNode('api')
    expect(active.map(instance => instance.peerId)).to.deep.equal([steady.peerId])
    const all = await client.discoverServiceNode('api', { includeUnhealthy: true })
    expect(all.find(instance => instance.peerId === flakyPeer)?.health.status).to.equal('unhealthy')

    // it comes back (same identity, new ports) and announces again
    const revived = testnet.createNode({ dataDir, metadata: { name: 'api' } })
    await revived.registerWithNetwork()
    expect(revived.peerId).to.equal(flakyPeer)
    const back = await client.discoverServiceNode('api')
    expect(back.map(instance => instance.peerId).sort()).to.deep.equal([flakyPeer, steady.peerId].sort())
    expect(back.find(instance => instance.peerId === flakyPeer)?.health.status).to.equal('healthy')
  })

  it('keeps a healthy instance healthy until healthFailureThreshold pings in a row failed', async () => {
    // the instance is reached through a relay, so the test can cut it off and count the dials of the failing pings
    const port = await freePort()
    const relay = await startTcpRelay(port)

    try {
      const service = testnet.createNode({ metadata: { name: 'api' }, listen: [`/ip4/127.0.0.1/tcp/${port}`], announce: [`/ip4/127.0.0.1/tcp/${relay.port}`] })
      await service.registerWithNetwork()
      const client = testnet.createNode({ healthFailureThreshold: 4 })
      const [found] = await client.discoverServiceNode('api', { checkHealth: 'local' })
      expect(found.health).to.include({ status: 'healthy', source: 'local' })
      // from now on every ping fails; each one dials the relay again, except perhaps the one in flight when the cut came
      const before = relay.accepted
      const unhealthyEvents: number[] = []
      client.addEventListener('instance:unhealthy', () => { unhealthyEvents.push(relay.accepted - before) })
      const unhealthy = nextEvent(client, 'instance:unhealthy')
      relay.cut()

      // two dials refused: at least one ping failed, at most three (the one in flight, and the two dials)
      await relay.acceptedAtLeast(before + 2)
      const [meanwhile] = await client.discoverServiceNode('api', { includeUnhealthy: true, checkHealth: 'local' })
      expect(meanwhile.health).to.include({ status: 'healthy', source: 'local' })

      // unhealthy at the 4th failure: at least 3 of the 4 failed pings dialled
      await unhealthy
      expect(unhealthyEvents).to.have.length(1)
      expect(unhealthyEvents[0]).to.be.at.least(3)
      // this node cannot reach it, but its registry can: the registry's word keeps it in the answer
      const [flagged] = await client.discoverServiceNode('api', { checkHealth: 'local' })
      expect(flagged.health).to.include({ status: 'healthy', source: 'registry' })
    } finally {
      await relay.close()
    }
  })

  it('turns a tracked instance healthy again when it answers', async () => {
    const dataDir = testnet.dataDir('flaky')
    const port = await freePort()
    const listen = [`/ip4/127.0.0.1/tcp/${port}`]
    const flaky = testnet.createNode({ dataDir, listen, metadata: { name: 'api' } })
    await flaky.registerWithNetwork()
    const client = testnet.createNode()
    await client.discoverServiceNode('api', { checkHealth: 'local' })

    const unhealthy = nextEvent(client, 'instance:unhealthy')
    await flaky.stop({ withdraw: false })
    await unhealthy

    // same identity, same address: the monitor's own pings find it again
    const healthy = nextEvent(client, 'instance:healthy')
    const revived = testnet.createNode({ dataDir, listen })
    await revived.start()
    const event = await healthy
    expect(event.detail.peerId).to.equal(revived.peerId)
    expect(event.detail.health.rttMs).to.be.a('number')
  })

  it('leaves out an instance that never answers', async () => {
    const ghost = testnet.createNode({ metadata: { name: 'ghost' } })
    await ghost.registerWithNetwork()
    await ghost.stop({ withdraw: false })

    const client = testnet.createNode()
    const err = await rejectionOf(client.discoverServiceNode('ghost'))
    expect(err).to.have.property('name', 'ServiceNotFoundError')
    expect(err.message).to.match(/1 instance\(s\), none healthy/)
    const [instance] = await client.discoverServiceNode('ghost', { includeUnhealthy: true })
    expect(instance.health.status).to.equal('unhealthy')
  })

  it('does not count a ping the caller gave up on as a failure', async () => {
    const service = testnet.createNode({ metadata: { name: 'api' } })
    await service.registerWithNetwork()
    const client = testnet.createNode()
    const controller = new AbortController()
    const unhealthy: string[] = []
    client.addEventListener('instance:unhealthy', event => { unhealthy.push(event.detail.peerId) })
    // the discovery is aborted while its first health ping (dial, Noise, ping) is under way
    const aborted = client.discoverServiceNode('api', {
      checkHealth: 'local',
      signal: controller.signal,
      onInstance: () => { setTimeout(() => { controller.abort() }, 2) }
    })
    expect(await rejectionOf(aborted)).to.have.property('name', 'AbortError')

    const [instance] = await client.discoverServiceNode('api', { checkHealth: 'local' })
    expect(instance.health).to.include({ status: 'healthy', source: 'local' })
    expect(unhealthy).to.deep.equal([])
  })

  it('pings a peer and measures sub-millisecond RTT', async () => {
    const a = testnet.createNode({ metadata: { name: 'a' } })
    await a.start()
    const b = testnet.createNode()
    const rtt = await b.ping(a.multiaddrs[0])
    expect(rtt).to.be.a('number').and.greaterThan(0)
    expect(Number.isInteger(rtt)).to.equal(false)
  })

  it('pings a peer again on the same kept ping stream', async () => {
    const a = testnet.createNode({ metadata: { name: 'a' } })
    await a.start()
    const b = testnet.createNode()
    await b.ping(a.multiaddrs[0])
    const pingStreams = (): string[] => b.libp2p.getConnections(a.libp2p.peerId)
      .flatMap(connection => connection.streams)
      .filter(stream => stream.protocol === '/ipfs/ping/1.0.0' && stream.status === 'open')
      .map(stream => stream.id)
    const first = pingStreams()
    expect(first).to.have.length(1)

    for (let i = 0; i < 3; i++) {
      expect(await b.ping(a.multiaddrs[0])).to.be.a('number').and.greaterThan(0)
    }

    expect(pingStreams()).to.deep.equal(first)
  })
})

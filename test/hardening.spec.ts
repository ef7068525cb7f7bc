import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { DialError, TooManyOutboundProtocolStreamsError } from '@libp2p/interface'
import { Record as DhtRecord } from '@libp2p/kad-dht'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { HealthMonitor, isLocalRefusal } from '../src/health/health-monitor.js'
import { logger } from '@libp2p/logger'
import { FileSeqMark, loadOrCreateKey, openSeqMark } from '../src/identity/key-store.js'
import { recordKey, sealRecord } from '../src/index.js'
import { dhtDatastorePrefix } from '../src/protocol/ids.js'
import { storedRecordKey } from '../src/records/validator.js'
import { createTestnet } from '../src/testing/index.js'
import { freePort, nextEvent, rejectionOf } from './helpers.js'
import type { Netget } from '../src/index.js'
import type { Testnet } from '../src/testing/index.js'
import type { Datastore } from 'interface-datastore'
import type { Server } from 'node:net'

/** A registry's datastore (what kad-dht stores records in). */
function datastoreOf (node: Netget): Datastore {
  return (node.libp2p as unknown as { components: { datastore: Datastore } }).components.datastore
}

/** Stores a record sealed with `key` straight into `registry`'s datastore. */
async function putRecord (testnet: Testnet, registry: Netget, key: Awaited<ReturnType<typeof generateKeyPair>>, name: string, fields: { seq?: number, expiresAt?: number, multiaddrs?: string[] } = {}): Promise<string> {
  const peerId = peerIdFromPrivateKey(key).toString()
  const envelope = await sealRecord({
    network: testnet.network,
    name,
    peerId,
    multiaddrs: fields.multiaddrs ?? [`/ip4/127.0.0.1/tcp/9/p2p/${peerId}`],
    metadata: { name },
    seq: fields.seq ?? Date.now(),
    expiresAt: fields.expiresAt ?? Date.now() + 60_000,
    withdrawn: false
  }, key)
  const dhtKey = recordKey(testnet.network, name, peerId)
  await datastoreOf(registry).put(storedRecordKey(dhtDatastorePrefix(testnet.network), dhtKey), new DhtRecord(dhtKey, envelope, new Date()).serialize())
  return peerId
}

/** A TCP server on 0.0.0.0 that accepts connections and never answers: dials to it hang until their signal. */
async function blackHole (): Promise<{ server: Server, port: number }> {
  const server = createServer(() => {})
  await new Promise<void>(resolve => { server.listen(0, '0.0.0.0', resolve) })
  const address = server.address()
  return { server, port: typeof address === 'object' && address !== null ? address.port : 0 }
}

/** Counts the concurrent `libp2p.dial()` calls of a node (a spy around the real dial). */
function countDials (node: Netget): { max: () => number } {
  const libp2p = node.libp2p
  const dial = libp2p.dial.bind(libp2p)
  let inFlight = 0
  let max = 0
  libp2p.dial = (async (...args: Parameters<typeof dial>) => {
    inFlight++
    max = Math.max(max, inFlight)
    try {
      return await dial(...args)
    } finally {
      inFlight--
    }
  }) as typeof dial
  return { max: () => max }
}

describe('hardening', () => {
  describe('seq high-water mark', () => {
    let dir: string

    beforeEach(async () => {
      dir = await mkdtemp(join(tmpdir(), 'netget-seq-'))
    })

    afterEach(async () => {
      await rm(dir, { recursive: true, force: true })
    })

    it('saves the mark beside peer.key atomically, only ever higher, and loads it in a new process state', async () => {
      const mark = new FileSeqMark(dir)
      expect(await mark.load()).to.equal(0)
      await Promise.all([mark.save(1_000), mark.save(3_000), mark.save(2_000)])
      await mark.save(500)
      expect(await readFile(join(dir, 'seq'), 'utf8')).to.equal('3000')
      expect(await readdir(dir)).to.deep.equal(['seq'])
      expect(await new FileSeqMark(dir).load()).to.equal(3_000)
    })

    it('refuses a corrupt mark with DataDirError, and keeps it in memory for dataDir: false', async () => {
      await writeFile(join(dir, 'seq'), 'soon')
      const err = await rejectionOf(new FileSeqMark(dir).load())
      expect(err).to.have.property('name', 'DataDirError')
      expect(err.message).to.match(/seq high-water mark .* is corrupt/)

      const memory = openSeqMark(false)
      await memory.save(7)
      expect(await memory.load()).to.equal(7)
    })
  })

  describe('a clock that once ran fast', function () {
    this.timeout(60_000)
    let testnet: Testnet

    beforeEach(async () => {
      testnet = await createTestnet(0)
    })

    afterEach(async () => {
      await testnet.destroy()
    })

    it('a registry holding this identity\'s record at now + 60 min: a clear stale-seq error without the mark, success once the mark is loaded', async () => {
      const dataDir = testnet.dataDir('clock')
      const key = await loadOrCreateKey(dataDir)
      const ahead = Date.now() + 60 * 60_000
      // what the run with the fast clock left on the registry
      await putRecord(testnet, testnet.registries[0], key, 'api', { seq: ahead, expiresAt: ahead + 60_000 })

      // a fresh process state without the mark (it was lost)
      const lost = testnet.createNode({ dataDir, metadata: { name: 'api' } })
      const err = await rejectionOf(lost.registerWithNetwork())
      expect(err).to.have.property('name', 'RecordRejectedError')
      expect(err).to.have.property('reason', 'stale-seq')
      expect(err).to.have.property('storedSeq', ahead)
      expect(err.message).to.match(/refused the record of "api" as a rollback: it holds seq \d+ of this identity, (59|60)\.\d min ahead/)
      expect(err.message).to.match(/seq high-water mark/)
      await lost.stop()

      // the mark the fast-clock run persisted beside peer.key
      await new FileSeqMark(dataDir).save(ahead)
      const restored = testnet.createNode({ dataDir, metadata: { name: 'api' } })
      const result = await restored.registerWithNetwork()
      expect(result.record.seq).to.equal(ahead + 1)
      expect(await readFile(join(dataDir, 'seq'), 'utf8')).to.equal(String(ahead + 1))
      const [instance] = await testnet.createNode().discoverServiceNode('api')
      expect(instance.peerId).to.equal(restored.peerId)
    })
  })

  describe('health checks', function () {
    this.timeout(60_000)
    let testnet: Testnet
    let hole: { server: Server, port: number }

    beforeEach(async () => {
      testnet = await createTestnet(0)
      hole = await blackHole()
    })

    afterEach(async () => {
      await testnet.destroy()
      hole.server.close()
    })

    it('classifies local refusals by name: a full dial queue, the stream limit, a stopping node', () => {
      expect(isLocalRefusal(new DialError('Dial queue is full'))).to.equal(true)
      expect(isLocalRefusal(new TooManyOutboundProtocolStreamsError('Too many outbound protocol streams'))).to.equal(true)
      expect(isLocalRefusal(new AggregateError([new DialError('Dial queue is full')]))).to.equal(true)
      expect(isLocalRefusal(new DialError('Peer had more than maxPeerAddrsToDial'))).to.equal(false)
      expect(isLocalRefusal(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }))).to.equal(false)
      expect(isLocalRefusal(new AggregateError([new DialError('Dial queue is full'), new Error('connect ECONNREFUSED')]))).to.equal(false)
    })

    it('a ping refused by this node\'s own full dial queue does not make a live instance unhealthy', async () => {
      const service = testnet.createNode({ metadata: { name: 'api' } })
      await service.registerWithNetwork()
      const client = testnet.createNode()
      await client.start()
      while (client.registryNodes()[0]?.connected !== true) {
        await new Promise(resolve => setTimeout(resolve, 20))
      }
      const unhealthy: string[] = []
      client.addEventListener('instance:unhealthy', event => { unhealthy.push(event.detail.peerId) })

      // the application fills libp2p's dial queue (500) with dials that hang
      const blockers = new AbortController()
      const hanging = Array.from({ length: 520 }, async (_, i) => client.libp2p.dial(multiaddr(`/ip4/127.0.${1 + Math.floor(i / 250)}.${1 + (i % 250)}/tcp/${hole.port}`), { signal: blockers.signal }).catch(() => {}))

      // its own ping cannot run; the registry's attestation keeps the instance healthy
      const [instance] = await client.discoverServiceNode('api', { checkHealth: 'local' })
      expect(instance.peerId).to.equal(service.peerId)
      expect(instance.health).to.include({ status: 'healthy', source: 'registry' })
      expect(unhealthy).to.deep.equal([])

      // once the queue drains, the monitor's next tick finds it
      const healthy = nextEvent(client, 'instance:healthy')
      blockers.abort()
      await Promise.all(hanging)
      expect((await healthy).detail.peerId).to.equal(service.peerId)
      expect(unhealthy).to.deep.equal([])
    })

    it('stops pinging an instance that failed failureThreshold pings without ever answering, until it republishes', async () => {
      const node = testnet.createNode()
      await node.start()
      const dials = { count: 0 }
      const libp2p = node.libp2p
      const real = libp2p.dial.bind(libp2p)
      const spied = { ...libp2p, getConnections: libp2p.getConnections.bind(libp2p), services: libp2p.services, dial: (async (...args: Parameters<typeof real>) => { dials.count++; return real(...args) }) as typeof real }
      const monitor = new HealthMonitor({ libp2p: spied, interval: 50, timeout: 1_000, failureThreshold: 2, log: logger('test:health'), onChange: () => {} })
      monitor.start()

      try {
        const peerId = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
        const record = { peerId, multiaddrs: [`/ip4/127.0.0.1/tcp/${await freePort()}/p2p/${peerId}`], seq: 1, expiresAt: Date.now() + 60_000 }
        expect((await monitor.observe(record)).status).to.equal('unhealthy')
        await new Promise(resolve => setTimeout(resolve, 1_000))
        // its first ping, one more on a tick, then nothing for ~18 ticks
        expect(dials.count).to.equal(2)
        expect(monitor.writtenOff).to.equal(1)
        expect((await monitor.observe(record)).status).to.equal('unhealthy')
        expect(dials.count).to.equal(2)

        // republished: pinged again
        await monitor.observe({ ...record, seq: 2 })
        expect(dials.count).to.equal(3)
      } finally {
        monitor.stop()
      }
    })

    it('one discovery runs at most 16 pings at once', async () => {
      const registry = testnet.registries[0]
      // 40 records at 40 distinct addresses that accept TCP and never answer
      for (let i = 0; i < 40; i++) {
        const key = await generateKeyPair('Ed25519')
        const peerId = peerIdFromPrivateKey(key).toString()
        await putRecord(testnet, registry, key, 'slow', { multiaddrs: [`/ip4/127.0.3.${i + 1}/tcp/${hole.port}/p2p/${peerId}`] })
      }

      // no ticks during the test: only the discoveries' own pings
      const client = testnet.createNode({ healthTimeout: 1_000, healthInterval: 60_000 })
      await client.start()
      const dials = countDials(client)
      const err = await rejectionOf(client.discoverServiceNode('slow'))
      expect(err).to.have.property('name', 'ServiceNotFoundError')
      expect(err.message).to.match(/40 instance\(s\), none healthy/)
      expect(dials.max()).to.be.within(2, 16)
    })

    it('all discoveries together run at most 64 pings at once', async () => {
      const registry = testnet.registries[0]
      const names = ['s1', 's2', 's3', 's4', 's5']

      for (const [n, name] of names.entries()) {
        for (let i = 0; i < 16; i++) {
          const key = await generateKeyPair('Ed25519')
          const peerId = peerIdFromPrivateKey(key).toString()
          await putRecord(testnet, registry, key, name, { multiaddrs: [`/ip4/127.0.${4 + n}.${i + 1}/tcp/${hole.port}/p2p/${peerId}`] })
        }
      }

      // no ticks during the test: only the discoveries' own pings
      const client = testnet.createNode({ healthTimeout: 1_000, healthInterval: 60_000 })
      await client.start()
      const dials = countDials(client)
      const outcomes = await Promise.all(names.map(async name => rejectionOf(client.discoverServiceNode(name))))
      expect(outcomes.map(err => err.name)).to.deep.equal(names.map(() => 'ServiceNotFoundError'))
      expect(dials.max()).to.be.within(17, 64)
    })
  })
})

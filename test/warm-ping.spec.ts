import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { createLibp2p } from 'libp2p'
import { createTestnet } from '../src/testing/index.js'
import { PING_PROTOCOL } from '../src/constants.js'
import { WarmPings } from '../src/health/warm-ping.js'
import { rejectionOf } from './helpers.js'
import type { Netget } from '../src/index.js'
import type { Testnet } from '../src/testing/index.js'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'

/** A plain libp2p node on loopback TCP, with the given services and no netget code. */
async function plainNode (services: Record<string, (components: any) => unknown> = {}): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services
  })
}

/** Dials `target` from the node `from` and counts the ping streams opened on that connection. */
async function countedConnection (from: Netget, target: { getMultiaddrs(): Array<{ toString(): string }> } | string): Promise<{ connection: Connection, opened: () => number }> {
  const address = typeof target === 'string' ? target : target.getMultiaddrs()[0].toString()
  const connection = await from.libp2p.dial(multiaddr(address))
  const newStream = connection.newStream.bind(connection)
  let opened = 0
  connection.newStream = async (...args: Parameters<typeof newStream>) => {
    opened++
    return newStream(...args)
  }
  return { connection, opened: () => opened }
}

describe('pings on warm streams', function () {
  this.timeout(60_000)
  let testnet: Testnet
  let pinger: Netget
  const plain: Libp2p[] = []
  let warm: WarmPings

  beforeEach(async () => {
    testnet = await createTestnet(0)
    pinger = testnet.createNode()
    await pinger.start()
    warm = new WarmPings()
  })

  afterEach(async () => {
    warm.stop()
    await Promise.all(plain.splice(0).map(async node => node.stop()))
    await testnet.destroy()
  })

  it('pings a netget peer 20 times on one stream, each echo verified and timed', async () => {
    const target = testnet.createNode()
    await target.start()
    const { connection, opened } = await countedConnection(pinger, target.multiaddrs[0])
    const rtts: number[] = []

    for (let i = 0; i < 20; i++) {
      rtts.push(await warm.ping(connection, AbortSignal.timeout(5_000)))
    }

    expect(opened()).to.equal(1)
    expect(warm.size).to.equal(1)
    expect(rtts.every(rtt => rtt > 0 && rtt < 5_000)).to.equal(true)
    expect(connection.streams.filter(stream => stream.protocol === PING_PROTOCOL)).to.have.length(1)

    warm.drop(target.peerId)
    expect(warm.size).to.equal(0)
  })

  it('still measures a peer whose ping handler has @libp2p/ping\'s default 10 s timeout: a new stream once the old one is gone', async () => {
    const old = await plainNode({ ping: ping() })
    plain.push(old)
    await old.start()
    const { connection, opened } = await countedConnection(pinger, old)

    expect(await warm.ping(connection, AbortSignal.timeout(5_000))).to.be.a('number')
    expect(await warm.ping(connection, AbortSignal.timeout(5_000))).to.be.a('number')
    expect(opened()).to.equal(1)
    // past the responder's 10 s: it has reset the stream
    await new Promise(resolve => setTimeout(resolve, 10_500))
    expect(await warm.ping(connection, AbortSignal.timeout(5_000))).to.be.a('number')
    expect(opened()).to.equal(2)
  })

  it('every ping succeeds against a responder that resets its streams between and during pings', async () => {
    const old = await plainNode({ ping: ping({ timeout: 1_000 }) })
    plain.push(old)
    await old.start()
    const { connection, opened } = await countedConnection(pinger, old)

    for (let i = 0; i < 25; i++) {
      expect(await warm.ping(connection, AbortSignal.timeout(5_000))).to.be.a('number')
      await new Promise(resolve => setTimeout(resolve, 200))
    }

    // the responder reset a stream every second: more than one was needed, fewer than one per ping
    expect(opened()).to.be.within(2, 24)
  })

  it('rejects a wrong echo, and a responder that never echoes at the signal, dropping the stream', async () => {
    const liar = await plainNode()
    plain.push(liar)
    await liar.handle(PING_PROTOCOL, (stream: Stream) => {
      stream.addEventListener('message', event => { stream.send(event.data.subarray().reverse()) })
    })
    const silent = await plainNode()
    plain.push(silent)
    await silent.handle(PING_PROTOCOL, () => {})
    await Promise.all([liar.start(), silent.start()])

    const lied = await countedConnection(pinger, liar)
    expect(await rejectionOf(warm.ping(lied.connection, AbortSignal.timeout(5_000)))).to.have.property('name', 'ProtocolError')

    const quiet = await countedConnection(pinger, silent)
    const started = Date.now()
    expect(await rejectionOf(warm.ping(quiet.connection, AbortSignal.timeout(500)))).to.have.property('name', 'TimeoutError')
    expect(Date.now() - started).to.be.below(5_000)
    expect(warm.size).to.equal(0)
  })
})

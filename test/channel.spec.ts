import { expect } from 'chai'
import { ChannelError, channelProtocol } from '../src/index.js'
import { createTestnet } from '../src/testing/index.js'
import type { Channel, Netget } from '../src/index.js'
import type { Testnet } from '../src/testing/index.js'

/** Resolves with the channel's close error (undefined on a clean close), or rejects after `timeout` ms. */
async function closed (channel: Channel, timeout = 5_000): Promise<Error | undefined> {
  if (!channel.open) {
    return channel.error
  }

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`channel still open after ${timeout} ms`)) }, timeout)
    channel.addEventListener('close', event => {
      clearTimeout(timer)
      resolve(event.detail.error)
    }, { once: true })
  })
}

describe('channels', () => {
  let testnet: Testnet
  let service: Netget
  let client: Netget
  let accepted: Channel[]

  before(async () => {
    testnet = await createTestnet(0)
    service = testnet.createNode({ metadata: { name: 'echo' } })
    accepted = []
    await service.handleChannels(async channel => {
      accepted.push(channel)

      for await (const message of channel) {
        await channel.send(message)
      }
    })
    await service.registerWithNetwork()
    client = testnet.createNode()
  })

  after(async () => {
    await testnet.destroy()
  })

  it('round-trips JSON and bytes with a discovered instance', async () => {
    // health is not what this test is about: under a loaded CI machine the first ping can miss the testnet's 500 ms timeout
    const [instance] = await client.discoverServiceNode('echo', { includeUnhealthy: true })
    const channel = await client.openChannel(instance)
    expect(channel.remotePeer).to.equal(service.peerId)
    expect(channel.direction).to.equal('outbound')

    await channel.send({ hello: 'world', n: 1 })
    await channel.send(new Uint8Array([1, 2, 3]))
    await channel.send('text')
    const replies: unknown[] = []

    for await (const message of channel) {
      replies.push(message)

      if (replies.length === 3) {
        break
      }
    }

    expect(replies[0]).to.deep.equal({ hello: 'world', n: 1 })
    expect(replies[1]).to.be.instanceOf(Uint8Array).and.deep.equal(new Uint8Array([1, 2, 3]))
    expect(replies[2]).to.equal('text')

    await channel.close()
    expect(await closed(channel)).to.equal(undefined)
    expect(await closed(accepted[accepted.length - 1])).to.equal(undefined)
  })

  it('delivers messages through events, none lost before the listener is added', async () => {
    const channel = await client.openChannel(service.multiaddrs[0])
    await channel.send({ seq: 1 })
    await channel.send({ seq: 2 })
    await new Promise(resolve => setTimeout(resolve, 50))
    const received: unknown[] = []
    await new Promise<void>(resolve => {
      channel.addEventListener('message', event => {
        received.push(event.detail)

        if (received.length === 2) {
          resolve()
        }
      })
    })
    expect(received).to.deep.equal([{ seq: 1 }, { seq: 2 }])
    await channel.close()
  })

  it('refuses to send an oversized message without closing the channel', async () => {
    const channel = await client.openChannel(service.peerId)
    const err = await channel.send('x'.repeat(70_000)).then(() => undefined, (error: unknown) => error)
    expect(err).to.be.instanceOf(ChannelError).and.include({ name: 'ChannelError', code: 'MESSAGE_TOO_LARGE', remote: false })
    expect(channel.open).to.equal(true)
    await channel.close()
  })

  it('an oversized incoming frame closes that channel with ChannelError at both ends; the node serves the next one', async () => {
    const before = accepted.length
    const big = await client.openChannel(service.peerId, { maxMessageBytes: 1024 * 1024 })
    await big.send(new Uint8Array(100_000))

    const local = await closed(big)
    expect(local).to.be.instanceOf(ChannelError).and.include({ code: 'MESSAGE_TOO_LARGE', remote: true })
    expect(local?.message).to.match(/larger than this channel's limit of 65536 bytes/)

    const remote = await closed(accepted[before])
    expect(remote).to.be.instanceOf(ChannelError).and.include({ code: 'MESSAGE_TOO_LARGE', remote: false })
    expect(await rejection(big.send('after'))).to.include({ name: 'ChannelError', code: 'CHANNEL_CLOSED' })

    const next = await client.openChannel(service.peerId)
    await next.send({ still: 'serving' })
    const [reply] = await take(next, 1)
    expect(reply).to.deep.equal({ still: 'serving' })
    await next.close()
  })

  it('a malformed frame closes that channel with MALFORMED_MESSAGE', async () => {
    const before = accepted.length
    const stream = await client.libp2p.dialProtocol(service.libp2p.peerId, channelProtocol(testnet.network))
    // length 3, kind 0x01 (JSON), body "{x" is not JSON
    stream.send(new Uint8Array([3, 0x01, 0x7b, 0x78]))
    const reply = await new Promise<Uint8Array>((resolve, reject) => {
      stream.addEventListener('message', event => { resolve(event.data.subarray()) }, { once: true })
      stream.addEventListener('close', () => { reject(new Error('closed without an error frame')) }, { once: true })
    })
    // an error frame: varint length, kind 0x02, then {"code": "MALFORMED_MESSAGE", ...}
    const body = reply.indexOf(0x7b)
    expect(reply[body - 1]).to.equal(0x02)
    expect(JSON.parse(new TextDecoder().decode(reply.subarray(body)))).to.have.property('code', 'MALFORMED_MESSAGE')
    expect(await closed(accepted[before])).to.include({ name: 'ChannelError', code: 'MALFORMED_MESSAGE' })
    stream.abort(new Error('done'))
  })

  it('a failing handler aborts only its channel', async () => {
    const other = testnet.createNode({ metadata: { name: 'flaky' } })
    await other.handleChannels(() => { throw new Error('handler bug') })
    const channel = await client.openChannel(other.multiaddrs[0])
    expect(await closed(channel)).to.include({ name: 'ChannelError', code: 'CHANNEL_RESET', remote: true })
    expect(other.status).to.equal('started')
  })

  it('rejects bad options with exact messages', async () => {
    expect(await rejection(client.openChannel('not-a-peer'))).to.include({ name: 'InvalidOptionsError', message: 'openChannel(target): "not-a-peer" is not a peer ID or a multiaddr ending in /p2p/<peer id>' })
    expect(await rejection(service.handleChannels(() => {}, { maxMessageBytes: 1 }))).to.include({ name: 'InvalidOptionsError', message: 'handleChannels(): option "maxMessageBytes" must be a whole number of bytes from 2 to 4194304, got 1' })
  })
})

async function take (channel: Channel, count: number): Promise<unknown[]> {
  const messages: unknown[] = []

  for await (const message of channel) {
    messages.push(message)

    if (messages.length === count) {
      break
    }
  }

  return messages
}

async function rejection (promise: Promise<unknown>): Promise<Error> {
  return promise.then(() => { throw new Error('expected a rejection') }, (err: Error) => err)
}

import { expect } from 'chai'
import { ChannelError, channelProtocol } from '../src/index.js'
import { FrameDecoder, MAX_LENGTH_PREFIX_BYTES, encodeMessage } from '../src/protocol/channel-frames.js'
import { createTestnet } from '../src/testing/index.js'
import type { Channel, Netget } from '../src/index.js'
import type { Testnet } from '../src/testing/index.js'
import type { Stream } from '@libp2p/interface'

/** Resolves with the channel's close error (undefined on a clean close), or rejects after `timeout` ms. */
async function closed (channel: Channel, timeout = 10_000): Promise<Error | undefined> {
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

  it('an echo handler answers all 1,000 messages sent before close(), then both ends close cleanly', async () => {
    const channel = await client.openChannel(service.peerId)
    const sends = Array.from({ length: 1000 }, async (_, seq) => channel.send({ seq, pad: 'x'.repeat(1000) }))
    await channel.close()
    await Promise.all(sends)
    const replies: number[] = []

    for await (const message of channel) {
      replies.push((message as { seq: number }).seq)
    }

    expect(replies).to.deep.equal(Array.from({ length: 1000 }, (_, seq) => seq))
    expect(await closed(channel)).to.equal(undefined)
    expect(await closed(accepted[accepted.length - 1])).to.equal(undefined)
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

describe('channel frames', () => {
  const frames = (decoder: FrameDecoder): unknown[] => {
    const out: unknown[] = []

    for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
      out.push(frame.kind === 'message' ? frame.message : frame)
    }

    return out
  }

  it('checks each frame\'s declared length, not the chunk it arrived in', () => {
    // 40 frames of 1 KiB in one 40 KiB chunk, against a 2 KiB limit
    const messages = Array.from({ length: 40 }, (_, seq) => ({ seq, pad: 'x'.repeat(1000) }))
    const decoder = new FrameDecoder(2048)
    decoder.push(concat(messages.map(message => encodeMessage(message, 2048))))
    expect(frames(decoder)).to.deep.equal(messages)
    expect(decoder.bufferedBytes).to.equal(0)
  })

  it('reassembles frames fed one byte at a time', () => {
    const bytes = concat([encodeMessage(new Uint8Array(300).fill(7), 1024), encodeMessage('two', 1024)])
    const decoder = new FrameDecoder(1024)
    const out: unknown[] = []

    for (const byte of bytes) {
      decoder.push(new Uint8Array([byte]))
      out.push(...frames(decoder))
    }

    expect(out).to.deep.equal([new Uint8Array(300).fill(7), 'two'])
  })

  it('refuses an oversized frame as soon as its prefix arrives, before its body', () => {
    const decoder = new FrameDecoder(1024)
    decoder.push(new Uint8Array([0x81, 0x08])) // declares 1025 bytes, none of them sent
    expect(() => decoder.next()).to.throw(ChannelError).with.property('code', 'MESSAGE_TOO_LARGE')
  })

  it('refuses a prefix longer than 4 bytes or not minimally encoded as MALFORMED_MESSAGE', () => {
    expect(MAX_LENGTH_PREFIX_BYTES).to.equal(4)

    for (const prefix of [new Array(10).fill(0xff), [0xff, 0xff, 0xff, 0xff], [0x81, 0x00]]) {
      const decoder = new FrameDecoder(4 * 1024 * 1024)
      decoder.push(new Uint8Array(prefix))
      expect(() => decoder.next(), JSON.stringify(prefix)).to.throw(ChannelError).with.property('code', 'MALFORMED_MESSAGE')
    }

    // a 3-byte prefix still waits for the rest
    const waiting = new FrameDecoder(4 * 1024 * 1024)
    waiting.push(new Uint8Array([0xff, 0xff, 0xff]))
    expect(waiting.next()).to.equal(undefined)
  })

  it('skips zero-length frames', () => {
    const decoder = new FrameDecoder(1024)
    decoder.push(concat([new Uint8Array([0, 0]), encodeMessage(1, 1024), new Uint8Array([0])]))
    expect(frames(decoder)).to.deep.equal([1])
  })
})

describe('channels under load: nothing lost, back-pressure end to end', function () {
  let testnet: Testnet
  let sink: Netget
  let client: Netget
  /** What the sink does with the next incoming channel. */
  let onChannel: (channel: Channel) => Promise<void>

  before(async () => {
    testnet = await createTestnet(0)
    sink = testnet.createNode({ metadata: { name: 'sink' } })
    await sink.handleChannels(async channel => { await onChannel(channel) })
    client = testnet.createNode()
    await client.start()
  })

  after(async () => {
    await testnet.destroy()
  })

  it('delivers 200 × 30 KB to a slow reader, all in order', async () => {
    const received = reader(async (channel, seqs) => {
      for await (const message of channel) {
        seqs.push(seqOf(message))

        if (seqs.length % 10 === 0) {
          await delay(5)
        }
      }
    })
    const channel = await client.openChannel(sink.peerId)

    for (let seq = 0; seq < 200; seq++) {
      await channel.send(payload(seq, 30_000))
    }

    await channel.close()
    const { seqs, error } = await received
    expect(error).to.equal(undefined)
    expect(seqs).to.deep.equal(range(200))
    expect(await closed(channel, 20_000)).to.equal(undefined)
  })

  it('delivers 500 × 10 KB to a reader that stops for a while, then resumes', async () => {
    let sent = 0
    let resume!: () => void
    const resumed = new Promise<void>(resolve => { resume = resolve })
    const received = reader(async (channel, seqs) => {
      for await (const message of channel) {
        seqs.push(seqOf(message))

        if (seqs.length === 1) {
          // stop after the first message until the sender can send no more
          await resumed
        }
      }
    })
    const channel = await client.openChannel(sink.peerId)
    const sending = (async () => {
      for (let seq = 0; seq < 500; seq++) {
        await channel.send(payload(seq, 10_000))
        sent++
      }

      await channel.close()
    })()

    await settled(() => sent)
    resume()
    await sending
    const { seqs, error } = await received
    expect(error).to.equal(undefined)
    expect(seqs).to.deep.equal(range(500))
    expect(await closed(channel, 20_000)).to.equal(undefined)
  })

  it('3,000 × 1 KB then close(): every message arrives before the close event, at both ends cleanly', async () => {
    let atClose = -1
    const received = reader(async (channel, seqs) => {
      channel.addEventListener('close', () => { atClose = seqs.length }, { once: true })

      for await (const message of channel) {
        seqs.push((message as { seq: number }).seq)

        if (seqs.length % 100 === 0) {
          await delay(1)
        }
      }
    })
    const channel = await client.openChannel(sink.peerId)
    // not awaited one by one: the channel keeps their order and close() waits for them
    const sends = range(3000).map(async seq => channel.send({ seq, pad: 'x'.repeat(1000) }))
    await channel.close()
    await Promise.all(sends)

    const { seqs, error } = await received
    expect(error).to.equal(undefined)
    expect(seqs).to.deep.equal(range(3000))
    expect(atClose).to.equal(3000)
    expect(await closed(channel, 20_000)).to.equal(undefined)
    expect(await rejection(channel.send('late'))).to.include({ name: 'ChannelError', code: 'CHANNEL_CLOSED' })
  })

  it('a reader that does not read stops the sender: send() waits, bounded by the high-water mark and the window', async () => {
    const count = 600
    const size = 60_000
    let sent = 0
    let start!: () => void
    const reading = new Promise<void>(resolve => { start = resolve })
    const received = reader(async (channel, seqs) => {
      await reading

      for await (const message of channel) {
        seqs.push(seqOf(message))
      }
    })
    const channel = await client.openChannel(sink.peerId)
    const sending = (async () => {
      for (let seq = 0; seq < count; seq++) {
        await channel.send(payload(seq, size))
        sent++
      }

      await channel.close()
    })()

    const stalledAt = await settled(() => sent)
    // what may be sent while nothing is read: the receiver's 64-message queue,
    // one yamux stream window (16 MiB at most) beyond it, the rest of the
    // data frame the queue filled up on (256 KiB at most) and a frame in the
    // sender's stream buffer
    const bound = 64 + Math.ceil((16 * 1024 * 1024 + 256 * 1024) / size) + 2
    expect(stalledAt, `${stalledAt} of ${count} sends resolved while nothing was read`).to.be.below(count).and.at.most(bound)

    start()
    await sending
    const { seqs, error } = await received
    expect(error).to.equal(undefined)
    expect(seqs).to.deep.equal(range(count))
    expect(await closed(channel, 20_000)).to.equal(undefined)
  })

  it('a receiver that gives up: the sender\'s pending send() and close() reject, its close event says CHANNEL_RESET', async () => {
    let sent = 0
    let giveUp!: () => void
    const givenUp = new Promise<void>(resolve => { giveUp = resolve })
    onChannel = async channel => {
      await givenUp
      channel.abort()
    }
    const channel = await client.openChannel(sink.peerId)
    const sends = range(600).map(async seq => channel.send(payload(seq, 60_000)).then(() => { sent++; return 'sent' }, (err: ChannelError) => err.code))
    const closing = channel.close().then(() => 'closed', (err: ChannelError) => err.code)
    await settled(() => sent)
    giveUp()

    expect(await closing).to.equal('CHANNEL_RESET')
    // the first sends went out, every later one was refused: none resolved without leaving
    const outcomes = await Promise.all(sends)
    const firstRefused = outcomes.indexOf('CHANNEL_CLOSED')
    expect(firstRefused, 'no send was refused').to.be.above(0)
    expect(new Set(outcomes.slice(0, firstRefused))).to.deep.equal(new Set(['sent']))
    expect(new Set(outcomes.slice(firstRefused))).to.deep.equal(new Set(['CHANNEL_CLOSED']))
    expect(await closed(channel)).to.include({ name: 'ChannelError', code: 'CHANNEL_RESET', remote: true })
  })

  it('a malformed length prefix (10 bytes of 0xff) closes the channel with MALFORMED_MESSAGE at once', async () => {
    const accepted = new Promise<Channel>(resolve => { onChannel = async channel => { resolve(channel) } })
    const stream = await client.libp2p.dialProtocol(sink.libp2p.peerId, channelProtocol(testnet.network))
    const reply = errorFrame(stream)
    stream.send(new Uint8Array(10).fill(0xff))
    expect(await reply).to.have.property('code', 'MALFORMED_MESSAGE')
    expect(await closed(await accepted, 10_000)).to.include({ name: 'ChannelError', code: 'MALFORMED_MESSAGE' })
    stream.abort(new Error('done'))
  })

  it('an oversized frame after valid ones in the same chunk: the valid ones are read, then MESSAGE_TOO_LARGE', async () => {
    const received = reader(async (channel, seqs) => {
      for await (const message of channel) {
        seqs.push((message as { seq: number }).seq)
      }
    })
    const stream = await client.libp2p.dialProtocol(sink.libp2p.peerId, channelProtocol(testnet.network))
    const reply = errorFrame(stream)
    const valid = range(5).map(seq => encodeMessage({ seq, pad: 'x'.repeat(20_000) }, 65_536))
    // a prefix declaring 65,537 bytes (one over the sink's limit), then some of its body
    stream.send(concat([...valid, new Uint8Array([0x81, 0x80, 0x04, 0x00]), new Uint8Array(1000)]))
    expect(await reply).to.have.property('code', 'MESSAGE_TOO_LARGE')
    const { seqs, error } = await received
    expect(seqs).to.deep.equal(range(5))
    expect(error).to.include({ name: 'ChannelError', code: 'MESSAGE_TOO_LARGE', remote: false })
    stream.abort(new Error('done'))
  })

  /** Sets the sink's next channel to run `read`; resolves with what it read and how the channel ended. */
  async function reader (read: (channel: Channel, seqs: number[]) => Promise<void>): Promise<{ seqs: number[], error?: Error }> {
    return new Promise(resolve => {
      onChannel = async channel => {
        const seqs: number[] = []
        let error: Error | undefined

        try {
          await read(channel, seqs)
        } catch (err) {
          error = err as Error
        }

        resolve({ seqs, error })
      }
    })
  }
})

/** Resolves with the error frame `stream` receives (its JSON body); rejects if the stream closes first or after `timeout` ms. */
async function errorFrame (stream: Stream, timeout = 10_000): Promise<{ code: string, message: string }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no error frame within ${timeout} ms`)) }, timeout)
    stream.addEventListener('close', () => { clearTimeout(timer) }, { once: true })
    stream.addEventListener('message', event => {
      clearTimeout(timer)
      const reply = event.data.subarray()
      const body = reply.indexOf(0x7b)
      resolve(reply[body - 1] === 0x02 ? JSON.parse(new TextDecoder().decode(reply.subarray(body))) : { code: 'not an error frame', message: '' })
    }, { once: true })
    stream.addEventListener('close', () => { reject(new Error('closed without an error frame')) }, { once: true })
  })
}

/** A binary message of `size` bytes whose first 4 bytes hold `seq`. */
function payload (seq: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size)
  new DataView(bytes.buffer).setUint32(0, seq)
  return bytes
}

function seqOf (message: unknown): number {
  const bytes = message as Uint8Array
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0)
}

/**
 * Resolves with `count()` once it has not changed for `quiet` ms (polled every
 * 50 ms), or rejects after `timeout` ms. A busy machine can only make it
 * resolve early, with a smaller count.
 */
async function settled (count: () => number, quiet = 1_000, timeout = 30_000): Promise<number> {
  const deadline = Date.now() + timeout
  let last = count()
  let since = Date.now()

  while (Date.now() < deadline) {
    await delay(50)
    const now = count()

    if (now !== last) {
      last = now
      since = Date.now()
    } else if (Date.now() - since >= quiet) {
      return now
    }
  }

  throw new Error(`still changing after ${timeout} ms (at ${last})`)
}

function range (count: number): number[] {
  return Array.from({ length: count }, (_, index) => index)
}

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((total, part) => total + part.byteLength, 0))
  let offset = 0

  for (const part of parts) {
    out.set(part, offset)
    offset += part.byteLength
  }

  return out
}

async function delay (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms))
}

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

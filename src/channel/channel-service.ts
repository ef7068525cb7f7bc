import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { logger } from '@libp2p/logger'
import { InvalidOptionsError, NotStartedError } from '../errors.js'
import { Channel } from './channel.js'
import { CHANNEL_LINGER_TIMEOUT, DEFAULT_MAX_CHANNEL_MESSAGE_BYTES, DEFAULT_MAX_INBOUND_CHANNELS, channelProtocol } from './index.js'
import type { ChannelHandler, HandleChannelsOptions, OpenChannelOptions, ChannelTarget } from './index.js'
import type { Logger, PeerId, Stream, Connection } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from 'libp2p'

interface Attached {
  libp2p: Libp2p
  network: string
  handled: boolean
}

/**
 * A node's channels: the handler for incoming ones (kept across restarts),
 * opening outgoing ones, and closing all of them when the node stops.
 */
export class ChannelService {
  private readonly log: Logger
  private handler?: { handler: ChannelHandler, options: HandleChannelsOptions }
  private attached?: Attached
  private readonly open = new Set<Channel>()

  constructor (log: Logger = logger('netget:channel')) {
    this.log = log
  }

  /** Called once the node's libp2p has started: registers the handler, if one is set. */
  async attach (libp2p: Libp2p, network: string): Promise<void> {
    this.attached = { libp2p, network, handled: false }
    await this.register()
  }

  /** Called before the node's libp2p stops: closes every channel. */
  async detach (): Promise<void> {
    const attached = this.attached
    this.attached = undefined

    for (const channel of this.open) {
      channel.abort()
    }

    this.open.clear()

    if (attached?.handled === true) {
      await attached.libp2p.unhandle(channelProtocol(attached.network)).catch(() => {})
    }
  }

  /** Sets the handler of incoming channels, replacing any previous one. */
  async handle (handler: ChannelHandler, options: HandleChannelsOptions = {}): Promise<void> {
    if (typeof handler !== 'function') {
      throw new InvalidOptionsError('handleChannels(handler) needs a function that receives each incoming channel')
    }

    checkMaxBytes(options.maxMessageBytes, 'handleChannels')
    this.handler = { handler, options }

    if (this.attached !== undefined) {
      if (this.attached.handled) {
        await this.attached.libp2p.unhandle(channelProtocol(this.attached.network))
        this.attached.handled = false
      }

      await this.register()
    }
  }

  /** Stops accepting channels; open ones stay open. */
  async unhandle (): Promise<void> {
    this.handler = undefined

    if (this.attached?.handled === true) {
      this.attached.handled = false
      await this.attached.libp2p.unhandle(channelProtocol(this.attached.network))
    }
  }

  /** Opens a channel to a peer that handles channels on this network. */
  async openChannel (target: ChannelTarget, options: OpenChannelOptions = {}): Promise<Channel> {
    const attached = this.attached

    if (attached === undefined) {
      throw new NotStartedError('openChannel(): the node is not started; call start() first')
    }

    const maxMessageBytes = checkMaxBytes(options.maxMessageBytes, 'openChannel') ?? DEFAULT_MAX_CHANNEL_MESSAGE_BYTES
    const connection = await attached.libp2p.dial(resolveTarget(target), { signal: options.signal })
    const stream = await connection.newStream(channelProtocol(attached.network), { signal: options.signal })
    return this.track(new Channel({ stream, remotePeer: connection.remotePeer.toString(), maxMessageBytes, lingerTimeout: CHANNEL_LINGER_TIMEOUT, log: this.log }))
  }

  private async register (): Promise<void> {
    const attached = this.attached
    const registered = this.handler

    if (attached === undefined || registered === undefined || attached.handled) {
      return
    }

    const maxMessageBytes = registered.options.maxMessageBytes ?? DEFAULT_MAX_CHANNEL_MESSAGE_BYTES
    await attached.libp2p.handle(channelProtocol(attached.network), (stream: Stream, connection: Connection) => {
      const channel = this.track(new Channel({ stream, remotePeer: connection.remotePeer.toString(), maxMessageBytes, lingerTimeout: CHANNEL_LINGER_TIMEOUT, log: this.log }))

      Promise.resolve()
        .then(() => registered.handler(channel))
        .catch(err => {
          this.log('channel handler failed for %p - %e', connection.remotePeer, err)
          channel.abort(err as Error)
        })
    }, {
      maxInboundStreams: registered.options.maxInboundChannels ?? DEFAULT_MAX_INBOUND_CHANNELS,
      runOnLimitedConnection: false
    })
    attached.handled = true
  }

  private track (channel: Channel): Channel {
    this.open.add(channel)
    channel.addEventListener('close', () => { this.open.delete(channel) }, { once: true })
    return channel
  }
}

function resolveTarget (target: ChannelTarget): PeerId | Multiaddr | Multiaddr[] {
  try {
    if (typeof target === 'string') {
      return target.startsWith('/') ? multiaddr(target) : peerIdFromString(target)
    }

    if (Array.isArray((target as { multiaddrs?: unknown }).multiaddrs)) {
      return (target as { multiaddrs: string[] }).multiaddrs.map(address => multiaddr(address))
    }

    if (typeof (target as Multiaddr).getComponents === 'function') {
      return target as Multiaddr
    }
  } catch (err) {
    throw new InvalidOptionsError(`openChannel(target): "${String(target)}" is not a peer ID or a multiaddr ending in /p2p/<peer id>`, { cause: err })
  }

  throw new InvalidOptionsError('openChannel(target) needs a discovered instance, a peer ID (12D3KooW...) or a multiaddr ending in /p2p/<peer id>')
}

function checkMaxBytes (value: unknown, method: string): number | undefined {
  if (value !== undefined && (!Number.isSafeInteger(value) || (value as number) < 2 || (value as number) > 4 * 1024 * 1024)) {
    throw new InvalidOptionsError(`${method}(): option "maxMessageBytes" must be a whole number of bytes from 2 to 4194304, got ${JSON.stringify(value)}`)
  }

  return value as number | undefined
}

/**
 * @packageDocumentation
 *
 * Channels: bidirectional message streams between two netget peers, over the
 * libp2p protocol `/netget/<network>/channel/1.0.0` (wire format in
 * docs/PROTOCOL.md §9). A service accepts them with
 * `netget.handleChannels(handler)`; anyone on the network, a browser page
 * included, opens one with `netget.openChannel(instance)`.
 *
 * @example Echo service
 *
 * ```ts
 * await service.handleChannels(async channel => {
 *   for await (const message of channel) {
 *     await channel.send(message)
 *   }
 * })
 * ```
 *
 * @example Client
 *
 * ```ts
 * const [instance] = await client.discoverServiceNode('echo')
 * const channel = await client.openChannel(instance)
 * await channel.send({ hello: 'world' })
 * for await (const reply of channel) { show(reply); break } // show(): your own code
 * await channel.close()
 * ```
 */
import type { Channel } from './channel.js'
import type { AbortOptions } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export { Channel } from './channel.js'
export type { ChannelEvents, ChannelCloseDetail } from './channel.js'

/** Largest frame payload (kind byte + message) a channel carries by default: 64 KiB. */
export const DEFAULT_MAX_CHANNEL_MESSAGE_BYTES = 64 * 1024

/** Concurrent incoming channels allowed per connection by default. */
export const DEFAULT_MAX_INBOUND_CHANNELS = 16

/** How long a channel closing on a protocol error waits for its error frame to leave before resetting the stream, in ms. */
export const CHANNEL_LINGER_TIMEOUT = 1_000

export { channelProtocol } from '../protocol/ids.js'

/** Called with each incoming channel; a rejection aborts that channel (logged), nothing else. */
export type ChannelHandler = (channel: Channel) => void | Promise<void>

/** Where to open a channel: a discovered instance, a peer ID, or a multiaddr ending in `/p2p/<peer id>`. */
export type ChannelTarget = { multiaddrs: string[] } | string | Multiaddr

/** Options of `netget.handleChannels()`. */
export interface HandleChannelsOptions {
  /** Largest incoming frame payload accepted, in bytes; a larger one closes that channel with ChannelError MESSAGE_TOO_LARGE. @default 65_536 */
  maxMessageBytes?: number
  /** Concurrent incoming channels per connection; more are refused. @default 16 */
  maxInboundChannels?: number
}

/** Options of `netget.openChannel()`. */
export interface OpenChannelOptions extends AbortOptions {
  /** Largest frame payload sent or accepted on this channel, in bytes. The peer enforces its own limit too. @default 65_536 */
  maxMessageBytes?: number
}

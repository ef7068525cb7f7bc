/**
 * @packageDocumentation
 *
 * netget in a web page: the package's `browser` export. The same `Netget`
 * class as in Node, as a WebSocket-only DHT client that discovers services,
 * pings them and opens message channels to them. Registering a service,
 * listening and accepting channels throw UnsupportedOperationError. Loaded as
 * a plain script (`dist/netget.browser.js`, or `/netget.js` from a registry
 * started with `--http`), it defines the global `Netget`.
 *
 * @example
 *
 * ```ts
 * import { Netget } from 'netget'
 *
 * const netget = new Netget({
 *   network: 'production',
 *   registryNodes: ['/dns4/registry.example.com/tcp/443/tls/ws/p2p/12D3KooW...']
 * })
 * const [chat] = await netget.discoverServiceNode('chat')
 * const channel = await netget.openChannel(chat)
 * await channel.send({ text: 'hello' })
 * ```
 */
export { Netget } from './netget.js'
export type { BrowserNetgetInit } from './netget.js'
export { DialPolicy, DEFAULT_DIAL_POLICY } from './dial-policy.js'
export type { DialPolicyMode } from './dial-policy.js'
export type { ServiceInstance, InstanceHealth, NetgetEvents, RegistryEventDetail, DiscoverOptions, NetgetStatus } from '../netget.js'
export type { ServiceMetadata } from '../records/record.js'
export { Channel, channelProtocol, DEFAULT_MAX_CHANNEL_MESSAGE_BYTES } from '../channel/index.js'
export type { ChannelEvents, ChannelCloseDetail, OpenChannelOptions, ChannelTarget } from '../channel/index.js'
export { dhtProtocol, lookupProtocol } from '../protocol/ids.js'
export * from '../errors.js'

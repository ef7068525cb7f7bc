/**
 * `netget-peer --bootstrap`: runs a registry node until SIGINT/SIGTERM. Prints
 * its peer ID and the addresses to paste into bootstrap.json, then registry
 * and peer connection changes.
 */
import { Netget, startRegistryHttp } from '../../index.js'
import { listFlag, listOption, numberFlag, registrySource, stringFlag, trustOptions } from '../context.js'
import { guardDataDir } from '../data-dir.js'
import { CommandError, EXIT } from '../exit-codes.js'
import { shortPeerId } from '../output.js'
import { untilAborted } from './lifecycle.js'
import type { RegistryHttp } from '../../index.js'
import type { CommandContext } from '../context.js'

/** How often, at most, the peer count is printed, in ms. */
const PEER_COUNT_INTERVAL = 2_000

export async function runRegistry ({ parsed, io, out }: CommandContext): Promise<number> {
  const httpPort = numberFlag(parsed, 'http')

  if (stringFlag(parsed, 'http-host') !== undefined && httpPort === undefined) {
    throw new CommandError('--http-host needs --http PORT: it is the address the HTTP port binds, like --http 8080 --http-host 10.0.0.7', EXIT.USAGE)
  }
  const source = registrySource(parsed, io)
  const trust = await trustOptions(parsed, source)
  const networks = listFlag(parsed, 'network')
  const node = new Netget({
    nodeType: 'registry',
    network: networks[0],
    networks: networks.length > 1 ? networks : undefined,
    listen: listOption(parsed, 'listen'),
    announce: listOption(parsed, 'announce'),
    dataDir: stringFlag(parsed, 'data-dir'),
    ...source,
    ...trust,
    // the HTTP port serves /metrics
    metrics: httpPort !== undefined
  })
  const network = node.network
  const guard = await guardDataDir(node.config.dataDir)
  let http: RegistryHttp | undefined

  try {
    // HTTP first: it checks --http before the node touches the data dir
    http = httpPort === undefined ? undefined : await startRegistryHttp(node, { port: httpPort, host: stringFlag(parsed, 'http-host') })
    await node.start()
  } catch (err) {
    await http?.close()
    await node.stop()
    await guard.rollback()
    throw err
  }

  const peerId = node.peerId
  const addresses = node.multiaddrs
  const shareable = bootstrapCandidates(addresses)
  const registries = node.registryNodes().length
  // a closed network's id is <name>@<authority>; the authority may have come from bootstrap.json
  const authority = node.networkId.includes('@') ? node.networkId.slice(node.networkId.indexOf('@') + 1) : undefined
  const closed = authority === undefined ? '' : `, closed: authority ${authority}${trust.readRestricted === true ? ', reads restricted to credential holders' : ''}`
  const bootstrapEntry = authority === undefined ? { registryNodes: shareable } : { authority, registryNodes: shareable }
  const served = node.networks
  out.progress(`Started a registry node for ${served.length === 1 ? 'network' : 'networks'} ${served.map(name => `"${name}"`).join(', ')} (data dir ${guard.path}${guard.created ? ', new' : ''}${closed})`)
  out.event('started', { peerId, network, networks: served, authority, readRestricted: trust.readRestricted === true, dataDir: guard.path, multiaddrs: addresses, bootstrapEntry, http: http?.url }, [
    `peer ID: ${peerId}`,
    'listening on:',
    ...addresses.map(address => `  ${address}`),
    `add to bootstrap.json under ${served.map(name => `networks.${name}.registryNodes`).join(', ')} (or pass as --registry):`,
    ...shareable.map(address => `  ${JSON.stringify(address)}`),
    ...(http === undefined ? [] : [`HTTP: dashboard ${http.url}/ · browser bundle ${http.url}/netget.js · JSON ${http.url}/api/services · metrics ${http.url}/metrics`]),
    `ready; ${registries === 0 ? 'no other registry to peer with' : `peering with ${registries} other registr${registries === 1 ? 'y' : 'ies'}`}; press Ctrl+C to stop`
  ], 'stdout')

  node.addEventListener('registry:connected', event => {
    out.event('registry:connected', { ...event.detail }, [`connected to registry ${shortPeerId(event.detail.peerId)} at ${event.detail.multiaddr}`])
  })
  node.addEventListener('registry:disconnected', event => {
    out.event('registry:disconnected', { ...event.detail }, [`lost registry ${shortPeerId(event.detail.peerId)}; redialling`])
  })

  let reported = 0
  const countPeers = (): void => {
    const count = node.status === 'started' ? node.libp2p.getPeers().length : reported

    if (count !== reported) {
      reported = count
      out.event('peers', { count }, [`${count} peer${count === 1 ? '' : 's'} connected`])
    }
  }
  const timer = setInterval(countPeers, PEER_COUNT_INTERVAL)

  try {
    await untilAborted(io.signal)
  } finally {
    clearInterval(timer)
    out.progress('Stopping the registry node')
    await http?.close()
    await node.stop()
  }

  out.event('stopped', { peerId }, ['stopped'])
  return EXIT.OK
}

/**
 * The addresses worth sharing: those not on loopback when the node has any,
 * else all (a registry on 127.0.0.1 is only for this machine).
 */
export function bootstrapCandidates (addresses: string[]): string[] {
  const remote = addresses.filter(address => !/^\/ip4\/127\.|^\/ip6\/::1\//.test(address))
  return remote.length > 0 ? remote : addresses
}

/**
 * `netget-peer register --name NAME`: publishes a service instance, keeps it
 * announced until SIGINT/SIGTERM, then withdraws it. The sidecar of a service
 * that cannot embed netget itself.
 */
import { Netget } from '../../index.js'
import { checkOptions, nameCheckFlag } from '../check-flags.js'
import { commandSignal, DEFAULT_CLI_TIMEOUT, describeSource, interpretAbort, keyValueFlags, listOption, noRegistryListed, numberFlag, registrySource, stringFlag, trustOptions } from '../context.js'
import { guardDataDir } from '../data-dir.js'
import { CommandError, EXIT } from '../exit-codes.js'
import { shortPeerId } from '../output.js'
import { untilAborted } from './lifecycle.js'
import type { CommandContext } from '../context.js'

export async function runRegister ({ parsed, io, out }: CommandContext): Promise<number> {
  const name = stringFlag(parsed, 'name')

  if (name === undefined) {
    throw new CommandError('Command "register" needs --name NAME, the service name, like --name orders-api', EXIT.USAGE)
  }

  const meta = keyValueFlags(parsed, 'meta')

  if (meta.name !== undefined) {
    throw new CommandError('--meta cannot set "name": the service name comes from --name', EXIT.USAGE)
  }

  const source = registrySource(parsed, io)
  const checks = checkOptions(parsed)
  const init = {
    network: stringFlag(parsed, 'network'),
    metadata: { name, ...meta },
    listen: listOption(parsed, 'listen'),
    announce: listOption(parsed, 'announce'),
    dataDir: stringFlag(parsed, 'data-dir'),
    ...checks.options,
    ...source,
    ...await trustOptions(parsed, source)
  }
  let node: Netget

  try {
    node = new Netget(init)
  } catch (err) {
    throw nameCheckFlag(err, checks.sources)
  }

  const network = node.network
  const guard = await guardDataDir(node.config.dataDir)
  let connected = 0

  node.addEventListener('registry:connected', event => {
    if (connected++ === 0) {
      const total = node.registryNodes().length
      out.progress(`Registering "${name}" on network "${network}" with ${total} registr${total === 1 ? 'y' : 'ies'} (from ${describeSource(source)})`)
    }

    out.event('registry:connected', { ...event.detail }, [`connected to registry ${shortPeerId(event.detail.peerId)} at ${event.detail.multiaddr}`])
  })
  node.addEventListener('registry:disconnected', event => {
    out.event('registry:disconnected', { ...event.detail }, [`lost registry ${shortPeerId(event.detail.peerId)}; redialling`])
  })

  // the first results come before the record is published
  node.addEventListener('service:status', event => {
    const { status, previous, output, checks } = event.detail
    out.event('status', { status, previous, output, checks }, [`checks ${status} (was ${previous})${output === '' ? '' : `: ${output}`}`])
  })
  node.addEventListener('service:deregistered', event => {
    const { criticalFor, output } = event.detail
    out.event('deregistered', { criticalFor, output }, [`withdrawn: checks critical for ${Math.round(criticalFor / 1000)} s; announcing again when they pass`])
  })

  const timeout = numberFlag(parsed, 'timeout') ?? DEFAULT_CLI_TIMEOUT
  const { signal, timedOut } = commandSignal(io, timeout)
  let first
  const waited = out.waiting(`registering "${name}" on network "${network}"`)

  try {
    first = await node.registerWithNetwork({ signal })
  } catch (err) {
    const expired = timedOut()
    const unlisted = (err as Error).name === 'NoRegistryReachableError' ? await noRegistryListed(node, source).catch(() => undefined) : undefined
    await node.stop({ withdraw: false }).catch(() => {})
    await guard.rollback()
    throw unlisted ?? interpretAbort(err, io, `registering "${name}"`, timeout, expired)
  } finally {
    waited()
  }

  const peerId = node.peerId
  const status = first.record.status ?? 'passing'
  out.event('registered', { peerId, name, network, multiaddrs: first.record.multiaddrs, metadata: first.record.metadata, seq: first.record.seq, storedBy: first.storedBy, status }, [
    `registered ${name} as ${peerId} (stored by ${first.storedBy} registr${first.storedBy === 1 ? 'y' : 'ies'}${status === 'passing' ? '' : `; checks ${status}`})`,
    ...first.record.multiaddrs.map(address => `  ${address}`),
    'press Ctrl+C to withdraw and stop'
  ], 'stdout')

  node.addEventListener('service:announced', event => {
    out.event('announced', { seq: event.detail.record.seq, storedBy: event.detail.storedBy }, [`re-announced (seq ${event.detail.record.seq}, stored by ${event.detail.storedBy})`])
  })
  node.addEventListener('service:error', event => {
    out.event('announce:error', { message: event.detail.message }, [`re-announce failed, will retry: ${event.detail.message}`])
  })

  try {
    await untilAborted(io.signal)
  } finally {
    out.progress(`Withdrawing ${name} and stopping`)
    await node.stop()
  }

  out.event('stopped', { peerId, name }, ['withdrawn and stopped'])
  return EXIT.OK
}

/**
 * `netget-peer discover NAME`: prints the live instances of a service and
 * exits 0, or exits {@link EXIT.NOT_FOUND} with a one-line message.
 */
import { Netget } from '../../index.js'
import { booleanFlag, commandSignal, DEFAULT_CLI_TIMEOUT, describeSource, interpretAbort, keyValueFlags, noRegistryListed, numberFlag, registrySource, stringFlag, trustOptions } from '../context.js'
import { guardDataDir } from '../data-dir.js'
import { EXIT } from '../exit-codes.js'
import { formatInstances, formatRtt, shortPeerId } from '../output.js'
import { untilAborted } from './lifecycle.js'
import type { Netget as NetgetNode, WatchEvent } from '../../index.js'
import type { CommandContext } from '../context.js'

export async function runDiscover ({ parsed, io, out }: CommandContext): Promise<number> {
  const name = parsed.positionals[0]
  const filter = keyValueFlags(parsed, 'filter')
  const timeout = numberFlag(parsed, 'timeout') ?? DEFAULT_CLI_TIMEOUT
  const source = registrySource(parsed, io)
  const node = new Netget({ network: stringFlag(parsed, 'network'), ...source, ...await trustOptions(parsed, source), dataDir: stringFlag(parsed, 'data-dir') ?? false, operationTimeout: timeout })
  const network = node.network
  const guard = await guardDataDir(node.config.dataDir)
  let connected = 0

  node.addEventListener('registry:connected', event => {
    const total = node.registryNodes().length

    if (connected++ === 0) {
      out.progress(`Looking up "${name}" on network "${network}" through ${total} registr${total === 1 ? 'y' : 'ies'} (from ${describeSource(source)})`)
    }

    out.progress(`connected to registry ${shortPeerId(event.detail.peerId)} (${connected}/${total}) at ${event.detail.multiaddr}`)
  })

  if (booleanFlag(parsed, 'watch')) {
    return watchService({ parsed, io, out }, node, name, Object.keys(filter).length === 0 ? undefined : filter, async err => {
      const unlisted = (err as Error).name === 'NoRegistryReachableError' ? await noRegistryListed(node, source) : undefined
      await guard.rollback()
      return unlisted ?? err
    })
  }

  const { signal, timedOut } = commandSignal(io, timeout)
  const waited = out.waiting(`looking up "${name}" on network "${network}"`)

  try {
    const instances = await node.discoverServiceNode(name, {
      signal,
      filter: Object.keys(filter).length === 0 ? undefined : filter,
      includeUnhealthy: booleanFlag(parsed, 'all')
    })

    waited()
    out.result({ name, network, instances }, () => formatInstances(name, network, instances))
    return EXIT.OK
  } catch (err) {
    waited()
    const unlisted = (err as Error).name === 'NoRegistryReachableError' ? await noRegistryListed(node, source) : undefined
    await node.stop()
    await guard.rollback()
    throw unlisted ?? interpretAbort(err, io, `looking up "${name}"`, timeout, timedOut())
  } finally {
    await node.stop()
  }
}

/**
 * `discover NAME --watch`: the current set, then each change as one line
 * (one JSON object per line with --json: `{"event": "added", "instance": …}`),
 * until SIGINT/SIGTERM; exits 0.
 */
async function watchService ({ io, out }: CommandContext, node: NetgetNode, name: string, filter: Record<string, string> | undefined, explain: (err: unknown) => Promise<unknown>): Promise<number> {
  const watch = node.watch(name, { filter })
  const print = ({ type, instance }: WatchEvent): void => {
    const rtt = instance.health.rttMs === undefined ? '' : ` ${formatRtt(instance.health.rttMs)}`
    out.event(type, { instance }, [`${type.padEnd(7)} ${instance.peerId} ${instance.health.status} (${instance.health.source})${rtt} ${instance.multiaddrs[0] ?? ''}`], 'stdout')
  }
  const failed = new Promise<unknown>(resolve => {
    void (async () => {
      try {
        for await (const change of watch) {
          print(change)
        }
      } catch (err) {
        resolve(err)
      }
    })()
  })

  try {
    out.progress(`Watching "${name}" on network "${node.network}"; press Ctrl+C to stop`)
    const err = await Promise.race([untilAborted(io.signal).then(() => undefined), failed])

    if (err !== undefined) {
      throw await explain(err)
    }

    return EXIT.OK
  } finally {
    await watch.close()
    await node.stop()
  }
}

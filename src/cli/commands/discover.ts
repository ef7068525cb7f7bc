/**
 * `netget-peer discover NAME`: prints the live instances of a service and
 * exits 0, or exits {@link EXIT.NOT_FOUND} with a one-line message.
 */
import { Netget } from '../../netget.js'
import { booleanFlag, commandSignal, DEFAULT_CLI_TIMEOUT, integerFlag, interpretAbort, keyValueFlags, networkFlag, registryFlags } from '../context.js'
import { CommandError, EXIT } from '../exit-codes.js'
import { formatInstances, shortPeerId } from '../output.js'
import { SERVICE_NAME_PATTERN } from '../../constants.js'
import type { CommandContext } from '../context.js'
import { preview } from '../../text.js'

export async function runDiscover ({ parsed, io, out }: CommandContext): Promise<number> {
  const name = parsed.positionals[0]

  if (!SERVICE_NAME_PATTERN.test(name)) {
    throw new CommandError(`Bad service name ${preview(name)}: a service name is 1 to 64 letters, digits and inner ".", "_" or "-", like orders-api`, EXIT.USAGE)
  }

  const filter = keyValueFlags(parsed, 'filter')
  const network = networkFlag(parsed)
  const timeout = integerFlag(parsed, 'timeout', DEFAULT_CLI_TIMEOUT)
  const { registries, source } = await registryFlags(parsed, io, network, true)
  const node = new Netget({ network, registryNodes: registries, dataDir: false, operationTimeout: timeout })
  let connected = 0

  node.addEventListener('registry:connected', event => {
    connected++
    out.progress(`connected to registry ${shortPeerId(event.detail.peerId)} (${connected}/${registries.length}) at ${event.detail.multiaddr}`)
  })

  out.progress(`Looking up "${name}" on network "${network}" through ${registries.length} registr${registries.length === 1 ? 'y' : 'ies'} (from ${source})`)
  const { signal, timedOut } = commandSignal(io, timeout)

  try {
    const instances = await node.discoverServiceNode(name, {
      signal,
      filter: Object.keys(filter).length === 0 ? undefined : filter,
      includeUnhealthy: booleanFlag(parsed, 'all')
    })

    out.result({ name, network, instances }, () => formatInstances(name, network, instances))
    return EXIT.OK
  } catch (err) {
    throw interpretAbort(err, io, `looking up "${name}"`, timeout, timedOut())
  } finally {
    await node.stop()
  }
}

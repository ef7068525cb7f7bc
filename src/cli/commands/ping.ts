/**
 * `netget-peer ping PEERID|MULTIADDR`: measures round-trip times. A multiaddr
 * is dialled directly; a bare peer ID is found through the registries.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { Netget } from '../../netget.js'
import { commandSignal, DEFAULT_CLI_TIMEOUT, integerFlag, interpretAbort, networkFlag, registryFlags } from '../context.js'
import { CommandError, EXIT } from '../exit-codes.js'
import { formatRtt, shortPeerId } from '../output.js'
import type { CommandContext } from '../context.js'
import { preview } from '../../text.js'

export async function runPing ({ parsed, io, out }: CommandContext): Promise<number> {
  const target = parsed.positionals[0]
  const byAddress = target.startsWith('/')
  checkTarget(target, byAddress)
  const count = integerFlag(parsed, 'count', 1)
  const timeout = integerFlag(parsed, 'timeout', DEFAULT_CLI_TIMEOUT)
  const network = networkFlag(parsed)
  const { registries } = byAddress ? { registries: [] } : await registryFlags(parsed, io, network, true)
  const node = new Netget({ network, registryNodes: registries, dataDir: false, operationTimeout: timeout })
  const { signal, timedOut } = commandSignal(io, timeout)
  const rtts: number[] = []

  try {
    await node.start()

    if (!byAddress) {
      out.progress(`Finding ${target} through ${registries.length} registr${registries.length === 1 ? 'y' : 'ies'}`)
      await firstRegistry(node, signal)
    }

    for (let i = 0; i < count; i++) {
      const rtt = await node.ping(target, { signal })
      rtts.push(rtt)
      out.progress(`pong ${i + 1}/${count} from ${shortPeerId(target)}: ${formatRtt(rtt)}`)
    }
  } catch (err) {
    const rewritten = interpretAbort(err, io, `pinging ${target}`, timeout, timedOut())

    if (rewritten !== err || (err as Error).name === 'InvalidOptionsError') {
      throw rewritten
    }

    throw new CommandError(`Cannot ping ${target}: ${(err as Error).message}`, EXIT.UNREACHABLE, { cause: err })
  } finally {
    await node.stop()
  }

  const summary = { target, count: rtts.length, rttMs: rtts, averageMs: rtts.reduce((a, b) => a + b, 0) / rtts.length }
  out.result(summary, () => [`${target}: ${rtts.length} ping${rtts.length === 1 ? '' : 's'}, average ${formatRtt(summary.averageMs)}`])
  return EXIT.OK
}

function checkTarget (target: string, byAddress: boolean): void {
  if (byAddress) {
    let address

    try {
      address = multiaddr(target)
    } catch (err) {
      throw new CommandError(`Bad multiaddr ${preview(target)}: write it like /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...`, EXIT.USAGE, { cause: err })
    }

    if (!address.getComponents().some(component => component.name === 'p2p')) {
      throw new CommandError(`Multiaddr ${preview(target)} has no /p2p/<peer id> part; append the peer's ID, like <address>/p2p/12D3KooW...`, EXIT.USAGE)
    }

    return
  }

  try {
    peerIdFromString(target)
  } catch (err) {
    throw new CommandError(`${preview(target)} is neither a peer ID (12D3KooW...) nor a multiaddr (/ip4/.../p2p/12D3KooW...)`, EXIT.USAGE, { cause: err })
  }
}

/** Waits until one registry is connected, so a peer ID can be looked up. */
async function firstRegistry (node: Netget, signal: AbortSignal): Promise<void> {
  if (node.registryNodes().some(registry => registry.connected)) {
    return
  }

  await new Promise<void>((resolve, reject) => {
    const done = (): void => {
      signal.removeEventListener('abort', fail)
      node.removeEventListener('registry:connected', done)
      resolve()
    }
    const fail = (): void => {
      node.removeEventListener('registry:connected', done)
      reject(signal.reason)
    }
    node.addEventListener('registry:connected', done)
    signal.addEventListener('abort', fail, { once: true })
  })
}

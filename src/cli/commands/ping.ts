/**
 * `netget-peer ping PEERID|MULTIADDR`: measures round-trip times. A multiaddr
 * is dialled directly; a bare peer ID is found through the registries.
 */
import { Netget, parsePeerTarget } from '../../index.js'
import { commandSignal, DEFAULT_CLI_TIMEOUT, interpretAbort, noRegistryListed, numberFlag, registrySource, stringFlag, trustOptions } from '../context.js'
import { guardDataDir } from '../data-dir.js'
import { CommandError, EXIT } from '../exit-codes.js'
import { formatRtt, shortPeerId } from '../output.js'
import type { CommandContext } from '../context.js'

export async function runPing ({ parsed, io, out }: CommandContext): Promise<number> {
  const target = parsed.positionals[0]
  // the library's rule for ping targets, checked before any registry is waited for
  parsePeerTarget(target)
  const byAddress = target.startsWith('/')
  const count = numberFlag(parsed, 'count', 1) ?? 1
  const timeout = numberFlag(parsed, 'timeout') ?? DEFAULT_CLI_TIMEOUT
  const source = registrySource(parsed, io)
  // an address needs no registry: unless --registry is given, none is read from bootstrap.json
  const registryNodes = source.registryNodes ?? (byAddress ? [] : undefined)
  const node = new Netget({ network: stringFlag(parsed, 'network'), ...source, ...await trustOptions(parsed, source), registryNodes, dataDir: stringFlag(parsed, 'data-dir') ?? false, operationTimeout: timeout })
  const guard = await guardDataDir(node.config.dataDir)
  const { signal, timedOut } = commandSignal(io, timeout)
  const rtts: number[] = []
  const waited = out.waiting(`pinging ${target}`)

  try {
    await node.start()

    if (!byAddress) {
      const unlisted = await noRegistryListed(node, source)

      if (unlisted !== undefined) {
        throw unlisted
      }

      const registries = node.registryNodes().length
      out.progress(`Finding ${target} through ${registries} registr${registries === 1 ? 'y' : 'ies'}`)
      await firstRegistry(node, signal)
    }

    for (let i = 0; i < count; i++) {
      const rtt = await node.ping(target, { signal }).catch(err => {
        throw signal.aborted ? err : new CommandError(`Cannot ping ${target}: ${(err as Error).message}`, EXIT.UNREACHABLE, { cause: err })
      })
      rtts.push(rtt)
      out.progress(`pong ${i + 1}/${count} from ${shortPeerId(target)}: ${formatRtt(rtt)}`)
    }
  } catch (err) {
    await node.stop()
    await guard.rollback()
    throw interpretAbort(err, io, `pinging ${target}`, timeout, timedOut())
  } finally {
    waited()
    await node.stop()
  }

  const summary = { target, count: rtts.length, rttMs: rtts, averageMs: rtts.reduce((a, b) => a + b, 0) / rtts.length }
  out.result(summary, () => [`${target}: ${rtts.length} ping${rtts.length === 1 ? '' : 's'}, average ${formatRtt(summary.averageMs)}`])
  return EXIT.OK
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

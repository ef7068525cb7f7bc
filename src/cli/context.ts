/**
 * What every command needs from its flags: the network, the bootstrap file,
 * the registries, multiaddrs and timeouts, each checked with a one-line
 * message naming the flag. Commands pass the results to `new Netget()`
 * explicitly, so the library never has to guess.
 */
import { existsSync, statSync } from 'node:fs'
import { multiaddr } from '@multiformats/multiaddr'
import { loadBootstrapList, resolveBootstrapPath } from '../registries/bootstrap-file.js'
import { BOOTSTRAP_FILE_ENV } from '../constants.js'
import { parseRegistryAddress } from '../registries/registry-address.js'
import { DEFAULT_NETWORK, NETWORK_NAME_PATTERN } from '../constants.js'
import { CommandError, EXIT } from './exit-codes.js'
import type { Output } from './output.js'
import type { BootstrapList } from '../registries/bootstrap-list.js'
import type { ParsedCommand } from './args.js'
import { preview } from '../text.js'

/** The streams and environment a command runs with; `main()` fills in the process's own. */
export interface CliIo {
  stdout: { write(chunk: string): unknown }
  stderr: { write(chunk: string): unknown }
  env: Record<string, string | undefined>
  /** Aborted on SIGINT/SIGTERM: long-running commands stop cleanly, short ones give up. */
  signal: AbortSignal
}

/** A command's inputs: parsed flags, I/O and output helpers. */
export interface CommandContext {
  parsed: ParsedCommand
  io: CliIo
  out: Output
}

/** The default time a short command (discover, ping) may take, in ms. */
export const DEFAULT_CLI_TIMEOUT = 10_000

/** The `--network` flag, checked. */
export function networkFlag (parsed: ParsedCommand): string {
  const network = stringFlag(parsed, 'network') ?? DEFAULT_NETWORK

  if (!NETWORK_NAME_PATTERN.test(network)) {
    throw new CommandError(`Bad --network ${preview(network)}: a network name is 1 to 32 lowercase letters, digits or inner dashes, like development or production`, EXIT.USAGE)
  }

  return network
}

/** The bootstrap file to read: --bootstrap-file, else $NETGET_BOOTSTRAP, else ./bootstrap.json, else the packaged one. */
export function bootstrapPath (parsed: ParsedCommand, io: CliIo): string {
  const fromEnv = io.env[BOOTSTRAP_FILE_ENV]
  return resolveBootstrapPath(stringFlag(parsed, 'bootstrap-file') ?? (fromEnv === '' ? undefined : fromEnv))
}

/**
 * The registries to use: `--registry` flags if any, else the network's list
 * in the bootstrap file. For a client (`required`), a network missing from
 * the file or with no registry listed is an error saying how to fix it; a
 * registry node may be the first of its network.
 */
export async function registryFlags (parsed: ParsedCommand, io: CliIo, network: string, required: boolean): Promise<{ registries: string[], source: string }> {
  const given = listFlag(parsed, 'registry')

  if (given.length > 0) {
    for (const address of given) {
      parseRegistryAddress(address, '--registry')
    }

    return { registries: given, source: '--registry' }
  }

  const path = bootstrapPath(parsed, io)
  const list = await loadBootstrapList(path)
  checkConsistent(list)
  const registries = list.networks[network]

  if (!required) {
    return { registries: registries ?? [], source: path }
  }

  if (registries === undefined) {
    const known = Object.keys(list.networks)
    throw new CommandError(`Unknown network ${preview(network)}: ${path} lists ${known.length === 0 ? 'no network' : known.join(', ')}; add it under "networks" there, or pass --registry MULTIADDR`, EXIT.USAGE)
  }

  if (registries.length === 0) {
    throw new CommandError(`No registry is listed for network "${network}" in ${path}: start one with \`netget-peer --bootstrap\` and pass an address it prints with --registry, or add it to networks.${network}.registryNodes there`, EXIT.UNREACHABLE)
  }

  return { registries, source: path }
}

/**
 * A registry serves one network, so a peer ID listed under two networks is a
 * mistake (usually an address pasted into the wrong list).
 */
function checkConsistent (list: BootstrapList): void {
  const networkOf = new Map<string, string>()

  for (const [network, addresses] of Object.entries(list.networks)) {
    for (const address of addresses) {
      const peerId = parseRegistryAddress(address).peerId.toString()
      const other = networkOf.get(peerId)

      if (other !== undefined && other !== network) {
        throw new CommandError(`Bootstrap file ${list.path}: registry ${peerId} is listed under both networks.${other} and networks.${network}, but a registry serves one network; remove it from the wrong list`, EXIT.BOOTSTRAP_FILE)
      }

      networkOf.set(peerId, network)
    }
  }
}

/** Multiaddr flags (--listen, --announce), each checked. */
export function multiaddrFlags (parsed: ParsedCommand, name: string): string[] | undefined {
  const values = listFlag(parsed, name)

  for (const value of values) {
    if (value.trim() === '') {
      throw new CommandError(`Bad --${name}: the value is empty; write a multiaddr like /ip4/0.0.0.0/tcp/4001`, EXIT.USAGE)
    }

    try {
      multiaddr(value)
    } catch (err) {
      throw new CommandError(`Bad --${name} ${preview(value)}: not a valid multiaddr; write it like /ip4/0.0.0.0/tcp/4001 or /ip4/127.0.0.1/tcp/0/ws`, EXIT.USAGE, { cause: err })
    }
  }

  return values.length === 0 ? undefined : values
}

/** The --data-dir flag, or `fallback`: checked to be a usable directory path (not empty, not a file). */
export function dataDirFlag (parsed: ParsedCommand, fallback: string): string {
  const value = stringFlag(parsed, 'data-dir')

  if (value?.trim() === '') {
    throw new CommandError('Bad --data-dir: the value is empty; give a directory path, like --data-dir ./.netget/registry', EXIT.USAGE)
  }

  const dataDir = value ?? fallback

  if (existsSync(dataDir) && !statSync(dataDir).isDirectory()) {
    throw new CommandError(`Bad --data-dir ${preview(dataDir)}: it is a file, not a directory; give a directory path`, EXIT.USAGE)
  }

  return dataDir
}

/** A TCP port flag, like --http: 0 to 65535 (0 picks a free port); undefined if not given. */
export function portFlag (parsed: ParsedCommand, name: string): number | undefined {
  const value = stringFlag(parsed, name)

  if (value === undefined) {
    return undefined
  }

  if (!/^\d{1,5}$/.test(value) || Number(value) > 65535) {
    throw new CommandError(`Bad --${name} ${preview(value)}: give a TCP port from 0 to 65535 (0 picks a free one)`, EXIT.USAGE)
  }

  return Number(value)
}

/** `KEY=VALUE` flags (--meta, --filter) as an object; a key may appear once. */
export function keyValueFlags (parsed: ParsedCommand, name: string): Record<string, string> {
  const result: Record<string, string> = {}

  for (const entry of listFlag(parsed, name)) {
    const at = entry.indexOf('=')

    if (at <= 0) {
      throw new CommandError(`Bad --${name} ${preview(entry)}: write KEY=VALUE, like --${name} url=http://host:8080`, EXIT.USAGE)
    }

    const key = entry.slice(0, at)

    if (Object.hasOwn(result, key)) {
      throw new CommandError(`--${name} gives ${preview(key)} twice; give each key once`, EXIT.USAGE)
    }

    result[key] = entry.slice(at + 1)
  }

  return result
}

/** A positive whole-number flag, like --timeout or --count. */
export function integerFlag (parsed: ParsedCommand, name: string, fallback: number): number {
  const value = stringFlag(parsed, name)

  if (value === undefined) {
    return fallback
  }

  const number = Number(value)

  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < 1) {
    throw new CommandError(`Bad --${name} ${preview(value)}: give a whole number of at least 1`, EXIT.USAGE)
  }

  return number
}

export function stringFlag (parsed: ParsedCommand, name: string): string | undefined {
  const value = parsed.flags[name]
  return typeof value === 'string' ? value : undefined
}

export function listFlag (parsed: ParsedCommand, name: string): string[] {
  const value = parsed.flags[name]
  return Array.isArray(value) ? value : []
}

export function booleanFlag (parsed: ParsedCommand, name: string): boolean {
  return parsed.flags[name] === true
}

/**
 * A signal for a short command: aborted by SIGINT/SIGTERM or after `timeout`
 * ms. {@link interpretAbort} tells the two apart afterwards.
 */
export function commandSignal (io: CliIo, timeout: number): { signal: AbortSignal, timedOut(): boolean } {
  const timer = AbortSignal.timeout(timeout)
  return { signal: AbortSignal.any([io.signal, timer]), timedOut: () => timer.aborted && !io.signal.aborted }
}

/** Rewrites an abort caused by the command's own timeout as an "unreachable" failure. */
export function interpretAbort (err: unknown, io: CliIo, what: string, timeout: number, timedOut: boolean): unknown {
  if (io.signal.aborted) {
    return new CommandError(`Interrupted while ${what}`, EXIT.INTERRUPTED, { cause: err })
  }

  if (timedOut) {
    return new CommandError(`Timed out after ${timeout} ms while ${what}; check that the registries are reachable, or pass a longer --timeout`, EXIT.UNREACHABLE, { cause: err })
  }

  return err
}

/**
 * What commands share: their I/O, reading their own flags (KEY=VALUE lists,
 * whole numbers), where the registries come from, and timeouts. Every value
 * `new Netget()` takes is handed to it as given: the library validates, and
 * exit-codes.ts names the flag in its message.
 */
import { BOOTSTRAP_FILE_ENV, defaults, loadBootstrapList, PACKAGED_BOOTSTRAP_FILE, resolveBootstrapPath } from '../index.js'
import { CommandError, EXIT, quote } from './exit-codes.js'
import type { Netget } from '../index.js'
import type { ParsedCommand } from './args.js'
import type { Output, OutputStreams } from './output.js'

/** The streams and environment a command runs with; `main()` fills in the process's own. */
export interface CliIo extends OutputStreams {
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

/** The default time a short command (discover, ping, register's first announce) may take, in ms: the library's operation timeout. */
export const DEFAULT_CLI_TIMEOUT = defaults.DEFAULT_OPERATION_TIMEOUT

/** Where a node's registries come from: the `new Netget()` options of the registry flags. */
export interface RegistrySource {
  /** The --registry flags, if any (then bootstrap.json is not read). */
  registryNodes?: string[]
  /** --bootstrap-file, else $NETGET_BOOTSTRAP of the command's environment. */
  bootstrapFile?: string
}

/** The `new Netget()` options of --registry, --bootstrap-file and $NETGET_BOOTSTRAP. */
export function registrySource (parsed: ParsedCommand, io: CliIo): RegistrySource {
  const fromEnv = io.env[BOOTSTRAP_FILE_ENV]
  return {
    registryNodes: listOption(parsed, 'registry'),
    bootstrapFile: stringFlag(parsed, 'bootstrap-file') ?? (fromEnv === '' ? undefined : fromEnv)
  }
}

/** Where the registries came from, for messages: `--registry` or the bootstrap file's path. */
export function describeSource (source: RegistrySource): string {
  return source.registryNodes !== undefined ? '--registry' : resolveBootstrapPath(source.bootstrapFile)
}

/** The `new Netget()` options of --authority, --credential and --read-restricted. */
export interface TrustOptions {
  authority?: string
  credential?: string
  readRestricted?: boolean
}

/**
 * The closed-network options of a command that joins a network. Checks
 * that `discover` and `ping` with --credential have --data-dir. A
 * credential (or --read-restricted) is useless without the network's
 * authority: when --authority is not given it is taken from the bootstrap
 * file (even with --registry, where the node itself reads no file), and a
 * network without one there is a usage error rather than a node that
 * silently joins the open network of that name.
 */
export async function trustOptions (parsed: ParsedCommand, source: RegistrySource): Promise<TrustOptions> {
  const authority = stringFlag(parsed, 'authority')
  const credential = stringFlag(parsed, 'credential')
  const readRestricted = booleanFlag(parsed, 'read-restricted') ? true : undefined
  // a registry's --network may be repeated: the trust flags are the first network's
  const network = stringFlag(parsed, 'network') ?? listFlag(parsed, 'network')[0] ?? defaults.DEFAULT_NETWORK

  // discover and ping use a new identity per run unless given --data-dir, and a credential names one peer
  if (credential !== undefined && stringFlag(parsed, 'data-dir') === undefined && (parsed.command === 'discover' || parsed.command === 'ping')) {
    throw new CommandError(`--credential needs the identity it was granted for: pass --data-dir DIR, the directory whose peer.key it names (\`netget-peer id --data-dir DIR\` creates one and prints its peer ID, to grant a credential for)`, EXIT.USAGE)
  }

  // a malformed network name is left to new Netget(), whose message names --network
  if (authority !== undefined || (credential === undefined && readRestricted === undefined) || !defaults.NETWORK_NAME_PATTERN.test(network)) {
    return { authority, credential, readRestricted }
  }

  const path = resolveBootstrapPath(source.bootstrapFile)
  const listed = (await loadBootstrapList(path)).authorities[network]

  if (listed === undefined) {
    const flag = credential !== undefined ? '--credential' : '--read-restricted'
    throw new CommandError(`${flag} is for a closed network, but ${path} names no authority for network "${network}": pass --authority PEERID (printed by \`netget-peer network create\`), or add networks.${network}.authority there`, EXIT.USAGE)
  }

  return { authority: listed, credential, readRestricted }
}

/**
 * Why a started client node has no registry, when they come from the
 * bootstrap file: the network is missing there (exit 2), or lists none (exit
 * 4); each message says how to fix it. Undefined when the node has
 * registries or they were given with --registry.
 */
export async function noRegistryListed (node: Netget, source: RegistrySource): Promise<CommandError | undefined> {
  if (source.registryNodes !== undefined || node.registryNodes().length > 0) {
    return undefined
  }

  const path = resolveBootstrapPath(source.bootstrapFile)
  const list = await loadBootstrapList(path)
  const network = node.network
  const listed = list.networks[network]

  if (listed === undefined) {
    const known = Object.keys(list.networks)
    const where = isPackagedFile(path) ? `in a bootstrap.json of your own (./bootstrap.json, --bootstrap-file or $${BOOTSTRAP_FILE_ENV})` : 'there'
    return new CommandError(`Unknown network ${quote(network)}: ${path} lists ${known.length === 0 ? 'no network' : known.join(', ')}; add it under "networks" ${where}, or pass --registry MULTIADDR`, EXIT.USAGE)
  }

  const where = isPackagedFile(path)
    ? `to networks.${network}.registryNodes in a bootstrap.json of your own (./bootstrap.json, or a file named by --bootstrap-file or $${BOOTSTRAP_FILE_ENV}; the one in the netget package is a template)`
    : `to networks.${network}.registryNodes in ${path}`
  return new CommandError(`No registry is listed for network "${network}" in ${path}: start one with \`netget-peer --bootstrap\` and pass an address it prints with --registry, or add it ${where}`, EXIT.UNREACHABLE)
}

/** Whether `path` is the bootstrap.json shipped with the package (in node_modules once installed): a template, not for editing. */
function isPackagedFile (path: string): boolean {
  return path === PACKAGED_BOOTSTRAP_FILE || /[\\/]node_modules[\\/]/.test(path)
}

/** `KEY=VALUE` flags (--meta, --filter) as an object; a key may appear once. */
export function keyValueFlags (parsed: ParsedCommand, name: string): Record<string, string> {
  const result: Record<string, string> = {}

  for (const entry of listFlag(parsed, name)) {
    const at = entry.indexOf('=')

    if (at <= 0) {
      throw new CommandError(`Bad --${name} ${quote(entry)}: write KEY=VALUE, like --${name} url=http://host:8080`, EXIT.USAGE)
    }

    const key = entry.slice(0, at)

    if (Object.hasOwn(result, key)) {
      throw new CommandError(`--${name} gives ${quote(key)} twice; give each key once`, EXIT.USAGE)
    }

    result[key] = entry.slice(at + 1)
  }

  return result
}

/**
 * A whole-number flag (--timeout, --count, --http) as a number, or undefined
 * if not given. `min` is for flags only the CLI uses (--count); a value
 * handed to the library is range-checked there.
 */
export function numberFlag (parsed: ParsedCommand, name: string, min = 0): number | undefined {
  const value = stringFlag(parsed, name)

  if (value === undefined) {
    return undefined
  }

  const number = Number(value)

  if (!/^\d+$/.test(value) || !Number.isSafeInteger(number) || number < min) {
    throw new CommandError(`Bad --${name} ${quote(value)}: give a whole number${min > 0 ? ` of at least ${min}` : ''}`, EXIT.USAGE)
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

/** A repeatable flag as an option value: undefined when not given, so the library's default applies. */
export function listOption (parsed: ParsedCommand, name: string): string[] | undefined {
  const values = listFlag(parsed, name)
  return values.length === 0 ? undefined : values
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

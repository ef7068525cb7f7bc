import type { InvalidOptionsError, ListenError } from '../index.js'

/**
 * Exit codes of `netget-peer`, and how an error becomes one line for a human.
 * Library errors are recognised by `err.name` (see src/errors.ts); anything
 * else is a bug or an environment problem and exits with {@link EXIT.INTERNAL}.
 */

/** Every exit code `netget-peer` uses. Documented in the README ("Exit codes"). */
export const EXIT = {
  /** Done; a long-running command stopped cleanly on SIGINT/SIGTERM. */
  OK: 0,
  /** Unexpected failure (a bug); details under DEBUG=netget:*. */
  INTERNAL: 1,
  /** Bad command line: unknown command or flag, bad value, bad multiaddr, unknown network. */
  USAGE: 2,
  /** bootstrap.json cannot be read or is malformed or inconsistent. */
  BOOTSTRAP_FILE: 3,
  /** No registry answered, a peer did not answer, or an operation timed out. */
  UNREACHABLE: 4,
  /** `discover` found no live instance. */
  NOT_FOUND: 5,
  /** A local resource is unavailable: port in use, data dir locked or unwritable, corrupt key. */
  LOCAL: 6,
  /**
   * Refused on a closed network: this node's credential is missing, not a
   * credential, expired, revoked, or does not grant what is asked; or a
   * registry holds no registry credential.
   */
  CREDENTIAL: 7,
  /** Registries refused this node's record (a newer one of this identity is stored, a quota, the put rate). */
  REJECTED: 8,
  /** Interrupted (SIGINT/SIGTERM) before a short command finished. */
  INTERRUPTED: 130
} as const

/** An error raised by the CLI itself, with the exit code it stands for. */
export class CommandError extends Error {
  static name = 'CommandError'
  name = 'CommandError'
  /** The process exit code. */
  readonly exitCode: number

  constructor (message: string, exitCode: number, options?: ErrorOptions) {
    super(message, options)
    this.exitCode = exitCode
  }
}

/** Exit code of each library error, by `err.name`. */
const BY_NAME: Record<string, number> = {
  InvalidOptionsError: EXIT.USAGE,
  InvalidBootstrapFileError: EXIT.BOOTSTRAP_FILE,
  NoRegistryReachableError: EXIT.UNREACHABLE,
  RecordRejectedError: EXIT.REJECTED,
  TimeoutError: EXIT.UNREACHABLE,
  ServiceNotFoundError: EXIT.NOT_FOUND,
  DataDirLockedError: EXIT.LOCAL,
  DataDirError: EXIT.LOCAL,
  ListenError: EXIT.LOCAL,
  AbortError: EXIT.INTERRUPTED,
  CredentialError: EXIT.CREDENTIAL,
  UnsupportedOperationError: EXIT.USAGE
}

/**
 * The flag (or argument) of each library option, by `InvalidOptionsError.option`,
 * so that a message names what the user typed.
 */
const FLAG_OF_OPTION: Record<string, string> = {
  network: '--network',
  registryNodes: '--registry',
  bootstrapFile: '--bootstrap-file',
  listen: '--listen',
  announce: '--announce',
  dataDir: '--data-dir',
  metadata: '--meta',
  'metadata.name': '--name',
  operationTimeout: '--timeout',
  port: '--http',
  host: '--http-host',
  authority: '--authority',
  credential: '--credential',
  readRestricted: '--read-restricted',
  name: 'NAME'
}

/** Node errno codes that mean a local resource problem rather than bad input. */
const LOCAL_CODES = new Set(['EADDRINUSE', 'EADDRNOTAVAIL', 'EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'ENOTDIR', 'EEXIST'])

/** What the user sees: one line, and the code the process exits with. */
export interface Failure {
  message: string
  exitCode: number
}

/**
 * Turns any thrown value into a one-line message and an exit code. Messages
 * are the library's own (they say what is wrong and how to fix it), with
 * three CLI rewrites: an invalid option is named by its flag, a port in use
 * names the `--listen` flag, and an unexpected error points at
 * DEBUG=netget:*.
 */
export function describeFailure (err: unknown): Failure {
  const error = err instanceof Error ? err : new Error(String(err))

  if (error instanceof CommandError) {
    return { message: oneLine(error.message), exitCode: error.exitCode }
  }

  if (error.name === 'ListenError' && (error as ListenError).addressInUse) {
    return { message: portInUse((error as ListenError).addresses), exitCode: EXIT.LOCAL }
  }

  const code = errnoCode(error)

  if (code !== undefined && LOCAL_CODES.has(code)) {
    return { message: oneLine(error.message), exitCode: EXIT.LOCAL }
  }

  const exitCode = BY_NAME[error.name]

  if (error.name === 'InvalidOptionsError') {
    return { message: oneLine(nameFlag(error.message, (error as InvalidOptionsError).option)), exitCode: EXIT.USAGE }
  }

  if (error.name === 'DataDirLockedError') {
    return { message: oneLine(error.message.replace('(option dataDir)', '(--data-dir DIR)')), exitCode: EXIT.LOCAL }
  }

  if (error.name === 'NoRegistryReachableError') {
    return { message: oneLine(nameNetworkFlags(error.message)), exitCode: EXIT.UNREACHABLE }
  }

  if (exitCode !== undefined) {
    return { message: oneLine(error.message), exitCode }
  }

  return { message: `Unexpected error: ${oneLine(error.message)} (run with DEBUG=netget:* for details)`, exitCode: EXIT.INTERNAL }
}

/** The errno code (`EADDRINUSE`, ...) of an error or of any error in its cause chain. */
export function errnoCode (err: unknown): string | undefined {
  const seen = new Set<unknown>()

  while (err instanceof Error && !seen.has(err)) {
    seen.add(err)
    const code = (err as NodeJS.ErrnoException).code

    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) {
      return code
    }

    err = err.cause
  }

  return undefined
}

/**
 * Puts the flag in place of the option a library message starts with: the
 * library names it `Option "x"`, `x:` or `method(x)`, and sets
 * `InvalidOptionsError.option` to `x`.
 */
export function nameFlag (message: string, option: string | undefined): string {
  const flag = option === undefined ? undefined : FLAG_OF_OPTION[option]

  if (option === undefined || flag === undefined) {
    return message
  }

  const name = option.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return message.replace(new RegExp(`^(?:Option "${name}"|[\\w.]+\\(${name}\\)|${name}(?=:))`), flag)
}

/**
 * Names the flags in the advice of a "registry serves another network"
 * message: the library says `use network "x"` and `give the address of a
 * registry`, the CLI `pass --network x` and `--registry`.
 */
export function nameNetworkFlags (message: string): string {
  return message
    .replace(/use network "([^"]+)" to talk to it, or give the address of a registry/g, 'pass --network $1 to talk to it, or --registry with the address of a registry')
    .replace(/give the address of a registry/g, 'pass --registry with the address of a registry')
}

/** Longest piece of user input quoted in a CLI message, like the library's. */
const QUOTE_LENGTH = 80

/** User input as a message quotes it: JSON-quoted (control characters escaped), cut to {@link QUOTE_LENGTH} characters. */
export function quote (value: string): string {
  return value.length > QUOTE_LENGTH ? `${JSON.stringify(value.slice(0, QUOTE_LENGTH))}… (${value.length} characters)` : JSON.stringify(value)
}

/** Joins a message's lines into one, dropping stack frames that some libp2p errors embed. */
function oneLine (message: string): string {
  return message.split('\n').filter(line => !/^\s*at\s/.test(line)).join(' ').replace(/\s+at\s+\S+\s+\([^)]*\)/g, '').replace(/\s+/g, ' ').trim()
}

/** The port-in-use message, naming the flag that fixes it. */
function portInUse (addresses: string[]): string {
  return `Cannot listen on ${addresses.join(', ')}: the port is in use; stop the process using it, or pass --listen with other ports (tcp/0 picks a free one)`
}

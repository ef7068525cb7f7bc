/**
 * The shapes of the command table (a command, its flags) and the flags many
 * commands share. args.ts holds the table and the parser; network-specs.ts
 * the `network` commands.
 */
import { defaults } from '../index.js'

/** A flag a command accepts. */
export interface FlagSpec {
  type: 'string' | 'boolean'
  /** May be given several times (values are collected in order). */
  multiple?: boolean
  /** Placeholder of the value in help, like `NAME`. */
  value?: string
  /** One line for `--help`. */
  description: string
}

/** A command: its name, arguments, flags and help. */
export interface CommandSpec {
  name: CommandName
  /** The usage line, without the program name. */
  usage: string
  /** One line saying what it does. */
  summary: string
  /** Names of its positional arguments, all required. */
  positionals: string[]
  flags: Record<string, FlagSpec>
  /** Lines shown under "Examples" in `--help`. */
  examples: string[]
}

/** The `network` subcommands, each run as `netget-peer network <word>`. */
export type NetworkCommandName = 'network create' | 'network grant' | 'network show' | 'network revoke'

export type CommandName = 'registry' | 'register' | 'discover' | 'ping' | 'id' | 'list' | NetworkCommandName

export const NETWORK: FlagSpec = { type: 'string', value: 'NAME', description: `network to join (default: ${defaults.DEFAULT_NETWORK})` }
export const REGISTRY: FlagSpec = { type: 'string', multiple: true, value: 'MULTIADDR', description: 'registry address ending in /p2p/<peer id>; repeatable (default: the network\'s list in bootstrap.json)' }
export const BOOTSTRAP_FILE: FlagSpec = { type: 'string', value: 'PATH', description: 'bootstrap file to read (default: $NETGET_BOOTSTRAP, ./bootstrap.json, or the packaged one)' }
export const JSON_FLAG: FlagSpec = { type: 'boolean', description: 'machine-readable output (one JSON object, or JSON lines for long-running commands)' }
export const HELP: FlagSpec = { type: 'boolean', description: 'show this help' }
export const LISTEN: FlagSpec = { type: 'string', multiple: true, value: 'MULTIADDR', description: 'address to listen on; repeatable' }
export const ANNOUNCE: FlagSpec = { type: 'string', multiple: true, value: 'MULTIADDR', description: 'address to publish instead of the listen addresses (NAT, proxy); repeatable' }
export const TIMEOUT: FlagSpec = { type: 'string', value: 'MS', description: `give up after this many milliseconds (default: ${defaults.DEFAULT_OPERATION_TIMEOUT})` }
/** --authority, on every command that joins a network. */
export const AUTHORITY: FlagSpec = { type: 'string', value: 'PEERID', description: 'the closed network\'s authority (peer ID printed by `network create`; default: networks.NAME.authority in bootstrap.json)' }
/** --credential, on every command that joins a network. */
export const CREDENTIAL: FlagSpec = { type: 'string', value: 'FILE', description: 'this peer\'s credential on a closed network, written by `network grant` (a replaced file is picked up)' }
/** --authority-key, on the `network` commands that sign. */
export const AUTHORITY_KEY: FlagSpec = { type: 'string', value: 'FILE', description: 'the network\'s authority.key, written by `network create`' }

/** The check flags of `register` (check-flags.ts turns them into option `checks`). */
export const CHECK_FLAGS: Record<string, FlagSpec> = {
  'check-http': { type: 'string', multiple: true, value: 'URL', description: 'check the service by a GET of URL: 2xx passes, 429 warns, anything else is critical; repeatable' },
  'check-tcp': { type: 'string', multiple: true, value: 'HOST:PORT', description: 'check the service by opening a TCP connection to HOST:PORT; repeatable' },
  'check-interval': { type: 'string', value: 'MS', description: `how often each check runs (default: ${defaults.DEFAULT_CHECK_INTERVAL})` },
  'check-timeout': { type: 'string', value: 'MS', description: `how long one check may take before it is critical (default: ${defaults.DEFAULT_CHECK_TIMEOUT})` },
  'deregister-critical-after': { type: 'string', value: 'MS', description: `withdraw the record after the checks stay critical this long, announce it again when they pass; 0: never (default: ${defaults.DEFAULT_DEREGISTER_CRITICAL_AFTER})` }
}

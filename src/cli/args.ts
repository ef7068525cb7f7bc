/**
 * The command line of `netget-peer`: which commands exist, the flags each
 * takes, and how argv becomes a {@link ParsedCommand}. Parsing uses
 * `node:util` parseArgs tokens and checks every token itself, so each mistake
 * gets an exact one-line message (tested in test/cli.spec.ts).
 */
import { parseArgs } from 'node:util'
import { defaults } from '../index.js'
import { CommandError, EXIT, quote } from './exit-codes.js'
import { NETWORK_COMMANDS, NETWORK_WORDS } from './network-specs.js'
import { ANNOUNCE, AUTHORITY, BOOTSTRAP_FILE, CHECK_FLAGS, CREDENTIAL, HELP, JSON_FLAG, LISTEN, NETWORK, REGISTRY, TIMEOUT } from './spec.js'
import type { CommandName, CommandSpec, FlagSpec, NetworkCommandName } from './spec.js'

export type { CommandName, CommandSpec, FlagSpec } from './spec.js'

/** A parsed command line. */
export interface ParsedCommand {
  command: CommandName
  positionals: string[]
  /** Flag values by flag name: string, string[] (multiple) or true (boolean). */
  flags: Record<string, string | string[] | boolean | undefined>
}

/** What `--help` can be about: a command, or the `network` commands together. */
export type HelpTopic = CommandName | 'network'

/** What argv asked for: a command to run, or help/version to print. */
export type Invocation =
  | { kind: 'run', parsed: ParsedCommand }
  | { kind: 'help', command?: HelpTopic }
  | { kind: 'version' }

/** --credential of discover and ping, which need --data-dir with it. */
const CREDENTIAL_CLIENT: FlagSpec = { ...CREDENTIAL, description: 'this peer\'s credential (any role) on a closed network, written by `network grant`; needs --data-dir' }
/** --data-dir of discover and ping. */
const CLIENT_DATA_DIR: FlagSpec = { type: 'string', value: 'DIR', description: 'use the identity (peer.key) kept in DIR, the one --credential was granted for (default: a new identity each run)' }

/** Every command, in the order `--help` lists them. */
export const COMMANDS: Record<CommandName, CommandSpec> = {
  registry: {
    name: 'registry',
    usage: '--bootstrap [--network NAME ...] [--listen MULTIADDR ...] [--announce MULTIADDR ...] [--data-dir DIR] [--http PORT [--http-host HOST]] [--authority PEERID --credential FILE [--read-restricted]]',
    summary: 'run a registry node until SIGINT/SIGTERM; prints the addresses to put in bootstrap.json',
    positionals: [],
    flags: {
      bootstrap: { type: 'boolean', description: 'run a registry (bootstrap) node' },
      network: { ...NETWORK, multiple: true, description: `network to serve (default: ${defaults.DEFAULT_NETWORK}); repeat it to serve several networks from this one process (one peer ID, one kad-dht per network): --authority, --credential and --read-restricted are the first network's, the others' authority comes from bootstrap.json` },
      listen: { ...LISTEN, description: 'address to listen on; repeatable (default: /ip4/0.0.0.0/tcp/4001 and /ip4/0.0.0.0/tcp/4002/ws)' },
      announce: ANNOUNCE,
      'data-dir': { type: 'string', value: 'DIR', description: 'where the identity and records persist (default: .netget/<network>/registry)' },
      registry: { ...REGISTRY, description: 'another registry of the network to peer with; repeatable (default: bootstrap.json)' },
      'bootstrap-file': BOOTSTRAP_FILE,
      http: { type: 'string', value: 'PORT', description: 'also serve HTTP on PORT: /netget.js, the browser bundle; / a live dashboard; /api/services as JSON; /metrics (Prometheus); /healthz' },
      'http-host': { type: 'string', value: 'HOST', description: 'the address --http binds (default: 127.0.0.1, this machine only); an interface\'s address, like 10.0.0.7, serves others' },
      authority: AUTHORITY,
      credential: { ...CREDENTIAL, description: 'the registry\'s credential (role registry) on a closed network, written by `network grant`' },
      'read-restricted': { type: 'boolean', description: 'closed network: refuse lookups and DHT requests from peers without a valid credential' },
      json: JSON_FLAG,
      help: HELP
    },
    examples: [
      'netget-peer --bootstrap',
      'netget-peer --bootstrap --http 8080',
      'netget-peer --bootstrap --http 8080 --http-host 10.0.0.7',
      'netget-peer --bootstrap --network production --network staging --http 8080',
      'netget-peer --bootstrap --network staging --listen /ip4/0.0.0.0/tcp/4001 --announce /dns4/registry.example.com/tcp/4001',
      'netget-peer --bootstrap --network production --authority 12D3KooW... --credential registry.cred --read-restricted'
    ]
  },
  register: {
    name: 'register',
    usage: 'register --name NAME [--meta KEY=VALUE ...] [--network NAME] [--registry MULTIADDR ...] [--timeout MS] [--check-http URL ...] [--check-tcp HOST:PORT ...] [--check-interval MS] [--authority PEERID --credential FILE]',
    summary: 'keep a service instance announced until SIGINT/SIGTERM, then withdraw it',
    positionals: [],
    flags: {
      name: { type: 'string', value: 'NAME', description: 'the service name, like DatabaseService' },
      meta: { type: 'string', multiple: true, value: 'KEY=VALUE', description: 'metadata to publish (string values); repeatable' },
      network: NETWORK,
      registry: REGISTRY,
      listen: { ...LISTEN, description: 'address to listen on; repeatable (default: random TCP and WebSocket ports on all interfaces)' },
      announce: ANNOUNCE,
      'data-dir': { type: 'string', value: 'DIR', description: 'where the identity persists (default: .netget/<network>/<name>)' },
      timeout: { ...TIMEOUT, description: TIMEOUT.description.replace('give up', 'give up unless a registry stored the record') },
      'bootstrap-file': BOOTSTRAP_FILE,
      authority: AUTHORITY,
      credential: { ...CREDENTIAL, description: 'the service\'s credential (role publish, granting NAME) on a closed network, written by `network grant` (a replaced file is picked up)' },
      ...CHECK_FLAGS,
      json: JSON_FLAG,
      help: HELP
    },
    examples: [
      'netget-peer register --name orders-api --meta url=http://10.0.0.7:8080 --meta version=1.4.0',
      'netget-peer register --name orders-api --check-http http://127.0.0.1:8080/health --check-tcp 127.0.0.1:5432 --check-interval 5000'
    ]
  },
  discover: {
    name: 'discover',
    usage: 'discover NAME [--filter KEY=VALUE ...] [--all] [--watch] [--json] [--authority PEERID [--credential FILE --data-dir DIR]]',
    summary: 'print the live instances of a service (exit 5 when there is none); with --watch, then every change until Ctrl+C',
    positionals: ['NAME'],
    flags: {
      filter: { type: 'string', multiple: true, value: 'KEY=VALUE', description: 'keep instances whose metadata has KEY equal to VALUE; repeatable' },
      all: { type: 'boolean', description: 'include instances that do not answer pings or whose checks are critical' },
      watch: { type: 'boolean', description: 'keep running and print each change (added, updated, removed, health) as it happens, one JSON object per line with --json, until Ctrl+C' },
      network: NETWORK,
      registry: REGISTRY,
      timeout: TIMEOUT,
      'bootstrap-file': BOOTSTRAP_FILE,
      authority: AUTHORITY,
      credential: CREDENTIAL_CLIENT,
      'data-dir': CLIENT_DATA_DIR,
      json: JSON_FLAG,
      help: HELP
    },
    examples: [
      'netget-peer discover orders-api',
      'netget-peer discover orders-api --filter version=1.4.0 --json',
      'netget-peer discover orders-api --watch --json',
      'netget-peer discover orders-api --network production --authority 12D3KooW... --credential reader.cred --data-dir .netget/reader'
    ]
  },
  ping: {
    name: 'ping',
    usage: 'ping PEERID|MULTIADDR [--count N] [--authority PEERID [--credential FILE --data-dir DIR]]',
    summary: 'measure the round-trip time to a peer',
    positionals: ['PEERID|MULTIADDR'],
    flags: {
      count: { type: 'string', value: 'N', description: 'how many pings (default: 1)' },
      network: NETWORK,
      registry: { ...REGISTRY, description: 'registry to find a peer ID through; repeatable (default: bootstrap.json; not needed for a multiaddr)' },
      timeout: TIMEOUT,
      'bootstrap-file': BOOTSTRAP_FILE,
      authority: AUTHORITY,
      credential: CREDENTIAL_CLIENT,
      'data-dir': CLIENT_DATA_DIR,
      json: JSON_FLAG,
      help: HELP
    },
    examples: [
      'netget-peer ping /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...',
      'netget-peer ping 12D3KooW... --registry /ip4/127.0.0.1/tcp/4001/p2p/12D3KooW...'
    ]
  },
  id: {
    name: 'id',
    usage: 'id [--data-dir DIR | --name NAME] [--network NAME]',
    summary: 'print the peer ID stored in a data dir, creating the identity if there is none',
    positionals: [],
    flags: {
      'data-dir': { type: 'string', value: 'DIR', description: 'the data dir (default: .netget/<network>/registry, or .netget/<network>/<name> with --name)' },
      name: { type: 'string', value: 'NAME', description: 'use the default data dir of this service' },
      network: NETWORK,
      json: JSON_FLAG,
      help: HELP
    },
    examples: [
      'netget-peer id',
      'netget-peer id --data-dir /var/lib/netget'
    ]
  },
  list: {
    name: 'list',
    usage: 'list URL [--json] [--timeout MS]',
    summary: 'list the services a registry holds, with their instance counts, from its HTTP port (--http)',
    positionals: ['URL'],
    flags: {
      timeout: TIMEOUT,
      json: JSON_FLAG,
      help: HELP
    },
    examples: [
      'netget-peer list http://127.0.0.1:8080',
      'netget-peer list http://127.0.0.1:8080 --json'
    ]
  },
  ...NETWORK_COMMANDS
}

const COMMAND_WORDS = new Set<string>(['register', 'discover', 'ping', 'id', 'list', 'network'])

/** The commands, as messages list them. */
const COMMAND_LIST = 'register, discover, ping, id, list, network, or --bootstrap to run a registry'

/**
 * Works out what argv (without `node` and the script) asks for. Throws
 * CommandError with {@link EXIT.USAGE} and a one-line message on any mistake.
 */
export function parseInvocation (argv: string[]): Invocation {
  const first = argv[0]

  if (first === undefined) {
    throw usage(`Missing command: give ${COMMAND_LIST}; see netget-peer --help`)
  }

  if (first === 'help') {
    const topic = argv[1]

    if (topic === undefined) {
      return { kind: 'help' }
    }

    if (topic === '--bootstrap' || topic === 'bootstrap') {
      return { kind: 'help', command: 'registry' }
    }

    if (!COMMAND_WORDS.has(topic)) {
      throw unknownCommand(topic)
    }

    if (topic === 'network') {
      return { kind: 'help', command: argv[2] === undefined ? 'network' : networkCommand(argv[2]) }
    }

    return { kind: 'help', command: topic as CommandName }
  }

  if (first === '--version' || first === '-v') {
    return { kind: 'version' }
  }

  let command: CommandName
  let rest: string[]

  if (first === 'network') {
    const word = argv[1]

    if (word === undefined) {
      throw usage('Command "network" needs a subcommand: create, grant, show or revoke; see netget-peer network --help')
    }

    if (word === '--help' || word === '-h') {
      return { kind: 'help', command: 'network' }
    }

    command = networkCommand(word)
    rest = argv.slice(2)
  } else if (COMMAND_WORDS.has(first)) {
    command = first as CommandName
    rest = argv.slice(1)
  } else if (argv.includes('--bootstrap')) {
    command = 'registry'
    rest = argv
  } else if (first === '--help' || first === '-h') {
    return { kind: 'help' }
  } else if (first.startsWith('-')) {
    throw usage(`Missing command before ${first}: give ${COMMAND_LIST}; see netget-peer --help`)
  } else {
    throw unknownCommand(first)
  }

  const parsed = parseCommand(COMMANDS[command], rest)
  return parsed.flags.help === true ? { kind: 'help', command } : { kind: 'run', parsed }
}

function parseCommand (spec: CommandSpec, args: string[]): ParsedCommand {
  const display = displayName(spec)
  const { tokens } = parseArgs({ args, strict: false, allowPositionals: true, tokens: true, options: toParseArgsOptions(spec) })
  const flags: ParsedCommand['flags'] = {}
  const positionals: string[] = []

  // --help wins over every other mistake on the line
  if (tokens.some(token => token.kind === 'option' && (token.name === 'help' || token.rawName === '-h'))) {
    return { command: spec.name, positionals, flags: { help: true } }
  }

  for (const token of tokens) {
    if (token.kind === 'positional') {
      positionals.push(token.value)
      continue
    }

    if (token.kind !== 'option') {
      continue
    }

    const flag = spec.flags[token.name]

    if (flag === undefined || token.rawName.length === 2) {
      throw usage(`Unknown flag ${token.rawName} for ${display}; run \`netget-peer ${helpTopic(spec)} --help\` to see its flags`)
    }

    if (flag.type === 'boolean') {
      if (token.value !== undefined) {
        throw usage(`Flag --${token.name} takes no value (got ${quote(token.value)}); write just --${token.name}`)
      }

      flags[token.name] = true
      continue
    }

    if (token.value === undefined || token.value === '' || (token.inlineValue !== true && token.value.startsWith('-'))) {
      throw usage(`Flag --${token.name} needs a value, like --${token.name} ${flag.value ?? 'VALUE'}`)
    }

    if (flag.multiple === true) {
      const values = (flags[token.name] as string[] | undefined) ?? []
      values.push(token.value)
      flags[token.name] = values
    } else if (flags[token.name] !== undefined) {
      throw usage(`Flag --${token.name} is given twice; give it once`)
    } else {
      flags[token.name] = token.value
    }
  }

  if (positionals.length < spec.positionals.length) {
    throw usage(`${capitalise(display)} needs ${spec.positionals.slice(positionals.length).join(' ')}: netget-peer ${spec.usage}`)
  }

  if (positionals.length > spec.positionals.length) {
    const extra = positionals[spec.positionals.length]
    throw spec.name === 'registry' && positionals.length === 1 && COMMAND_WORDS.has(extra)
      ? usage(`--bootstrap runs a registry and cannot be combined with the ${quote(extra)} command`)
      : usage(`Unexpected argument ${quote(extra)} for ${display}: netget-peer ${spec.usage}`)
  }

  return { command: spec.name, positionals, flags }
}

function toParseArgsOptions (spec: CommandSpec): Record<string, { type: 'string' | 'boolean', multiple?: boolean }> {
  const options: Record<string, { type: 'string' | 'boolean', multiple?: boolean }> = {}

  for (const [name, flag] of Object.entries(spec.flags)) {
    options[name] = flag.multiple === true ? { type: flag.type, multiple: true } : { type: flag.type }
  }

  return options
}

/** How a command is called in messages: `"discover"`, or `--bootstrap` for a registry. */
export function displayName (spec: CommandSpec): string {
  return spec.name === 'registry' ? 'netget-peer --bootstrap' : `"${spec.name}"`
}

function helpTopic (spec: CommandSpec): string {
  return spec.name === 'registry' ? '--bootstrap' : spec.name
}

function capitalise (text: string): string {
  return text.startsWith('"') ? `Command ${text}` : text
}

function unknownCommand (word: string): CommandError {
  return usage(`Unknown command ${quote(word)}: use ${COMMAND_LIST}; see netget-peer --help`)
}

/** The `network` command of the word after `network`. */
function networkCommand (word: string): NetworkCommandName {
  if (!(NETWORK_WORDS as readonly string[]).includes(word)) {
    throw usage(`Unknown network command ${quote(word)}: use create, grant, show or revoke; see netget-peer network --help`)
  }

  return `network ${word}` as NetworkCommandName
}

function usage (message: string): CommandError {
  return new CommandError(message, EXIT.USAGE)
}

/** Help text of one command, of the `network` commands, or of the whole program. */
export function helpText (command?: HelpTopic): string {
  if (command === 'network') {
    const lines = ['netget-peer network: closed networks, whose members hold credentials signed by the network\'s authority key', '', 'Usage:']

    for (const spec of Object.values(NETWORK_COMMANDS)) {
      lines.push(`  netget-peer ${spec.usage}`, `      ${spec.summary}`)
    }

    lines.push(
      '',
      'Run `netget-peer network <command> --help` for a command\'s flags. Nodes join a closed network with',
      '--authority PEERID (or networks.NAME.authority in bootstrap.json) and --credential FILE.'
    )
    return lines.join('\n')
  }

  if (command === undefined) {
    const lines = [
      'netget-peer: run and use a netget peer-to-peer service registry',
      '',
      'Usage:'
    ]

    for (const spec of Object.values(COMMANDS)) {
      lines.push(`  netget-peer ${spec.usage}`, `      ${spec.summary}`)
    }

    lines.push(
      '  netget-peer --version',
      '',
      'Run `netget-peer <command> --help` (or `netget-peer --bootstrap --help`) for a command\'s flags.',
      'Registries come from --registry, else from bootstrap.json (--bootstrap-file, $NETGET_BOOTSTRAP,',
      './bootstrap.json, or the packaged file). Debug logs: DEBUG=netget:*',
      'Exit codes: 0 ok, 1 unexpected, 2 bad command line, 3 bad bootstrap file, 4 unreachable,',
      '5 not found, 6 local resource (port in use, data dir locked), 7 credential refused, 130 interrupted.'
    )
    return lines.join('\n')
  }

  const spec = COMMANDS[command]
  const width = Math.max(...Object.entries(spec.flags).map(([name, flag]) => flagLabel(name, flag).length))
  const lines = [`Usage: netget-peer ${spec.usage}`, '', `${spec.summary[0].toUpperCase()}${spec.summary.slice(1)}.`, '', 'Flags:']

  for (const [name, flag] of Object.entries(spec.flags)) {
    lines.push(`  ${flagLabel(name, flag).padEnd(width)}  ${flag.description}`)
  }

  lines.push('', 'Examples:', ...spec.examples.map(example => `  ${example}`))
  return lines.join('\n')
}

function flagLabel (name: string, flag: FlagSpec): string {
  return flag.type === 'string' ? `--${name} ${flag.value ?? 'VALUE'}` : `--${name}`
}

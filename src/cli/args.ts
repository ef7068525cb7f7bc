/**
 * The command line of `netget-peer`: which commands exist, the flags each
 * takes, and how argv becomes a {@link ParsedCommand}. Parsing uses
 * `node:util` parseArgs tokens and checks every token itself, so each mistake
 * gets an exact one-line message (tested in test/cli.spec.ts).
 */
import { parseArgs } from 'node:util'
import { defaults } from '../index.js'
import { CommandError, EXIT, quote } from './exit-codes.js'

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

export type CommandName = 'registry' | 'register' | 'discover' | 'ping' | 'id'

/** A parsed command line. */
export interface ParsedCommand {
  command: CommandName
  positionals: string[]
  /** Flag values by flag name: string, string[] (multiple) or true (boolean). */
  flags: Record<string, string | string[] | boolean | undefined>
}

/** What argv asked for: a command to run, or help/version to print. */
export type Invocation =
  | { kind: 'run', parsed: ParsedCommand }
  | { kind: 'help', command?: CommandName }
  | { kind: 'version' }

const NETWORK: FlagSpec = { type: 'string', value: 'NAME', description: `network to join (default: ${defaults.DEFAULT_NETWORK})` }
const REGISTRY: FlagSpec = { type: 'string', multiple: true, value: 'MULTIADDR', description: 'registry address ending in /p2p/<peer id>; repeatable (default: the network\'s list in bootstrap.json)' }
const BOOTSTRAP_FILE: FlagSpec = { type: 'string', value: 'PATH', description: 'bootstrap file to read (default: $NETGET_BOOTSTRAP, ./bootstrap.json, or the packaged one)' }
const JSON_FLAG: FlagSpec = { type: 'boolean', description: 'machine-readable output (one JSON object, or JSON lines for long-running commands)' }
const HELP: FlagSpec = { type: 'boolean', description: 'show this help' }
const LISTEN: FlagSpec = { type: 'string', multiple: true, value: 'MULTIADDR', description: 'address to listen on; repeatable' }
const ANNOUNCE: FlagSpec = { type: 'string', multiple: true, value: 'MULTIADDR', description: 'address to publish instead of the listen addresses (NAT, proxy); repeatable' }
const TIMEOUT: FlagSpec = { type: 'string', value: 'MS', description: `give up after this many milliseconds (default: ${defaults.DEFAULT_OPERATION_TIMEOUT})` }

/** Every command, in the order `--help` lists them. */
export const COMMANDS: Record<CommandName, CommandSpec> = {
  registry: {
    name: 'registry',
    usage: '--bootstrap [--network NAME] [--listen MULTIADDR ...] [--announce MULTIADDR ...] [--data-dir DIR] [--http PORT]',
    summary: 'run a registry node until SIGINT/SIGTERM; prints the addresses to put in bootstrap.json',
    positionals: [],
    flags: {
      bootstrap: { type: 'boolean', description: 'run a registry (bootstrap) node' },
      network: NETWORK,
      listen: { ...LISTEN, description: 'address to listen on; repeatable (default: /ip4/0.0.0.0/tcp/4001 and /ip4/0.0.0.0/tcp/4002/ws)' },
      announce: ANNOUNCE,
      'data-dir': { type: 'string', value: 'DIR', description: 'where the identity and records persist (default: .netget/<network>/registry)' },
      registry: { ...REGISTRY, description: 'another registry of the network to peer with; repeatable (default: bootstrap.json)' },
      'bootstrap-file': BOOTSTRAP_FILE,
      http: { type: 'string', value: 'PORT', description: 'also serve HTTP on PORT (all interfaces): /netget.js, the browser bundle; / a live dashboard; /api/services as JSON' },
      json: JSON_FLAG,
      help: HELP
    },
    examples: [
      'netget-peer --bootstrap',
      'netget-peer --bootstrap --http 8080',
      'netget-peer --bootstrap --network staging --listen /ip4/0.0.0.0/tcp/4001 --announce /dns4/registry.example.com/tcp/4001'
    ]
  },
  register: {
    name: 'register',
    usage: 'register --name NAME [--meta KEY=VALUE ...] [--network NAME] [--registry MULTIADDR ...]',
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
      'bootstrap-file': BOOTSTRAP_FILE,
      json: JSON_FLAG,
      help: HELP
    },
    examples: [
      'netget-peer register --name orders-api --meta url=http://10.0.0.7:8080 --meta version=1.4.0'
    ]
  },
  discover: {
    name: 'discover',
    usage: 'discover NAME [--filter KEY=VALUE ...] [--all] [--json]',
    summary: 'print the live instances of a service (exit 5 when there is none)',
    positionals: ['NAME'],
    flags: {
      filter: { type: 'string', multiple: true, value: 'KEY=VALUE', description: 'keep instances whose metadata has KEY equal to VALUE; repeatable' },
      all: { type: 'boolean', description: 'include instances that do not answer pings' },
      network: NETWORK,
      registry: REGISTRY,
      timeout: TIMEOUT,
      'bootstrap-file': BOOTSTRAP_FILE,
      json: JSON_FLAG,
      help: HELP
    },
    examples: [
      'netget-peer discover orders-api',
      'netget-peer discover orders-api --filter version=1.4.0 --json'
    ]
  },
  ping: {
    name: 'ping',
    usage: 'ping PEERID|MULTIADDR [--count N]',
    summary: 'measure the round-trip time to a peer',
    positionals: ['PEERID|MULTIADDR'],
    flags: {
      count: { type: 'string', value: 'N', description: 'how many pings (default: 1)' },
      network: NETWORK,
      registry: { ...REGISTRY, description: 'registry to find a peer ID through; repeatable (default: bootstrap.json; not needed for a multiaddr)' },
      timeout: TIMEOUT,
      'bootstrap-file': BOOTSTRAP_FILE,
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
  }
}

const COMMAND_WORDS = new Set<string>(['register', 'discover', 'ping', 'id'])

/**
 * Works out what argv (without `node` and the script) asks for. Throws
 * CommandError with {@link EXIT.USAGE} and a one-line message on any mistake.
 */
export function parseInvocation (argv: string[]): Invocation {
  const first = argv[0]

  if (first === undefined) {
    throw usage('Missing command: give register, discover, ping, id, or --bootstrap to run a registry; see netget-peer --help')
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

    return { kind: 'help', command: topic as CommandName }
  }

  if (first === '--version' || first === '-v') {
    return { kind: 'version' }
  }

  let command: CommandName
  let rest: string[]

  if (COMMAND_WORDS.has(first)) {
    command = first as CommandName
    rest = argv.slice(1)
  } else if (argv.includes('--bootstrap')) {
    command = 'registry'
    rest = argv
  } else if (first === '--help' || first === '-h') {
    return { kind: 'help' }
  } else if (first.startsWith('-')) {
    throw usage(`Missing command before ${first}: give register, discover, ping, id, or --bootstrap to run a registry; see netget-peer --help`)
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
  return usage(`Unknown command ${quote(word)}: use register, discover, ping, id, or --bootstrap to run a registry; see netget-peer --help`)
}

function usage (message: string): CommandError {
  return new CommandError(message, EXIT.USAGE)
}

/** Help text of one command, or of the whole program. */
export function helpText (command?: CommandName): string {
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
      '5 not found, 6 local resource (port in use, data dir locked), 130 interrupted.'
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

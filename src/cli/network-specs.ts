/**
 * The `netget-peer network ...` commands of a closed network: create its
 * authority key, grant credentials, show a credential or revocation, revoke.
 */
import { defaults } from '../index.js'
import { AUTHORITY_KEY, BOOTSTRAP_FILE, HELP, JSON_FLAG, TIMEOUT } from './spec.js'
import type { CommandSpec, FlagSpec, NetworkCommandName } from './spec.js'

const DAY = 86_400_000

/** The file `network create` writes in its --out directory. */
export const AUTHORITY_KEY_FILE = 'authority.key'

const NETWORK_NAME: FlagSpec = { type: 'string', value: 'NAME', description: 'the network\'s name, as given to `network create`' }
const PEER: FlagSpec = { type: 'string', value: 'PEERID', description: 'the peer concerned (its peer ID: `netget-peer id`, or printed when a node starts)' }

/** The words after `network`, in the order help lists them. */
export const NETWORK_WORDS = ['create', 'grant', 'show', 'revoke'] as const

export const NETWORK_COMMANDS: Record<NetworkCommandName, CommandSpec> = {
  'network create': {
    name: 'network create',
    usage: 'network create NAME --out DIR [--json]',
    summary: 'create a closed network: write its authority key to DIR/authority.key and print its bootstrap.json entry',
    positionals: ['NAME'],
    flags: {
      out: { type: 'string', value: 'DIR', description: `directory to write ${AUTHORITY_KEY_FILE} to (mode 0600; an existing key is never overwritten)` },
      json: JSON_FLAG,
      help: HELP
    },
    examples: [
      'netget-peer network create production --out ./production-authority'
    ]
  },
  'network grant': {
    name: 'network grant',
    usage: 'network grant --authority-key FILE --network NAME --peer PEERID --role ROLE [--names PATTERN ...] [--ttl DURATION] --out FILE [--json]',
    summary: 'sign a credential letting one peer publish, read or serve a closed network',
    positionals: [],
    flags: {
      'authority-key': AUTHORITY_KEY,
      network: NETWORK_NAME,
      peer: { ...PEER, description: 'the peer the credential is for (its peer ID: `netget-peer id`)' },
      role: { type: 'string', value: 'ROLE', description: 'publish (look up and publish --names), read (look up) or registry (serve the network)' },
      names: { type: 'string', multiple: true, value: 'PATTERN', description: 'role publish: a service name or a prefix ending in * (\'orders-*\'; \'*\' for every name); repeatable' },
      ttl: { type: 'string', value: 'DURATION', description: `how long it is valid: 90s, 30m, 12h, 7d or milliseconds (default: ${defaults.DEFAULT_CREDENTIAL_TTL / 3_600_000}h, at most ${defaults.MAX_CREDENTIAL_TTL / DAY}d)` },
      out: { type: 'string', value: 'FILE', description: 'where to write the credential (mode 0600; replaced atomically, so a running node picks up a renewal)' },
      json: JSON_FLAG,
      help: HELP
    },
    examples: [
      'netget-peer network grant --authority-key ./production-authority/authority.key --network production --peer 12D3KooW... --role registry --out registry.cred',
      'netget-peer network grant --authority-key ./production-authority/authority.key --network production --peer 12D3KooW... --role publish --names orders-api --names \'billing-*\' --ttl 7d --out orders.cred'
    ]
  },
  'network show': {
    name: 'network show',
    usage: 'network show FILE [--json]',
    summary: 'verify and print a credential or a revocation file (and whether it has expired)',
    positionals: ['FILE'],
    flags: {
      json: JSON_FLAG,
      help: HELP
    },
    examples: [
      'netget-peer network show orders.cred',
      'netget-peer network show orders.cred --json'
    ]
  },
  'network revoke': {
    name: 'network revoke',
    usage: 'network revoke --authority-key FILE --network NAME --peer PEERID [--credential-id ID] --out FILE [--registry MULTIADDR ...]',
    summary: 'sign a revocation of a peer\'s credentials, write it to FILE and hand it to the network\'s registries',
    positionals: [],
    flags: {
      'authority-key': AUTHORITY_KEY,
      network: NETWORK_NAME,
      peer: { ...PEER, description: 'the peer whose credentials are void (all those issued until now, unless --credential-id)' },
      'credential-id': { type: 'string', value: 'ID', description: 'revoke only this credential (the 16 hex digits `network grant` and `network show` print)' },
      out: { type: 'string', value: 'FILE', description: 'where to write the revocation (mode 0600)' },
      registry: { type: 'string', multiple: true, value: 'MULTIADDR', description: 'registry to hand it to; repeatable (default: the network\'s list in bootstrap.json; none: only the file is written)' },
      'bootstrap-file': BOOTSTRAP_FILE,
      timeout: TIMEOUT,
      json: JSON_FLAG,
      help: HELP
    },
    examples: [
      'netget-peer network revoke --authority-key ./production-authority/authority.key --network production --peer 12D3KooW... --out revoked.rev',
      'netget-peer network revoke --authority-key ./production-authority/authority.key --network production --peer 12D3KooW... --credential-id 0123456789abcdef --out revoked.rev --registry /ip4/10.0.0.5/tcp/4001/p2p/12D3KooW...'
    ]
  }
}

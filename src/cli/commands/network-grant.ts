/**
 * `netget-peer network grant`: signs a credential with the network's
 * authority key, writes it to --out (mode 0600) and prints what it grants.
 */
import { CREDENTIAL_ROLES, defaults, isNamePattern, issueCredential } from '../../index.js'
import { listFlag, stringFlag } from '../context.js'
import { CommandError, EXIT, quote } from '../exit-codes.js'
import { formatCredential } from './network-show.js'
import { checkNetworkName, parseDuration, peerIdFlag, readAuthorityKey, requiredFlag, writePrivateFile } from './network-input.js'
import type { CredentialRole } from '../../index.js'
import type { CommandContext } from '../context.js'

export async function runNetworkGrant ({ parsed, out }: CommandContext): Promise<number> {
  // every flag is checked before the key is read and anything is written
  const network = checkNetworkName(requiredFlag(parsed, 'network', 'NAME, the network the credential is for'), '--network')
  const peer = peerIdFlag(parsed, 'peer')
  const role = roleFlag(parsed)
  const names = namesFlag(parsed, role)
  const ttlText = stringFlag(parsed, 'ttl')
  const ttl = ttlText === undefined ? defaults.DEFAULT_CREDENTIAL_TTL : parseDuration(ttlText, '--ttl', defaults.MAX_CREDENTIAL_TTL)
  const path = requiredFlag(parsed, 'out', 'FILE, where to write the credential')
  const authorityKey = await readAuthorityKey(parsed)

  const { credential, envelope } = await issueCredential({ network, peer, role, names, ttl }, authorityKey)
  const file = await writePrivateFile(path, envelope, '--out')

  out.result({ file, ...credential }, () => [
    `Granted role ${role} on network "${network}" to ${peer}; wrote ${file} (mode 0600)`,
    ...formatCredential(credential)
  ])
  return EXIT.OK
}

function roleFlag (parsed: CommandContext['parsed']): CredentialRole {
  const role = requiredFlag(parsed, 'role', `ROLE, one of ${CREDENTIAL_ROLES.join(', ')}`)

  if (!(CREDENTIAL_ROLES as readonly string[]).includes(role)) {
    throw new CommandError(`Unknown --role ${quote(role)}: give publish (look up and publish --names), read (look up) or registry (serve the network)`, EXIT.USAGE)
  }

  return role as CredentialRole
}

function namesFlag (parsed: CommandContext['parsed'], role: CredentialRole): string[] | undefined {
  const names = listFlag(parsed, 'names')

  if (role !== 'publish') {
    if (names.length > 0) {
      throw new CommandError(`--names is for --role publish only: a ${role} credential grants no service names`, EXIT.USAGE)
    }

    return undefined
  }

  if (names.length === 0) {
    throw new CommandError('--role publish needs --names: the service names it may publish, like --names orders-api or --names \'orders-*\' (\'*\' for every name)', EXIT.USAGE)
  }

  const bad = names.find(name => !isNamePattern(name))

  if (bad !== undefined) {
    throw new CommandError(`Bad --names ${quote(bad)}: give a service name (1 to 64 letters, digits and inner . _ -) or a prefix ending in *, like 'orders-*' ('*' alone for every name)`, EXIT.USAGE)
  }

  if (names.length > defaults.MAX_CREDENTIAL_NAMES) {
    throw new CommandError(`--names is given ${names.length} times; a credential holds at most ${defaults.MAX_CREDENTIAL_NAMES} names or patterns (use a prefix pattern like 'orders-*')`, EXIT.USAGE)
  }

  return [...new Set(names)]
}

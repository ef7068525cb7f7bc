/**
 * `netget-peer network revoke`: signs a revocation of a peer's credentials
 * (all issued until now, or one by id), writes it to --out (mode 0600), and
 * hands it to the network's registries, which keep it and pass it on to
 * every peer. The registries are --registry, else the network's list in
 * bootstrap.json; with none, only the file is written.
 *
 * To reach registries that restrict reads, the command's own short-lived
 * node gets a `read` credential that the command issues for its key.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { issueCredential, issueRevocation, loadBootstrapList, Netget, resolveBootstrapPath } from '../../index.js'
import { commandSignal, DEFAULT_CLI_TIMEOUT, interpretAbort, listOption, numberFlag, registrySource, stringFlag } from '../context.js'
import { CommandError, describeFailure, EXIT, quote } from '../exit-codes.js'
import { checkNetworkName, peerIdFlag, readAuthorityKey, requiredFlag, writePrivateFile } from './network-input.js'
import { formatRevocation } from './network-show.js'
import type { SealedRevocation } from '../../index.js'
import type { CommandContext } from '../context.js'
import type { PrivateKey } from '@libp2p/interface'

/** How much longer than the command's timeout its own read credential lasts, in ms. */
const OWN_CREDENTIAL_MARGIN = 60_000

export async function runNetworkRevoke ({ parsed, io, out }: CommandContext): Promise<number> {
  const network = checkNetworkName(requiredFlag(parsed, 'network', 'NAME, the network of the credentials'), '--network')
  const peer = peerIdFlag(parsed, 'peer')
  const credentialId = stringFlag(parsed, 'credential-id')

  if (credentialId !== undefined && !/^[0-9a-f]{16}$/.test(credentialId)) {
    throw new CommandError(`Bad --credential-id ${quote(credentialId)}: give the 16 lowercase hex digits \`netget-peer network show\` prints as the credential's id`, EXIT.USAGE)
  }

  const path = requiredFlag(parsed, 'out', 'FILE, where to write the revocation')
  const timeout = numberFlag(parsed, 'timeout') ?? DEFAULT_CLI_TIMEOUT
  const authorityKey = await readAuthorityKey(parsed)
  const authority = peerIdFromPrivateKey(authorityKey).toString()
  const registries = await registriesOf(parsed, io, network, authority)

  // the node is made first: new Netget() checks the --registry addresses before anything is written
  const node = registries.length === 0 ? undefined : await ownNode({ network, authority, registries, timeout, authorityKey })
  let sealed: SealedRevocation
  let file: string
  let published = 0

  try {
    sealed = await issueRevocation({ network, peer, credentialId }, authorityKey)
    file = await writePrivateFile(path, sealed.envelope, '--out')

    if (node !== undefined) {
      out.progress(`Wrote ${file}; handing it to ${registries.length} registr${registries.length === 1 ? 'y' : 'ies'} of network "${network}"`)
      published = await publish(node, sealed.envelope, { file, network, registries: registries.length, timeout, io })
    }
  } finally {
    await node?.stop()
  }

  const { revocation } = sealed
  out.result({ file, ...revocation, registries: registries.length, published }, () => [
    `Revoked ${credentialId === undefined ? 'every credential' : `credential ${credentialId}`} of ${peer} on network "${network}"; wrote ${file} (mode 0600)`,
    ...formatRevocation(revocation),
    registries.length === 0
      ? 'Handed to no registry (none given with --registry, none listed in bootstrap.json): run `netget-peer network revoke ... --registry MULTIADDR` to hand it over'
      : `${published} of ${registries.length} registr${registries.length === 1 ? 'y' : 'ies'} took it; they pass it on to every peer`
  ])
  return EXIT.OK
}

/**
 * The registries to hand the revocation to: --registry, else the network's
 * list in the bootstrap file, which must not name another authority.
 */
async function registriesOf (parsed: CommandContext['parsed'], io: CommandContext['io'], network: string, authority: string): Promise<string[]> {
  const given = listOption(parsed, 'registry')

  if (given !== undefined) {
    return given
  }

  const path = resolveBootstrapPath(registrySource(parsed, io).bootstrapFile)
  const list = await loadBootstrapList(path)
  const listed = list.authorities[network]

  if (listed !== undefined && listed !== authority) {
    throw new CommandError(`${path} names authority ${listed} for network "${network}", but --authority-key is the key of ${authority}: give that network's authority.key, or pass --registry`, EXIT.USAGE)
  }

  return list.networks[network] ?? []
}

/** A node of the network for this command alone: a new key, and a short-lived read credential for it signed with the authority key. */
async function ownNode ({ network, authority, registries, timeout, authorityKey }: { network: string, authority: string, registries: string[], timeout: number, authorityKey: PrivateKey }): Promise<Netget> {
  const privateKey = await generateKeyPair('Ed25519')
  const own = await issueCredential({ network, peer: peerIdFromPrivateKey(privateKey).toString(), role: 'read', ttl: timeout + OWN_CREDENTIAL_MARGIN }, authorityKey)
  return new Netget({ network, authority, privateKey, credential: own.envelope, registryNodes: registries, dataDir: false, operationTimeout: timeout })
}

/** Hands the revocation to the node's registries; resolves with how many took it, and fails (saying the file is written) if none did. */
async function publish (node: Netget, envelope: Uint8Array, { file, network, registries, timeout, io }: { file: string, network: string, registries: number, timeout: number, io: CommandContext['io'] }): Promise<number> {
  const { signal, timedOut } = commandSignal(io, timeout)
  let published: number

  try {
    published = await node.publishRevocation(envelope, { signal })
  } catch (err) {
    const failure = describeFailure(interpretAbort(err, io, 'handing the revocation to the registries', timeout, timedOut()))
    throw new CommandError(`Wrote ${file}, but could not hand it to a registry: ${failure.message}`, failure.exitCode, { cause: err })
  }

  if (published === 0) {
    throw new CommandError(`Wrote ${file}, but none of the ${registries} registr${registries === 1 ? 'y' : 'ies'} took it; check that they serve network "${network}" of this authority, then run the command again`, EXIT.UNREACHABLE)
  }

  return published
}

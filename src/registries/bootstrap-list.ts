import { BOOTSTRAP_FILE_VERSION, NETWORK_NAME_PATTERN } from '../constants.js'
import { InvalidBootstrapFileError, InvalidOptionsError } from '../errors.js'
import { isPeerIdString } from '../protocol/names.js'
import { isPlainObject } from '../records/record.js'
import { parseRegistryAddress } from './registry-address.js'
import { preview } from '../text.js'

/** The parsed content of a bootstrap.json file: each network's registry multiaddrs. */
export interface BootstrapList {
  /** The file it was read from. */
  path: string
  /** Registry multiaddrs by network name, each ending in `/p2p/<peer id>`. */
  networks: Record<string, string[]>
  /** The authority's peer ID of each closed network listed (`networks.NAME.authority`). */
  authorities: Record<string, string>
}

/**
 * Checks the text of a bootstrap file (see the README, "bootstrap.json"):
 * its shape, every network name and registry address, no address repeated
 * within a network, and no registry (peer ID) listed under two networks —
 * a registry serves one network, so that is an address pasted into the wrong
 * list. Throws InvalidBootstrapFileError naming the file, the faulty entry
 * and how to fix it.
 */
export function parseBootstrapList (text: string, path: string): BootstrapList {
  const fail = (message: string, cause?: unknown): never => {
    throw new InvalidBootstrapFileError(`Bootstrap file ${path}: ${message}`, path, cause === undefined ? undefined : { cause })
  }
  let parsed: unknown

  try {
    parsed = JSON.parse(text)
  } catch (err) {
    return fail(`is not valid JSON (${(err as Error).message})`, err)
  }

  if (!isPlainObject(parsed)) {
    return fail('must be a JSON object like {"version": 1, "networks": {"development": {"registryNodes": []}}}')
  }

  if (parsed.version !== BOOTSTRAP_FILE_VERSION) {
    return fail(`"version" must be ${BOOTSTRAP_FILE_VERSION}, got ${preview(parsed.version)}`)
  }

  if (!isPlainObject(parsed.networks)) {
    return fail('"networks" must be an object mapping network names to {"registryNodes": [...]}')
  }

  const networks: Record<string, string[]> = {}
  const authorities: Record<string, string> = {}
  /** The network each registry peer ID is listed under so far. */
  const networkOf = new Map<string, string>()

  for (const [network, entry] of Object.entries(parsed.networks)) {
    if (!NETWORK_NAME_PATTERN.test(network)) {
      return fail(`network name ${preview(network)} is invalid: use 1 to 32 lowercase letters, digits or inner dashes`)
    }

    if (!isPlainObject(entry) || !Array.isArray(entry.registryNodes)) {
      return fail(`networks.${network} must be an object with a "registryNodes" array`)
    }

    const seen = new Set<string>()
    if (entry.authority !== undefined) {
      if (!isPeerIdString(entry.authority)) {
        return fail(`networks.${network}.authority must be the peer ID of the network's authority (12D3KooW...), got ${preview(entry.authority)}`)
      }

      authorities[network] = entry.authority
    }

    networks[network] = entry.registryNodes.map((address: unknown, index: number) => {
      const where = `networks.${network}.registryNodes[${index}]`
      let peerId: string

      try {
        peerId = parseRegistryAddress(address, where).peerId.toString()
      } catch (err) {
        return fail((err as InvalidOptionsError).message, err)
      }

      if (seen.has(address as string)) {
        return fail(`${where} repeats ${preview(address)}`)
      }

      const other = networkOf.get(peerId)

      if (other !== undefined && other !== network) {
        return fail(`registry ${peerId} is listed under both networks.${other} and networks.${network}, but a registry serves one network; remove it from the wrong list`)
      }

      seen.add(address as string)
      networkOf.set(peerId, network)
      return address as string
    })
  }

  return { path, networks, authorities }
}

/**
 * `netget-peer network create NAME --out DIR`: creates a closed network's
 * authority key (`DIR/authority.key`, mode 0600, never overwritten) and
 * prints the network's descriptor: its name, the authority's peer ID, and
 * the bootstrap.json entry to paste.
 */
import { join, resolve } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { createKeyFile } from '../../index.js'
import { EXIT } from '../exit-codes.js'
import { AUTHORITY_KEY_FILE } from '../network-specs.js'
import { checkNetworkName, requiredFlag } from './network-input.js'
import type { CommandContext } from '../context.js'

export async function runNetworkCreate ({ parsed, out }: CommandContext): Promise<number> {
  const network = checkNetworkName(parsed.positionals[0], 'NAME')
  const dir = requiredFlag(parsed, 'out', 'DIR, the directory to write authority.key to')
  const keyFile = join(resolve(dir), AUTHORITY_KEY_FILE)
  // refuses to overwrite (exit 6): an authority key is the network itself
  const authority = peerIdFromPrivateKey(await createKeyFile(keyFile)).toString()
  const bootstrapEntry = { authority, registryNodes: [] }

  out.result({ network, authority, authorityKey: keyFile, bootstrapEntry }, () => [
    `Created the closed network "${network}"`,
    `  authority      ${authority}`,
    `  authority key  ${keyFile} (mode 0600: keep it secret and backed up; it signs every credential, and a lost key means a new network)`,
    'Add to bootstrap.json under "networks" (and each registry\'s address to registryNodes):',
    `  ${JSON.stringify(network)}: ${JSON.stringify(bootstrapEntry).replace(/":/g, '": ').replace(/,"/g, ', "')}`,
    'Next, grant each registry a credential:',
    `  netget-peer network grant --authority-key ${keyFile} --network ${network} --peer <registry peer ID> --role registry --out registry.cred`
  ])
  return EXIT.OK
}

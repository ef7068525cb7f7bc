/**
 * `netget-peer id`: prints the peer ID stored in a data dir, creating the
 * identity (an Ed25519 key in `peer.key`, mode 0600) if there is none.
 */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { loadOrCreateKey } from '../../identity/key-store.js'
import { KEY_FILE } from '../../constants.js'
import { SERVICE_NAME_PATTERN } from '../../constants.js'
import { dataDirFlag, networkFlag, stringFlag } from '../context.js'
import { guardDataDir } from '../data-dir.js'
import { CommandError, EXIT } from '../exit-codes.js'
import type { CommandContext } from '../context.js'
import { preview } from '../../text.js'

export async function runId ({ parsed, out }: CommandContext): Promise<number> {
  const network = networkFlag(parsed)
  const name = stringFlag(parsed, 'name')
  const explicit = parsed.flags['data-dir'] === undefined ? undefined : dataDirFlag(parsed, '')

  if (name !== undefined && explicit !== undefined) {
    throw new CommandError('Give --data-dir or --name, not both', EXIT.USAGE)
  }

  if (name !== undefined && !SERVICE_NAME_PATTERN.test(name)) {
    throw new CommandError(`Bad --name ${preview(name)}: a service name is 1 to 64 letters, digits and inner ".", "_" or "-", like orders-api`, EXIT.USAGE)
  }

  const dataDir = resolve(explicit ?? `.netget/${network}/${name ?? 'registry'}`)
  const keyFile = join(dataDir, KEY_FILE)
  const created = !existsSync(keyFile)
  const guard = await guardDataDir(dataDir)
  let peerId: string

  try {
    peerId = peerIdFromPrivateKey(await loadOrCreateKey(dataDir)).toString()
  } catch (err) {
    await guard.rollback()
    throw err
  }

  out.progress(created ? `created a new identity in ${keyFile}` : `identity read from ${keyFile}`)
  out.result({ peerId, dataDir, keyFile, created }, () => [peerId])
  return EXIT.OK
}

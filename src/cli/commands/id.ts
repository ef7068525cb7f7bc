/**
 * `netget-peer id`: prints the peer ID stored in a data dir, creating the
 * identity (an Ed25519 key in `peer.key`, mode 0600) if there is none. The
 * data dir defaults as the library's does: a registry's, or with --name that
 * service's.
 */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { defaults, loadOrCreateKey, Netget } from '../../index.js'
import { stringFlag } from '../context.js'
import { guardDataDir } from '../data-dir.js'
import { CommandError, EXIT } from '../exit-codes.js'
import type { CommandContext } from '../context.js'

export async function runId ({ parsed, out }: CommandContext): Promise<number> {
  const name = stringFlag(parsed, 'name')
  const given = stringFlag(parsed, 'data-dir')

  if (name !== undefined && given !== undefined) {
    throw new CommandError('Give --data-dir or --name, not both', EXIT.USAGE)
  }

  // never started: the node checks the flags and works out the default data dir
  const { config } = new Netget({
    nodeType: name === undefined ? 'registry' : 'service',
    network: stringFlag(parsed, 'network'),
    metadata: name === undefined ? undefined : { name },
    dataDir: given
  })
  const dataDir = resolve(String(config.dataDir))
  const keyFile = join(dataDir, defaults.KEY_FILE)
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

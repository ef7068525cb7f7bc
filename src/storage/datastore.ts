/*
 * A node's datastore on Node. A browser keeps everything in memory:
 * `datastore.browser.ts` exports the same names (package.json "browser").
 */
import { mkdir } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { MemoryDatastore, MountDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import { Key } from 'interface-datastore'
import { dhtDatastorePrefix } from '../protocol/ids.js'
import type { NodeDatastore, OpenDatastoreInit } from './types.js'

/**
 * Opens a node's datastore. A registry with a data directory keeps its DHT's
 * records and provider entries in LevelDB (`<dataDir>/datastore`; each
 * other network it serves in `<dataDir>/networks/<network>/datastore`, the
 * network id URI-encoded); libp2p's peer store changes on every stream and
 * stays in memory. Every other node keeps everything in memory.
 */
export async function openDatastore (init: OpenDatastoreInit): Promise<NodeDatastore> {
  if (!init.persistent || init.dataDir === false) {
    return { datastore: new MemoryDatastore(), close: async () => {} }
  }

  const dataDir = init.dataDir
  const networks = [
    { network: init.network, path: join(dataDir, 'datastore') },
    ...(init.moreNetworks ?? []).map(network => ({ network, path: join(dataDir, 'networks', encodeURIComponent(network), 'datastore') }))
  ]
  const opened: LevelDatastore[] = []

  try {
    for (const { path } of networks) {
      await mkdir(dirname(path), { recursive: true })
      const level = new LevelDatastore(path)
      await level.open()
      opened.push(level)
    }
  } catch (err) {
    await Promise.all(opened.map(async level => { await level.close() }))
    throw err
  }

  return {
    datastore: new MountDatastore([
      ...networks.map(({ network }, i) => ({ prefix: new Key(dhtDatastorePrefix(network)), datastore: opened[i] })),
      { prefix: new Key('/'), datastore: new MemoryDatastore() }
    ]),
    close: async () => { await Promise.all(opened.map(async level => { await level.close() })) }
  }
}

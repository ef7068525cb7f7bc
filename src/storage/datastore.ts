/*
 * A node's datastore on Node. A browser keeps everything in memory:
 * `datastore.browser.ts` exports the same names (package.json "browser").
 */
import { join } from 'node:path'
import { MemoryDatastore, MountDatastore } from 'datastore-core'
import { LevelDatastore } from 'datastore-level'
import { Key } from 'interface-datastore'
import { dhtDatastorePrefix } from '../protocol/ids.js'
import type { NodeDatastore, OpenDatastoreInit } from './types.js'

/**
 * Opens a node's datastore. A registry with a data directory keeps its DHT's
 * records and provider entries in LevelDB (`<dataDir>/datastore`); libp2p's
 * peer store changes on every stream and stays in memory. Every other node
 * keeps everything in memory.
 */
export async function openDatastore (init: OpenDatastoreInit): Promise<NodeDatastore> {
  if (!init.persistent || init.dataDir === false) {
    return { datastore: new MemoryDatastore(), close: async () => {} }
  }

  const level = new LevelDatastore(join(init.dataDir, 'datastore'))
  await level.open()

  return {
    datastore: new MountDatastore([
      { prefix: new Key(dhtDatastorePrefix(init.network)), datastore: level },
      { prefix: new Key('/'), datastore: new MemoryDatastore() }
    ]),
    close: async () => { await level.close() }
  }
}

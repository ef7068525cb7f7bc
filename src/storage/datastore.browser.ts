/*
 * A node's datastore in a browser: memory only. Same exports as
 * `datastore.ts`, which package.json's "browser" field replaces with this file.
 */
import { MemoryDatastore } from 'datastore-core'
import { UnsupportedOperationError } from '../errors.js'
import type { NodeDatastore, OpenDatastoreInit } from './types.js'

/** Opens an in-memory datastore; a persistent one (a registry's) is not available in a browser. */
export async function openDatastore (init: OpenDatastoreInit): Promise<NodeDatastore> {
  if (init.persistent && init.dataDir !== false) {
    throw new UnsupportedOperationError('A browser cannot run a registry node (no persistent datastore)')
  }

  return { datastore: new MemoryDatastore(), close: async () => {} }
}

/**
 * Where a node keeps its datastore. `datastore.ts` (Node: LevelDB for a
 * registry's records) and `datastore.browser.ts` (memory) export the same
 * names; package.json's "browser" field picks one.
 */
import type { Datastore } from 'interface-datastore'

/** What {@link openDatastore} needs. */
export interface OpenDatastoreInit {
  /** The network whose DHT keys are persisted. */
  network: string
  /** The node's data directory, or false for memory only. */
  dataDir: string | false
  /** true for registries: keep the DHT's records on disk. */
  persistent: boolean
}

/** An open datastore and how to close it. */
export interface NodeDatastore {
  datastore: Datastore
  close(): Promise<void>
}

export { openDatastore } from './datastore.js'

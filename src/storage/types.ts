/** The contract of a node's datastore, shared by `datastore.ts` and `datastore.browser.ts`. */
import type { Datastore } from 'interface-datastore'

/** What {@link openDatastore} needs. */
export interface OpenDatastoreInit {
  /** The network whose DHT keys are persisted. */
  network: string
  /**
   * A registry serving several networks: the others, each persisted in a
   * LevelDB of its own (`<dataDir>/networks/<network>/datastore`).
   * @default none
   */
  moreNetworks?: string[]
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

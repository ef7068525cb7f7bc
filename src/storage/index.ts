/**
 * Where a node keeps its datastore. `datastore.ts` (Node: LevelDB for a
 * registry's records) and `datastore.browser.ts` (memory) export the same
 * names; package.json's "browser" field picks one.
 */
export type { NodeDatastore, OpenDatastoreInit } from './types.js'
export { openDatastore } from './datastore.js'

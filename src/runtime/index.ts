/**
 * The runtime of a netget node: one {@link Runtime} per `Netget` object owns
 * every feature the node runs (registry connections, announcing, discovery,
 * health, and for registries the record index, lookup server and pruning,
 * plus channels). `Netget` is a facade over it.
 */
export type { RuntimeEvents, RuntimeInit } from './types.js'
export { Runtime } from './runtime.js'

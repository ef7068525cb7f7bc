/**
 * Registry federation: range-fingerprint anti-entropy between the
 * registries of a network, pushes of each accepted record, and registry
 * peer exchange (docs/PROTOCOL.md §17).
 */
export { SyncService } from './sync-service.js'
export type { SyncAccess, SyncServiceInit, SyncStats, SyncComponents, SyncRevocations } from './sync-service.js'
export { RevocationReconciler, RevocationSnapshot, revocationDigest, revocationId } from './revocation-exchange.js'
export { dropRevoked } from './revoked-records.js'
export { SyncSet, SyncSnapshot, fingerprint, itemId, itemHash } from './sync-set.js'
export { Reconciler } from './reconciler.js'
export { runInitiator, runResponder } from './sync-session.js'

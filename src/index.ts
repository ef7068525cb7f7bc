/**
 * @packageDocumentation
 *
 * netget: a peer-to-peer service registry. A service publishes a signed record
 * of itself to its network's Kademlia DHT; anyone on the network discovers its
 * live instances by name.
 *
 * @example Publish a service
 *
 * ```ts
 * import { Netget } from 'netget'
 *
 * const db = new Netget({
 *   network: 'production',
 *   metadata: { name: 'DatabaseService', version: '1.4.0' },
 *   registryNodes: ['/ip4/203.0.113.5/tcp/4001/p2p/12D3KooW...']
 * })
 * await db.registerWithNetwork()
 * ```
 *
 * @example Discover it
 *
 * ```ts
 * const client = new Netget({ network: 'production' })
 * const instances = await client.discoverServiceNode('DatabaseService')
 * ```
 */
import './polyfills.js'

export { Netget } from './netget.js'
export type { ServiceInstance, InstanceHealth, NetgetEvents, RegistryEventDetail, RegistryObserver, DiscoverOptions, NetgetStatus, StopOptions } from './netget.js'
export type { NetgetInit, NetgetConfig, NodeType } from './options/index.js'
export type { AnnounceResult } from './service/announcer.js'
export { ServiceWatch } from './watch/service-watch.js'
export type { WatchOptions, ServiceWatchEvents } from './watch/service-watch.js'
export type { WatchEvent } from './watch/watch-view.js'
export type { PickOptions, PickStrategy } from './discovery/pick-instance.js'
export { ATTESTATION_DOMAIN, ATTESTATION_PAYLOAD_TYPE, sealAttestation, verifyAttestation } from './liveness/attestation.js'
export type { Attestation, VerifiedAttestation, AttestationExpectations } from './liveness/attestation.js'
export type { CheckResult, CheckStatus, CheckTiming, HttpCheck, RunCheck, ServiceCheck, ServiceDeregisteredDetail, ServiceStatusDetail, TcpCheck } from './checks/types.js'
export type { ServiceRecord, ServiceMetadata } from './records/record.js'
export type { BootstrapList } from './registries/bootstrap-list.js'
export type { SyncStats } from './sync/index.js'
export { parseBootstrapList } from './registries/bootstrap-list.js'
export { loadBootstrapList, PACKAGED_BOOTSTRAP_FILE, resolveBootstrapPath } from './registries/bootstrap-file.js'
export { loadOrCreateKey, createKeyFile, readKeyFile } from './identity/key-store.js'
export { CREDENTIAL_DOMAIN, CREDENTIAL_PAYLOAD_TYPE, CREDENTIAL_ROLES, issueCredential, openCredential, checkCredential, encodeCredential, decodeCredential } from './trust/credential.js'
export type { Credential, CredentialRole, SealedCredential, IssueCredentialInit, CredentialExpectations } from './trust/credential.js'
export { REVOCATION_DOMAIN, REVOCATION_PAYLOAD_TYPE, issueRevocation, openRevocation } from './trust/revocation.js'
export type { Revocation, SealedRevocation } from './trust/revocation.js'
export { isNamePattern, matchesNamePattern } from './trust/names.js'
export { networkNamespace } from './protocol/ids.js'
export { parsePeerTarget } from './protocol/names.js'
export { BOOTSTRAP_FILE_ENV } from './constants.js'
export { RECORD_DOMAIN, RECORD_PAYLOAD_TYPE, encodeRecord, decodeRecord, sealRecord } from './records/record.js'
export { recordKey, serviceCid } from './records/keys.js'
export { verifyRecord } from './records/verify.js'
export { healthWindow } from './health/health-monitor.js'
export { dhtProtocol, lookupProtocol } from './protocol/ids.js'
export * from './errors.js'
export * as defaults from './constants.js'
export { Channel, channelProtocol, DEFAULT_MAX_CHANNEL_MESSAGE_BYTES } from './channel/index.js'
export type { ChannelEvents, ChannelCloseDetail, ChannelHandler, ChannelTarget, HandleChannelsOptions, OpenChannelOptions } from './channel/index.js'
export { startRegistryHttp } from './http/http-server.js'
export type { ApiResponseHead, LivenessEvent, RegistryHttp, RegistryHttpInit, ServiceEntry, ServiceEvent, ServiceResponse, ServicesResponse, SnapshotEvent, SnapshotLimits } from './http/http-server.js'
export type { ListServicesOptions, ServiceSummary } from './registry/service-list.js'

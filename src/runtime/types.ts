/** What a {@link Runtime} is made from and reports to its owner. */
import type { ServiceDeregisteredDetail, ServiceStatusDetail } from '../checks/index.js'
import type { NetgetConfig } from '../options/index.js'
import type { RegistryAddress } from '../registries/registry-address.js'
import type { AnnounceResult } from '../service/announcer.js'
import type { ServiceInstance } from '../types.js'
import type { Logger } from '@libp2p/interface'

/** What a `Runtime` is made from. */
export interface RuntimeInit {
  /** The node's options, validated, defaults applied. */
  config: NetgetConfig
  log: Logger
}

/** What the runtime reports to the node that owns it. */
export interface RuntimeEvents {
  /** `network`: the name of the network the registry was dialled for. */
  onRegistryConnected(registry: RegistryAddress, network: string): void
  onRegistryDisconnected(registry: RegistryAddress, network: string): void
  onHealthChange(instance: ServiceInstance): void
  onAnnounced(result: AnnounceResult): void
  onAnnounceError(err: Error): void
  onServiceStatus(detail: ServiceStatusDetail): void
  onDeregistered(detail: ServiceDeregisteredDetail): void
}

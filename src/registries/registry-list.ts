import { loadBootstrapList, resolveBootstrapPath } from './bootstrap-file.js'
import { parseRegistryAddress } from './registry-address.js'
import type { RegistryAddress } from './registry-address.js'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What a {@link RegistryList} starts from. */
export interface RegistryListInit {
  network: string
  /** The `registryNodes` option; when given, bootstrap.json is not read. */
  registryNodes?: Array<string | Multiaddr>
  /** The `bootstrapFile` option. */
  bootstrapFile?: string
}

/** What {@link RegistryList.resolve} found. */
export interface ResolvedRegistries {
  registries: RegistryAddress[]
  /** The network's authority in bootstrap.json, when the file was read and names one. */
  authority?: string
}

/**
 * The registries a node should keep connected to, as its options and the
 * calls to `addRegistryNode()` / `removeRegistryNode()` made them. It lives as
 * long as the node object, so every change, made before or after start,
 * holds across restarts.
 */
export class RegistryList {
  private readonly init: RegistryListInit
  private readonly configured: RegistryAddress[]
  private readonly added: RegistryAddress[] = []
  private readonly removed = new Set<string>()

  /** Parses `registryNodes` at once; throws InvalidOptionsError naming a bad entry. */
  constructor (init: RegistryListInit) {
    this.init = init
    this.configured = (init.registryNodes ?? []).map(address => parseRegistryAddress(address))
  }

  /** Records an addition; returns false if the registry was already listed. */
  add (registry: RegistryAddress): boolean {
    const wasRemoved = this.removed.delete(registry.peerId.toString())
    const listed = [...this.configured, ...this.added].some(known => known.peerId.equals(registry.peerId))

    if (!listed) {
      this.added.push(registry)
    }

    return wasRemoved || !listed
  }

  /** Records a removal; returns false if the registry was not listed. */
  remove (registry: RegistryAddress): boolean {
    const key = registry.peerId.toString()
    const listed = !this.removed.has(key) && [...this.configured, ...this.added].some(known => known.peerId.equals(registry.peerId))
    this.removed.add(key)
    return listed
  }

  /** The registries listed in the options and added since, less the removed ones; bootstrap.json is not read. */
  known (): RegistryAddress[] {
    return this.withoutRemoved([...this.configured, ...this.added])
  }

  /**
   * The registries to connect to now: `registryNodes` (or, when that option
   * was not given, the network's list in bootstrap.json), then every added
   * registry, less every removed one; and the network's authority if
   * bootstrap.json was read. Throws InvalidBootstrapFileError if the file has
   * to be read and is broken.
   */
  async resolve (): Promise<ResolvedRegistries> {
    let listed = this.configured
    let authority: string | undefined

    // with registryNodes given, bootstrap.json is not read: pass the authority as an option too
    if (this.init.registryNodes === undefined) {
      const file = await loadBootstrapList(resolveBootstrapPath(this.init.bootstrapFile))
      authority = file.authorities[this.init.network]

      if (this.init.registryNodes === undefined) {
        listed = (file.networks[this.init.network] ?? []).map(address => parseRegistryAddress(address))
      }
    }

    const fromOptions = listed.filter(registry => !this.added.some(known => known.peerId.equals(registry.peerId)))
    return { registries: this.withoutRemoved([...fromOptions, ...this.added]), authority }
  }

  private withoutRemoved (registries: RegistryAddress[]): RegistryAddress[] {
    return registries.filter(registry => !this.removed.has(registry.peerId.toString()))
  }
}

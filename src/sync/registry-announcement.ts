import { anySignal } from 'any-signal'
import { setMaxListeners } from 'main-event'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { MAX_SYNC_PEERS } from '../constants.js'
import { dhtProtocol } from '../protocol/ids.js'
import { MAX_SYNC_REGISTRY_ADDRS } from '../protocol/sync-messages.js'
import type { SyncRegistry } from '../protocol/sync-messages.js'
import type { KadDHT } from '@libp2p/kad-dht'
import type { IdentifyResult, Logger, Startable } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

/** How often a registry provides the registry key again and every node looks it up, in ms. */
export const REGISTRY_ANNOUNCE_INTERVAL = 5 * 60_000

/** How long one provide or one lookup of the registry key may take, in ms. */
export const REGISTRY_ANNOUNCE_TIMEOUT = 10_000

/** Delay of the first run after the first DHT peer is identified, in ms (the routing table fills meanwhile). */
const FIRST_RUN_DELAY = 200

/** The key a network's registries provide (docs/PROTOCOL.md §17.6): CIDv1, raw codec, of SHA-256 of the UTF-8 string `netget registry <network id>`. */
export async function registryCid (network: string): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(uint8ArrayFromString(`netget registry ${network}`)))
}

/** What a {@link RegistryAnnouncement} needs. */
export interface RegistryAnnouncementInit {
  /** The network's kad-dht. */
  dht: Pick<KadDHT, 'provide' | 'findProviders'>
  libp2p: Pick<Libp2p, 'peerId' | 'addEventListener' | 'removeEventListener'>
  /** The network id (a closed network's `<name>@<authority>`). */
  network: string
  /** Whether this node is a registry (it provides the key); others only look. */
  provide: boolean
  /** @default REGISTRY_ANNOUNCE_INTERVAL (300 000 ms) */
  interval?: number
  /** @default REGISTRY_ANNOUNCE_TIMEOUT (10 000 ms) */
  timeout?: number
  /** Called once with each other registry found (at most {@link MAX_SYNC_PEERS} in all). */
  onRegistry(registry: SyncRegistry): void
  log: Logger
}

/**
 * Registries announce themselves in their network's DHT (docs/PROTOCOL.md
 * §17.6): a registry provides {@link registryCid} once its first DHT peer
 * is identified and every `interval`, and every node looks the key up at
 * the same times, telling `onRegistry` of each other registry found. Each
 * DHT call has a timeout and ends on stop; what is found is bounded.
 */
export class RegistryAnnouncement implements Startable {
  private readonly init: RegistryAnnouncementInit
  private readonly found = new Set<string>()
  private controller?: AbortController
  private timer?: ReturnType<typeof setInterval>
  private first?: ReturnType<typeof setTimeout>
  private running = false
  private ran = false
  private readonly onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    if (!this.ran && this.first === undefined && event.detail.protocols.includes(dhtProtocol(this.init.network))) {
      this.first = setTimeout(() => { void this.run() }, FIRST_RUN_DELAY)
    }
  }

  constructor (init: RegistryAnnouncementInit) {
    this.init = init
  }

  start (): void {
    if (this.controller !== undefined) {
      return
    }

    this.controller = new AbortController()
    this.init.libp2p.addEventListener('peer:identify', this.onIdentify)
    this.timer = setInterval(() => { void this.run() }, this.init.interval ?? REGISTRY_ANNOUNCE_INTERVAL)
  }

  stop (): void {
    clearInterval(this.timer)
    clearTimeout(this.first)
    this.timer = undefined
    this.first = undefined
    this.init.libp2p.removeEventListener('peer:identify', this.onIdentify)
    this.controller?.abort()
    this.controller = undefined
  }

  /** Provides the key (registries) and looks it up once; resolves when both ended (failures are logged). */
  async run (): Promise<void> {
    const controller = this.controller

    if (controller === undefined || this.running) {
      return
    }

    this.running = true
    this.ran = true
    const { dht, log } = this.init
    const cid = await registryCid(this.init.network)

    try {
      if (this.init.provide) {
        await this.bounded(controller, async signal => {
          for await (const event of dht.provide(cid, { signal })) {
            void event
          }
        }).catch(err => { log('providing the registry key failed - %e', err) })
      }

      await this.bounded(controller, async signal => {
        for await (const event of dht.findProviders(cid, { signal })) {
          if (event.name === 'PROVIDER') {
            event.providers.forEach(provider => { this.tell(provider.id.toString(), provider.multiaddrs.map(addr => addr.toString())) })
          }
        }
      }).catch(err => { log('looking up the registry key failed - %e', err) })
    } finally {
      this.running = false
    }
  }

  private tell (id: string, addrs: string[]): void {
    if (id === this.init.libp2p.peerId.toString() || this.found.has(id) || this.found.size >= MAX_SYNC_PEERS || addrs.length === 0) {
      return
    }

    this.found.add(id)
    this.init.onRegistry({ id, addrs: [...new Set(addrs)].slice(0, MAX_SYNC_REGISTRY_ADDRS) })
  }

  private async bounded (controller: AbortController, work: (signal: AbortSignal) => Promise<void>): Promise<void> {
    const signal = anySignal([controller.signal, AbortSignal.timeout(this.init.timeout ?? REGISTRY_ANNOUNCE_TIMEOUT)])
    // kad-dht adds a listener per query path and dial: no leak, just many
    setMaxListeners(Infinity, signal)

    try {
      await work(signal)
    } finally {
      signal.clear()
    }
  }
}

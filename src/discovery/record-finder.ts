import { recordKey, serviceCid } from '../records/keys.js'
import { verifyRecord } from '../records/verify.js'
import type { RecordExpectations } from '../records/verify.js'
import { LookupClient } from './lookup-client.js'
import type { NetgetLibp2p, NetgetServices } from '../libp2p/create-node.js'
import type { RegistryConnections } from '../registries/registry-connections.js'
import type { VerifiedRecord } from '../records/verify.js'
import type { VerifiedAttestation } from '../liveness/attestation.js'
import type { Logger, PeerId } from '@libp2p/interface'

/** The parts of a libp2p node record searches use: lookup streams and the DHT. */
export type RecordFinderComponents = Pick<NetgetLibp2p, 'dialProtocol' | 'contentRouting'> & { services: Pick<NetgetServices, 'dht'> }

/** What a {@link RecordFinder} needs. */
export interface RecordFinderInit {
  libp2p: RecordFinderComponents
  network: string
  registries: RegistryConnections
  requestTimeout: number
  log: Logger
  /** Closed networks: refuses a record whose publisher holds no valid credential for it. */
  checkPublisher?: RecordExpectations['checkPublisher']
}

/** Options of one record search. */
export interface FindRecordsOptions {
  signal: AbortSignal
  /** Also walk the DHT when registries answered. */
  thorough?: boolean
  /** Called with every verified record as it arrives, before the search ends. */
  onRecord?(record: VerifiedRecord): void
  /** Ask registries for their liveness attestations. @default false */
  health?: boolean
}

/** How a search went. */
export interface FindRecordsResult {
  /** The newest verified record of each instance, withdrawals included. */
  records: Map<string, VerifiedRecord>
  /** The verified attestations of each publisher, one per registry at most (with `health`). */
  attestations: Map<string, VerifiedAttestation[]>
  /** Registries that answered the lookup. */
  registriesAnswered: number
  /** Whether the DHT was walked. */
  walkedDht: boolean
}

/**
 * Finds the records of every instance of a service. First it asks each
 * connected registry over the lookup protocol (one round trip each, all at
 * once). If that finds no live instance, or `thorough` is set, it walks the
 * DHT: the service CID's providers, then each provider's record key. Every
 * record is verified on arrival; for each instance the highest `seq` wins.
 */
export class RecordFinder {
  private readonly init: RecordFinderInit
  private readonly lookups: LookupClient

  constructor (init: RecordFinderInit) {
    this.init = init
    this.lookups = new LookupClient({
      libp2p: init.libp2p,
      network: init.network,
      log: init.log,
      checkPublisher: init.checkPublisher,
      trustedRegistry: peerId => init.registries.connected().some(registry => registry.peerId.toString() === peerId)
    })
  }

  /** The warm lookup streams, for subscriptions. */
  get client (): LookupClient {
    return this.lookups
  }

  /** Closes the warm lookup streams. */
  stop (): void {
    this.lookups.stop()
  }

  async findRecords (name: string, options: FindRecordsOptions): Promise<FindRecordsResult> {
    const records = new Map<string, VerifiedRecord>()
    const accept = (record: VerifiedRecord): void => {
      const known = records.get(record.peerId)

      if (known === undefined || record.seq > known.seq) {
        records.set(record.peerId, record)
        options.onRecord?.(record)
      }
    }

    const attestations = new Map<string, VerifiedAttestation[]>()
    const attest = (attestation: VerifiedAttestation): void => {
      const known = attestations.get(attestation.peerId) ?? []
      attestations.set(attestation.peerId, [...known.filter(other => other.registry !== attestation.registry), attestation])
    }
    const registries = this.init.registries.connected()
    const answers = await Promise.allSettled(registries.map(async registry => {
      // each request's own timeout starts when it is sent (see LookupClient)
      await this.lookups.lookup(registry.peerId, name, options.signal, { onRecord: accept, onAttestation: attest }, this.init.requestTimeout, options.health === true)
    }))
    const registriesAnswered = answers.filter(answer => answer.status === 'fulfilled').length
    answers.forEach((answer, index) => {
      if (answer.status === 'rejected') {
        this.init.log('lookup of %s at registry %p failed - %e', name, registries[index].peerId, answer.reason)
      }
    })

    const live = [...records.values()].some(record => !record.withdrawn)
    const walkedDht = options.thorough === true || !live

    if (walkedDht) {
      options.signal.throwIfAborted()
      await this.walkDht(name, options.signal, accept)
    }

    return { records, attestations, registriesAnswered, walkedDht }
  }

  private async walkDht (name: string, signal: AbortSignal, accept: (record: VerifiedRecord) => void): Promise<void> {
    const { libp2p, network, log } = this.init
    const cid = await serviceCid(network, name)
    const fetches: Array<Promise<void>> = []
    const seen = new Set<string>()

    try {
      for await (const provider of libp2p.contentRouting.findProviders(cid, { signal })) {
        const peerId = provider.id.toString()

        if (!seen.has(peerId)) {
          seen.add(peerId)
          fetches.push(this.fetchRecord(name, provider.id, signal, accept))
        }
      }
    } catch (err) {
      log('finding providers of %s failed - %e', name, err)
    }

    await Promise.all(fetches)
  }

  private async fetchRecord (name: string, provider: PeerId, signal: AbortSignal, accept: (record: VerifiedRecord) => void): Promise<void> {
    const { libp2p, network, log } = this.init
    const key = recordKey(network, name, provider.toString())

    try {
      for await (const event of libp2p.services.dht.get(key, { signal })) {
        if (event.name === 'VALUE') {
          try {
            accept(await verifyRecord(event.value, { network, name, peerId: provider.toString(), checkPublisher: this.init.checkPublisher }))
          } catch (err) {
            log('DHT value for %s from %p is invalid - %e', name, event.from, err)
          }
        }
      }
    } catch (err) {
      log('reading the record of %p failed - %e', provider, err)
    }
  }
}


import { setMaxListeners } from 'main-event'
import { anySignal } from 'any-signal'
import { MAX_RECORD_TTL } from '../constants.js'
import { NoRegistryReachableError, RecordRejectedError } from '../errors.js'
import { MemorySeqMark } from '../identity/seq-mark.js'
import { recordKey, serviceCid } from '../records/keys.js'
import { sealRecord } from '../records/record.js'
import { peekRecord, verifyRecord } from '../records/verify.js'
import { getFromPeer, putRecord } from '../protocol/direct-put.js'
import type { SeqMark } from '../identity/seq-mark.js'
import type { NetgetLibp2p, NetgetServices } from '../libp2p/create-node.js'
import type { Refusal } from '../protocol/refusals.js'
import type { CheckStatus, ServiceMetadata, ServiceRecord } from '../records/record.js'
import type { Logger, PeerId, PrivateKey } from '@libp2p/interface'

/** What one publication of a record achieved. */
export interface AnnounceResult {
  /** The record that was published. */
  record: ServiceRecord
  /** How many registries (DHT servers) confirmed they stored it before the call returned. */
  storedBy: number
}

/** What an {@link Announcer} needs. */
/** The parts of a libp2p node publishing uses: its identity and addresses, direct puts and the DHT. */
export type AnnouncerComponents = Pick<NetgetLibp2p, 'peerId' | 'getMultiaddrs' | 'dialProtocol'> & { services: Pick<NetgetServices, 'dht'> }

export interface AnnouncerInit {
  libp2p: AnnouncerComponents
  privateKey: PrivateKey
  network: string
  name: string
  metadata: ServiceMetadata
  recordTtl: number
  reannounceInterval: number
  reannounceJitter: number
  /**
   * Where the identity's seq high-water mark is kept (see `SeqMark`): the
   * data directory, or memory. @default a memory mark
   */
  seqMark?: SeqMark
  /** The registries connected right now; they get the record first, directly. */
  connectedRegistries(): PeerId[]
  /**
   * Closed networks: the credential to attach to each record, checked for
   * this name; throws CredentialError if this node may not publish it.
   * @default none (an open network)
   */
  credentialFor?(name: string): { envelope: Uint8Array, expiresAt: number }
  /**
   * The status of the node's service checks, read at each publication and
   * put in the record. @default none (the record has no `status`: passing)
   */
  status?(): CheckStatus | undefined
  log: Logger
  onAnnounced(result: AnnounceResult): void
  onError(err: Error): void
}

/**
 * Publishes one service instance: seals its record, sends it straight to the
 * connected registries (one round trip), and stores it in the DHT and
 * announces the instance as a provider of the service's CID (in the
 * background when a registry already confirmed). Re-publishes on an interval
 * with jitter and on demand; publishes a withdrawal on request.
 *
 * `seq` is `max(Date.now(), mark + 1)`, the mark (the highest seq published
 * by this identity) saved before the record is sent, so it only grows even if
 * the clock goes back. If no registry stores the record and those that
 * refused it hold a record of this identity with a higher seq (read back with
 * a kad GET_VALUE: a refusal is only a stream reset), the publication fails
 * with RecordRejectedError (`stale-seq`) instead of NoRegistryReachableError.
 */
export class Announcer {
  private readonly init: AnnouncerInit
  private lastSeq = 0
  /** The latest `expiresAt` this announcer published: a withdrawal's is not earlier. */
  private lastExpiresAt = 0
  private timer?: ReturnType<typeof setTimeout>
  private active = false
  private inFlight?: Promise<AnnounceResult>
  /** refresh() was called during a publication: publish again after it. */
  private stale = false
  private readonly background = new AbortController()
  private readonly seqMark: SeqMark
  private markLoaded = false

  constructor (init: AnnouncerInit) {
    this.init = init
    this.seqMark = init.seqMark ?? new MemorySeqMark()
    setMaxListeners(Infinity, this.background.signal)
  }

  /**
   * Publishes a fresh record now and keeps re-publishing it. Rejects with
   * NoRegistryReachableError if no registry stored it.
   */
  async announce (signal: AbortSignal): Promise<AnnounceResult> {
    this.stale = false
    const result = await this.publish(false, signal)
    this.active = true
    this.schedule()
    this.publishIfStale()
    return result
  }

  /**
   * Re-publishes now if the instance is announced; during a publication,
   * once more after it (what it publishes, the status say, may be out of
   * date).
   */
  refresh (): void {
    if (this.inFlight !== undefined) {
      this.stale = true
      return
    }

    if (!this.active) {
      return
    }

    this.publish(false, AbortSignal.timeout(this.init.reannounceInterval))
      .then(result => { this.init.onAnnounced(result) }, err => { this.init.onError(err) })
      .finally(() => { this.publishIfStale() })
  }

  private publishIfStale (): void {
    if (this.stale) {
      this.stale = false
      this.refresh()
    }
  }

  /** Stops re-publishing and publishes a withdrawal, so readers drop the instance at once. */
  async withdraw (signal: AbortSignal): Promise<AnnounceResult | undefined> {
    clearTimeout(this.timer)
    this.timer = undefined

    if (!this.active) {
      return undefined
    }

    this.active = false
    await this.inFlight?.catch(() => {})
    return this.publish(true, signal)
  }

  /** Stops re-publishing and aborts background DHT work, without withdrawing. */
  stop (): void {
    this.active = false
    clearTimeout(this.timer)
    this.timer = undefined
    this.background.abort()
  }

  private schedule (): void {
    clearTimeout(this.timer)
    const { reannounceInterval, reannounceJitter } = this.init
    const delay = reannounceInterval * (1 - reannounceJitter + Math.random() * 2 * reannounceJitter)
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.refresh()
      this.schedule()
    }, delay)
  }

  private async publish (withdrawn: boolean, signal: AbortSignal): Promise<AnnounceResult> {
    const run = this.store(withdrawn, signal)
    this.inFlight = run

    try {
      return await run
    } finally {
      if (this.inFlight === run) {
        this.inFlight = undefined
      }
    }
  }

  private async store (withdrawn: boolean, signal: AbortSignal): Promise<AnnounceResult> {
    const { libp2p, network, name, log } = this.init
    const peerId = libp2p.peerId.toString()
    const credential = this.init.credentialFor?.(name)

    if (!this.markLoaded) {
      this.lastSeq = Math.max(this.lastSeq, await this.seqMark.load())
      this.markLoaded = true
    }

    const now = Date.now()
    this.lastSeq = Math.max(now, this.lastSeq + 1)
    // durable before anyone sees the record: a crash never rolls the mark back
    await this.seqMark.save(this.lastSeq)
    const record: ServiceRecord = {
      network,
      name,
      peerId,
      multiaddrs: withdrawn ? [] : libp2p.getMultiaddrs().map(address => address.toString()),
      metadata: withdrawn ? { name } : this.init.metadata,
      seq: this.lastSeq,
      // a record never outlives the credential it carries; a withdrawal
      // outlives the records it replaces (§6), so a replay of them is refused
      expiresAt: Math.min(Math.max(now + this.init.recordTtl, withdrawn ? this.lastExpiresAt : 0), now + MAX_RECORD_TTL, credential?.expiresAt ?? Infinity),
      withdrawn,
      credential: credential?.envelope,
      status: withdrawn ? undefined : this.init.status?.()
    }
    const envelope = await sealRecord(record, this.init.privateKey)
    this.lastExpiresAt = Math.max(this.lastExpiresAt, record.expiresAt)
    const key = recordKey(network, name, peerId)

    // 1. straight to every connected registry: one round trip each
    const registries = this.init.connectedRegistries()
    const direct = await Promise.allSettled(registries.map(async registry => putRecord(libp2p, registry, network, key, envelope, signal)))
    const storedDirectly = direct.filter(outcome => outcome.status === 'fulfilled' && outcome.value.ok).length
    const refusals: Refusal[] = []
    direct.forEach((outcome, index) => {
      if (outcome.status === 'rejected') {
        log('registry %p did not store the record of %s - %e', registries[index], name, outcome.reason)
      } else if (!outcome.value.ok) {
        refusals.push(outcome.value)
        log('registry %p refused the record of %s (%s) - %s', registries[index], name, outcome.value.code, outcome.value.error)
      }
    })

    // 2. the DHT's closest peers, and the provider record: in the background
    // if a registry already has the record, else awaited
    const dhtSignal = anySignal([this.background.signal, storedDirectly > 0 ? AbortSignal.timeout(this.init.reannounceInterval) : signal])
    setMaxListeners(Infinity, dhtSignal)
    const viaDht = this.storeInDht(key, envelope, withdrawn, dhtSignal).finally(() => { dhtSignal.clear() })

    if (storedDirectly > 0) {
      viaDht.catch(err => { log('storing %s in the DHT failed - %e', name, err) })
      log('%s record of %s seq %d stored by %d connected registries', withdrawn ? 'withdrawal' : 'service', name, record.seq, storedDirectly)
      return { record, storedBy: storedDirectly }
    }

    const storedBy = await viaDht

    if (storedBy === 0) {
      signal.throwIfAborted()
      const refusedBy = registries.filter((_, index) => {
        const outcome = direct[index]
        return outcome.status === 'rejected'
          ? !['TimeoutError', 'AbortError'].includes((outcome.reason as Error)?.name)
          : !outcome.value.ok
      })
      const stale = await this.newerStored(refusedBy, key, record.seq, signal)

      if (stale !== undefined) {
        throw stale
      }

      const [refusal] = refusals

      if (refusal !== undefined) {
        // the put protocol's answer says why (docs/PROTOCOL.md §12)
        throw new RecordRejectedError(`Registr${refusedBy.length === 1 ? 'y' : 'ies'} of network "${network}" refused the record of "${name}" (${refusal.code}): ${refusal.error}`, { reason: refusal.code === 'stale-seq' ? 'stale-seq' : 'refused', code: refusal.code, network, seq: record.seq, storedSeq: (refusal as { seq?: number }).seq ?? 0 })
      }

      if (refusedBy.length > 0) {
        // kad's PUT_VALUE has no room for a reason: the registry logs it
        throw new RecordRejectedError(`${refusedBy.length} registr${refusedBy.length === 1 ? 'y' : 'ies'} of network "${network}" refused the record of "${name}" (a storage quota or put-rate limit, or a credential it does not accept); the registry's log (DEBUG=netget:*) names the rule`, { reason: 'refused', network, seq: record.seq, storedSeq: 0 })
      }

      throw new NoRegistryReachableError(`No registry of network "${network}" stored the record of "${name}"; check that the registries are running and reachable`, network)
    }

    log('%s record of %s seq %d stored by %d DHT servers', withdrawn ? 'withdrawal' : 'service', name, record.seq, storedBy)
    return { record, storedBy }
  }

  /**
   * Reads back what the registries that refused the record hold under its
   * key; if one holds a validly signed record of this identity with a seq at
   * or above `seq`, the refusal was a rollback: returns the error to throw.
   */
  private async newerStored (registries: PeerId[], key: Uint8Array, seq: number, signal: AbortSignal): Promise<RecordRejectedError | undefined> {
    const { libp2p, network, name, log } = this.init
    const peerId = libp2p.peerId.toString()
    let newest: { seq: number, expiresAt: number, registry: PeerId } | undefined

    await Promise.all(registries.map(async registry => {
      try {
        const stored = await getFromPeer(libp2p, registry, network, key, signal)
        const peek = stored === undefined ? undefined : peekRecord(stored)

        if (stored === undefined || peek === undefined || peek.seq < seq) {
          return
        }

        // signed by this identity (expired or not: the registry compares with it until it prunes it)
        await verifyRecord(stored, { network, name, peerId, now: Math.min(Date.now(), peek.expiresAt - 1) })

        if (newest === undefined || peek.seq > newest.seq) {
          newest = { seq: peek.seq, expiresAt: peek.expiresAt, registry }
        }
      } catch (err) {
        log('could not read back the record of %s from %p - %e', name, registry, err)
      }
    }))

    if (newest === undefined) {
      return undefined
    }

    const ahead = newest.seq - seq
    const until = new Date(Math.min(newest.seq, newest.expiresAt)).toISOString()
    return new RecordRejectedError(
      `Registry ${newest.registry.toString()} refused the record of "${name}" as a rollback: it holds seq ${newest.seq} of this identity, ${formatDuration(ahead)} ahead of this node's seq ${seq} ` +
      '(seq follows the wall clock: this node\'s clock ran fast once, or another node uses the same identity). ' +
      `Re-registering works again from ${until}; keep the data directory's "seq" file (the seq high-water mark) to avoid this, or give the node a new identity`,
      { reason: 'stale-seq', code: 'stale-seq', network, seq, storedSeq: newest.seq }
    )
  }

  /** Stores the record on the DHT's closest servers and (unless withdrawn) provides the service CID; resolves with how many servers stored it. */
  private async storeInDht (key: Uint8Array, envelope: Uint8Array, withdrawn: boolean, signal: AbortSignal): Promise<number> {
    const { libp2p, network, name, log } = this.init
    let storedBy = 0

    const put = (async () => {
      for await (const event of libp2p.services.dht.put(key, envelope, { signal })) {
        if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') {
          storedBy++
        }
      }
    })()
    const provide = withdrawn
      ? Promise.resolve()
      : (async () => {
          const cid = await serviceCid(network, name)
          for await (const event of libp2p.services.dht.provide(cid, { signal })) {
            void event
          }
        })()

    const [putOutcome, provideOutcome] = await Promise.allSettled([put, provide])

    if (putOutcome.status === 'rejected') {
      log('DHT put of %s failed - %e', name, putOutcome.reason)
    }

    if (provideOutcome.status === 'rejected') {
      log('providing %s failed - %e', name, provideOutcome.reason)
    }

    return storedBy
  }
}

/** `ms` as minutes or seconds, like `60.0 min` or `2.5 s`. */
function formatDuration (ms: number): string {
  return ms >= 60_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 1000).toFixed(1)} s`
}

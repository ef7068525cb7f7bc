import { anySignal } from 'any-signal'
import { setMaxListeners } from 'main-event'
import { MAX_SYNC_PEERS, SYNC_PUSH_DELAY, SYNC_SESSION_TIMEOUT } from '../constants.js'
import { syncProtocol } from '../protocol/ids.js'
import { refusalOf } from '../protocol/refusals.js'
import { MAX_SYNC_RECORDS, MAX_SYNC_REGISTRY_ADDRS, MAX_SYNC_REVOCATIONS } from '../protocol/sync-messages.js'
import { verifyRecord } from '../records/verify.js'
import { storeEnvelope } from '../registry/record-intake.js'
import { RevocationSnapshot } from './revocation-exchange.js'
import { dropRevoked } from './revoked-records.js'
import { SyncSet, parseItemId } from './sync-set.js'
import { answerRegistries, runInitiator, runResponder } from './sync-session.js'
import type { SessionCounts, SessionInit, SyncPush } from './sync-session.js'
import type { RefusalCode } from '../errors.js'
import type { SyncRegistry } from '../protocol/sync-messages.js'
import type { RecordIndex } from '../registry/record-index.js'
import type { RecordIntake } from '../registry/record-intake.js'
import type { Connection, IdentifyResult, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

/** The parts of libp2p registry sync uses. */
export type SyncComponents = Pick<Libp2p, 'peerId' | 'handle' | 'unhandle' | 'dialProtocol' | 'getConnections' | 'getMultiaddrs' | 'peerStore' | 'addEventListener' | 'removeEventListener'>

/** What a peer may do on the sync protocol: sync, only ask for the registry list, or nothing. */
export type SyncAccess = 'sync' | 'ask' | 'none'

/** What a {@link SyncService} needs. */
export interface SyncServiceInit {
  libp2p: SyncComponents
  /** The network id (a closed network's `<name>@<authority>`). */
  network: string
  index: Pick<RecordIndex, 'datastore' | 'records' | 'record' | 'envelopes' | 'onChange' | 'size' | 'namesOf'>
  /** Closed networks: refuses a record whose publisher holds no valid credential for it. */
  checkPublisher?: RecordIntake['checkPublisher']
  /** How often to reconcile with each connected peer registry, in ms. */
  interval: number
  /** Closed networks: resolves if `peer` may sync (holds a `registry` credential), rejects otherwise. */
  admit?(peer: PeerId, signal: AbortSignal): Promise<void>
  /**
   * Closed networks: what the peer on an inbound connection may do on the
   * sync protocol: `'sync'` (a registry), `'ask'` (only ask for the registry
   * list, §17.4) or `'none'`.
   * @default every peer may sync
   */
  authorize?(connection: Connection): Promise<SyncAccess>
  /** Called with each registry a peer registry named that this one does not know (at most {@link MAX_SYNC_PEERS} a session). */
  onRegistry?(registry: SyncRegistry): void
  /**
   * Closed networks: the revocations this registry holds, reconciled in
   * every full session and pushed when new (docs/PROTOCOL.md §17.5); tell
   * the service of each new one with {@link SyncService.revocationAccepted}.
   * @default none (revocation fields are ignored)
   */
  revocations?: SyncRevocations
  log: Logger
}

/** The revocations a registry of a closed network holds, as sync uses them. */
export interface SyncRevocations {
  /** The envelopes held now (at most 10,000). */
  envelopes(): Uint8Array[]
  /**
   * Verifies a revocation from peer registry `from` exactly as the trust
   * exchange does (signed by the network's authority, for this network) and
   * keeps it: `TrustService.accept`. Resolves true if it was new; rejects
   * for a forged or malformed one.
   */
  accept(envelope: Uint8Array, from: string): Promise<boolean>
}

/** What a registry's sync has done since it started. */
export interface SyncStats {
  /** Sessions run to the end, both directions (pushes included). */
  sessions: number
  /** Sessions that failed (a timeout, a closed stream, a malformed message). */
  failures: number
  bytesSent: number
  bytesReceived: number
  recordsSent: number
  recordsReceived: number
  /** Records received from peer registries and refused by this registry's rules. */
  recordsRefused: number
  /** Records sent to peer registries that they said they refused, by reason code (docs/PROTOCOL.md §12). */
  refusedByPeers: Partial<Record<RefusalCode, number>>
  /** Closed networks: revocation envelopes sent to peer registries (pushes included). */
  revocationsSent: number
  /** Closed networks: revocation envelopes received from peer registries, new or not. */
  revocationsReceived: number
  /** Closed networks: revocations received that did not verify (forged, malformed), dropped. */
  revocationsRefused: number
  /** Closed networks: stored records deleted because a revocation voided their publisher's credential. */
  recordsRevoked: number
  /** Peer registries connected now (peers that speak the sync protocol). */
  peers: number
  /** Records this registry holds now (withdrawals included, expired ones until pruned). */
  records: number
}

/**
 * Registry federation (docs/PROTOCOL.md §17): a registry reconciles the
 * records it holds with each peer registry — on connecting, then every
 * `interval` — by range fingerprints, sending only the differences, and
 * pushes each record it accepts to its peer registries at once. Every
 * record taken from a peer goes through {@link storeEnvelope}, the path of
 * a put: a record this registry refuses from a publisher it refuses from a
 * peer registry too. Peer registries name the registries they know, so a
 * registry learns the others from one of them.
 */
export class SyncService implements Startable {
  private readonly init: SyncServiceInit
  private readonly protocol: string
  private readonly set: SyncSet
  private readonly controller = new AbortController()
  private readonly stats: Omit<SyncStats, 'peers' | 'records'> = { sessions: 0, failures: 0, bytesSent: 0, bytesReceived: 0, recordsSent: 0, recordsReceived: 0, recordsRefused: 0, refusedByPeers: {}, revocationsSent: 0, revocationsReceived: 0, revocationsRefused: 0, recordsRevoked: 0 }
  /** Peers a full session runs with now, and those asked for another once it ends. */
  private readonly running = new Set<string>()
  private readonly again = new Set<string>()
  /** Ids of records accepted here and not pushed yet, with the peer registry each came from (not pushed back to it). */
  private readonly pending = new Map<string, string | undefined>()
  /** The records being taken in from peer registries now (by id), and the peer each comes from: bounded by the sessions running. */
  private readonly receiving = new Map<string, string>()
  /** Revocations accepted here and not pushed yet, with the peer each came from: at most {@link MAX_SYNC_REVOCATIONS}, more make full sessions instead. */
  private readonly pendingRevocations = new Map<Uint8Array, string | undefined>()
  private revocationOverflow = false
  private pushTimer?: ReturnType<typeof setTimeout>
  private timer?: ReturnType<typeof setInterval>
  private stopChanges?: () => void
  private started = false
  /** Connected peers that speak the sync protocol (identify told): bounded by the connections. */
  private readonly known = new Map<string, string[]>()
  private readonly onIdentify = (event: CustomEvent<IdentifyResult>): void => {
    if (event.detail.protocols.includes(this.protocol)) {
      this.known.set(event.detail.peerId.toString(), event.detail.listenAddrs.map(addr => addr.toString()).slice(0, MAX_SYNC_REGISTRY_ADDRS))

      // the side that dialled reconciles at once; the other waits for its interval (one session, not two)
      if (event.detail.connection.direction === 'outbound') {
        this.syncWith(event.detail.peerId)
      }
    }
  }

  private readonly onDisconnect = (event: CustomEvent<PeerId>): void => {
    this.known.delete(event.detail.toString())
  }

  constructor (init: SyncServiceInit) {
    this.init = init
    this.protocol = syncProtocol(init.network)
    this.set = new SyncSet(() => init.index.records())
    // every session listens to it: pushes to each peer registry and the sessions peers open run at once
    setMaxListeners(Infinity, this.controller.signal)
  }

  async start (): Promise<void> {
    if (this.started) {
      return
    }

    this.started = true
    await this.init.libp2p.handle(this.protocol, async (stream, connection) => { await this.serve(stream, connection) }, { maxInboundStreams: 2 * MAX_SYNC_PEERS })
    this.init.libp2p.addEventListener('peer:identify', this.onIdentify)
    this.init.libp2p.addEventListener('peer:disconnect', this.onDisconnect)
    this.stopChanges = this.init.index.onChange(change => {
      if (change.record !== undefined) {
        const id = `${change.name}/${change.peerId}`
        this.queuePush(id, this.receiving.get(id))
      }
    })
    this.timer = setInterval(() => { this.syncAll() }, this.init.interval)
  }

  async stop (): Promise<void> {
    if (!this.started) {
      return
    }

    this.started = false
    clearInterval(this.timer)
    clearTimeout(this.pushTimer)
    this.stopChanges?.()
    this.pending.clear()
    this.pendingRevocations.clear()
    this.again.clear()
    this.controller.abort()
    this.init.libp2p.removeEventListener('peer:identify', this.onIdentify)
    this.init.libp2p.removeEventListener('peer:disconnect', this.onDisconnect)
    this.known.clear()
    await this.init.libp2p.unhandle(this.protocol).catch(() => {})
  }

  /** What sync has done so far. */
  syncStats (): SyncStats {
    return { ...this.stats, peers: this.peers().length, records: this.init.index.size }
  }

  /** Connected peers that speak this network's sync protocol (at most {@link MAX_SYNC_PEERS}). */
  peers (): PeerId[] {
    const seen = new Map<string, PeerId>()

    for (const connection of this.init.libp2p.getConnections()) {
      const key = connection.remotePeer.toString()

      if (connection.status === 'open' && !seen.has(key) && this.speaksSync(connection.remotePeer)) {
        seen.set(key, connection.remotePeer)
      }
    }

    return [...seen.values()].slice(0, MAX_SYNC_PEERS)
  }

  /** Reconciles with every connected peer registry now; resolves when done (failures are counted, not thrown). */
  async syncNow (signal?: AbortSignal): Promise<void> {
    await Promise.all(this.peers().map(async peer => { await this.fullSession(peer, signal) }))
  }

  /**
   * Closed networks: a revocation this registry newly holds (from any path),
   * and the peer it came from (undefined: handed to this node). Deletes the
   * records it voids and pushes it within {@link SYNC_PUSH_DELAY} to every
   * connected peer registry but `from` (docs/PROTOCOL.md §17.5).
   */
  revocationAccepted (envelope: Uint8Array, from?: string): void {
    if (!this.started) {
      return
    }

    const { network, index, checkPublisher } = this.init

    if (checkPublisher !== undefined) {
      void dropRevoked({ network, index, checkPublisher }, envelope).then(dropped => {
        this.stats.recordsRevoked += dropped
      }, err => {
        this.init.log('could not drop the records a revocation voids - %e', err)
      })
    }

    if (this.pendingRevocations.size >= MAX_SYNC_REVOCATIONS) {
      this.revocationOverflow = true
    } else {
      this.pendingRevocations.set(envelope, from)
    }

    this.schedulePush()
  }

  private syncAll (): void {
    for (const peer of this.peers()) {
      this.syncWith(peer)
    }
  }

  /** Starts a full session with `peer`, or asks for one more after the one running. */
  private syncWith (peer: PeerId): void {
    const key = peer.toString()

    if (this.running.has(key)) {
      this.again.add(key)
      return
    }

    void this.fullSession(peer).then(() => {
      if (this.again.delete(key) && this.started) {
        this.syncWith(peer)
      }
    })
  }

  private speaksSync (peer: PeerId): boolean {
    return this.known.has(peer.toString())
  }

  private async fullSession (peer: PeerId, signal?: AbortSignal): Promise<void> {
    const key = peer.toString()

    if (!this.started || this.running.has(key)) {
      return
    }

    this.running.add(key)

    try {
      await this.open(peer, signal)
    } finally {
      this.running.delete(key)
    }
  }

  /** Runs the opening side of a session with `peer`; failures are logged and counted. */
  private async open (peer: PeerId, signal?: AbortSignal, push?: SyncPush): Promise<void> {
    const combined = anySignal([this.controller.signal, AbortSignal.timeout(SYNC_SESSION_TIMEOUT), ...(signal === undefined ? [] : [signal])])
    // every read, write and store of a session listens to it
    setMaxListeners(Infinity, combined)

    try {
      await this.init.admit?.(peer, combined)
      const stream = await this.init.libp2p.dialProtocol(peer, this.protocol, { signal: combined })

      try {
        this.count(await runInitiator(stream, this.session(peer), combined, push))
      } catch (err) {
        stream.abort(err as Error)
        throw err
      }
    } catch (err) {
      this.stats.failures++
      this.init.log('sync with %p failed - %e', peer, err)
    } finally {
      combined.clear()
    }
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const signal = anySignal([this.controller.signal, AbortSignal.timeout(SYNC_SESSION_TIMEOUT)])
    setMaxListeners(Infinity, signal)

    try {
      const access = await this.init.authorize?.(connection) ?? 'sync'

      if (access === 'none') {
        throw new Error('the peer holds no credential of this read-restricted network')
      }

      if (access === 'ask') {
        await answerRegistries(stream, () => this.registries(), signal)
        return
      }

      // a peer is taken for a registry from identify's protocol list only: nodes that are not registries ask for the registry list on this protocol too
      this.count(await runResponder(stream, this.session(connection.remotePeer), signal))
    } catch (err) {
      this.stats.failures++
      this.init.log('sync from %p failed - %e', connection.remotePeer, err)
      stream.abort(err as Error)
    } finally {
      signal.clear()
    }
  }

  private session (peer: PeerId): SessionInit {
    const { index, network, checkPublisher, revocations } = this.init
    const from = peer.toString()
    let learnt = 0

    return {
      revocations: revocations === undefined
        ? undefined
        : {
            snapshot: async () => RevocationSnapshot.of(revocations.envelopes()),
            accept: async envelope => revocations.accept(envelope, from)
          },
      snapshot: async () => this.set.snapshot(),
      envelope: async id => {
        const { name, peerId } = parseItemId(id)
        const record = index.record(name, peerId)
        return record === undefined ? undefined : (await index.envelopes([record]))[0]
      },
      accept: async (envelope, signal) => {
        let id: string | undefined

        try {
          const record = await verifyRecord(envelope, { network, checkPublisher })
          id = `${record.name}/${record.peerId}`
          this.receiving.set(id, from)
          await storeEnvelope({ network, index, checkPublisher }, envelope, signal, record)
          return undefined
        } catch (err) {
          this.init.log.trace('refused a record from a peer registry - %e', err)
          return refusalOf(err).code
        } finally {
          if (id !== undefined) {
            this.receiving.delete(id)
          }
        }
      },
      registries: () => this.registries(),
      onRegistries: registries => {
        const self = this.init.libp2p.peerId.toString()

        for (const registry of registries) {
          if (learnt >= MAX_SYNC_PEERS) {
            break
          }

          if (registry.id !== self && !this.known.has(registry.id)) {
            learnt++
            this.init.onRegistry?.(registry)
          }
        }
      }
    }
  }

  /** The peer registries connected now, with their addresses, to name to another. */
  private registries (): SyncRegistry[] {
    return this.peers().map(peer => ({
      id: peer.toString(),
      addrs: this.known.get(peer.toString()) ?? []
    })).filter(registry => registry.addrs.length > 0)
  }

  private count (counts: SessionCounts): void {
    this.stats.sessions++
    this.stats.bytesSent += counts.bytesSent
    this.stats.bytesReceived += counts.bytesReceived
    this.stats.recordsSent += counts.recordsSent
    this.stats.recordsReceived += counts.recordsReceived
    this.stats.recordsRefused += counts.recordsRefused
    this.stats.revocationsSent += counts.revocationsSent
    this.stats.revocationsReceived += counts.revocationsReceived
    this.stats.revocationsRefused += counts.revocationsRefused

    for (const [code, count] of Object.entries(counts.refusedByPeer) as Array<[RefusalCode, number]>) {
      this.stats.refusedByPeers[code] = (this.stats.refusedByPeers[code] ?? 0) + count
    }
  }

  private queuePush (id: string, from: string | undefined): void {
    if (!this.started) {
      return
    }

    this.pending.set(id, from)
    this.schedulePush()
  }

  private schedulePush (): void {
    this.pushTimer ??= setTimeout(() => {
      this.pushTimer = undefined
      void this.flushPush()
    }, SYNC_PUSH_DELAY)
  }

  /** Sends the records and revocations accepted since the last push to every peer registry; too many at once, a full session instead. */
  private async flushPush (): Promise<void> {
    const ids = [...this.pending]
    const revocations = [...this.pendingRevocations]
    const overflow = ids.length > MAX_SYNC_RECORDS || this.revocationOverflow
    this.pending.clear()
    this.pendingRevocations.clear()
    this.revocationOverflow = false
    const sources = new Set([...ids, ...revocations].map(([, from]) => from))

    if (overflow) {
      // too many to push: a full session with each peer registry that did not send them
      this.peers().filter(peer => !sources.has(peer.toString())).forEach(peer => { this.syncWith(peer) })
      return
    }

    const envelopes: Array<{ envelope: Uint8Array, from?: string }> = []

    for (const [id, from] of ids) {
      const { name, peerId } = parseItemId(id)
      const record = this.init.index.record(name, peerId)
      const envelope = record === undefined ? undefined : (await this.init.index.envelopes([record]))[0]

      if (envelope !== undefined) {
        envelopes.push({ envelope, from })
      }
    }

    await Promise.all(this.peers().map(async peer => {
      const key = peer.toString()
      const push: SyncPush = {
        records: envelopes.filter(({ from }) => from !== key).map(({ envelope }) => envelope),
        revocations: revocations.filter(([, from]) => from !== key).map(([envelope]) => envelope)
      }

      if (push.records.length > 0 || (push.revocations?.length ?? 0) > 0) {
        await this.open(peer, undefined, push)
      }
    }))
  }
}

import { lpStream } from '@libp2p/utils'
import { anySignal } from 'any-signal'
import { Key } from 'interface-datastore'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { CREDENTIAL_WAIT_TIMEOUT, DEFAULT_REQUEST_TIMEOUT } from '../constants.js'
import { CredentialError } from '../errors.js'
import { trustProtocol } from '../protocol/ids.js'
import { MAX_TRUST_FRAME_BYTES, decodeTrustRequest, decodeTrustResponse, encodeTrustRequest, encodeTrustResponse } from './messages.js'
import type { Credential, CredentialRole } from './credential.js'
import type { TrustResponse } from './messages.js'
import type { NetworkTrust } from './network-trust.js'
import type { Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import type { Libp2p } from 'libp2p'

/** The parts of a libp2p node the trust protocol uses. */
export type TrustComponents = Pick<Libp2p, 'handle' | 'unhandle' | 'dialProtocol' | 'addEventListener' | 'removeEventListener'>

/** What a {@link TrustService} needs. */
export interface TrustServiceInit {
  libp2p: TrustComponents
  /** The namespace of the closed network (its name and authority). */
  namespace: string
  trust: NetworkTrust
  /** Registries: refuse lookups and DHT requests from peers without a credential. */
  readRestricted: boolean
  /** Where a registry keeps the revocations it holds (survives restarts). */
  datastore?: Datastore
  /** The datastore prefix of the network's DHT (revocations go below it). */
  datastorePrefix: string
  /** How often the credential file is checked for a replacement, in ms. */
  trustRefreshInterval: number
  /** How often revocations are fetched from the registries, in ms. */
  revocationRefreshInterval: number
  /** The registries connected now: they are asked for revocations and shown a renewed credential. */
  registries(): PeerId[]
  /** Called when a replaced credential file brought a new credential (re-announce with it). */
  onCredentialChanged(): void
  /**
   * Called with each new revocation learnt, from any path (the trust
   * exchange, registry sync, this node), and the peer it came from
   * (undefined: handed to this node). A registry drops the records it voids
   * and pushes it to its peer registries.
   */
  onRevocation?(envelope: Uint8Array, from?: string): void
  log: Logger
}

/** What an exchange with a peer found. */
export interface TrustExchange {
  /** The peer's credential, verified, if it presented one that passed. */
  credential?: Credential
  /** Why the peer refused ours, if it did. */
  refused?: CredentialError
  /** Whether the peer refuses lookups without a credential. */
  readRestricted: boolean
}

interface Authorization {
  credential: Credential
  waiting: Array<() => void>
}

/**
 * The trust protocol of a closed network (`/netget/<network>/trust/1.0.0`):
 * on connecting, a node presents its credential and learns the other side's
 * (a registry proves it may serve the network) and the revocations it holds.
 * The answering side remembers, per connection, which peer presented a valid
 * credential, so lookups and DHT requests can be refused to everyone else.
 */
export class TrustService implements Startable {
  private readonly init: TrustServiceInit
  private readonly protocol: string
  private readonly authorized = new Map<string, Authorization>()
  private readonly pending = new Map<string, Array<() => void>>()
  private readonly onClose = (event: CustomEvent<Connection>): void => { this.forget(event.detail.id) }
  private timers: Array<ReturnType<typeof setInterval>> = []
  private readonly controller = new AbortController()

  constructor (init: TrustServiceInit) {
    this.init = init
    this.protocol = trustProtocol(init.namespace)
  }

  /** The network's name. */
  get network (): string {
    return this.init.trust.network
  }

  async start (): Promise<void> {
    await this.loadRevocations()
    this.init.libp2p.addEventListener('connection:close', this.onClose)
    await this.init.libp2p.handle(this.protocol, async (stream, connection) => { await this.serve(stream, connection) }, { maxInboundStreams: 4 })
    this.timers = [
      setInterval(() => { void this.reloadCredential() }, this.init.trustRefreshInterval),
      setInterval(() => { void this.refreshRevocations() }, this.init.revocationRefreshInterval)
    ]
  }

  async stop (): Promise<void> {
    this.timers.forEach(timer => { clearInterval(timer) })
    this.timers = []
    this.controller.abort()
    this.init.libp2p.removeEventListener('connection:close', this.onClose)
    await this.init.libp2p.unhandle(this.protocol).catch(() => {})

    for (const waiting of this.pending.values()) {
      waiting.forEach(resolve => { resolve() })
    }

    this.pending.clear()
    this.authorized.clear()
  }

  /** The credential the peer on `connection` presented and that passed, if any. */
  credentialOf (connection: Connection): Credential | undefined {
    const authorization = this.authorized.get(connection.id)

    if (authorization === undefined) {
      return undefined
    }

    if (authorization.credential.expiresAt <= Date.now() || this.init.trust.revocations.isRevoked(authorization.credential)) {
      this.authorized.delete(connection.id)
      return undefined
    }

    return authorization.credential
  }

  /**
   * Resolves with the credential of the peer on `connection`, waiting up to
   * {@link CREDENTIAL_WAIT_TIMEOUT} for it to present one (a new connection's
   * first requests can arrive before its credential). Undefined if none came.
   */
  async waitForCredential (connection: Connection, timeout = CREDENTIAL_WAIT_TIMEOUT): Promise<Credential | undefined> {
    const known = this.credentialOf(connection)

    if (known !== undefined || connection.status !== 'open') {
      return known
    }

    await new Promise<void>(resolve => {
      const waiting = this.pending.get(connection.id) ?? []
      const timer = setTimeout(done, timeout)
      function done (): void {
        clearTimeout(timer)
        resolve()
      }
      waiting.push(done)
      this.pending.set(connection.id, waiting)
    })

    return this.credentialOf(connection)
  }

  /**
   * Presents this node's credential to `peer` and learns its credential and
   * revocations. `roles`: what the peer's credential must allow for it to be
   * returned (for a registry: `registry`).
   */
  async exchange (peer: PeerId, roles: readonly CredentialRole[], signal: AbortSignal, revocations: Uint8Array[] = []): Promise<TrustExchange> {
    const { trust, log } = this.init
    const stream = await this.init.libp2p.dialProtocol(peer, this.protocol, { signal })

    try {
      const messages = lpStream(stream, { maxDataLength: MAX_TRUST_FRAME_BYTES })
      await messages.write(encodeTrustRequest({ credential: trust.credential?.envelope, revocations }), { signal })
      const response = decodeTrustResponse((await messages.read({ signal })).subarray())
      await stream.close({ signal }).catch(() => {})
      await this.merge(response.revocations, peer.toString())
      let credential: Credential | undefined

      try {
        credential = await trust.checkPresented(response.credential, peer.toString(), roles)
      } catch (err) {
        log('peer %p has no valid %s credential - %e', peer, roles.join('/'), err)
      }

      return {
        credential,
        refused: response.error === undefined ? undefined : new CredentialError(`Registry ${peer.toString()} refused this node's credential: ${response.error.message}`, response.error.reason as CredentialError['reason'], trust.network),
        readRestricted: response.readRestricted === true
      }
    } catch (err) {
      stream.abort(err as Error)
      throw err
    }
  }

  /** Takes a replaced credential file, shows it to every connected registry and re-announces. */
  private async reloadCredential (): Promise<void> {
    if (!await this.init.trust.reloadIfChanged()) {
      return
    }

    await this.refreshRevocations()
    this.init.onCredentialChanged()
  }

  /** Asks every connected registry for its revocations (showing it this node's credential again). */
  private async refreshRevocations (): Promise<void> {
    await Promise.all(this.init.registries().map(async peer => {
      const signal = anySignal([this.controller.signal, AbortSignal.timeout(DEFAULT_REQUEST_TIMEOUT)])

      try {
        await this.exchange(peer, ['registry'], signal)
      } catch (err) {
        this.init.log('trust refresh with %p failed - %e', peer, err)
      } finally {
        signal.clear()
      }
    }))
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const { trust, log } = this.init
    const signal = AbortSignal.timeout(DEFAULT_REQUEST_TIMEOUT)
    const messages = lpStream(stream, { maxDataLength: MAX_TRUST_FRAME_BYTES })

    try {
      const request = decodeTrustRequest((await messages.read({ signal })).subarray())
      const peer = connection.remotePeer.toString()
      await this.merge(request.revocations, peer)
      const response: TrustResponse = { credential: trust.credential?.envelope, revocations: trust.revocations.envelopes(), readRestricted: this.init.readRestricted }

      try {
        this.admit(connection, await trust.checkPresented(request.credential, peer))
      } catch (err) {
        if (request.credential !== undefined || this.init.readRestricted) {
          const refusal = err as CredentialError
          response.error = { reason: refusal.reason ?? 'malformed', message: refusal.message }
          log('peer %p is not admitted - %e', connection.remotePeer, err)
        }
      }

      await messages.write(encodeTrustResponse(response), { signal })
      await stream.close({ signal })
    } catch (err) {
      log('trust stream from %p failed - %e', connection.remotePeer, err)
      stream.abort(err as Error)
    }
  }

  private admit (connection: Connection, credential: Credential): void {
    this.authorized.set(connection.id, { credential, waiting: [] })
    this.pending.get(connection.id)?.forEach(resolve => { resolve() })
    this.pending.delete(connection.id)
  }

  private forget (connectionId: string): void {
    this.authorized.delete(connectionId)
    this.pending.get(connectionId)?.forEach(resolve => { resolve() })
    this.pending.delete(connectionId)
  }

  /**
   * Verifies a revocation envelope (signed by this network's authority, for
   * this network: `RevocationList.add`) and keeps it: held, stored (a
   * registry's survive restarts) and told to `onRevocation`. Every path a
   * revocation arrives by goes through here. Resolves true if it was new,
   * false for one already held, older than one held or of another network;
   * rejects with InvalidRecordError for a forged or malformed one.
   *
   * @param from - the peer it came from (undefined: handed to this node)
   */
  async accept (envelope: Uint8Array, from?: string): Promise<boolean> {
    if (!await this.init.trust.revocations.add(envelope)) {
      return false
    }

    this.init.log('revocation learnt from %s', from ?? 'this node')
    await this.init.datastore?.put(this.revocationKey(envelope), envelope)
    this.init.onRevocation?.(envelope, from)
    return true
  }

  private async merge (envelopes: Uint8Array[], from: string): Promise<void> {
    for (const envelope of envelopes) {
      try {
        await this.accept(envelope, from)
      } catch (err) {
        this.init.log('peer %s sent an invalid revocation - %e', from, err)
      }
    }
  }

  private revocationKey (envelope: Uint8Array): Key {
    // the envelope's own bytes name it: the same revocation is stored once
    return new Key(`${this.init.datastorePrefix}/revocation/${uint8ArrayToString(envelope.subarray(-32), 'base32')}`)
  }

  private async loadRevocations (): Promise<void> {
    if (this.init.datastore === undefined) {
      return
    }

    for await (const { key, value } of this.init.datastore.query({ prefix: `${this.init.datastorePrefix}/revocation/` })) {
      if (!await this.init.trust.revocations.add(value).catch(() => false)) {
        await Promise.resolve(this.init.datastore.delete(key)).catch(() => {})
      }
    }
  }
}

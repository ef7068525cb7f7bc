import { CLOCK_SKEW_TOLERANCE } from '../constants.js'
import { CredentialError, InvalidRecordError } from '../errors.js'
import { checkCredential, openCredential } from './credential.js'
import { credentialFileModifiedAt, readCredentialFile } from './credential-file.js'
import { RevocationList } from './revocation-list.js'
import type { Credential, CredentialRole, SealedCredential } from './credential.js'
import type { ServiceRecord } from '../records/record.js'
import type { Logger } from '@libp2p/interface'

/** What a {@link NetworkTrust} needs. */
export interface NetworkTrustInit {
  network: string
  /** The network authority's peer ID. */
  authority: string
  /** This node's peer ID. */
  peerId: string
  /** This node's credential: a file path (Node) or the envelope's bytes. */
  credential?: string | Uint8Array
  log: Logger
  /** The clock credentials are checked against, Unix ms (test vectors fix it). @default Date.now */
  now?: () => number
}

/** Every role that may look up: all of them. */
const READ_ROLES: readonly CredentialRole[] = ['read', 'publish', 'registry']

const PUBLISH_ROLES: readonly CredentialRole[] = ['publish']

/**
 * What a node of a closed network trusts: its own credential (reloaded when
 * its file is replaced), the revocations it has heard of, and the checks
 * every credential presented to it must pass. One per started node of a
 * closed network.
 */
export class NetworkTrust {
  readonly network: string
  readonly authority: string
  readonly revocations: RevocationList
  private readonly init: NetworkTrustInit
  private own?: SealedCredential
  private loadedAt?: number

  constructor (init: NetworkTrustInit) {
    this.init = init
    this.network = init.network
    this.authority = init.authority
    this.revocations = new RevocationList({ network: init.network, authority: init.authority })
  }

  /** This node's credential, if it has one. */
  get credential (): SealedCredential | undefined {
    return this.own
  }

  /**
   * Loads this node's credential (if one was given) and checks it is a
   * credential of this network's authority for this peer that has not
   * expired. Throws CredentialError saying what is wrong.
   */
  async load (): Promise<void> {
    const source = this.init.credential

    if (source === undefined) {
      return
    }

    const file = typeof source === 'string' ? await readCredentialFile(source, this.network) : { bytes: source, modifiedAt: 0 }
    let sealed: SealedCredential

    try {
      sealed = await openCredential(file.bytes)
    } catch (err) {
      throw new CredentialError(`${typeof source === 'string' ? `The credential file ${source}` : 'The credential'} is not a valid netget credential: ${(err as Error).message}`, 'malformed', this.network, { cause: err })
    }

    checkCredential(sealed.credential, { network: this.network, authority: this.authority, peer: this.init.peerId, roles: READ_ROLES })
    this.own = sealed
    this.loadedAt = file.modifiedAt
  }

  /**
   * Reloads the credential if its file was replaced since it was loaded.
   * Resolves true if a new credential is in force; a replacement that does
   * not pass keeps the old one and is logged.
   */
  async reloadIfChanged (): Promise<boolean> {
    const source = this.init.credential

    if (typeof source !== 'string') {
      return false
    }

    const modifiedAt = await credentialFileModifiedAt(source)

    if (modifiedAt === undefined || modifiedAt === this.loadedAt) {
      return false
    }

    const previous = { own: this.own, loadedAt: this.loadedAt }

    try {
      await this.load()
      this.init.log('credential reloaded from %s', source)
      return true
    } catch (err) {
      this.own = previous.own
      this.loadedAt = modifiedAt
      this.init.log.error('the replaced credential file %s was not taken - %e', source, err)
      return false
    }
  }

  /**
   * The credential this node attaches to its record of `name`, after
   * checking that it allows publishing that name now. Throws CredentialError
   * saying what is missing.
   */
  credentialFor (name: string): { envelope: Uint8Array, expiresAt: number } {
    if (this.own === undefined) {
      throw new CredentialError(`Network "${this.network}" is closed: publishing "${name}" needs a publish credential from its authority (${this.authority}); pass it as the "credential" option (CLI --credential)`, 'missing', this.network)
    }

    checkCredential(this.own.credential, {
      network: this.network,
      authority: this.authority,
      peer: this.init.peerId,
      roles: PUBLISH_ROLES,
      name,
      now: this.init.now?.(),
      isRevoked: credential => this.revocations.isRevoked(credential)
    })
    return { envelope: this.own.envelope, expiresAt: this.own.credential.expiresAt }
  }

  /**
   * Checks that a record's publisher may publish it: its credential is this
   * network's, for the record's peer, role `publish`, grants the name, is
   * not revoked, and lasts at least as long as the record. Throws
   * CredentialError.
   */
  async checkPublisher (record: ServiceRecord): Promise<void> {
    const credential = await this.checkPresented(record.credential, record.peerId, PUBLISH_ROLES, record.name)

    if (record.expiresAt > credential.expiresAt + CLOCK_SKEW_TOLERANCE) {
      throw new CredentialError(`The record of ${record.peerId} outlives its credential (the credential expires at ${new Date(credential.expiresAt).toISOString()})`, 'expired', this.network)
    }
  }

  /**
   * Opens a credential a peer presented and checks it for `peer` and any of
   * `roles` (default: any role, i.e. reading). Resolves with the credential;
   * rejects with CredentialError.
   */
  async checkPresented (envelope: Uint8Array | undefined, peer: string, roles: readonly CredentialRole[] = READ_ROLES, name?: string): Promise<Credential> {
    if (envelope === undefined) {
      throw new CredentialError(`Network "${this.network}" is closed: peer ${peer} presented no credential`, 'missing', this.network)
    }

    let sealed: SealedCredential

    try {
      sealed = await openCredential(envelope)
    } catch (err) {
      throw new CredentialError(`Peer ${peer} presented a credential that does not verify: ${(err as InvalidRecordError).message}`, 'malformed', this.network, { cause: err })
    }

    checkCredential(sealed.credential, {
      network: this.network,
      authority: this.authority,
      peer,
      roles,
      name,
      now: this.init.now?.(),
      isRevoked: credential => this.revocations.isRevoked(credential)
    })
    return sealed.credential
  }
}

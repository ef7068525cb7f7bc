import { isObsolete, openRevocation, revokes } from './revocation.js'
import type { Credential } from './credential.js'
import type { SealedRevocation } from './revocation.js'

/** Most revocations one list holds; past it, the oldest are dropped first. */
export const MAX_REVOCATIONS = 10_000

/** What a {@link RevocationList} accepts. */
export interface RevocationListInit {
  network: string
  authority: string
  /** @default MAX_REVOCATIONS */
  maxEntries?: number
}

/**
 * The revocations of one closed network that this node knows: verified on
 * arrival (signed by the network's authority, for this network), the newest
 * per peer and credential kept, bounded in size, forgotten once obsolete.
 */
export class RevocationList {
  private readonly init: RevocationListInit
  /** peer → (credential id or `*`) → revocation */
  private readonly byPeer = new Map<string, Map<string, SealedRevocation>>()
  private count = 0

  constructor (init: RevocationListInit) {
    this.init = init
  }

  /** How many revocations are held. */
  get size (): number {
    return this.count
  }

  /**
   * Verifies and adds a revocation envelope. Resolves true if it was new;
   * false for a duplicate, an older one, or one of another network or
   * authority. Rejects with InvalidRecordError for a forged or malformed one.
   */
  async add (envelope: Uint8Array, now = Date.now()): Promise<boolean> {
    const sealed = await openRevocation(envelope)
    const { revocation } = sealed

    if (revocation.network !== this.init.network || revocation.authority !== this.init.authority || isObsolete(revocation, now)) {
      return false
    }

    const entries = this.byPeer.get(revocation.peer) ?? new Map<string, SealedRevocation>()
    const slot = revocation.credentialId ?? '*'
    const known = entries.get(slot)

    if (known !== undefined && known.revocation.revokedAt >= revocation.revokedAt) {
      return false
    }

    entries.set(slot, sealed)
    this.byPeer.set(revocation.peer, entries)
    this.count += known === undefined ? 1 : 0

    if (this.count > (this.init.maxEntries ?? MAX_REVOCATIONS)) {
      this.dropOldest()
    }

    return true
  }

  /** True if a held revocation voids `credential`. */
  isRevoked (credential: Credential): boolean {
    for (const entry of this.byPeer.get(credential.peer)?.values() ?? []) {
      if (revokes(entry.revocation, credential)) {
        return true
      }
    }

    return false
  }

  /** The envelopes held, to hand to other peers. */
  envelopes (): Uint8Array[] {
    return [...this.byPeer.values()].flatMap(entries => [...entries.values()].map(entry => entry.envelope))
  }

  /** Drops revocations that can no longer void any credential; returns how many went. */
  prune (now = Date.now()): number {
    let dropped = 0

    for (const [peer, entries] of this.byPeer) {
      for (const [slot, entry] of entries) {
        if (isObsolete(entry.revocation, now)) {
          entries.delete(slot)
          dropped++
        }
      }

      if (entries.size === 0) {
        this.byPeer.delete(peer)
      }
    }

    this.count -= dropped
    return dropped
  }

  private dropOldest (): void {
    let oldest: { peer: string, slot: string, at: number } | undefined

    for (const [peer, entries] of this.byPeer) {
      for (const [slot, entry] of entries) {
        if (oldest === undefined || entry.revocation.revokedAt < oldest.at) {
          oldest = { peer, slot, at: entry.revocation.revokedAt }
        }
      }
    }

    if (oldest !== undefined) {
      const entries = this.byPeer.get(oldest.peer) as Map<string, SealedRevocation>
      entries.delete(oldest.slot)
      this.count--

      if (entries.size === 0) {
        this.byPeer.delete(oldest.peer)
      }
    }
  }
}

import { sha256 } from 'multiformats/hashes/sha2'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { MAX_SYNC_REVOCATION_CHARS, MAX_SYNC_REVOCATION_IDS, MAX_SYNC_REVOCATIONS } from '../protocol/sync-messages.js'
import { take } from './reconciler.js'
import type { RevocationDigest, SyncMessage } from '../protocol/sync-messages.js'

/** Bytes of SHA-256 kept as a revocation's id (16 hex digits). */
export const REVOCATION_ID_BYTES = 8

/** Bytes of SHA-256 kept as the digest of a set of revocation ids (32 hex digits). */
const DIGEST_BYTES = 16

/** Ids already computed, by the envelope's bytes object (a revocation list hands out the same objects). */
const computed = new WeakMap<Uint8Array, string>()

/** A revocation's id (docs/PROTOCOL.md §17.5): the first 8 bytes of SHA-256 of its envelope's bytes, as 16 lowercase hex digits. */
export async function revocationId (envelope: Uint8Array): Promise<string> {
  let id = computed.get(envelope)

  if (id === undefined) {
    id = uint8ArrayToString((await sha256.digest(envelope)).digest.subarray(0, REVOCATION_ID_BYTES), 'base16')
    computed.set(envelope, id)
  }

  return id
}

/** The digest of a set of revocation ids: the first 16 bytes of SHA-256 of the ids sorted and joined by `,`, as 32 lowercase hex digits, and their count. */
export async function revocationDigest (ids: Iterable<string>): Promise<RevocationDigest> {
  const sorted = [...ids].sort()
  const digest = await sha256.digest(uint8ArrayFromString(sorted.join(',')))
  return { digest: uint8ArrayToString(digest.digest.subarray(0, DIGEST_BYTES), 'base16'), n: sorted.length }
}

/** The revocations a registry holds as a session starts: by id, and their digest. */
export class RevocationSnapshot {
  /** Envelopes by id. */
  readonly byId: ReadonlyMap<string, Uint8Array>
  readonly digest: RevocationDigest

  private constructor (byId: Map<string, Uint8Array>, digest: RevocationDigest) {
    this.byId = byId
    this.digest = digest
  }

  /** The snapshot of `envelopes` (a revocation list holds at most 10,000). */
  static async of (envelopes: Uint8Array[]): Promise<RevocationSnapshot> {
    const byId = new Map<string, Uint8Array>()

    for (const envelope of envelopes) {
      byId.set(await revocationId(envelope), envelope)
    }

    return new RevocationSnapshot(byId, await revocationDigest(byId.keys()))
  }
}

/** The revocation fields a message may carry after its first. */
export type RevocationFields = Pick<SyncMessage, 'revocationIds' | 'wantRevocations' | 'revocations'>

/**
 * The revocation half of one side of a sync session (docs/PROTOCOL.md
 * §17.5): a digest of the revocations held opens it; a side holding other
 * ones answers with its ids; the other side sends what that list lacks and
 * asks for what it lacks itself. Bounded by the snapshot (at most 10,000
 * revocations) and, per message, by the limits of §17.2.
 */
export class RevocationReconciler {
  private readonly snapshot: RevocationSnapshot
  private sendIds = false
  private readonly want = new Set<string>()
  private readonly send = new Set<string>()
  /** Ids asked for already (asked once per session). */
  private readonly asked = new Set<string>()

  constructor (snapshot: RevocationSnapshot) {
    this.snapshot = snapshot
  }

  /** The digest the opener's first message carries. */
  get digest (): RevocationDigest {
    return this.snapshot.digest
  }

  /** Takes in the other side's revocation fields (its envelopes are handled by the caller). */
  receive (message: SyncMessage): void {
    const { digest, n } = this.snapshot.digest

    if (message.revocationDigest !== undefined && (message.revocationDigest.digest !== digest || message.revocationDigest.n !== n)) {
      this.sendIds = true
    }

    if (message.revocationIds !== undefined) {
      const theirs = new Set(message.revocationIds)

      for (const id of this.snapshot.byId.keys()) {
        if (!theirs.has(id)) {
          this.send.add(id)
        }
      }

      for (const id of theirs) {
        if (!this.snapshot.byId.has(id) && !this.asked.has(id)) {
          this.want.add(id)
        }
      }
    }

    for (const id of message.wantRevocations ?? []) {
      if (this.snapshot.byId.has(id)) {
        this.send.add(id)
      }
    }
  }

  /** The revocation fields of the next message (none when there is nothing to say). */
  next (): RevocationFields {
    const fields: RevocationFields = {}

    if (this.sendIds) {
      this.sendIds = false
      fields.revocationIds = [...this.snapshot.byId.keys()].slice(0, MAX_SYNC_REVOCATION_IDS)
    }

    const want = take(this.want, MAX_SYNC_REVOCATION_IDS)
    want.forEach(id => this.asked.add(id))

    if (want.length > 0) {
      fields.wantRevocations = want
    }

    const revocations: Uint8Array[] = []
    let chars = 0

    for (const id of this.send) {
      const envelope = this.snapshot.byId.get(id) as Uint8Array
      const length = Math.ceil(envelope.byteLength * 4 / 3)

      if (revocations.length === MAX_SYNC_REVOCATIONS || chars + length > MAX_SYNC_REVOCATION_CHARS) {
        break
      }

      this.send.delete(id)
      revocations.push(envelope)
      chars += length
    }

    if (revocations.length > 0) {
      fields.revocations = revocations
    }

    return fields
  }
}

/** Most envelopes whose checks are remembered. */
export const MAX_CERTIFIED_ENVELOPES = 4_096

/** Maps bytes one to one onto a string (windows-1252 decoding is injective), natively. */
const keyDecoder = new TextDecoder('latin1')

/**
 * The envelopes that passed `openEnvelope()`'s checks — size, key type,
 * signature, payload type, all pure functions of the bytes and the domain —
 * with what was read from them, for the last {@link MAX_CERTIFIED_ENVELOPES}
 * envelopes, most recently used last. Keyed by the exact bytes (and domain),
 * never by the signer, so a changed byte is checked afresh; readers still
 * check on every call what depends on time or context (expiry, network,
 * name, credentials).
 */
export class CertifiedEnvelopes<T> {
  private readonly entries = new Map<string, T>()

  /** The key of an envelope opened under `domain`. */
  key (bytes: Uint8Array, domain: string): string {
    return `${domain}\u0000${keyDecoder.decode(bytes)}`
  }

  get (key: string): T | undefined {
    const known = this.entries.get(key)

    if (known !== undefined) {
      this.entries.delete(key)
      this.entries.set(key, known)
    }

    return known
  }

  set (key: string, value: T): void {
    this.entries.set(key, value)

    if (this.entries.size > MAX_CERTIFIED_ENVELOPES) {
      this.entries.delete(this.entries.keys().next().value as string)
    }
  }
}

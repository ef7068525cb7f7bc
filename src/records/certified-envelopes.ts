import { RecordEnvelope } from '@libp2p/peer-record'

/** Most envelopes whose signature check is remembered. */
export const MAX_CERTIFIED_ENVELOPES = 4_096

/** Maps bytes one to one onto a string (windows-1252 decoding is injective), natively. */
const keyDecoder = new TextDecoder('latin1')

/** Envelopes whose signature verified, by their exact bytes, most recently used last. */
const certified = new Map<string, RecordEnvelope>()

/**
 * `RecordEnvelope.openAndCertify()` with a memory: the signature check of a
 * given envelope — a pure function of its bytes and the domain — is done
 * once, and remembered for the last {@link MAX_CERTIFIED_ENVELOPES}
 * envelopes. Keyed by the exact bytes (and domain), never by the signer, so
 * a changed byte is checked afresh. Readers still check everything that
 * depends on time or context (expiry, network, name) on every call.
 */
export async function openCertified (bytes: Uint8Array, domain: string): Promise<RecordEnvelope> {
  const key = `${domain}\u0000${keyDecoder.decode(bytes)}`
  const known = certified.get(key)

  if (known !== undefined) {
    certified.delete(key)
    certified.set(key, known)
    return known
  }

  const envelope = await RecordEnvelope.openAndCertify(bytes, domain)
  certified.set(key, envelope)

  if (certified.size > MAX_CERTIFIED_ENVELOPES) {
    certified.delete(certified.keys().next().value as string)
  }

  return envelope
}

import { InvalidRecordError } from '../errors.js'
import type { RefusalCode } from '../errors.js'

/**
 * The reason codes of docs/PROTOCOL.md §12: why a registry refused a record
 * (the record put, §12.2) or a request (the lookup error header, §7.1), each
 * with the rule it stands for. A refusal of netget's own protocols carries
 * one; a kad `PUT_VALUE` has no room for it (the registry logs it instead).
 */
export const REFUSAL_CODES: Readonly<Record<RefusalCode, string>> = {
  'bad-request': 'the request is not a message of the protocol (§7.1, §12.2)',
  'too-large': 'a frame or an envelope is over its size limit (§4.4 rule 1, §7.1, §12.2)',
  'bad-cursor': 'a lookup cursor the registry did not make (§7.1)',
  'bad-envelope': 'the bytes do not decode as a signed envelope (§4.4 rule 1)',
  'bad-signature': 'the envelope\'s signature does not verify for its domain (§4.4 rule 2)',
  'bad-key-type': 'the envelope\'s public key is not an Ed25519 key (§1, §4.4 rule 2)',
  'wrong-type': 'the envelope\'s payload type is not the one of the object (§4.4 rule 3)',
  'unsupported-version': 'the payload\'s `v` is not a version the reader knows (§4.4 rule 4, §13)',
  'bad-record': 'the payload does not decode as §4.1 says (§4.4 rule 4)',
  'wrong-peer': 'the signer, the payload\'s `peerId` and the key\'s peer ID differ (§4.4 rule 5)',
  'wrong-network': 'the key\'s, the payload\'s and the reader\'s network differ (§4.4 rule 6)',
  'wrong-name': 'the key\'s (or the asked) name and the payload\'s `name` differ (§4.4 rule 7)',
  'bad-key': 'a kad key that is not a netget record key of the network (§4.3, §4.5)',
  expired: 'the record\'s `expiresAt` is not later than the reader\'s clock (§4.4 rule 8)',
  'expiry-too-far': 'the record\'s `expiresAt` is more than 24 h + 60 s ahead (§4.4 rule 8)',
  'stale-seq': 'the registry stores a record of the key with a higher `seq`, or the same `seq` with other bytes (§4.4 rule 9)',
  'not-authorized': 'closed network: no passing credential for this (§11)',
  quota: 'a storage quota of the registry is full (§4.5)',
  'rate-limited': 'the connection put records faster than the registry accepts (§4.5)',
  internal: 'the registry failed to store the record (retry later)'
}

/** True for a string that is one of {@link REFUSAL_CODES}. */
export function isRefusalCode (value: unknown): value is RefusalCode {
  return typeof value === 'string' && Object.hasOwn(REFUSAL_CODES, value)
}

/** A refusal as a protocol of netget's own sends it. */
export interface Refusal {
  code: RefusalCode
  /** A human-readable reason (at most 200 characters). */
  error: string
  /** `quota`: the quota that is full, like `maxRecordsPerName`. */
  quota?: string
  /** `not-authorized`: why the credential did not pass, like `expired` (§11.2). */
  reason?: string
}

/**
 * The refusal for an error thrown while checking or storing a record: the
 * code of an InvalidRecordError (`bad-record` when it names none), of a
 * CredentialError (`not-authorized`), of a QuotaExceededError (`quota`, or
 * `rate-limited` for the put rate); anything else is `internal`.
 */
export function refusalOf (err: unknown): Refusal {
  const error = err as Partial<Error & { code: unknown, quota: string, reason: string }>
  const message = (typeof error?.message === 'string' ? error.message : String(err)).slice(0, 200)

  switch (error?.name) {
    case InvalidRecordError.name:
      return { code: isRefusalCode(error.code) ? error.code : 'bad-record', error: message }
    case 'CredentialError':
      return { code: 'not-authorized', error: message, reason: error.reason }
    case 'QuotaExceededError':
      return error.quota === 'putsPerSecond'
        ? { code: 'rate-limited', error: message }
        : { code: 'quota', error: message, quota: error.quota }
    default:
      return { code: 'internal', error: message }
  }
}

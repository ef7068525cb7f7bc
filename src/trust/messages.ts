import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { InvalidRecordError } from '../errors.js'
import { isPlainObject } from '../records/record.js'

/**
 * The messages of the trust protocol (`/netget/<network>/trust/1.0.0`, see
 * docs/PROTOCOL.md): one request frame and one response frame, each a
 * varint-length-prefixed UTF-8 JSON object; envelopes travel as base64url
 * strings without padding.
 */

/** Largest trust frame, in bytes: a credential and up to a page of revocations. */
export const MAX_TRUST_FRAME_BYTES = 1024 * 1024

/** Most revocations in one frame. */
export const MAX_TRUST_REVOCATIONS = 2_000

/** What the opener of a trust stream sends. */
export interface TrustRequest {
  /** The opener's credential envelope, if it has one. */
  credential?: Uint8Array
  /** Revocation envelopes to hand over (the `network revoke` command, or a registry passing them on). */
  revocations: Uint8Array[]
}

/** What the other side answers. */
export interface TrustResponse {
  /** The responder's credential envelope, if it has one. */
  credential?: Uint8Array
  /** Revocations the responder holds (at most {@link MAX_TRUST_REVOCATIONS}). */
  revocations: Uint8Array[]
  /** Why the request's credential was refused, when it was. */
  error?: { reason: string, message: string }
  /** True if the responder refuses every lookup and DHT request without a credential. */
  readRestricted?: boolean
}

/** Encodes a request. */
export function encodeTrustRequest (request: TrustRequest): Uint8Array {
  return encodeJson({ credential: b64(request.credential), revocations: request.revocations.map(b64) })
}

/** Decodes a request; throws InvalidRecordError on a malformed one. */
export function decodeTrustRequest (bytes: Uint8Array): TrustRequest {
  const message = decodeJson(bytes, 'request')
  return { credential: unb64(message.credential, 'credential'), revocations: envelopes(message.revocations) }
}

/** Encodes a response. */
export function encodeTrustResponse (response: TrustResponse): Uint8Array {
  return encodeJson({
    credential: b64(response.credential),
    revocations: response.revocations.slice(0, MAX_TRUST_REVOCATIONS).map(b64),
    error: response.error,
    readRestricted: response.readRestricted === true ? true : undefined
  })
}

/** Decodes a response; throws InvalidRecordError on a malformed one. */
export function decodeTrustResponse (bytes: Uint8Array): TrustResponse {
  const message = decodeJson(bytes, 'response')
  const error = message.error as { reason: string, message: string } | undefined

  if (error !== undefined && !(isPlainObject(error) && typeof error.reason === 'string' && typeof error.message === 'string')) {
    throw new InvalidRecordError('Trust response field "error" must be {"reason": string, "message": string}')
  }

  return {
    credential: unb64(message.credential, 'credential'),
    revocations: envelopes(message.revocations),
    error: error === undefined ? undefined : { reason: error.reason.slice(0, 64), message: error.message.slice(0, 500) },
    readRestricted: message.readRestricted === true
  }
}

function encodeJson (value: unknown): Uint8Array {
  return uint8ArrayFromString(JSON.stringify(value))
}

function decodeJson (bytes: Uint8Array, what: string): Record<string, unknown> {
  let message: unknown

  try {
    message = JSON.parse(uint8ArrayToString(bytes))
  } catch (err) {
    throw new InvalidRecordError(`Trust ${what} is not valid JSON`, { cause: err })
  }

  if (!isPlainObject(message)) {
    throw new InvalidRecordError(`Trust ${what} must be a JSON object`)
  }

  return message
}

function envelopes (value: unknown): Uint8Array[] {
  if (value === undefined) {
    return []
  }

  if (!Array.isArray(value) || value.length > MAX_TRUST_REVOCATIONS) {
    throw new InvalidRecordError(`Trust field "revocations" must be an array of at most ${MAX_TRUST_REVOCATIONS} base64url strings`)
  }

  return value.map(entry => unb64(entry, 'revocations') as Uint8Array)
}

function b64 (bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : uint8ArrayToString(bytes, 'base64url')
}

function unb64 (value: unknown, field: string): Uint8Array | undefined {
  if (value === undefined) {
    return undefined
  }

  if (typeof value !== 'string' || !/^[A-Za-z0-9_-]*$/.test(value)) {
    throw new InvalidRecordError(`Trust field "${field}" must hold base64url strings`)
  }

  return uint8ArrayFromString(value, 'base64url')
}

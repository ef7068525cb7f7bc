import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { ATTESTATION_CLOCK_SKEW, MAX_ATTESTATION_BYTES, MAX_ATTESTATION_TTL } from '../constants.js'
import { InvalidRecordError } from '../errors.js'
import { isPeerIdString } from '../protocol/names.js'
import { isPlainObject } from '../records/record.js'
import { openEnvelope, sealEnvelope } from '../records/envelope.js'
import type { PrivateKey } from '@libp2p/interface'

/** Domain string every liveness attestation signature is bound to. */
export const ATTESTATION_DOMAIN = 'netget-liveness-attestation'

/** Payload type of an attestation envelope: the UTF-8 bytes of `/netget/attestation/1`. */
export const ATTESTATION_PAYLOAD_TYPE = uint8ArrayFromString('/netget/attestation/1')

/** Version number carried in every attestation payload. */
export const ATTESTATION_VERSION = 1

/**
 * What a registry says about a publisher connected to it (docs/PROTOCOL.md
 * §15): `alive` while its connection is open and it answers the registry's
 * pings; `down` once the connection closed or pings failed.
 */
export interface Attestation {
  /** The network (network id) it was made on. */
  network: string
  /** The publisher it is about, base58btc peer ID. */
  peerId: string
  /** `alive` or `down`. */
  status: 'alive' | 'down'
  /** Round-trip time registry ↔ publisher, smoothed, in milliseconds; with `alive` only. */
  rttMs?: number
  /** Unix ms of the measurement. */
  measuredAt: number
  /** Unix ms after which readers ignore it. */
  expiresAt: number
}

/** An attestation whose signature and fields passed every check, with its signer. */
export interface VerifiedAttestation extends Attestation {
  /** The registry that signed it, base58btc peer ID. */
  registry: string
  /** The envelope's bytes, exactly as received. */
  envelope: Uint8Array
}

/** What a verified attestation must match. */
export interface AttestationExpectations {
  /** The reader's network id. */
  network: string
  /** The publisher it must be about, when known. */
  peerId?: string
  /** Whether the signer is a registry the reader trusts for the network. */
  trusted(registry: string): boolean
  /** @default Date.now() */
  now?: number
}

/** Signs an attestation with the registry's key; returns the envelope bytes. */
export async function sealAttestation (attestation: Attestation, privateKey: PrivateKey): Promise<Uint8Array> {
  const payload = uint8ArrayFromString(JSON.stringify({
    v: ATTESTATION_VERSION,
    network: attestation.network,
    peerId: attestation.peerId,
    status: attestation.status,
    rttMs: attestation.status === 'alive' && attestation.rttMs !== undefined ? Math.round(attestation.rttMs * 1000) / 1000 : undefined,
    measuredAt: attestation.measuredAt,
    expiresAt: attestation.expiresAt
  }))
  return sealEnvelope(ATTESTATION_DOMAIN, ATTESTATION_PAYLOAD_TYPE, payload, privateKey)
}

/**
 * Opens an attestation and checks it: size, signature, payload type and
 * shape, network, subject, a trusted signer, `measuredAt` not in the future
 * and not expired (both with {@link ATTESTATION_CLOCK_SKEW}), a validity of at
 * most {@link MAX_ATTESTATION_TTL}. Throws InvalidRecordError saying which.
 */
export async function verifyAttestation (bytes: Uint8Array, expect: AttestationExpectations): Promise<VerifiedAttestation> {
  const { payload, signer } = await openEnvelope(bytes, ATTESTATION_DOMAIN, ATTESTATION_PAYLOAD_TYPE, MAX_ATTESTATION_BYTES, 'Attestation')
  const attestation = decodeAttestation(payload)
  const now = expect.now ?? Date.now()

  if (attestation.network !== expect.network) {
    throw new InvalidRecordError(`Attestation is for network "${attestation.network}", not "${expect.network}"`)
  }

  if (expect.peerId !== undefined && attestation.peerId !== expect.peerId) {
    throw new InvalidRecordError(`Attestation is about ${attestation.peerId}, not ${expect.peerId}`)
  }

  if (!expect.trusted(signer)) {
    throw new InvalidRecordError(`Attestation is signed by ${signer}, which is not a registry this node trusts for the network`)
  }

  if (attestation.measuredAt > now + ATTESTATION_CLOCK_SKEW) {
    throw new InvalidRecordError('Attestation was measured in the future (check the registry\'s clock)')
  }

  if (attestation.expiresAt + ATTESTATION_CLOCK_SKEW <= now) {
    throw new InvalidRecordError(`Attestation expired at ${new Date(attestation.expiresAt).toISOString()}`)
  }

  return { ...attestation, registry: signer, envelope: bytes }
}

/** Decodes an attestation payload; throws InvalidRecordError naming the bad field. */
export function decodeAttestation (payload: Uint8Array): Attestation {
  let message: unknown

  try {
    message = JSON.parse(uint8ArrayToString(payload))
  } catch (err) {
    throw new InvalidRecordError('Attestation payload is not valid JSON', { cause: err })
  }

  if (!isPlainObject(message) || message.v !== ATTESTATION_VERSION) {
    throw new InvalidRecordError(`Attestation payload must be a JSON object with "v": ${ATTESTATION_VERSION}`)
  }

  const { network, peerId, status, rttMs, measuredAt, expiresAt } = message

  if (typeof network !== 'string' || typeof peerId !== 'string' || !isPeerIdString(peerId)) {
    throw new InvalidRecordError('Attestation "network" and "peerId" must be strings, "peerId" a peer ID')
  }

  if (status !== 'alive' && status !== 'down') {
    throw new InvalidRecordError('Attestation "status" must be "alive" or "down"')
  }

  if (rttMs !== undefined && (typeof rttMs !== 'number' || !Number.isFinite(rttMs) || rttMs < 0)) {
    throw new InvalidRecordError('Attestation "rttMs" must be a non-negative number')
  }

  if (!Number.isSafeInteger(measuredAt) || !Number.isSafeInteger(expiresAt) || (expiresAt as number) < (measuredAt as number) || (expiresAt as number) - (measuredAt as number) > MAX_ATTESTATION_TTL) {
    throw new InvalidRecordError(`Attestation "measuredAt" and "expiresAt" must be Unix ms, expiresAt at most ${MAX_ATTESTATION_TTL} ms after measuredAt`)
  }

  return { network, peerId, status, rttMs: rttMs as number | undefined, measuredAt: measuredAt as number, expiresAt: expiresAt as number }
}

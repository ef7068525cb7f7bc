import { createHash } from 'node:crypto'
import { generateKeyPairFromSeed, privateKeyFromRaw, privateKeyToProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import type { PrivateKey } from '@libp2p/interface'

/**
 * What every vector file shares: fixed keys, a fixed reader clock, hex.
 * Each file's vectors are made from these alone, so a run produces the same
 * bytes every time (Ed25519 and secp256k1 signatures are deterministic).
 */

/** 2100-01-01T00:00:00Z: the `expiresAt` of the vectors' live records. */
export const EXPIRES_AT = Date.UTC(2100, 0, 1)

/** The reader's clock every vector is judged at: ten minutes before {@link EXPIRES_AT}. */
export const NOW = EXPIRES_AT - 10 * 60_000

/** The `seq` of the vectors' records (a Unix ms time, as netget makes it). */
export const SEQ = NOW

/** One file of vectors, as written to docs/vectors/<file>. */
export interface VectorFile {
  /** What the file holds and which sections of docs/PROTOCOL.md it exercises. */
  description: string
  /** The reader's clock the vectors are judged at, Unix ms, where time matters. */
  now?: number
  [section: string]: unknown
}

/** A generator of one vector file. */
export interface VectorGenerator {
  /** The file name under docs/vectors/, like `records.json`. */
  file: string
  generate(): Promise<VectorFile>
}

/** Lowercase hex of `bytes`. */
export function hex (bytes: Uint8Array): string {
  return uint8ArrayToString(bytes, 'base16')
}

/** Bytes of lowercase hex. */
export function unhex (text: string): Uint8Array {
  return uint8ArrayFromString(text, 'base16')
}

/** The 32-byte seed of a named fixed key: sha2-256 of `netget test vector key <label>`. */
export function seedOf (label: string): Uint8Array {
  return new Uint8Array(createHash('sha256').update(`netget test vector key ${label}`).digest())
}

/** A fixed Ed25519 key: the seed of {@link seedOf}. */
export async function fixedKey (label: string): Promise<PrivateKey> {
  return generateKeyPairFromSeed('Ed25519', seedOf(label))
}

/** A fixed secp256k1 key (a key type netget refuses): its raw private key is the seed of {@link seedOf}. */
export function fixedSecp256k1Key (label: string): PrivateKey {
  return privateKeyFromRaw(seedOf(label))
}

/** How a key is listed in keys.json. */
export function describeKey (label: string, key: PrivateKey): Record<string, string> {
  return {
    label,
    type: key.type,
    seed: hex(seedOf(label)),
    privateKey: hex(privateKeyToProtobuf(key)),
    publicKey: hex(publicKeyToProtobuf(key.publicKey)),
    peerId: peerIdFromPrivateKey(key).toString()
  }
}

/** The peer ID string of a key. */
export function peerIdOf (key: PrivateKey): string {
  return peerIdFromPrivateKey(key).toString()
}

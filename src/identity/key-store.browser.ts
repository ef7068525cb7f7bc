/**
 * The identity key in a browser: a page has no data directory, so its key
 * and its seq high-water mark live in memory (or the key is passed as
 * `privateKey`) and the file functions throw if reached.
 * Same exports as `key-store.ts`, which package.json's "browser" field
 * replaces with this file.
 */
import { UnsupportedOperationError } from '../errors.js'
import type { PrivateKey } from '@libp2p/interface'
import { MemorySeqMark } from './seq-mark.js'
import type { SeqMark } from './seq-mark.js'

/** Throws UnsupportedOperationError: a browser keeps no key file. */
export async function loadOrCreateKey (dataDir: string): Promise<PrivateKey> {
  throw new UnsupportedOperationError(`Cannot keep an identity key in "${dataDir}" in a browser: use dataDir: false, or pass privateKey`)
}

/** Throws UnsupportedOperationError: a browser has no data directory to lock. */
export async function lockDataDir (dataDir: string): Promise<() => Promise<void>> {
  throw new UnsupportedOperationError(`Cannot use the data directory "${dataDir}" in a browser: use dataDir: false`)
}

/** Throws UnsupportedOperationError: a browser keeps no key files. */
export async function createKeyFile (path: string): Promise<PrivateKey> {
  throw new UnsupportedOperationError(`Cannot write the key file "${path}" in a browser`)
}

/** Throws UnsupportedOperationError: a browser keeps no key files. */
export async function readKeyFile (path: string): Promise<PrivateKey> {
  throw new UnsupportedOperationError(`Cannot read the key file "${path}" in a browser`)
}

export { MemorySeqMark }
export type { SeqMark }

/** Throws UnsupportedOperationError: a browser keeps no files. */
export class FileSeqMark extends MemorySeqMark {
  constructor (dataDir: string) {
    super()
    throw new UnsupportedOperationError(`Cannot keep a seq mark in "${dataDir}" in a browser: use dataDir: false`)
  }
}

/** A memory mark for `dataDir: false`; throws UnsupportedOperationError for a directory. */
export function openSeqMark (dataDir: string | false): SeqMark {
  return dataDir === false ? new MemorySeqMark() : new FileSeqMark(dataDir)
}

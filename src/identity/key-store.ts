import { mkdir, open, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { KEY_FILE, LOCK_FILE, SEQ_FILE } from '../constants.js'
import { DataDirError, DataDirLockedError } from '../errors.js'
import type { PrivateKey } from '@libp2p/interface'
import { MemorySeqMark } from './seq-mark.js'
import type { SeqMark } from './seq-mark.js'

/*
 * The identity key, its seq high-water mark and the data-dir lock on Node. A browser keeps no files:
 * `key-store.browser.ts` exports the same names (package.json "browser").
 */

/**
 * Loads the Ed25519 key stored in `dataDir`, or creates and stores a new one
 * (creating the directory, mode 0700). The key is `<dataDir>/peer.key`
 * (`defaults.KEY_FILE`), libp2p protobuf encoding, mode 0600; it is written
 * to a temporary name and renamed, so a crash never leaves half a key
 * behind. Throws DataDirError if the key cannot be read or is corrupt.
 * Netget nodes call it on start; use it to learn a data dir's peer ID
 * without starting a node.
 */
export async function loadOrCreateKey (dataDir: string): Promise<PrivateKey> {
  const path = join(dataDir, KEY_FILE)
  let bytes: Uint8Array | undefined

  try {
    bytes = await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new DataDirError(`Cannot read the identity key ${path}: ${(err as Error).message}`, dataDir, { cause: err })
    }
  }

  if (bytes !== undefined) {
    let key: PrivateKey

    try {
      key = privateKeyFromProtobuf(bytes)
    } catch (err) {
      throw new DataDirError(`The identity key ${path} is corrupt; move it away to create a new identity (the peer ID will change)`, dataDir, { cause: err })
    }

    return ed25519Only(key, path, dataDir)
  }

  const key = await generateKeyPair('Ed25519')
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const temporary = `${path}.${process.pid}.tmp`
  await writeFile(temporary, privateKeyToProtobuf(key), { mode: 0o600 })
  await rename(temporary, path)
  return key
}

/**
 * Creates a new Ed25519 key and writes it to `path` (libp2p protobuf
 * encoding, mode 0600, the directory created with mode 0700). Refuses to
 * overwrite an existing file: throws DataDirError. Used for a closed
 * network's authority key (`netget-peer network create`).
 */
export async function createKeyFile (path: string): Promise<PrivateKey> {
  const key = await generateKeyPair('Ed25519')
  await mkdir(dirname(path), { recursive: true, mode: 0o700 }).catch(err => {
    throw new DataDirError(`Cannot create the directory of ${path}: ${(err as Error).message}`, dirname(path), { cause: err })
  })

  try {
    await writeFile(path, privateKeyToProtobuf(key), { mode: 0o600, flag: 'wx' })
  } catch (err) {
    const exists = (err as NodeJS.ErrnoException).code === 'EEXIST'
    throw new DataDirError(exists ? `${path} already exists; keep it (it is the network's authority) or move it away to create a new one` : `Cannot write ${path}: ${(err as Error).message}`, dirname(path), { cause: err })
  }

  return key
}

/** Reads a key file written by {@link createKeyFile} or {@link loadOrCreateKey}; throws DataDirError if it is missing or corrupt. */
export async function readKeyFile (path: string): Promise<PrivateKey> {
  let bytes: Uint8Array

  try {
    bytes = await readFile(path)
  } catch (err) {
    throw new DataDirError(`Cannot read the key file ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, dirname(path), { cause: err })
  }

  let key: PrivateKey

  try {
    key = privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new DataDirError(`${path} is not a libp2p private key file`, dirname(path), { cause: err })
  }

  return ed25519Only(key, path, dirname(path))
}

/** netget identities are Ed25519 (docs/PROTOCOL.md §1): a key file of another type is refused with DataDirError. */
function ed25519Only (key: PrivateKey, path: string, dataDir: string): PrivateKey {
  if (key.type !== 'Ed25519') {
    throw new DataDirError(`The key in ${path} is a ${key.type} key; netget identities are Ed25519 keys (records signed by other keys are refused): move it away to create a new identity`, dataDir)
  }

  return key
}

/**
 * Marks `dataDir` as used by this process, so that two nodes never share an
 * identity or a datastore. A lock left by a process that no longer runs is
 * taken over. Returns a function that releases the lock.
 */
export async function lockDataDir (dataDir: string): Promise<() => Promise<void>> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 }).catch(err => {
    throw new DataDirError(`Cannot use data directory ${dataDir}: ${(err as Error).message}`, dataDir, { cause: err })
  })
  const path = join(dataDir, LOCK_FILE)

  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx', 0o600)
      await handle.writeFile(String(process.pid))
      await handle.close()
      return async () => { await rm(path, { force: true }) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new DataDirError(`Cannot use data directory ${dataDir}: ${(err as Error).message}`, dataDir, { cause: err })
      }
    }

    const owner = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10)

    if (Number.isInteger(owner) && owner !== process.pid && isRunning(owner)) {
      throw new DataDirLockedError(`Data directory ${dataDir} is in use by another netget node (pid ${owner}); give each node its own data directory (option dataDir)`, dataDir)
    }

    if (owner === process.pid) {
      throw new DataDirLockedError(`Data directory ${dataDir} is already used by another netget node in this process; give each node its own data directory (option dataDir)`, dataDir)
    }

    await rm(path, { force: true })
  }

  throw new DataDirLockedError(`Data directory ${dataDir} is locked; remove ${path} if no netget node uses it`, dataDir)
}

function isRunning (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

export { MemorySeqMark }
export type { SeqMark }

/**
 * The mark in `<dataDir>/seq` (beside `peer.key`), decimal text, mode 0600.
 * Each save writes a temporary file, syncs it and renames it over the old
 * one, so a crash leaves the old mark or the new one, never half of one.
 * Saves run one after another.
 */
export class FileSeqMark implements SeqMark {
  private readonly dataDir: string
  private readonly path: string
  private saved = 0
  private writing: Promise<void> = Promise.resolve()

  constructor (dataDir: string) {
    this.dataDir = dataDir
    this.path = join(dataDir, SEQ_FILE)
  }

  async load (): Promise<number> {
    let text: string

    try {
      text = await readFile(this.path, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        return this.saved
      }

      throw new DataDirError(`Cannot read the seq high-water mark ${this.path}: ${(err as Error).message}`, this.dataDir, { cause: err })
    }

    const mark = Number(text.trim())

    if (!Number.isSafeInteger(mark) || mark < 0) {
      throw new DataDirError(`The seq high-water mark ${this.path} is corrupt (${JSON.stringify(text.slice(0, 30))}); write the highest seq this identity published into it, or delete it`, this.dataDir)
    }

    this.saved = Math.max(this.saved, mark)
    return this.saved
  }

  async save (seq: number): Promise<void> {
    const run = this.writing.then(async () => {
      if (seq <= this.saved) {
        return
      }

      const temporary = `${this.path}.${process.pid}.tmp`
      const handle = await open(temporary, 'w', 0o600)

      try {
        await handle.writeFile(String(seq))
        await handle.sync()
      } finally {
        await handle.close()
      }

      await rename(temporary, this.path)
      this.saved = seq
    })
    this.writing = run.catch(() => {})

    try {
      await run
    } catch (err) {
      throw new DataDirError(`Cannot save the seq high-water mark ${this.path}: ${(err as Error).message}`, this.dataDir, { cause: err })
    }
  }
}

/** The seq mark of a node: in `dataDir`, or in memory for `dataDir: false`. */
export function openSeqMark (dataDir: string | false): SeqMark {
  return dataDir === false ? new MemorySeqMark() : new FileSeqMark(dataDir)
}

/*
 * Reading a credential file on Node. A browser has no files:
 * `credential-file.browser.ts` exports the same names (package.json "browser").
 */
import { readFile, stat } from 'node:fs/promises'
import { CredentialError } from '../errors.js'

/** The file's bytes and its modification time (ms), for noticing a replaced file. */
export interface CredentialFile {
  bytes: Uint8Array
  modifiedAt: number
}

/** Reads a credential file; throws CredentialError (`missing`) saying which file and what to do. */
export async function readCredentialFile (path: string, network: string): Promise<CredentialFile> {
  try {
    const [bytes, info] = await Promise.all([readFile(path), stat(path)])
    return { bytes: new Uint8Array(bytes), modifiedAt: info.mtimeMs }
  } catch (err) {
    throw new CredentialError(`Cannot read the credential file ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); write one with netget-peer network grant ... --out ${path}`, 'missing', network, { cause: err })
  }
}

/** The file's modification time in ms, or undefined if it cannot be read now. */
export async function credentialFileModifiedAt (path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).mtimeMs
  } catch {
    return undefined
  }
}

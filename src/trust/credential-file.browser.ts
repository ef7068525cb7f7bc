/*
 * Credential files in a browser: there are none, so a page passes the
 * credential's bytes. Same exports as `credential-file.ts`, which
 * package.json's "browser" field replaces with this file.
 */
import { CredentialError } from '../errors.js'

/** The file's bytes and its modification time (ms). */
export interface CredentialFile {
  bytes: Uint8Array
  modifiedAt: number
}

/** Throws CredentialError: a page has no files; pass the credential's bytes instead. */
export async function readCredentialFile (path: string, network: string): Promise<CredentialFile> {
  throw new CredentialError(`A browser peer cannot read the credential file ${path}: pass the credential's bytes as the "credential" option`, 'missing', network)
}

/** A page has no files: always undefined. */
export async function credentialFileModifiedAt (path: string): Promise<number | undefined> {
  return undefined
}

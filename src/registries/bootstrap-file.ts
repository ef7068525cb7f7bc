import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BOOTSTRAP_FILE_ENV } from '../constants.js'
import { InvalidBootstrapFileError } from '../errors.js'
import { parseBootstrapList } from './bootstrap-list.js'
import type { BootstrapList } from './bootstrap-list.js'

/**
 * Finding and reading bootstrap.json on Node. A browser has no such file:
 * `bootstrap-file.browser.ts` exports the same names (package.json "browser").
 */

/** The bootstrap.json shipped with the package. */
export const PACKAGED_BOOTSTRAP_FILE: string = fileURLToPath(new URL('../../../bootstrap.json', import.meta.url))

/**
 * Which bootstrap file to read: `explicit` if given, else $NETGET_BOOTSTRAP,
 * else `./bootstrap.json` in the working directory if there is one, else the
 * file shipped with the package.
 */
export function resolveBootstrapPath (explicit?: string): string {
  if (explicit !== undefined) {
    return resolve(explicit)
  }

  const fromEnv = process.env[BOOTSTRAP_FILE_ENV]

  if (fromEnv !== undefined && fromEnv !== '') {
    return resolve(fromEnv)
  }

  const local = resolve('bootstrap.json')
  return existsSync(local) ? local : PACKAGED_BOOTSTRAP_FILE
}

/**
 * Reads and checks a bootstrap.json file (see {@link parseBootstrapList}). Throws InvalidBootstrapFileError
 * naming the file, the faulty entry and how to fix it.
 */
export async function loadBootstrapList (path: string = resolveBootstrapPath()): Promise<BootstrapList> {
  let text: string

  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new InvalidBootstrapFileError(`Cannot read bootstrap file ${path}: ${(err as Error).message}`, path, { cause: err })
  }

  return parseBootstrapList(text, path)
}

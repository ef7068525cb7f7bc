/**
 * "Nothing half-written in the data dir": before a node starts on a data
 * directory, {@link guardDataDir} notes what exists; if startup then fails,
 * `rollback()` removes what this run created (a new directory and its
 * parents, or new entries in an existing one) and leaves the rest alone.
 */
import { readdir, rm, stat } from 'node:fs/promises'
import { dirname, join, resolve } from 'node:path'

/** Undo handle of {@link guardDataDir}. */
export interface DataDirGuard {
  /** The directory, absolute. */
  path: string
  /** Whether this run is creating the directory. */
  created: boolean
  /** Removes what was created since the guard was taken. Never throws. */
  rollback(): Promise<void>
}

/**
 * Notes the state of `dataDir` (a node's `config.dataDir`, the library's
 * default when no --data-dir was given) so that a failed start can be
 * undone; `false` (in memory) gives a guard with nothing to undo.
 */
export async function guardDataDir (dataDir: string | false): Promise<DataDirGuard> {
  if (dataDir === false) {
    return { path: '', created: false, async rollback () {} }
  }

  const path = resolve(dataDir)
  let topmostMissing: string | undefined
  let current = path

  while (!(await exists(current))) {
    topmostMissing = current
    const parent = dirname(current)

    if (parent === current) {
      break
    }

    current = parent
  }

  const before = topmostMissing === undefined ? new Set(await readdir(path).catch(() => [])) : undefined

  return {
    path,
    created: topmostMissing !== undefined,
    async rollback () {
      try {
        if (topmostMissing !== undefined) {
          await rm(topmostMissing, { recursive: true, force: true })
          return
        }

        for (const entry of await readdir(path)) {
          if (before?.has(entry) !== true) {
            await rm(join(path, entry), { recursive: true, force: true })
          }
        }
      } catch {
        // best effort: the original error is what the user needs to see
      }
    }
  }
}

async function exists (path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch {
    return false
  }
}

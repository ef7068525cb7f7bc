/**
 * Browser stand-in for src/identity/key-store.ts (package.json "browser"
 * map). A browser peer has no data directory: its key lives in memory (or is
 * passed as `privateKey`), so these are never reached; they throw if they are.
 */
import { UnsupportedOperationError } from '../../errors.js'
import type { PrivateKey } from '@libp2p/interface'

export const KEY_FILE = 'peer.key'
export const LOCK_FILE = 'lock'

export async function loadOrCreateKey (dataDir: string): Promise<PrivateKey> {
  throw new UnsupportedOperationError(`Cannot keep an identity key in "${dataDir}" in a browser: use dataDir: false, or pass privateKey`)
}

export async function lockDataDir (dataDir: string): Promise<() => Promise<void>> {
  throw new UnsupportedOperationError(`Cannot use the data directory "${dataDir}" in a browser: use dataDir: false`)
}

/**
 * Browser stand-in for datastore-level (package.json "browser" map): only
 * registry nodes use it, and a browser cannot be one.
 */
import { UnsupportedOperationError } from '../../errors.js'

export class LevelDatastore {
  constructor () {
    throw new UnsupportedOperationError('A browser cannot run a registry node (no persistent datastore)')
  }
}

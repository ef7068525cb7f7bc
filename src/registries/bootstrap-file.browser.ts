/**
 * bootstrap.json in a browser: there is none, so a page passes
 * `registryNodes`. Same exports as `bootstrap-file.ts`, which package.json's
 * "browser" field replaces with this file.
 */
import { InvalidOptionsError } from '../errors.js'
import type { BootstrapList } from './bootstrap-list.js'

/** A browser has no packaged bootstrap file. */
export const PACKAGED_BOOTSTRAP_FILE: string = ''

/** A browser reads no bootstrap file: returns `explicit` or an empty path. */
export function resolveBootstrapPath (explicit?: string): string {
  return explicit ?? ''
}

/** Throws InvalidOptionsError: a browser peer must be given `registryNodes`. */
export async function loadBootstrapList (path?: string): Promise<BootstrapList> {
  throw new InvalidOptionsError(`A browser peer has no bootstrap.json${path === undefined || path === '' ? '' : ` (${path})`}: pass registryNodes, like new Netget({ registryNodes: ["/dns4/registry.example.com/tcp/443/tls/ws/p2p/12D3KooW..."] })`, { option: 'registryNodes' })
}

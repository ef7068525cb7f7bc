/**
 * Browser stand-in for src/network/bootstrap-list.ts (package.json "browser"
 * map). A page has no bootstrap.json: it must pass `registryNodes`.
 */
import { InvalidOptionsError } from '../../errors.js'
import type { BootstrapList } from '../../network/bootstrap-list.js'

export type { BootstrapList }
export const BOOTSTRAP_FILE_ENV = 'NETGET_BOOTSTRAP'
export const BOOTSTRAP_FILE_VERSION = 1
export const PACKAGED_BOOTSTRAP_FILE = ''

export function resolveBootstrapPath (explicit?: string): string {
  return explicit ?? ''
}

export async function loadBootstrapList (): Promise<BootstrapList> {
  throw new InvalidOptionsError('A browser peer has no bootstrap.json: pass registryNodes, like new Netget({ registryNodes: ["/dns4/registry.example.com/tcp/443/tls/ws/p2p/12D3KooW..."] })')
}

export function parseBootstrapList (): BootstrapList {
  throw new InvalidOptionsError('bootstrap.json is not read in a browser: pass registryNodes')
}

import { LOOPBACK_HOSTS } from './constants.js'
import type { IncomingMessage } from 'node:http'

/** Addresses that mean "every interface": never a host name a client uses. */
const WILDCARD_HOSTS = new Set(['0.0.0.0', '[::]', '[::0]', ''])

/**
 * The host names a server answers to (the `Host` header without its port,
 * lower case, IPv6 in brackets): loopback, the address it is bound to
 * (unless a wildcard) and `allowedHosts`. Contains `*` if any host is allowed.
 */
export function allowedHostNames (boundHost: string, allowedHosts: readonly string[]): Set<string> {
  const names = new Set(LOOPBACK_HOSTS)
  const bound = normaliseHost(boundHost)

  if (!WILDCARD_HOSTS.has(bound)) {
    names.add(bound)
  }

  for (const host of allowedHosts) {
    names.add(host === '*' ? '*' : normaliseHost(host))
  }

  return names
}

/** The host name a request asks for (its `Host` header without the port), or undefined if it has none. */
export function requestHost (request: IncomingMessage): string | undefined {
  const header = request.headers.host

  if (header === undefined || header === '') {
    return undefined
  }

  const bracketed = /^(\[[^\]]*\])(?::\d*)?$/.exec(header)
  return normaliseHost(bracketed?.[1] ?? header.replace(/:\d*$/, ''))
}

/** Whether the request's `Host` is one the server answers to (see {@link allowedHostNames}). */
export function isHostAllowed (request: IncomingMessage, allowed: Set<string>): boolean {
  if (allowed.has('*')) {
    return true
  }

  const host = requestHost(request)
  return host !== undefined && allowed.has(host)
}

/** The one-line body of a refused `Host`: what was asked and how to allow it. */
export function refusedHostMessage (request: IncomingMessage): string {
  const host = requestHost(request)
  const shown = host !== undefined && /^[a-z0-9.\-[\]:]{1,255}$/.test(host) ? host : undefined

  if (shown === undefined) {
    return 'this server answers only to the host names it is configured for: pass them as allowedHosts to startRegistryHttp()\n'
  }

  return `host "${shown}" is not served here: to allow it, pass allowedHosts: ["${shown}"] to startRegistryHttp()\n`
}

/**
 * The CORS headers for a JSON answer to a request from `origin`: a grant
 * only if the origin is listed (or `*` is), and `Vary: Origin` always, so a
 * cache never hands one origin's grant to another.
 */
export function apiCorsHeaders (origin: string | undefined, origins: ReadonlySet<string>): Record<string, string> {
  if (origins.has('*')) {
    return { 'Access-Control-Allow-Origin': '*' }
  }

  if (origin !== undefined && origins.has(origin)) {
    return { 'Access-Control-Allow-Origin': origin, Vary: 'Origin' }
  }

  return { Vary: 'Origin' }
}

/** `Example.COM.` → `example.com`; `::1` → `[::1]`. */
export function normaliseHost (host: string): string {
  const lower = host.trim().toLowerCase().replace(/\.$/, '')
  return lower.includes(':') && !lower.startsWith('[') ? `[${lower}]` : lower
}

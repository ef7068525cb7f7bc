import { SERVICE_NAME_PATTERN } from '../constants.js'

/**
 * The names a `publish` credential grants: exact service names, or patterns
 * ending in `*` that match every name starting with what comes before it
 * (`orders-*` matches `orders-api`; `*` alone matches every name).
 */

const PREFIX_PATTERN = /^(?:[A-Za-z0-9][A-Za-z0-9._-]{0,62})?\*$/

/** True if `pattern` is a service name or a `prefix*` pattern. */
export function isNamePattern (pattern: unknown): pattern is string {
  return typeof pattern === 'string' && (SERVICE_NAME_PATTERN.test(pattern) || PREFIX_PATTERN.test(pattern))
}

/** True if `name` matches `pattern` (see {@link isNamePattern}). */
export function matchesNamePattern (name: string, pattern: string): boolean {
  return pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern
}

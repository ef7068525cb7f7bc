import { DEFAULT_CHECK_INTERVAL, DEFAULT_CHECK_TIMEOUT, MAX_CHECK_NAME_LENGTH, MAX_CHECKS } from '../constants.js'
import { InvalidOptionsError } from '../errors.js'
import { isPlainObject } from '../records/record.js'
import { preview } from '../text.js'
import type { ResolvedCheck, RunCheck } from './types.js'

/** The option every message names. */
const OPTION = 'checks'

/** The kinds of check, by the field that makes one. */
const KINDS = ['http', 'tcp', 'run'] as const

/** The fields each kind takes besides its own. */
const COMMON_FIELDS = ['name', 'interval', 'timeout']

/** `host:port` or `[ipv6]:port`. */
const HOST_PORT = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/

/**
 * Checks option `checks` and fills in each check's name, interval and
 * timeout. Throws InvalidOptionsError (`option: 'checks'`) whose message
 * names the check by its place, from 0, and the field: `Option "checks":
 * check 1 "tcp" must be …` (the CLI rewrites that prefix into the flag).
 */
export function resolveChecks (value: unknown): ResolvedCheck[] {
  if (!Array.isArray(value)) {
    throw invalid(`Option "checks" must be an array of checks like [{ http: "http://127.0.0.1:8080/health" }, { tcp: "127.0.0.1:5432" }], got ${preview(value)}`)
  }

  if (value.length > MAX_CHECKS) {
    throw invalid(`Option "checks" has ${value.length} checks; at most ${MAX_CHECKS} are allowed`)
  }

  const names = new Set<string>()

  return value.map((entry: unknown, index) => {
    const check = resolveCheck(entry, index)

    if (names.has(check.name)) {
      throw invalid(`Option "checks": check ${index} is named ${preview(check.name)} like an earlier one; give each check its own "name"`)
    }

    names.add(check.name)
    return check
  })
}

/** The host and port of a valid `tcp` check's target. */
export function parseHostPort (target: string): { host: string, port: number } {
  const match = HOST_PORT.exec(target)

  if (match === null) {
    throw new TypeError(`Not host:port: ${target}`)
  }

  return { host: match[1] ?? match[2], port: Number(match[3]) }
}

function resolveCheck (entry: unknown, index: number): ResolvedCheck {
  const at = `Option "checks": check ${index}`

  if (!isPlainObject(entry)) {
    throw invalid(`${at} must be an object with one of "http", "tcp" or "run", got ${preview(entry)}`)
  }

  const kinds = KINDS.filter(kind => entry[kind] !== undefined)

  if (kinds.length !== 1) {
    throw invalid(`${at} must have exactly one of "http", "tcp" or "run"${kinds.length === 0 ? '' : `, not ${kinds.map(kind => `"${kind}"`).join(' and ')}`}`)
  }

  const kind = kinds[0]
  const allowed = [kind, ...COMMON_FIELDS, ...(kind === 'http' ? ['expect'] : [])]
  const unknown = Object.keys(entry).find(field => !allowed.includes(field) && entry[field] !== undefined)

  if (unknown !== undefined) {
    throw invalid(`${at} has unknown field ${preview(unknown)}; a${kind === 'http' ? 'n' : ''} ${kind} check takes ${allowed.map(field => `"${field}"`).join(', ')}`)
  }

  const interval = milliseconds(entry.interval ?? DEFAULT_CHECK_INTERVAL, `${at} "interval"`)
  const timeout = milliseconds(entry.timeout ?? DEFAULT_CHECK_TIMEOUT, `${at} "timeout"`)
  const name = entry.name ?? defaultName(kind, entry[kind], index)

  if (typeof name !== 'string' || name === '' || name.length > MAX_CHECK_NAME_LENGTH) {
    throw invalid(`${at} "name" must be a non-empty string of at most ${MAX_CHECK_NAME_LENGTH} characters, got ${preview(name)}`)
  }

  if (kind === 'http') {
    const url = entry.http

    if (typeof url !== 'string' || !isHttpUrl(url)) {
      throw invalid(`${at} "http" must be an http:// or https:// URL like "http://127.0.0.1:8080/health", got ${preview(url)}`)
    }

    const expect = entry.expect

    if (expect !== undefined && (!Number.isSafeInteger(expect) || (expect as number) < 100 || (expect as number) > 599)) {
      throw invalid(`${at} "expect" must be an HTTP status code from 100 to 599, got ${preview(expect)}`)
    }

    return { name, interval, timeout, http: url, ...(expect === undefined ? {} : { expect: expect as number }) }
  }

  if (kind === 'tcp') {
    const target = entry.tcp
    const port = typeof target === 'string' ? HOST_PORT.exec(target)?.[3] : undefined

    if (typeof target !== 'string' || port === undefined || Number(port) < 1 || Number(port) > 65535) {
      throw invalid(`${at} "tcp" must be HOST:PORT with a port from 1 to 65535, like "127.0.0.1:5432", got ${preview(target)}`)
    }

    return { name, interval, timeout, tcp: target }
  }

  if (typeof entry.run !== 'function') {
    throw invalid(`${at} "run" must be a function (signal) => boolean | Promise<boolean>, got ${preview(entry.run)}`)
  }

  return { name, interval, timeout, run: entry.run as RunCheck['run'] }
}

function defaultName (kind: typeof KINDS[number], target: unknown, index: number): unknown {
  return kind === 'run' ? `run ${index + 1}` : typeof target === 'string' ? `${kind} ${target}`.slice(0, MAX_CHECK_NAME_LENGTH) : kind
}

function milliseconds (value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw invalid(`${what} must be a positive number of milliseconds, got ${preview(value)}`)
  }

  return value
}

function isHttpUrl (value: string): boolean {
  try {
    const url = new URL(value)
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== ''
  } catch {
    return false
  }
}

function invalid (message: string): InvalidOptionsError {
  return new InvalidOptionsError(message, { option: OPTION })
}

/**
 * What the `network` commands share: their required flags, checked with an
 * exact message each (network name, peer ID, duration, authority key), and
 * writing a private file.
 */
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { defaults, readKeyFile } from '../../index.js'
import { stringFlag } from '../context.js'
import { CommandError, errnoCode, EXIT, quote } from '../exit-codes.js'
import type { ParsedCommand } from '../args.js'
import type { PrivateKey } from '@libp2p/interface'

const SECOND = 1_000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/** Milliseconds per unit of a duration flag. */
const UNITS: Record<string, number> = { ms: 1, s: SECOND, m: MINUTE, h: HOUR, d: DAY }

/** Errno codes of an unreadable file that are the machine's problem (exit 6), not a wrong path (exit 2). */
const LOCAL_READ_CODES = new Set(['EACCES', 'EPERM', 'EMFILE', 'EIO'])

/** A flag the command cannot do without. */
export function requiredFlag (parsed: ParsedCommand, name: string, what: string): string {
  const value = stringFlag(parsed, name)

  if (value === undefined) {
    throw new CommandError(`Command "${parsed.command}" needs --${name} ${what}`, EXIT.USAGE)
  }

  return value
}

/** A network name (the `network create` argument or --network), checked as the library checks it. */
export function checkNetworkName (name: string, label: string): string {
  if (!defaults.NETWORK_NAME_PATTERN.test(name)) {
    throw new CommandError(`${label} must be a network name of 1 to 32 lowercase letters, digits or inner dashes (like "production"), got ${quote(name)}`, EXIT.USAGE)
  }

  return name
}

/** A peer ID flag (--peer), in its canonical string form. */
export function peerIdFlag (parsed: ParsedCommand, name: string): string {
  const value = requiredFlag(parsed, name, 'PEERID, the peer ID of the peer concerned')

  try {
    return peerIdFromString(value).toString()
  } catch {
    throw new CommandError(`--${name} must be a peer ID (like 12D3KooW..., printed by \`netget-peer id\` or when a node starts), got ${quote(value)}`, EXIT.USAGE)
  }
}

/**
 * A duration: a whole number with a unit, `90s`, `30m`, `12h`, `7d`, or
 * plain milliseconds (`1500`, `1500ms`). Returns milliseconds; throws a
 * usage error naming `flag` for anything else, zero, or more than `max` ms.
 */
export function parseDuration (text: string, flag: string, max: number): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(text)
  const ms = match === null ? Number.NaN : Number(match[1]) * UNITS[match[2] ?? 'ms']

  if (!Number.isSafeInteger(ms) || ms <= 0) {
    throw new CommandError(`Bad ${flag} ${quote(text)}: give a duration like 90s, 30m, 12h or 7d (or milliseconds)`, EXIT.USAGE)
  }

  if (ms > max) {
    throw new CommandError(`${flag} ${text} is longer than the ${formatDuration(max)} a credential may last; give at most ${formatDuration(max)} and renew it before it expires`, EXIT.USAGE)
  }

  return ms
}

/** A duration for humans: `30d`, `24h`, `90s`, `1h 30m`. */
export function formatDuration (ms: number): string {
  const parts: string[] = []
  let rest = Math.max(0, Math.round(ms / SECOND))

  for (const [unit, size] of [['d', DAY / SECOND], ['h', HOUR / SECOND], ['m', MINUTE / SECOND], ['s', 1]] as const) {
    if (rest >= size && parts.length < 2) {
      parts.push(`${Math.floor(rest / size)}${unit}`)
      rest %= size
    }
  }

  return parts.length === 0 ? '0s' : parts.join(' ')
}

/** A Unix ms time for humans, relative to now: `2026-12-02T10:00:00.000Z (in 23h 59m)`. */
export function formatTime (ms: number, now = Date.now()): string {
  const iso = new Date(ms).toISOString()
  return ms > now ? `${iso} (in ${formatDuration(ms - now)})` : `${iso} (${formatDuration(now - ms)} ago)`
}

/**
 * Reads the --authority-key file. A missing file or one that is not a key
 * is a usage error; a file this user may not read is a local one.
 */
export async function readAuthorityKey (parsed: ParsedCommand): Promise<PrivateKey> {
  const path = requiredFlag(parsed, 'authority-key', 'FILE, the authority.key written by `netget-peer network create`')

  try {
    return await readKeyFile(path)
  } catch (err) {
    const code = errnoCode(err)

    if (code !== undefined && LOCAL_READ_CODES.has(code)) {
      throw new CommandError(`Cannot read --authority-key ${path}: ${code}; check its permissions`, EXIT.LOCAL, { cause: err })
    }

    const why = code === 'ENOENT' ? 'no such file' : code === undefined ? 'not a libp2p private key file' : code
    throw new CommandError(`Cannot use --authority-key ${path}: ${why}; give the authority.key that \`netget-peer network create\` wrote`, EXIT.USAGE, { cause: err })
  }
}

/**
 * Writes `bytes` to `path` with mode 0600 (directories created with mode
 * 0700): to a temporary name first, then renamed, so a node watching the
 * file never reads half of it. Replaces an existing file.
 */
export async function writePrivateFile (path: string, bytes: Uint8Array, flag: string): Promise<string> {
  const target = resolve(path)
  const temporary = `${target}.${process.pid}.tmp`

  try {
    await mkdir(dirname(target), { recursive: true, mode: 0o700 })
    await writeFile(temporary, bytes, { mode: 0o600 })
    await rename(temporary, target)
    return target
  } catch (err) {
    await rm(temporary, { force: true }).catch(() => {})
    throw new CommandError(`Cannot write ${flag} ${path}: ${errnoCode(err) ?? (err as Error).message}`, EXIT.LOCAL, { cause: err })
  }
}

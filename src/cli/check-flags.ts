/**
 * The check flags of `netget-peer register` (--check-http, --check-tcp and
 * their timing; the table entries are `CHECK_FLAGS` in spec.ts): the
 * `checks` option they make, and the library's messages about that option
 * rewritten to name the flag.
 */
import { listFlag, numberFlag } from './context.js'
import { CommandError, EXIT, quote } from './exit-codes.js'
import type { ParsedCommand } from './args.js'
import type { NetgetInit, ServiceCheck } from '../index.js'

/** The timing flags, which need a check. */
const TIMING_FLAGS = ['check-interval', 'check-timeout', 'deregister-critical-after']

/** Which flag and value made each check, in `checks` order. */
export type CheckSources = Array<{ flag: string, value: string }>

/** The `new Netget()` options of the check flags, and where each check came from. */
export function checkOptions (parsed: ParsedCommand): { options: Pick<NetgetInit, 'checks' | 'deregisterCriticalAfter'>, sources: CheckSources } {
  const sources: CheckSources = [
    ...listFlag(parsed, 'check-http').map(value => ({ flag: '--check-http', value })),
    ...listFlag(parsed, 'check-tcp').map(value => ({ flag: '--check-tcp', value }))
  ]
  const interval = numberFlag(parsed, 'check-interval')
  const timeout = numberFlag(parsed, 'check-timeout')
  const deregisterCriticalAfter = numberFlag(parsed, 'deregister-critical-after')

  if (sources.length === 0) {
    const timing = TIMING_FLAGS.find(flag => parsed.flags[flag] !== undefined)

    if (timing !== undefined) {
      throw new CommandError(`--${timing} applies to checks: add --check-http URL or --check-tcp HOST:PORT`, EXIT.USAGE)
    }

    return { options: {}, sources }
  }

  const checks = sources.map(({ flag, value }): ServiceCheck => ({ ...(flag === '--check-http' ? { http: value } : { tcp: value }), interval, timeout }))
  return { options: { checks, deregisterCriticalAfter }, sources }
}

/**
 * A library message about option `checks` (`Option "checks": check 1 "tcp"
 * must be …`) as the CLI says it, naming the flag; other errors unchanged.
 */
export function nameCheckFlag (err: unknown, sources: CheckSources): unknown {
  const error = err as Error & { option?: string }
  const match = error?.name === 'InvalidOptionsError' && error.option === 'checks' ? /^Option "checks": check (\d+) (?:"(\w+)" )?(.*)$/.exec(error.message) : null
  const source = match === null ? undefined : sources[Number(match[1])]

  if (match === null || source === undefined) {
    return err
  }

  const [, , field, rest] = match

  if (rest.startsWith('is named')) {
    return new CommandError(`${source.flag} ${quote(source.value)} is given twice; give each check once`, EXIT.USAGE, { cause: err })
  }

  const flag = field === 'interval' || field === 'timeout' ? `--check-${field}` : source.flag
  return new CommandError(`${flag} ${rest}`, EXIT.USAGE, { cause: err })
}

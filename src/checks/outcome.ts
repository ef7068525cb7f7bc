import { MAX_CHECK_OUTPUT_LENGTH } from '../constants.js'
import type { CheckStatus } from './types.js'

/** What one run of a check found. */
export interface Outcome {
  status: CheckStatus
  /** For people, one line, at most {@link MAX_CHECK_OUTPUT_LENGTH} characters. */
  output: string
}

/**
 * The outcome of an HTTP answer, with Consul's rules: `expect` (else any
 * 2xx) is `passing`, 429 `warning`, anything else `critical`. The output is
 * the status line and the start of the body.
 */
export function httpOutcome (code: number, reason: string, body: string, expect: number | undefined): Outcome {
  const status: CheckStatus = (expect === undefined ? code >= 200 && code < 300 : code === expect)
    ? 'passing'
    : code === 429 ? 'warning' : 'critical'
  const text = body.trim()
  return { status, output: clip(`HTTP ${code}${reason === '' ? '' : ` ${reason}`}${text === '' ? '' : `: ${text}`}`) }
}

/** `text` as one line of at most {@link MAX_CHECK_OUTPUT_LENGTH} characters. */
export function clip (text: string): string {
  const line = text.replace(/\s+/g, ' ').trim()
  return line.length > MAX_CHECK_OUTPUT_LENGTH ? `${line.slice(0, MAX_CHECK_OUTPUT_LENGTH - 1)}…` : line
}

/** A thrown value's message, clipped. */
export function errorOutput (err: unknown): string {
  return clip(err instanceof Error ? err.message : String(err))
}

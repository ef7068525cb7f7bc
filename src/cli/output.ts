/**
 * How `netget-peer` prints. Human mode: results on stdout, progress on
 * stderr. JSON mode (`--json`): one JSON object on stdout for a short
 * command, one JSON object per line for a long-running one; no progress.
 * Errors are always one line on stderr (and an `error` object on stdout in
 * JSON mode).
 */
import type { ServiceInstance } from '../index.js'
import type { Failure } from './exit-codes.js'

/** Prefix of every line written to stderr. */
export const PROGRAM = 'netget-peer'

/** Where a command prints: the process's streams, or test captures. */
export interface OutputStreams {
  stdout: { write(chunk: string): unknown }
  /** `isTTY`: a terminal, where a wait is shown as it goes on. */
  stderr: { write(chunk: string): unknown, isTTY?: boolean }
}

/** How long a command waits before it says it is still waiting, in ms; then every this long again. */
export const WAITING_NOTICE_DELAY = 1_000

/** The printer of one command run. */
export class Output {
  /** Whether --json was given. */
  readonly json: boolean
  private readonly io: OutputStreams
  /** A waiting line is on the terminal now (see {@link waiting}). */
  private waitingLine = false

  constructor (io: OutputStreams, json: boolean) {
    this.io = io
    this.json = json
  }

  /** A human progress line (stderr); nothing in JSON mode. */
  progress (line: string): void {
    if (!this.json) {
      this.io.stderr.write(`${this.clearWaiting()}${line}\n`)
    }
  }

  /**
   * Shows that a wait goes on: once it has lasted {@link WAITING_NOTICE_DELAY}
   * ms, a line on stderr saying `what` and for how long, rewritten in place
   * every second — only when stderr is a terminal, never with --json. Call
   * the function it returns when the wait ends (it clears the line).
   */
  waiting (what: string): () => void {
    if (this.json || this.io.stderr.isTTY !== true) {
      return () => {}
    }

    const started = Date.now()
    const timer = setInterval(() => {
      this.waitingLine = true
      this.io.stderr.write(`\r\x1b[K${what}… ${Math.floor((Date.now() - started) / 1000)} s`)
    }, WAITING_NOTICE_DELAY)
    timer.unref?.()

    return () => {
      clearInterval(timer)
      this.io.stderr.write(this.clearWaiting())
    }
  }

  /** What erases the waiting line, if one is shown. */
  private clearWaiting (): string {
    const shown = this.waitingLine
    this.waitingLine = false
    return shown ? '\r\x1b[K' : ''
  }

  /** A short command's result: `value` as one JSON object, or `human` lines on stdout. */
  result (value: unknown, human: () => string[]): void {
    if (this.json) {
      this.io.stdout.write(`${JSON.stringify(value)}\n`)
    } else {
      this.io.stdout.write(human().map(line => `${line}\n`).join(''))
    }
  }

  /**
   * One event of a long-running command: a JSON line `{"event": name, ...detail}`,
   * or `human` lines (stdout for results worth piping, stderr for progress).
   */
  event (name: string, detail: Record<string, unknown>, human: string[], stream: 'stdout' | 'stderr' = 'stderr'): void {
    if (this.json) {
      this.io.stdout.write(`${JSON.stringify({ event: name, time: new Date().toISOString(), ...detail })}\n`)
    } else {
      this.io[stream].write(human.map(line => `${line}\n`).join(''))
    }
  }

  /** Plain text on stdout (help, version), in any mode. */
  text (text: string): void {
    this.io.stdout.write(text.endsWith('\n') ? text : `${text}\n`)
  }

  /** The one-line error message, and its JSON form in JSON mode. */
  failure (failure: Failure, errorName: string): void {
    this.io.stderr.write(`${this.clearWaiting()}${PROGRAM}: ${failure.message}\n`)

    if (this.json) {
      this.io.stdout.write(`${JSON.stringify({ error: { name: errorName, message: failure.message, exitCode: failure.exitCode } })}\n`)
    }
  }
}

/** The last characters of a peer ID, enough to tell peers apart in progress lines. */
export function shortPeerId (peerId: string): string {
  return peerId.length > 16 ? `…${peerId.slice(-8)}` : peerId
}

/** Round-trip time for humans: `0.42 ms`, `12 ms`. */
export function formatRtt (ms: number | undefined): string {
  if (ms === undefined) {
    return 'rtt ?'
  }

  return `${ms < 10 ? ms.toFixed(2) : Math.round(ms)} ms`
}

/** The human listing of discovered instances. */
export function formatInstances (name: string, network: string, instances: ServiceInstance[]): string[] {
  const lines = [`${instances.length} instance${instances.length === 1 ? '' : 's'} of ${name} on network ${network}:`]

  for (const instance of instances) {
    const rtt = instance.health.rttMs === undefined ? '' : `  ${formatRtt(instance.health.rttMs)}`
    const checks = instance.status === 'passing' ? '' : `  checks ${instance.status}`
    lines.push('', `${instance.peerId}  ${instance.health.status}${rtt}${checks}`)

    for (const address of instance.multiaddrs) {
      lines.push(`  addr  ${address}`)
    }

    for (const [key, value] of Object.entries(instance.metadata)) {
      if (key !== 'name') {
        lines.push(`  meta  ${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
      }
    }
  }

  return lines
}

/** The public types of service checks (option `checks`, the `service:status` event); see ./index.ts. */

import type { CheckStatus } from '../records/record.js'

export type { CheckStatus }

/** What every kind of check may set. */
export interface CheckTiming {
  /** Names the check in events and logs. @default `http <url>`, `tcp <host:port>`, or `run <n>` (its place in `checks`, from 1) */
  name?: string
  /** How often the check runs, in ms, counted from the end of its previous run. @default 10_000 (`DEFAULT_CHECK_INTERVAL`) */
  interval?: number
  /** How long one run may take before it is `critical`, in ms. @default 2_000 (`DEFAULT_CHECK_TIMEOUT`) */
  timeout?: number
}

/**
 * An HTTP check: a GET of `http`. With no `expect`, a 2xx answer is
 * `passing`, 429 (Too Many Requests) `warning`, anything else — another
 * status, a refused connection, a timeout — `critical`. Redirects are not
 * followed.
 */
export interface HttpCheck extends CheckTiming {
  /** The URL to GET, `http://` or `https://`. */
  http: string
  /** The one status that is `passing` (then only 429 is `warning`, unless `expect` is 429). @default any 2xx */
  expect?: number
}

/** A TCP check: `passing` if a connection to `tcp` opens within the timeout, else `critical`. Node only. */
export interface TcpCheck extends CheckTiming {
  /** `host:port`, like `127.0.0.1:5432` or `[::1]:5432`. */
  tcp: string
}

/**
 * A check of your own: `passing` when `run` returns (or resolves to) `true`;
 * `false`, any other value, a throw or a rejection is `critical` (the
 * error's message is the output), and so is not settling within the
 * timeout, when `signal` aborts. It is never called again while a call
 * is pending: one that ignores its signal keeps the check `critical`
 * until it settles.
 */
export interface RunCheck extends CheckTiming {
  run: (signal: AbortSignal) => Promise<boolean> | boolean
}

/** One check of option `checks`. */
export type ServiceCheck = HttpCheck | TcpCheck | RunCheck

/** A check as the config holds it: validated, its name, interval and timeout filled in. */
export type ResolvedCheck = ServiceCheck & Required<CheckTiming>

/** The latest outcome of one check. */
export interface CheckResult {
  /** The check's name. */
  name: string
  status: CheckStatus
  /** What it saw, for people: `HTTP 500 Internal Server Error: <body excerpt>`, `connect ECONNREFUSED 127.0.0.1:5432`, an error message; at most 256 characters. */
  output: string
  /** Unix ms when the run ended. */
  at: number
}

/** The detail of the `service:status` event: the aggregate status changed. */
export interface ServiceStatusDetail {
  status: CheckStatus
  previous: CheckStatus
  /** The output of the first check (in `checks` order) in the new status, if that is not `passing`; else `''`. */
  output: string
  /** The latest result of every check that has run. */
  checks: CheckResult[]
}

/** The detail of the `service:deregistered` event: the record was withdrawn because the checks stayed critical. */
export interface ServiceDeregisteredDetail {
  /** How long the checks had been critical, in ms. */
  criticalFor: number
  /** The output of the first critical check. */
  output: string
}

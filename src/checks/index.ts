/**
 * Service checks: what a service node runs, on an interval, against what it
 * fronts (an HTTP endpoint, a TCP port, a function), in the manner of
 * Consul's agent checks. Their aggregate status (`passing`, `warning`,
 * `critical`) is published in the node's signed record; readers leave
 * `critical` instances out, and a service `critical` for longer than
 * `deregisterCriticalAfter` withdraws its record until its checks pass
 * again. See the README, "Health and checks".
 */

export type { CheckResult, CheckStatus, CheckTiming, HttpCheck, ResolvedCheck, RunCheck, ServiceCheck, ServiceDeregisteredDetail, ServiceStatusDetail, TcpCheck } from './types.js'
export { ServiceChecks } from './service-checks.js'
export type { ServiceChecksInit } from './service-checks.js'
export { resolveChecks } from './definition.js'

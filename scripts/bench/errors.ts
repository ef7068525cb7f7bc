/**
 * The benchmark's named errors, and how a trial tells its own failure (a
 * sample that must not count) from a broken run (a child process that died
 * or stopped answering, after which no figure can be trusted).
 *
 * @packageDocumentation
 */

/** A child process exited, or could not be sent a call, while a call was pending. */
export class ChildExitedError extends Error {
  static name = 'ChildExitedError'

  constructor (message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = ChildExitedError.name
  }
}

/** A child process did not answer a call in time (it hangs or is overloaded). */
export class CallTimeoutError extends Error {
  static name = 'CallTimeoutError'

  constructor (message: string) {
    super(message)
    this.name = CallTimeoutError.name
  }
}

/** A timed operation resolved but with less than the trial needs (fewer instances, no reply naming the announcer). */
export class IncompleteTrialError extends Error {
  static name = 'IncompleteTrialError'

  constructor (message: string) {
    super(message)
    this.name = IncompleteTrialError.name
  }
}

/** Names of the errors that break the whole run rather than one trial. */
const FATAL = new Set([ChildExitedError.name, CallTimeoutError.name])

/** Whether `err` means the run is broken (a child died or hangs), not just one trial. */
export function isFatal (err: unknown): boolean {
  return err instanceof Error && FATAL.has(err.name)
}

/** `"Name: message"` of any thrown value (a child's error keeps its own name across IPC). */
export function describe (err: unknown): string {
  if (err instanceof Error || (typeof err === 'object' && err !== null && 'message' in err)) {
    const { name, message } = err as { name?: string, message: string }
    return `${name ?? 'Error'}: ${message}`
  }
  return `Error: ${String(err)}`
}

/** An `Error` with a child's error's name and message, as rethrown in the parent. */
export function remoteError (name: string, message: string): Error {
  const err = new Error(message)
  err.name = name
  return err
}

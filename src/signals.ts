import { anySignal } from 'any-signal'
import { setMaxListeners } from 'main-event'
import { AbortError, TimeoutError } from './errors.js'
import type { AbortOptions } from '@libp2p/interface'

/**
 * The signal of one public operation: the caller's, or `timeoutMs` when the
 * caller gave none. Clear it when the operation ends.
 */
export function operationSignal (options: AbortOptions, timeoutMs: number): ReturnType<typeof anySignal> {
  const signal = anySignal([options.signal ?? AbortSignal.timeout(timeoutMs)])
  // one operation fans out to many dials, streams and pings
  setMaxListeners(Infinity, signal)
  return signal
}

/**
 * Runs `task` under {@link operationSignal} and turns an abort into a named
 * error: AbortError if the caller aborted, TimeoutError (with `timeoutMs`)
 * if the default timeout ran out.
 */
export async function withOperationSignal<T> (options: AbortOptions, timeoutMs: number, what: string, task: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const signal = operationSignal(options, timeoutMs)

  try {
    return await task(signal)
  } catch (err) {
    if (signal.aborted) {
      if (options.signal?.aborted === true) {
        throw new AbortError(`${what} was aborted`, { cause: err })
      }

      throw new TimeoutError(`${what} did not finish within ${timeoutMs} ms; check that the network's registries are reachable, or pass a longer signal`, { cause: err, timeoutMs, operation: what })
    }

    throw err
  } finally {
    signal.clear()
  }
}

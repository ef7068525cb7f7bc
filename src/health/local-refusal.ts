/**
 * Whether a failed ping was refused by this node itself rather than by the
 * instance or the network, decided by error name (and, for libp2p's
 * `DialError`, its message, since the same name also covers a record with
 * too many addresses): libp2p's dial queue is full, the outbound stream
 * limit of ping is reached, or the node is stopping. Such a failure says
 * nothing about the instance. An `AggregateError` is local if every error in
 * it is.
 */
export function isLocalRefusal (err: unknown): boolean {
  const error = err as (Error & { errors?: unknown[] }) | undefined

  if (error === undefined || error === null) {
    return false
  }

  if (error.name === 'AggregateError' && Array.isArray(error.errors) && error.errors.length > 0) {
    return error.errors.every(isLocalRefusal)
  }

  return LOCAL_REFUSALS.has(error.name) || (error.name === 'DialError' && /dial queue is full/i.test(error.message))
}

const LOCAL_REFUSALS = new Set(['TooManyOutboundProtocolStreamsError', 'NotStartedError'])

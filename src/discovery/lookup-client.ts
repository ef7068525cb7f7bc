import { setMaxListeners } from 'main-event'
import { anySignal } from 'any-signal'
import { raceSignal } from 'race-signal'
import { lpStream } from '@libp2p/utils'
import { DEFAULT_LOOKUP_CLIENT_LIMIT, DEFAULT_REQUEST_TIMEOUT, MAX_LOOKUP_RESULTS, MAX_PIPELINED_LOOKUPS, MAX_RECORD_BYTES } from '../constants.js'
import { InvalidRecordError } from '../errors.js'
import { verifyAttestation } from '../liveness/attestation.js'
import { decodeServerFrame, encodeLookupRequest } from '../protocol/lookup-messages.js'
import { lookupProtocol } from '../protocol/ids.js'
import { verifyRecord } from '../records/verify.js'
import type { VerifiedAttestation } from '../liveness/attestation.js'
import type { RecordExpectations } from '../records/verify.js'
import type { LookupHeader, LookupPush, LookupRequest } from '../protocol/lookup-messages.js'
import type { VerifiedRecord } from '../records/verify.js'
import type { Logger, PeerId, Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { Libp2p } from 'libp2p'

/** What a {@link LookupClient} needs. */
export interface LookupClientInit {
  libp2p: Pick<Libp2p, 'dialProtocol'>
  network: string
  log: Logger
  /**
   * Most records read from one registry for one lookup, over every page; a
   * registry holding more is read only this far (its best ranked first).
   * @default DEFAULT_LOOKUP_CLIENT_LIMIT (10000)
   */
  maxRecords?: number
  /** Closed networks: refuses a record whose publisher holds no valid credential for it. */
  checkPublisher?: RecordExpectations['checkPublisher']
  /**
   * Whether a registry's attestations are to be believed: a registry this
   * node uses for the network. @default only the registry that sent it
   */
  trustedRegistry?(peerId: string): boolean
}

/** What one answer or push delivers, each item verified. */
export interface AnswerHandlers {
  onRecord(record: VerifiedRecord): void
  /** Attestations (requests with `health`, and pushes). */
  onAttestation?(attestation: VerifiedAttestation): void
}

/** A subscription's receiver on one lookup stream. */
export interface PushHandler {
  /** A push: the records and attestations in it are verified; `removed` and `resync` as the registry sent them. */
  onPush(push: { records: VerifiedRecord[], attestations: VerifiedAttestation[], removed: string[], resync: boolean }): void
  /** The stream ended: no more pushes will come on it. */
  onClose(err: Error): void
}

/** A lookup failed because its stream broke, not because of its own signal. */
class SessionError extends Error {
  static name = 'SessionError'
  name = 'SessionError'
}

interface Pending extends AnswerHandlers {
  request: LookupRequest
  resolve(header: LookupHeader): void
  reject(err: Error): void
  /** Its caller gave up: the answer is still read, to keep the stream in step, and dropped. */
  abandoned: boolean
}

/**
 * One warm lookup stream to one registry. Requests are written as they come,
 * at most {@link MAX_PIPELINED_LOOKUPS} ahead of the answers (the rest wait
 * here, not in the registry's buffer), and answered in order, so concurrent
 * lookups share the stream.
 */
class LookupSession {
  private readonly init: LookupClientInit
  private readonly registry: PeerId
  private readonly opened: Promise<{ stream: Stream, messages: LengthPrefixedStream<Stream> }>
  /** Sent, waiting for their answers, in order. */
  private readonly queue: Pending[] = []
  /** Not sent yet: more than MAX_PIPELINED_LOOKUPS were in flight. */
  private readonly waiting: Array<{ wake(): void, cancelled: boolean }> = []
  private reading = false
  /** Push receivers, by service name. */
  readonly subscriptions = new Map<string, PushHandler>()
  private readonly onClose: () => void
  closed = false

  constructor (init: LookupClientInit, registry: PeerId, onClose: () => void) {
    this.init = init
    this.registry = registry
    this.opened = init.libp2p.dialProtocol(registry, lookupProtocol(init.network), { signal: AbortSignal.timeout(10_000) })
      .then(stream => {
        stream.addEventListener('close', () => { this.fail(new SessionError('The lookup stream closed')) }, { once: true })
        return { stream, messages: lpStream(stream, { maxDataLength: MAX_RECORD_BYTES }) }
      })
    this.opened.catch(() => {})
    this.onClose = onClose
  }

  /**
   * Sends one request and reads its answer (one page); resolves with the
   * answer's header. A caller that gives up (its signal aborts) leaves the
   * stream to the others: a request not sent yet is dropped, one sent has its
   * answer read and discarded. Only when nobody is waiting any more is the
   * stream reset (a registry that stopped answering).
   */
  async request (request: LookupRequest, outer: AbortSignal, handlers: AnswerHandlers, timeout: number): Promise<LookupHeader> {
    outer.throwIfAborted()
    let signal = outer
    const { messages } = await raceSignal(this.opened, outer)

    // wait for a turn; the check and the push below run in one go
    while (this.queue.length >= MAX_PIPELINED_LOOKUPS && !this.closed) {
      await this.turn(outer)
    }

    // the registry's time starts now: waiting for a turn on this node's own stream is not its fault
    const timed = anySignal([outer, AbortSignal.timeout(timeout)])
    setMaxListeners(Infinity, timed)
    signal = timed

    if (this.closed) {
      throw new SessionError(`Lookup stream to ${this.registry.toString()} closed`)
    }

    let pending: Pending | undefined
    const done = new Promise<LookupHeader>((resolve, reject) => {
      pending = { request, ...handlers, resolve, reject, abandoned: false }
      this.queue.push(pending)
    })
    done.catch(() => {}) // may reject before it is awaited below
    const entry = pending as Pending
    const onAbort = (): void => { this.abandon(entry, signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })

    try {
      await messages.write(encodeLookupRequest(request), { signal })
      this.readAnswers(messages)
      return await done
    } catch (err) {
      if (!entry.abandoned) {
        // a write that failed or was cut short leaves the stream out of step
        this.fail(err as Error)
      }

      throw signal.aborted ? signal.reason : err
    } finally {
      signal.removeEventListener('abort', onAbort)
      timed.clear()
    }
  }

  /** Resolves when a slot frees (or the session closes); rejects if `signal` aborts first. */
  private async turn (signal: AbortSignal): Promise<void> {
    const waiter = { wake: () => {}, cancelled: false }
    const woken = new Promise<void>(resolve => { waiter.wake = resolve })
    this.waiting.push(waiter)

    try {
      await raceSignal(woken, signal)
    } catch (err) {
      waiter.cancelled = true
      throw err
    }
  }

  /** Lets the next waiter that has not given up take the freed slot. */
  private wakeNext (): void {
    while (this.waiting.length > 0) {
      const waiter = this.waiting.shift() as { wake(): void, cancelled: boolean }

      if (!waiter.cancelled) {
        waiter.wake()
        return
      }
    }
  }

  private abandon (pending: Pending, reason: Error): void {
    pending.abandoned = true
    pending.reject(reason)

    if (this.queue.every(queued => queued.abandoned)) {
      this.fail(new SessionError(`Lookup stream to ${this.registry.toString()} stalled: every lookup on it gave up`))
    }
  }

  /** Breaks the session: every lookup waiting on it fails and the stream is reset. */
  fail (err: Error): void {
    if (!this.closed) {
      this.closed = true
      this.onClose()
      this.opened.then(({ stream }) => { stream.abort(err) }, () => {})
    }

    for (const pending of this.queue.splice(0)) {
      // a refusal (an error header, with its reason code) is the answer, not a broken stream: never retried
      pending.reject(err instanceof SessionError || err?.name === InvalidRecordError.name ? err : new SessionError(`Lookup stream to ${this.registry.toString()} broke: ${err?.message}`, { cause: err }))
    }

    for (const waiter of this.waiting.splice(0)) {
      waiter.wake()
    }

    const subscriptions = [...this.subscriptions.values()]
    this.subscriptions.clear()

    for (const subscription of subscriptions) {
      subscription.onClose(err)
    }
  }

  private readAnswers (messages: LengthPrefixedStream<Stream>): void {
    if (this.reading) {
      return
    }

    this.reading = true
    void (async () => {
      try {
        while ((this.queue.length > 0 || this.subscriptions.size > 0) && !this.closed) {
          const frame = decodeServerFrame((await messages.read()).subarray(), this.queue[0]?.request.limit ?? MAX_LOOKUP_RESULTS)

          if (frame.kind === 'push') {
            await this.readPush(messages, frame.push)
            continue
          }

          const pending = this.queue[0]

          if (pending === undefined) {
            throw new SessionError('The registry sent an answer nobody asked for')
          }

          const { header } = frame
          const records = await this.readFrames(messages, header.count, async envelope => verifyRecord(envelope, { network: this.init.network, name: pending.request.name, checkPublisher: this.init.checkPublisher }), pending.request.name, pending.abandoned)
          const attestations = await this.readFrames(messages, header.attestations ?? 0, async envelope => this.verifyAttestation(envelope), pending.request.name, pending.abandoned)

          if (!pending.abandoned) {
            records.forEach(record => { pending.onRecord(record) })
            attestations.forEach(attestation => { pending.onAttestation?.(attestation) })
          }

          this.queue.shift()
          this.wakeNext()
          pending.resolve(header)
        }
      } catch (err) {
        this.fail(err as Error)
      } finally {
        this.reading = false
      }
    })()
  }

  private async readPush (messages: LengthPrefixedStream<Stream>, push: LookupPush): Promise<void> {
    const handler = this.subscriptions.get(push.push)
    const records = await this.readFrames(messages, push.count, async envelope => verifyRecord(envelope, { network: this.init.network, name: push.push, checkPublisher: this.init.checkPublisher }), push.push, handler === undefined)
    const attestations = await this.readFrames(messages, push.attestations, async envelope => this.verifyAttestation(envelope), push.push, handler === undefined)
    handler?.onPush({ records, attestations, removed: push.removed, resync: push.resync })
  }

  private async verifyAttestation (envelope: Uint8Array): Promise<VerifiedAttestation> {
    const registry = this.registry.toString()
    return verifyAttestation(envelope, { network: this.init.network, trusted: this.init.trustedRegistry ?? (signer => signer === registry) })
  }

  /** Reads `count` frames and verifies each (unless `skip`); invalid ones are logged and left out. */
  private async readFrames<T> (messages: LengthPrefixedStream<Stream>, count: number, verify: (envelope: Uint8Array) => Promise<T>, name: string, skip: boolean): Promise<T[]> {
    const verified: T[] = []

    for (let i = 0; i < count; i++) {
      const envelope = (await messages.read()).subarray()

      if (skip) {
        continue
      }

      try {
        verified.push(await verify(envelope))
      } catch (err) {
        this.init.log('registry %p sent something invalid for %s - %e', this.registry, name, err)
      }
    }

    return verified
  }

  /**
   * Subscribes to a service's changes on this stream: its first answer
   * comes back as a lookup's, then pushes go to `handler` until
   * {@link unsubscribe} or the stream ends. Resolves with the answer's header
   * (`subscribed` false: the registry will not push).
   */
  async subscribe (name: string, signal: AbortSignal, handlers: AnswerHandlers, handler: PushHandler, timeout: number): Promise<LookupHeader> {
    this.subscriptions.set(name, handler)

    try {
      const header = await this.request({ name, health: true, subscribe: true }, signal, handlers, timeout)

      if (header.subscribed !== true) {
        this.subscriptions.delete(name)
      }

      return header
    } catch (err) {
      if (this.subscriptions.get(name) === handler) {
        this.subscriptions.delete(name)
      }

      throw err
    }
  }

  /** Ends a subscription: no more pushes reach its handler; the registry is told. */
  async unsubscribe (name: string, signal: AbortSignal, timeout: number): Promise<void> {
    if (!this.subscriptions.delete(name) || this.closed) {
      return
    }

    await this.request({ name, unsubscribe: true }, signal, { onRecord: () => {} }, timeout).catch(() => {})
  }
}

/**
 * The asking side of the registry lookup protocol: keeps one warm lookup
 * stream per registry, reads every page of an answer (up to `maxRecords`)
 * and calls `onRecord` for each record that passes verification, as it
 * arrives. Records that fail verification are logged and dropped: a
 * registry cannot make this node accept a forged, foreign or expired record.
 */
export class LookupClient {
  private readonly init: LookupClientInit
  private readonly maxRecords: number
  private readonly sessions = new Map<string, LookupSession>()

  constructor (init: LookupClientInit) {
    this.init = init
    this.maxRecords = init.maxRecords ?? DEFAULT_LOOKUP_CLIENT_LIMIT
  }

  /**
   * Asks `registry` for every record of `name`, page after page, until the
   * registry has no more or `maxRecords` came; resolves with how many
   * records came (valid or not). A page whose stream broke is asked again
   * once on a fresh stream.
   */
  async lookup (registry: PeerId, name: string, signal: AbortSignal, handlers: AnswerHandlers, requestTimeout = DEFAULT_REQUEST_TIMEOUT, health = false): Promise<number> {
    let received = 0
    let cursor: string | undefined

    do {
      const limit = Math.min(MAX_LOOKUP_RESULTS, this.maxRecords - received)
      // a request without cursor and with the default limit is the version 1 request
      const request: LookupRequest = { name, ...(cursor === undefined ? {} : { cursor }), ...(limit === MAX_LOOKUP_RESULTS ? {} : { limit }), ...(health ? { health } : {}) }
      const header = await this.page(registry, request, signal, handlers, requestTimeout)
      received += header.count
      cursor = header.count > 0 ? header.next : undefined
    } while (cursor !== undefined && received < this.maxRecords)

    if (cursor !== undefined) {
      this.init.log('registry %p holds more than %d records of %s; read the first %d', registry, this.maxRecords, name, received)
    }

    return received
  }

  /** Closes every lookup stream. */
  stop (): void {
    for (const session of this.sessions.values()) {
      session.fail(new SessionError('The node is stopping'))
    }

    this.sessions.clear()
  }

  /**
   * Subscribes to `name` at `registry` (see {@link LookupSession.subscribe});
   * resolves with whether the registry pushes, and the function that ends
   * the subscription.
   */
  async subscribe (registry: PeerId, name: string, signal: AbortSignal, handlers: AnswerHandlers, handler: PushHandler, requestTimeout = DEFAULT_REQUEST_TIMEOUT): Promise<{ subscribed: boolean, unsubscribe(): Promise<void> }> {
    const session = this.session(registry)
    const header = await session.subscribe(name, signal, handlers, handler, requestTimeout)

    return {
      subscribed: header.subscribed === true,
      unsubscribe: async () => {
        if (session.subscriptions.get(name) === handler) {
          await session.unsubscribe(name, AbortSignal.timeout(requestTimeout), requestTimeout)
        }
      }
    }
  }

  private async page (registry: PeerId, request: LookupRequest, signal: AbortSignal, handlers: AnswerHandlers, timeout: number): Promise<LookupHeader> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.session(registry).request(request, signal, handlers, timeout)
      } catch (err) {
        if (attempt > 0 || signal.aborted || (err as Error).name !== SessionError.name) {
          throw err
        }
      }
    }
  }

  private session (registry: PeerId): LookupSession {
    const key = registry.toString()
    let session = this.sessions.get(key)

    if (session === undefined || session.closed) {
      const created: LookupSession = new LookupSession(this.init, registry, () => {
        if (this.sessions.get(key) === created) {
          this.sessions.delete(key)
        }
      })
      session = created
      this.sessions.set(key, session)
    }

    return session
  }
}

import { lpStream } from '@libp2p/utils'
import { MAX_RECORD_BYTES } from '../constants.js'
import { decodeLookupHeader, encodeLookupRequest } from '../protocol/lookup-messages.js'
import { lookupProtocol } from '../protocol/ids.js'
import { verifyRecord } from '../records/verify.js'
import type { VerifiedRecord } from '../records/verify.js'
import type { Logger, PeerId, Stream } from '@libp2p/interface'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { Libp2p } from 'libp2p'

/** What a {@link LookupClient} needs. */
export interface LookupClientInit {
  libp2p: Pick<Libp2p, 'dialProtocol'>
  network: string
  log: Logger
}

/** A lookup failed because its stream broke, not because of its own signal. */
class SessionError extends Error {
  static name = 'SessionError'
  name = 'SessionError'
}

interface Pending {
  name: string
  onRecord(record: VerifiedRecord): void
  resolve(): void
  reject(err: Error): void
}

/**
 * One warm lookup stream to one registry. Lookups are written as they come
 * and answered in order, so concurrent lookups share the stream.
 */
class LookupSession {
  private readonly init: LookupClientInit
  private readonly registry: PeerId
  private readonly opened: Promise<{ stream: Stream, messages: LengthPrefixedStream<Stream> }>
  private readonly queue: Pending[] = []
  private reading = false
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

  private readonly onClose: () => void

  async lookup (name: string, signal: AbortSignal, onRecord: (record: VerifiedRecord) => void): Promise<void> {
    signal.throwIfAborted()

    const done = new Promise<void>((resolve, reject) => {
      this.queue.push({ name, onRecord, resolve, reject })
    })
    done.catch(() => {}) // may reject before it is awaited below
    const onAbort = (): void => { this.fail(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })

    try {
      const { messages } = await this.opened
      await messages.write(encodeLookupRequest(name), { signal })
      this.readAnswers(messages)
      await done
    } catch (err) {
      this.fail(err as Error)
      throw signal.aborted ? signal.reason : err
    } finally {
      signal.removeEventListener('abort', onAbort)
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
      pending.reject(err instanceof SessionError ? err : new SessionError(`Lookup stream to ${this.registry.toString()} broke: ${err?.message}`, { cause: err }))
    }
  }

  private readAnswers (messages: LengthPrefixedStream<Stream>): void {
    if (this.reading) {
      return
    }

    this.reading = true
    void (async () => {
      try {
        while (this.queue.length > 0 && !this.closed) {
          const pending = this.queue[0]
          const count = decodeLookupHeader((await messages.read()).subarray())

          for (let i = 0; i < count; i++) {
            const envelope = (await messages.read()).subarray()

            try {
              pending.onRecord(await verifyRecord(envelope, { network: this.init.network, name: pending.name }))
            } catch (err) {
              this.init.log('registry %p sent an invalid record for %s - %e', this.registry, pending.name, err)
            }
          }

          this.queue.shift()
          pending.resolve()
        }
      } catch (err) {
        this.fail(err as Error)
      } finally {
        this.reading = false
      }
    })()
  }
}

/**
 * The asking side of the registry lookup protocol: keeps one warm lookup
 * stream per registry and calls `onRecord` for each record that passes
 * verification, as it arrives. Records that fail verification are logged
 * and dropped: a registry cannot make this node accept a forged, foreign or
 * expired record.
 */
export class LookupClient {
  private readonly init: LookupClientInit
  private readonly sessions = new Map<string, LookupSession>()

  constructor (init: LookupClientInit) {
    this.init = init
  }

  /** Asks `registry` for every record of `name`; retries once on a fresh stream if the warm one broke. */
  async lookup (registry: PeerId, name: string, signal: AbortSignal, onRecord: (record: VerifiedRecord) => void): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.session(registry).lookup(name, signal, onRecord)
        return
      } catch (err) {
        if (attempt > 0 || signal.aborted || (err as Error).name !== SessionError.name) {
          throw err
        }
      }
    }
  }

  /** Closes every lookup stream. */
  stop (): void {
    for (const session of this.sessions.values()) {
      session.fail(new SessionError('The node is stopping'))
    }

    this.sessions.clear()
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

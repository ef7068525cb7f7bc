import { byteStream } from '@libp2p/utils'
import { encode as varintEncode, encodingLength } from 'uint8-varint'
import { concat as uint8ArrayConcat } from 'uint8arrays/concat'
import { DEFAULT_REQUEST_TIMEOUT, LOOKUP_IDLE_TIMEOUT, MAX_LOOKUP_PAGE_BYTES, MAX_LOOKUP_READ_BUFFER, MAX_LOOKUP_RESULTS } from '../constants.js'
import { InvalidRecordError } from '../errors.js'
import { decodeLookupRequest, encodeLookupHeader, MAX_REQUEST_BYTES } from '../protocol/lookup-messages.js'
import { lookupProtocol } from '../protocol/ids.js'
import type { RecordIndex } from './record-index.js'
import type { RefusalCode } from '../errors.js'
import type { StreamSubscriptions, SubscriptionHub } from './subscriptions.js'
import type { LookupHeader, LookupRequest } from '../protocol/lookup-messages.js'
import type { IndexedRecord } from './record-index.js'
import type { NetgetMetrics } from '../metrics/index.js'
import type { Logger, Stream, Connection } from '@libp2p/interface'
import type { ByteStream } from '@libp2p/utils'
import type { Libp2p } from 'libp2p'

/** What a {@link LookupServer} needs. */
export interface LookupServerInit {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle'>
  network: string
  index: Pick<RecordIndex, 'page' | 'envelopes'>
  log: Logger
  /** The latest signed liveness attestation of a publisher, for requests with `health` (§15). @default none: no attestations */
  attestation?(peerId: string): Uint8Array | Promise<Uint8Array | undefined> | undefined
  /** Subscriptions, for requests with `subscribe` (§16). @default none: `subscribe` is not taken */
  subscriptions?: SubscriptionHub
  /** Concurrent lookup streams allowed per connection. @default 32 */
  maxInboundStreams?: number
  /** Most envelope bytes in one answer. @default MAX_LOOKUP_PAGE_BYTES (1 MiB) */
  maxPageBytes?: number
  /**
   * Read-restricted closed networks: resolves with why the peer on
   * `connection` may not look up, or undefined if it may. @default everyone may
   */
  authorize?(connection: Connection): Promise<string | undefined>
  /** Counts each answer and its latency. @default none */
  metrics?: Pick<NetgetMetrics, 'lookup' | 'refusal'>
}

/** The longest length prefix of a request frame: enough for {@link MAX_REQUEST_BYTES}. */
const MAX_PREFIX_BYTES = encodingLength(MAX_REQUEST_BYTES)

/** A request frame the server will not read: it answers with an error and closes. */
class FrameError extends Error {
  static name = 'FrameError'
  name = 'FrameError'
}

/**
 * Answers the registry lookup protocol from the registry's record index. A
 * stream carries any number of lookups, answered one at a time in order, so
 * a peer keeps one warm stream per registry instead of opening one per
 * lookup. Each answer is one page: at most 1000 records and
 * `maxPageBytes` of envelopes, best ranked first, with a cursor for the
 * next page. Peers verify every record themselves, so the server sends what
 * it stored as it stored it.
 *
 * Bounds: one answer in flight per stream (the next request is not read
 * until the answer is written), at most {@link MAX_LOOKUP_READ_BUFFER} bytes
 * of unread requests per stream (more resets it), `maxInboundStreams`
 * streams per connection; a malformed length prefix, or a frame over
 * {@link MAX_REQUEST_BYTES}, gets an error header and the stream is closed
 * at once; a request must arrive whole within the request timeout once its
 * first byte did.
 */
export class LookupServer {
  private readonly init: LookupServerInit
  private readonly protocol: string

  constructor (init: LookupServerInit) {
    this.init = init
    this.protocol = lookupProtocol(init.network)
  }

  async start (): Promise<void> {
    await this.init.libp2p.handle(this.protocol, async (stream, connection) => {
      await this.serve(stream, connection)
    }, {
      maxInboundStreams: this.init.maxInboundStreams ?? 32
    })
  }

  async stop (): Promise<void> {
    await this.init.libp2p.unhandle(this.protocol)
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const { log } = this.init
    const bytes = byteStream(stream, { maxBufferSize: MAX_LOOKUP_READ_BUFFER })
    const refusal = await this.init.authorize?.(connection)

    if (refusal !== undefined) {
      log('refused lookups from %p - %s', connection.remotePeer, refusal)
      this.init.metrics?.lookup('refused', 0)
      this.init.metrics?.refusal('read-restricted')
      await refuse(stream, bytes, refusal, 'not-authorized', '')
      return
    }

    // answers and pushes are written one at a time, each as one write
    let writing: Promise<void> = Promise.resolve()
    const write = async (data: Uint8Array[], signal?: AbortSignal): Promise<void> => {
      const next = writing.then(async () => { await bytes.write(frames(data), { signal: signal ?? AbortSignal.timeout(DEFAULT_REQUEST_TIMEOUT) }) })
      writing = next.catch(() => {})
      await next
    }
    let subscriptions: StreamSubscriptions | undefined

    try {
      await this.answer(stream, connection, bytes, write, () => {
        subscriptions ??= this.init.subscriptions?.open({ write })
        return subscriptions
      }, () => (subscriptions?.names.size ?? 0) > 0)
    } finally {
      subscriptions?.close()
    }
  }

  private async answer (stream: Stream, connection: Connection, bytes: ByteStream<Stream>, write: (data: Uint8Array[], signal?: AbortSignal) => Promise<void>, subscriptions: () => StreamSubscriptions | undefined, subscribed: () => boolean): Promise<void> {
    const { log, index } = this.init

    while (stream.status === 'open') {
      let request: LookupRequest

      try {
        // a stream with subscriptions stays open while idle: the pushes are its point
        const frame = await readRequestFrame(bytes, subscribed())

        if (frame === undefined) {
          // the asker is done (closed its side), went idle, or went away
          await stream.close({ signal: AbortSignal.timeout(DEFAULT_REQUEST_TIMEOUT) }).catch((err) => { stream.abort(err) })
          return
        }

        request = decodeLookupRequest(frame)
      } catch (err) {
        if ((err as Error).name === FrameError.name || (err as Error).name === InvalidRecordError.name) {
          log('bad lookup request from %p - %e', connection.remotePeer, err)
          await refuse(stream, bytes, (err as Error).message, (err as FrameError).name === FrameError.name ? 'too-large' : 'bad-request')
        } else {
          log.trace('lookup stream from %p ended - %e', connection.remotePeer, err)
          stream.abort(err as Error)
        }

        return
      }

      const signal = AbortSignal.timeout(DEFAULT_REQUEST_TIMEOUT)
      const started = performance.now()

      try {
        let page

        try {
          page = request.unsubscribe === true ? { records: [] } : index.page(request.name, { cursor: request.cursor, limit: request.limit ?? MAX_LOOKUP_RESULTS, maxBytes: this.init.maxPageBytes ?? MAX_LOOKUP_PAGE_BYTES })
        } catch (err) {
          log('bad lookup cursor from %p - %e', connection.remotePeer, err)
          this.init.metrics?.lookup('error', (performance.now() - started) / 1000)
          await refuse(stream, bytes, (err as Error).message, 'bad-cursor')
          return
        }

        const header: LookupHeader = { count: 0 }

        if (request.subscribe === true || request.unsubscribe === true) {
          const streamSubscriptions = subscriptions()

          if (request.unsubscribe === true) {
            streamSubscriptions?.hub.remove(request.name, streamSubscriptions)
          } else if (streamSubscriptions?.hub.add(request.name, streamSubscriptions) === true) {
            header.subscribed = true
          }
        }

        const envelopes = await index.envelopes(page.records)
        const attestations = request.health === true ? await currentAttestations(this.init.attestation, page.records) : []
        header.count = envelopes.length

        if (page.next !== undefined) {
          header.next = page.next
        }

        if (attestations.length > 0) {
          header.attestations = attestations.length
        }

        await write([encodeLookupHeader(header), ...envelopes, ...attestations], signal)
        this.init.metrics?.lookup(envelopes.length > 0 ? 'found' : 'empty', (performance.now() - started) / 1000)
        log.trace('answered lookup of %s from %p with %d records%s', request.name, connection.remotePeer, envelopes.length, page.next === undefined ? '' : ' and a cursor')
      } catch (err) {
        log('lookup stream from %p failed - %e', connection.remotePeer, err)
        this.init.metrics?.lookup('error', (performance.now() - started) / 1000)
        stream.abort(err as Error)
        return
      }
    }
  }
}

/** The current attestations of the live records' publishers, as the registry signed them. */
async function currentAttestations (attestation: LookupServerInit['attestation'], records: IndexedRecord[]): Promise<Uint8Array[]> {
  if (attestation === undefined) {
    return []
  }

  const envelopes: Uint8Array[] = []

  for (const record of records) {
    // a promise only for a publisher whose first attestation is being signed
    const envelope = record.withdrawn ? undefined : attestation(record.peerId)
    const ready = envelope instanceof Promise ? await envelope : envelope

    if (ready !== undefined) {
      envelopes.push(ready)
    }
  }

  return envelopes
}

/**
 * Reads one request frame: undefined if the asker closed its side (or, with
 * `keepIdle` false, stayed idle for {@link LOOKUP_IDLE_TIMEOUT}) before a first byte; throws
 * FrameError on a bad length prefix or an oversized frame, and the stream's
 * error if the rest did not arrive within {@link DEFAULT_REQUEST_TIMEOUT}.
 */
async function readRequestFrame (bytes: ByteStream<Stream>, keepIdle: boolean): Promise<Uint8Array | undefined> {
  let first: number

  try {
    first = (await bytes.read({ bytes: 1, signal: keepIdle ? undefined : AbortSignal.timeout(LOOKUP_IDLE_TIMEOUT) })).get(0)
  } catch (err) {
    if ((err as Error).name === 'StreamBufferError') {
      throw err
    }

    return undefined
  }

  const signal = AbortSignal.timeout(DEFAULT_REQUEST_TIMEOUT)
  let length = 0
  let byte = first

  for (let i = 0; ; i++) {
    length += (byte & 0x7f) * 2 ** (7 * i)

    if ((byte & 0x80) === 0) {
      break
    }

    if (i + 1 >= MAX_PREFIX_BYTES) {
      throw new FrameError(`bad request: a length prefix longer than ${MAX_PREFIX_BYTES} bytes (frames are at most ${MAX_REQUEST_BYTES} bytes)`)
    }

    byte = (await bytes.read({ bytes: 1, signal })).get(0)
  }

  if (length > MAX_REQUEST_BYTES) {
    throw new FrameError(`bad request: a frame of ${length} bytes, more than the ${MAX_REQUEST_BYTES} allowed`)
  }

  return length === 0 ? new Uint8Array(0) : (await bytes.read({ bytes: length, signal })).subarray()
}

/**
 * Sends an error header with its reason code (docs/PROTOCOL.md §12), closes
 * the stream's writable end, and resets the stream unless the asker closes
 * its side within {@link REFUSAL_LINGER} ms (a reset at once could overtake
 * the header at the asker).
 */
async function refuse (stream: Stream, bytes: ByteStream<Stream>, reason: string, code: RefusalCode, hint = '; send {"name": "<service name>"}'): Promise<void> {
  const signal = AbortSignal.timeout(DEFAULT_REQUEST_TIMEOUT)

  try {
    await bytes.write(frames([encodeLookupHeader({ error: `${reason.slice(0, 200)}${hint}`, code })]), { signal })
    await stream.close({ signal })
    await new Promise<void>(resolve => {
      const timer = setTimeout(done, REFUSAL_LINGER)
      function done (): void { clearTimeout(timer); stream.removeEventListener('close', done); resolve() }
      stream.addEventListener('close', done)

      if (stream.status === 'closed' || stream.status === 'aborted' || stream.status === 'reset') {
        done()
      }
    })
  } catch {}

  stream.abort(new FrameError(reason))
}

/** How long a refused asker has to close its side before the stream is reset, in ms. */
const REFUSAL_LINGER = 1_000

/** Length-prefixes each frame, into one buffer (so one write, one Noise message per chunk). */
function frames (data: Uint8Array[]): Uint8Array {
  return uint8ArrayConcat(data.flatMap(frame => [varintEncode(frame.byteLength), frame]))
}

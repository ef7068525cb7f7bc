import { ProtocolError, StreamStateError } from '@libp2p/interface'
import { equals } from 'uint8arrays/equals'
import { PING_CLOSE_TIMEOUT, PING_LENGTH, PING_PROTOCOL } from '../constants.js'
import type { Connection, Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'

/** One kept ping stream and the exchange waiting on it, if any. */
interface Warm {
  connection: Connection
  stream: Stream
  /** The exchange under way: what it sent, what came back so far, how it ends. */
  exchange?: {
    sent: Uint8Array
    /** The echo so far: `PING_LENGTH` bytes, `length` of them received. */
    received: Uint8Array
    length: number
    resolve(): void
    reject(err: Error): void
  }
}

/**
 * libp2p pings on warm streams: one ping stream is kept per peer (on the
 * connection it was opened on) and each ping sends 32 random bytes on it and
 * waits for their echo, as the libp2p ping spec allows several pings per
 * stream. Opening a stream costs ~4 ms of CPU (multistream-select, window
 * updates, close: many tiny frames); a ping on a kept stream ~0.5 ms.
 *
 * A kept stream that fails or closes (a responder whose handler aborts its
 * streams after its own timeout, as @libp2p/ping's default of 10 s does; a
 * stream idle past yamux's inactivity timeout) is dropped and the ping is
 * sent again on a new stream within the same signal, so such a peer is still
 * measured, one new stream per ping. A ping that times out drops the stream.
 * The RTT is the echo's round trip on the stream, in ms, stream opening not
 * included.
 *
 * Streams are kept for the peers pinged and dropped when they close, on
 * {@link drop} and on {@link stop}: at most one per peer the caller tracks.
 */
export class WarmPings {
  private readonly streams = new Map<string, Warm>()

  /** Peers with a kept stream now. */
  get size (): number {
    return this.streams.size
  }

  /**
   * Pings the peer of `connection` (on its kept stream if it has one there,
   * else on a new one, kept for the next ping) and resolves with the RTT in
   * ms; rejects with `signal`'s reason, or with the stream's error if a new
   * stream fails too.
   */
  async ping (connection: Connection, signal: AbortSignal): Promise<number> {
    const peerId = connection.remotePeer.toString()
    const kept = this.streams.get(peerId)

    if (kept !== undefined && kept.connection === connection && kept.exchange === undefined && kept.stream.status === 'open') {
      try {
        return await this.exchange(kept, signal)
      } catch (err) {
        if (signal.aborted) {
          throw err
        }
        // the responder closed or reset its end (its own handler timeout): once more on a new stream
      }
    }

    const stream = await connection.newStream(PING_PROTOCOL, { signal, runOnLimitedConnection: true })
    const current = this.streams.get(peerId)
    const warm = this.keep(peerId, connection, stream, current?.exchange === undefined || current.connection !== connection)
    return this.exchange(warm, signal)
  }

  /** Closes and forgets a peer's kept stream. */
  drop (peerId: string): void {
    const warm = this.streams.get(peerId)
    this.streams.delete(peerId)
    warm?.stream.abort(new StreamStateError('ping stream dropped'))
  }

  /** Closes every kept stream. */
  stop (): void {
    for (const peerId of [...this.streams.keys()]) {
      this.drop(peerId)
    }
  }

  /**
   * Wraps a new stream; `replace` keeps it for later pings in place of the
   * peer's kept one (closed), else it is used for this ping only (the kept
   * one is busy with another exchange).
   */
  private keep (peerId: string, connection: Connection, stream: Stream, replace: boolean): Warm {
    const warm: Warm = { connection, stream }

    stream.addEventListener('message', (event: StreamMessageEvent) => {
      const exchange = warm.exchange

      if (exchange === undefined) {
        stream.abort(new ProtocolError('unrequested ping echo'))
        return
      }

      const chunk = event.data instanceof Uint8Array ? event.data : event.data.subarray()

      if (exchange.length + chunk.byteLength > PING_LENGTH) {
        stream.abort(new ProtocolError('ping echo too long'))
        return
      }

      exchange.received.set(chunk, exchange.length)
      exchange.length += chunk.byteLength

      if (exchange.length === PING_LENGTH) {
        if (equals(exchange.sent, exchange.received)) {
          exchange.resolve()
        } else {
          stream.abort(new ProtocolError('wrong ping echo'))
        }
      }
    })
    const ended = (event?: StreamCloseEvent): void => {
      if (this.streams.get(peerId) === warm) {
        this.streams.delete(peerId)
      }

      warm.exchange?.reject(event?.error ?? new StreamStateError('ping stream closed by the remote'))
    }
    stream.addEventListener('close', ended)
    stream.addEventListener('remoteCloseWrite', () => {
      ended()
      stream.abort(new StreamStateError('ping stream closed by the remote'))
    })

    if (replace) {
      this.drop(peerId)
      this.streams.set(peerId, warm)
    }

    return warm
  }

  /** Sends 32 random bytes on a stream and resolves with the ms until their echo; on any failure the stream is aborted. */
  private async exchange (warm: Warm, signal: AbortSignal): Promise<number> {
    const sent = crypto.getRandomValues(new Uint8Array(PING_LENGTH))
    let onAbort: (() => void) | undefined
    const started = performance.now()

    try {
      signal.throwIfAborted()
      await new Promise<void>((resolve, reject) => {
        warm.exchange = { sent, received: new Uint8Array(PING_LENGTH), length: 0, resolve, reject }
        onAbort = () => { reject(signal.reason) }
        signal.addEventListener('abort', onAbort, { once: true })
        warm.stream.send(sent)
      })
      return performance.now() - started
    } catch (err) {
      warm.stream.abort(err as Error)
      throw err
    } finally {
      warm.exchange = undefined

      if (onAbort !== undefined) {
        signal.removeEventListener('abort', onAbort)
      }

      if (this.streams.get(warm.connection.remotePeer.toString()) !== warm && warm.stream.status === 'open') {
        // a one-off stream (the kept one was busy): close it
        warm.stream.close({ signal: AbortSignal.timeout(PING_CLOSE_TIMEOUT) }).catch((err: Error) => { warm.stream.abort(err) })
      }
    }
  }
}

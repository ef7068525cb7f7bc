import { TypedEventEmitter } from 'main-event'
import { ChannelError } from '../errors.js'
import { FrameDecoder, encodeError, encodeMessage } from '../protocol/channel-frames.js'
import { FrameWriter } from './writer.js'
import type { Frame } from '../protocol/channel-frames.js'
import type { EventHandler } from 'main-event'
import type { AbortOptions, Logger, Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'

/** A channel's close event detail. */
export interface ChannelCloseDetail {
  /** Set when the channel closed because of an error (a ChannelError for protocol errors). */
  error?: Error
}

/** The events a {@link Channel} emits. */
export interface ChannelEvents {
  /** A message arrived: `detail` is a `Uint8Array` (sent as bytes) or the parsed JSON value. */
  message: CustomEvent<unknown>
  /** The channel closed, at either end; `detail.error` says why if it was not a clean close. */
  close: CustomEvent<ChannelCloseDetail>
}

/** What a {@link Channel} needs. */
export interface ChannelInit {
  stream: Stream
  remotePeer: string
  maxMessageBytes: number
  /** How long an error frame may take to leave before the stream is reset. */
  lingerTimeout: number
  log: Logger
}

/**
 * Messages held unread (no iterator or listener consuming them) before the
 * stream is paused; it resumes once half of them have been read.
 */
const QUEUE_HIGH_WATER = 64

/**
 * How many received bytes a paused stream may hold, in bytes. Pausing stops
 * yamux's window updates, but the sender may still use the window it was
 * granted: up to yamux's largest stream window, 16 MiB by default
 * (`maxStreamWindowSize`). libp2p's own 4 MiB default would reset a paused
 * channel that a fast sender had filled.
 */
const PAUSED_READ_BUFFER_BYTES = 16 * 1024 * 1024

/**
 * A bidirectional message channel to one peer, over one libp2p stream. Send
 * with {@link send}; read with `for await (const message of channel)` or
 * `channel.addEventListener('message', ...)`.
 *
 * Nothing is lost between the two ends: messages that arrive before a reader
 * is set up wait in a queue; once 64 wait, the channel stops reading the
 * stream, yamux stops granting the sender window, and the sender's
 * {@link send} waits. The `close` event comes after the last message has
 * been handed to the application.
 *
 * A frame over the size limit, or one that does not decode, closes the
 * channel with a ChannelError at both ends; the node and its other channels
 * are unaffected.
 */
export class Channel extends TypedEventEmitter<ChannelEvents> implements AsyncIterable<unknown> {
  /** The remote peer's ID. */
  readonly remotePeer: string
  /** `outbound` if this end opened the channel. */
  readonly direction: 'inbound' | 'outbound'
  /** The largest frame payload (kind byte included) this end sends or accepts, in bytes. */
  readonly maxMessageBytes: number
  private readonly init: ChannelInit
  private readonly stream: Stream
  private readonly decoder: FrameDecoder
  private readonly queue: unknown[] = []
  private readonly waiters: Array<() => void> = []
  /** Aborted when the channel closes: wakes sends waiting for the stream to drain. */
  private readonly lifetime = new AbortController()
  private readonly writer: FrameWriter
  /** Set once this end closes its write side (by {@link close}, or after reading the peer's last message). */
  private closingWrite?: Promise<void>
  private iterators = 0
  /** This channel paused the stream (its queue is full). */
  private paused = false
  /** Inside `stream.resume()`, which hands over buffered data synchronously. */
  private resuming = false
  /** The peer closed its write side: no more data will arrive after what the stream holds. */
  private remoteEnded = false
  private closed = false
  private closeError?: Error

  constructor (init: ChannelInit) {
    super()
    this.init = init
    this.stream = init.stream
    this.remotePeer = init.remotePeer
    this.direction = init.stream.direction
    this.maxMessageBytes = init.maxMessageBytes
    this.decoder = new FrameDecoder(init.maxMessageBytes)
    this.writer = new FrameWriter(init.stream, this.lifetime.signal)

    if (this.stream.status !== 'open') {
      // the peer reset the stream before we got to it (a failing handler, for example)
      this.finish(new ChannelError(`The channel to ${this.remotePeer} was reset by the peer`, 'CHANNEL_RESET', { remote: true }))
      return
    }

    this.stream.maxReadBufferLength = Math.max(this.stream.maxReadBufferLength, PAUSED_READ_BUFFER_BYTES)
    this.stream.addEventListener('message', this.onData)
    this.stream.addEventListener('remoteCloseWrite', this.onRemoteEnd)
    this.stream.addEventListener('close', this.onStreamClose)
  }

  /** true until the channel closes at either end. */
  get open (): boolean {
    return !this.closed
  }

  /** Why the channel closed, if it closed with an error. */
  get error (): Error | undefined {
    return this.closeError
  }

  /**
   * Sends one message: a `Uint8Array` goes as bytes, anything else as JSON.
   * Messages leave in the order `send()` was called. Resolves once the
   * message is handed to the stream; while the stream cannot take more (the
   * peer is not reading and its window is used up), it waits. Throws
   * ChannelError: MESSAGE_TOO_LARGE (nothing is sent and the channel stays
   * open) or CHANNEL_CLOSED (the channel closed, or {@link close} was called,
   * before the message could leave). Aborting `options.signal` while it waits
   * rejects with the signal's reason and sends nothing.
   */
  async send (message: unknown, options: AbortOptions = {}): Promise<void> {
    this.assertWritable()
    const frame = encodeMessage(message, this.maxMessageBytes)

    try {
      await this.writer.write(frame, options.signal)
    } catch (err) {
      if (err instanceof ChannelError || options.signal?.aborted === true) {
        throw err
      }

      throw new ChannelError(`Cannot send on the channel to ${this.remotePeer}: ${(err as Error).message}`, 'CHANNEL_CLOSED', { cause: err })
    }
  }

  /**
   * Closes this end's write side cleanly: waits for every pending
   * {@link send} to hand its message to the stream, then for the stream to
   * flush, then tells the peer nothing more comes. The peer reads every
   * message before its iteration ends. Messages from the peer can still be
   * read; the `close` event follows once the peer has closed too and its
   * last message was read. Throws the channel's ChannelError if it closed
   * with an error meanwhile (what was sent may not have arrived), or the
   * signal's reason (the channel is then aborted). Safe to call twice.
   */
  async close (options: AbortOptions = {}): Promise<void> {
    if (this.closed) {
      return
    }

    this.closingWrite ??= this.closeWrite(options)
    await this.closingWrite
  }

  /** Closes the channel at once, discarding unsent and unread data; the peer sees CHANNEL_RESET. */
  abort (err: Error = new ChannelError('The channel was aborted', 'CHANNEL_RESET')): void {
    if (!this.closed) {
      this.stream.abort(err)
      this.finish(err)
    }
  }

  /**
   * Reads messages in order until the channel closes. Ends normally on a clean
   * close, after the peer's last message; throws the ChannelError if it
   * closed because of one.
   */
  async * [Symbol.asyncIterator] (): AsyncGenerator<unknown, void, undefined> {
    this.iterators++

    try {
      while (true) {
        if (this.queue.length > 0) {
          yield this.queue.shift()
          // asking for the next message is what says the application is done
          // with this one: only then may the channel end after it (an echo
          // handler still has to send its reply)
          this.consumed()
          continue
        }

        if (this.closed) {
          if (this.closeError !== undefined) {
            throw this.closeError
          }

          return
        }

        await new Promise<void>(resolve => { this.waiters.push(resolve) })
      }
    } finally {
      this.iterators--
      this.consumed()
    }
  }

  override addEventListener<K extends keyof ChannelEvents>(type: K, listener: EventHandler<ChannelEvents[K]> | null, options?: boolean | AddEventListenerOptions): void {
    super.addEventListener(type, listener, options)

    if (type === 'message' && this.queue.length > 0) {
      // hand what arrived before the first listener to it, in order
      queueMicrotask(() => {
        for (const message of this.queue.splice(0)) {
          this.safeDispatchEvent('message', { detail: message })
        }

        this.consumed()
      })
    }
  }

  private async closeWrite (options: AbortOptions): Promise<void> {
    try {
      await this.writer.flushed(options.signal)
      await this.stream.close(options)
    } catch (err) {
      const error = this.closeError ?? (err instanceof ChannelError ? err : new ChannelError(`Closing the channel to ${this.remotePeer} failed: ${(err as Error).message}`, 'CHANNEL_RESET', { cause: err }))
      this.abort(error)
      throw options.signal?.aborted === true ? options.signal.reason : error
    }

    if (this.closeError !== undefined) {
      throw this.closeError
    }

    this.maybeEnd()
  }

  /** Called after the application took messages from the queue. */
  private consumed (): void {
    if (this.queue.length < QUEUE_HIGH_WATER / 2) {
      this.pump()
    } else {
      this.maybeEnd()
    }
  }

  private readonly onData = (event: StreamMessageEvent): void => {
    if (this.closed) {
      return
    }

    this.decoder.push(event.data)

    if (!this.resuming) {
      this.pump()
    }
  }

  /**
   * Decodes buffered frames into the queue until it is full, then pauses the
   * stream; resumes it once the queue is half empty and no whole frame is left.
   */
  private pump (): void {
    if (this.closed) {
      return
    }

    try {
      while (this.queue.length < QUEUE_HIGH_WATER) {
        const frame = this.decoder.next()

        if (frame === undefined) {
          break
        }

        this.deliver(frame)

        if (this.closed) {
          return
        }
      }
    } catch (err) {
      this.fail(toChannelError(err))
      return
    }

    if (this.queue.length >= QUEUE_HIGH_WATER) {
      this.pauseStream()
    } else if (this.queue.length < QUEUE_HIGH_WATER / 2) {
      this.resumeStream()
    }

    this.maybeEnd()
  }

  private deliver (frame: Frame): void {
    if (frame.kind === 'error') {
      const err = new ChannelError(`The peer ${this.remotePeer} closed the channel: ${frame.message}`, frame.code, { remote: true })
      this.init.log('channel to %s closed by peer - %e', this.remotePeer, err)
      this.stream.abort(err)
      this.finish(err)
      return
    }

    const listening = this.listenerCount('message') > 0

    if (listening) {
      this.safeDispatchEvent('message', { detail: frame.message })
    }

    if (this.iterators > 0 || !listening) {
      this.queue.push(frame.message)
      this.wake()
    }
  }

  private pauseStream (): void {
    if (!this.paused && this.stream.readStatus === 'readable') {
      this.paused = true
      this.stream.pause()
    }
  }

  private resumeStream (): void {
    if (!this.paused) {
      return
    }

    this.paused = false

    if (this.stream.readStatus !== 'paused') {
      return
    }

    // resume() hands over what the stream buffered before it tells yamux to
    // grant window again; pausing inside it would be undone, so decode after
    this.resuming = true

    try {
      this.stream.resume()
    } finally {
      this.resuming = false
    }

    this.pump()
  }

  /**
   * Ends the channel once the peer has ended and everything it sent was read:
   * closes this end's write side if still open, then finishes.
   */
  private maybeEnd (): void {
    if (this.closed || !this.remoteEnded || this.queue.length > 0 || this.stream.readBufferLength > 0) {
      return
    }

    if (this.decoder.bufferedBytes > 0) {
      this.fail(new ChannelError(`The peer ${this.remotePeer} ended the channel in the middle of a frame (${this.decoder.bufferedBytes} bytes of it received)`, 'MALFORMED_MESSAGE'))
      return
    }

    if (this.stream.writeStatus === 'closed') {
      this.finish()
    } else if (this.closingWrite === undefined) {
      // the peer sends nothing more and all of it was read: close our side too
      this.close().catch(err => { this.init.log('closing channel to %s failed - %e', this.remotePeer, err) })
    }
  }

  /** Closes the channel because of a protocol error: tells the peer why, then resets after a short linger. */
  private fail (err: ChannelError): void {
    this.init.log('closing channel to %s - %e', this.remotePeer, err)
    this.finish(err)

    if (this.stream.status !== 'open') {
      return
    }

    try {
      this.stream.send(encodeError(err.code, err.message))
    } catch {}

    this.stream.close({ signal: AbortSignal.timeout(this.init.lingerTimeout) }).catch(() => {})
    const linger = setTimeout(() => { this.stream.abort(err) }, this.init.lingerTimeout)
    this.stream.addEventListener('close', () => { clearTimeout(linger) }, { once: true })
  }

  private readonly onRemoteEnd = (): void => {
    // yamux may hand over the data of the frame that ended the stream after this event
    queueMicrotask(() => {
      this.remoteEnded = true
      this.maybeEnd()
    })
  }

  private readonly onStreamClose = (event: StreamCloseEvent): void => {
    if (event.error === undefined) {
      // both ends closed their write sides; what the stream holds may still be unread
      this.onRemoteEnd()
      return
    }

    const error = event.error instanceof ChannelError ? event.error : new ChannelError(`The channel to ${this.remotePeer} was reset: ${event.error.message}`, 'CHANNEL_RESET', { cause: event.error, remote: event.local !== true })
    this.finish(error)
  }

  private finish (error?: Error): void {
    if (this.closed) {
      return
    }

    this.closed = true
    this.closeError = error
    this.stream.removeEventListener('message', this.onData)
    this.stream.removeEventListener('remoteCloseWrite', this.onRemoteEnd)
    this.stream.removeEventListener('close', this.onStreamClose)
    this.lifetime.abort(new ChannelError(`The channel to ${this.remotePeer} closed${error === undefined ? '' : ` (${error.message})`}`, 'CHANNEL_CLOSED', { cause: error }))
    this.wake()
    this.safeDispatchEvent('close', { detail: { error } })
  }

  private wake (): void {
    for (const resolve of this.waiters.splice(0)) {
      resolve()
    }
  }

  private assertWritable (): void {
    if (this.closed) {
      throw new ChannelError(`The channel to ${this.remotePeer} is closed${this.closeError === undefined ? '' : ` (${this.closeError.message})`}`, 'CHANNEL_CLOSED', { cause: this.closeError })
    }

    if (this.closingWrite !== undefined) {
      throw new ChannelError(`The channel to ${this.remotePeer} is closing: close() was called, nothing more can be sent`, 'CHANNEL_CLOSED')
    }
  }
}

/** What the decoder threw, as the ChannelError that closes the channel. */
function toChannelError (err: unknown): ChannelError {
  return err instanceof ChannelError ? err : new ChannelError(`Received a malformed frame: ${(err as Error).message}`, 'MALFORMED_MESSAGE', { cause: err })
}

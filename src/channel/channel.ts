import { LengthPrefixedDecoder } from '@libp2p/utils'
import { TypedEventEmitter } from 'main-event'
import { ChannelError } from '../errors.js'
import { decodeFrame, encodeError, encodeMessage } from './frames.js'
import type { ChannelErrorCode } from '../errors.js'
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

/** Messages held unread (no iterator or listener consuming them) before the stream is paused. */
const QUEUE_HIGH_WATER = 64

/**
 * A bidirectional message channel to one peer, over one libp2p stream. Send
 * with {@link send}; read with `for await (const message of channel)` or
 * `channel.addEventListener('message', ...)`. Messages that arrive before
 * either is set up wait in a queue (the peer is paused when it fills), so
 * none is lost in between.
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
  private readonly decoder: LengthPrefixedDecoder
  private readonly queue: unknown[] = []
  private readonly waiters: Array<() => void> = []
  private iterators = 0
  private paused = false
  private closed = false
  private closeError?: Error
  private lingerTimer?: ReturnType<typeof setTimeout>

  constructor (init: ChannelInit) {
    super()
    this.init = init
    this.stream = init.stream
    this.remotePeer = init.remotePeer
    this.direction = init.stream.direction
    this.maxMessageBytes = init.maxMessageBytes
    this.decoder = new LengthPrefixedDecoder({ maxDataLength: init.maxMessageBytes, maxBufferSize: init.maxMessageBytes + 16 })

    if (this.stream.status !== 'open') {
      // the peer reset the stream before we got to it (a failing handler, for example)
      this.finish(new ChannelError(`The channel to ${this.remotePeer} was reset by the peer`, 'CHANNEL_RESET', { remote: true }))
      return
    }

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
   * Resolves once the message is handed to the connection (waiting while the
   * peer is not reading). Throws ChannelError: MESSAGE_TOO_LARGE (nothing is
   * sent and the channel stays open) or CHANNEL_CLOSED.
   */
  async send (message: unknown, options: AbortOptions = {}): Promise<void> {
    this.assertOpen()
    const frame = encodeMessage(message, this.maxMessageBytes)

    if (this.stream.writableNeedsDrain) {
      await this.stream.onDrain(options)
      this.assertOpen()
    }

    try {
      this.stream.send(frame)
    } catch (err) {
      throw new ChannelError(`Cannot send on the channel to ${this.remotePeer}: ${(err as Error).message}`, 'CHANNEL_CLOSED', { cause: err })
    }
  }

  /**
   * Closes the channel cleanly: what was sent is delivered, then the peer's
   * iteration ends without an error. Safe to call twice.
   */
  async close (options: AbortOptions = {}): Promise<void> {
    if (this.closed) {
      return
    }

    try {
      await this.stream.close(options)
    } catch (err) {
      this.stream.abort(err as Error)
    }

    if (this.stream.remoteWriteStatus !== 'writable') {
      this.finish()
    }
  }

  /** Closes the channel at once, discarding unsent data; the peer sees CHANNEL_RESET. */
  abort (err: Error = new ChannelError('The channel was aborted', 'CHANNEL_RESET')): void {
    if (!this.closed) {
      this.stream.abort(err)
      this.finish(err)
    }
  }

  /**
   * Reads messages in order until the channel closes. Ends normally on a clean
   * close; throws the ChannelError if it closed because of one.
   */
  async * [Symbol.asyncIterator] (): AsyncGenerator<unknown, void, undefined> {
    this.iterators++

    try {
      while (true) {
        if (this.queue.length > 0) {
          const message = this.queue.shift()
          this.maybeResume()
          yield message
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

        this.maybeResume()
      })
    }
  }

  private maybeResume (): void {
    if (this.paused && this.queue.length < QUEUE_HIGH_WATER / 2 && this.stream.status === 'open') {
      this.paused = false
      this.stream.resume()
    }
  }

  private readonly onData = (event: StreamMessageEvent): void => {
    if (this.closed) {
      return
    }

    try {
      for (const payload of this.decoder.decode(event.data)) {
        this.deliver(payload)
      }
    } catch (err) {
      this.fail(toChannelError(err, this.maxMessageBytes))
    }
  }

  private deliver (payload: { subarray(): Uint8Array }): void {
    const frame = decodeFrame(payload.subarray())

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

      if (this.queue.length >= QUEUE_HIGH_WATER && !this.paused) {
        this.paused = true
        this.stream.pause()
      }
    }
  }

  /** Closes the channel because of a protocol error: tells the peer why, then resets after a short linger. */
  private fail (err: ChannelError): void {
    this.init.log('closing channel to %s - %e', this.remotePeer, err)
    this.finish(err)
    this.stream.removeEventListener('message', this.onData)

    try {
      this.stream.send(encodeError(err.code, err.message))
    } catch {}

    this.stream.close({ signal: AbortSignal.timeout(this.init.lingerTimeout) }).catch(() => {})
    this.lingerTimer = setTimeout(() => { this.stream.abort(err) }, this.init.lingerTimeout)
  }

  private readonly onRemoteEnd = (): void => {
    // the peer sends nothing more: close our side too, which completes the channel
    this.stream.close().catch(err => { this.stream.abort(err) })
  }

  private readonly onStreamClose = (event: StreamCloseEvent): void => {
    clearTimeout(this.lingerTimer)
    this.stream.removeEventListener('message', this.onData)
    this.stream.removeEventListener('remoteCloseWrite', this.onRemoteEnd)
    this.stream.removeEventListener('close', this.onStreamClose)

    if (this.closed) {
      return
    }

    const error = event.error === undefined ? undefined : event.error instanceof ChannelError ? event.error : new ChannelError(`The channel to ${this.remotePeer} was reset: ${event.error.message}`, 'CHANNEL_RESET', { cause: event.error, remote: event.local !== true })
    this.finish(error)
  }

  private finish (error?: Error): void {
    if (this.closed) {
      return
    }

    this.closed = true
    this.closeError = error
    this.wake()
    this.safeDispatchEvent('close', { detail: { error } })
  }

  private wake (): void {
    for (const resolve of this.waiters.splice(0)) {
      resolve()
    }
  }

  private assertOpen (): void {
    if (this.closed) {
      throw new ChannelError(`The channel to ${this.remotePeer} is closed${this.closeError === undefined ? '' : ` (${this.closeError.message})`}`, 'CHANNEL_CLOSED', { cause: this.closeError })
    }
  }
}

function toChannelError (err: unknown, maxMessageBytes: number): ChannelError {
  if (err instanceof ChannelError) {
    return err
  }

  const code: ChannelErrorCode = (err as Error).name === 'InvalidMessageLengthError' || (err as Error).name === 'InvalidParametersError' ? 'MESSAGE_TOO_LARGE' : 'MALFORMED_MESSAGE'
  const message = code === 'MESSAGE_TOO_LARGE'
    ? `Received a frame larger than this channel's limit of ${maxMessageBytes} bytes`
    : `Received a malformed frame: ${(err as Error).message}`
  return new ChannelError(message, code, { cause: err })
}

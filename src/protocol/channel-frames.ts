import { ChannelError, InvalidOptionsError } from '../errors.js'
import type { ChannelErrorCode } from '../errors.js'

/** First byte of a frame: what its body holds. */
export const FRAME_BINARY = 0x00
/** The body is a UTF-8 JSON value. */
export const FRAME_JSON = 0x01
/** The body is UTF-8 JSON `{ "code": ..., "message": ... }`; the sender closes the channel after it. */
export const FRAME_ERROR = 0x02

/**
 * The longest length prefix accepted, in bytes. A payload is at most 4 MiB
 * (the largest `maxMessageBytes`), whose length fits in a 4-byte varint
 * (lengths below 2^28); a longer prefix is malformed.
 */
export const MAX_LENGTH_PREFIX_BYTES = 4

/** A decoded frame. */
export type Frame =
  | { kind: 'message', message: unknown }
  | { kind: 'error', code: ChannelErrorCode, message: string }

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })
const KNOWN_CODES = new Set<string>(['MESSAGE_TOO_LARGE', 'MALFORMED_MESSAGE', 'CHANNEL_CLOSED', 'CHANNEL_RESET', 'HANDLER_FAILED'])

/**
 * Encodes a message as one length-prefixed frame: `Uint8Array` as binary,
 * anything else as JSON. Throws ChannelError (MESSAGE_TOO_LARGE) if the frame
 * payload would exceed `maxMessageBytes`.
 */
export function encodeMessage (message: unknown, maxMessageBytes: number): Uint8Array {
  let kind: number
  let body: Uint8Array

  if (message instanceof Uint8Array) {
    kind = FRAME_BINARY
    body = message
  } else {
    let json: string | undefined

    try {
      json = JSON.stringify(message)
    } catch (err) {
      throw new InvalidOptionsError(`channel.send(message): the message must be a Uint8Array or JSON-serialisable: ${(err as Error).message}`, { cause: err })
    }

    if (json === undefined) {
      throw new InvalidOptionsError(`channel.send(message): the message must be a Uint8Array or JSON-serialisable, got ${typeof message}`)
    }

    kind = FRAME_JSON
    body = encoder.encode(json)
  }

  if (body.byteLength + 1 > maxMessageBytes) {
    throw new ChannelError(`The message is ${body.byteLength + 1} bytes as a frame; this channel carries at most ${maxMessageBytes}: split it, or open the channel with a larger maxMessageBytes (both ends must allow it)`, 'MESSAGE_TOO_LARGE')
  }

  return frame(kind, body)
}

/** Encodes the error frame a peer sends before it closes a channel because of `error`. */
export function encodeError (code: ChannelErrorCode, message: string): Uint8Array {
  return frame(FRAME_ERROR, encoder.encode(JSON.stringify({ code, message: message.slice(0, 1024) })))
}

/**
 * Decodes a frame's payload (length prefix removed). Throws ChannelError
 * (MALFORMED_MESSAGE) on an unknown kind, invalid UTF-8 or invalid JSON.
 */
export function decodeFrame (payload: Uint8Array): Frame {
  const kind = payload[0]
  const body = payload.subarray(1)

  if (kind === FRAME_BINARY) {
    return { kind: 'message', message: body.slice() }
  }

  if (kind !== FRAME_JSON && kind !== FRAME_ERROR) {
    throw new ChannelError(`Received a frame of unknown kind 0x${kind.toString(16).padStart(2, '0')}; netget channel frames start with 0x00 (binary), 0x01 (JSON) or 0x02 (error)`, 'MALFORMED_MESSAGE')
  }

  let value: unknown

  try {
    value = JSON.parse(decoder.decode(body))
  } catch (err) {
    throw new ChannelError(`Received a frame that is not valid UTF-8 JSON: ${(err as Error).message}`, 'MALFORMED_MESSAGE', { cause: err })
  }

  if (kind === FRAME_JSON) {
    return { kind: 'message', message: value }
  }

  const fields = value as { code?: unknown, message?: unknown } | null
  const code = typeof fields?.code === 'string' && KNOWN_CODES.has(fields.code) ? fields.code as ChannelErrorCode : 'CHANNEL_RESET'
  const message = typeof fields?.message === 'string' ? fields.message : 'no reason given'
  return { kind: 'error', code, message }
}

/**
 * Splits a channel's incoming bytes into frames, one at a time. Each frame's
 * declared length is checked against `maxMessageBytes` as soon as its prefix
 * has arrived, before any of its body is buffered, so a chunk holding many
 * valid frames is never mistaken for an oversized one and an oversized frame
 * is refused without reading it. Buffers at most the bytes pushed and not yet
 * taken by {@link next}.
 *
 * @example
 *
 * ```ts
 * const decoder = new FrameDecoder(65_536)
 * decoder.push(chunk)
 * for (let frame = decoder.next(); frame !== undefined; frame = decoder.next()) {
 *   handle(frame) // your own code
 * }
 * ```
 */
export class FrameDecoder {
  /** The largest payload (kind byte included) accepted, in bytes. */
  readonly maxMessageBytes: number
  private readonly buffer = new ByteQueue()

  constructor (maxMessageBytes: number) {
    this.maxMessageBytes = maxMessageBytes
  }

  /** Bytes pushed and not yet returned as frames. */
  get bufferedBytes (): number {
    return this.buffer.byteLength
  }

  /**
   * Appends received bytes (a `Uint8Array`, or a list of chunks such as a
   * stream's `Uint8ArrayList`); they are decoded by {@link next}.
   */
  push (data: Uint8Array | Iterable<Uint8Array>): void {
    for (const chunk of data instanceof Uint8Array ? [data] : data) {
      this.buffer.append(chunk)
    }
  }

  /**
   * Takes the next whole frame from the buffer, or returns undefined until
   * more bytes arrive. Zero-length frames are skipped. Throws ChannelError:
   * MESSAGE_TOO_LARGE when a prefix declares more than `maxMessageBytes`,
   * MALFORMED_MESSAGE for a prefix longer than {@link MAX_LENGTH_PREFIX_BYTES}
   * or not minimally encoded, and whatever {@link decodeFrame} throws.
   */
  next (): Frame | undefined {
    while (true) {
      const prefix = this.readPrefix()

      if (prefix === undefined || this.buffer.byteLength < prefix.bytes + prefix.length) {
        return undefined
      }

      this.buffer.take(prefix.bytes)
      const payload = this.buffer.take(prefix.length)

      if (prefix.length > 0) {
        return decodeFrame(payload)
      }
    }
  }

  /** The length prefix at the start of the buffer, once it is whole. */
  private readPrefix (): { length: number, bytes: number } | undefined {
    let length = 0

    for (let index = 0; index < MAX_LENGTH_PREFIX_BYTES; index++) {
      if (index >= this.buffer.byteLength) {
        return undefined
      }

      const byte = this.buffer.get(index)
      length += (byte & 0x7f) * 2 ** (7 * index)

      if ((byte & 0x80) === 0) {
        if (byte === 0 && index > 0) {
          throw new ChannelError(`Received a malformed frame: its ${index + 1}-byte length prefix is not minimally encoded`, 'MALFORMED_MESSAGE')
        }

        if (length > this.maxMessageBytes) {
          throw new ChannelError(`Received a frame larger than this channel's limit of ${this.maxMessageBytes} bytes (its prefix declares ${length} bytes)`, 'MESSAGE_TOO_LARGE')
        }

        return { length, bytes: index + 1 }
      }
    }

    throw new ChannelError(`Received a malformed frame: its length prefix is longer than ${MAX_LENGTH_PREFIX_BYTES} bytes`, 'MALFORMED_MESSAGE')
  }
}

/** `kind` and `body` behind their length as an unsigned varint (the multiformats varint). */
function frame (kind: number, body: Uint8Array): Uint8Array {
  const prefix: number[] = []

  for (let length = body.byteLength + 1; ; length = Math.floor(length / 128)) {
    if (length < 128) {
      prefix.push(length)
      break
    }

    prefix.push((length % 128) | 0x80)
  }

  const out = new Uint8Array(prefix.length + 1 + body.byteLength)
  out.set(prefix, 0)
  out[prefix.length] = kind
  out.set(body, prefix.length + 1)
  return out
}

/** Received bytes as a list of chunks, read from the front without copying more than a frame. */
class ByteQueue {
  private readonly chunks: Uint8Array[] = []
  /** Bytes of `chunks[0]` already taken. */
  private offset = 0
  byteLength = 0

  append (chunk: Uint8Array): void {
    if (chunk.byteLength > 0) {
      this.chunks.push(chunk)
      this.byteLength += chunk.byteLength
    }
  }

  /** The byte at `index` from the front; `index` must be below `byteLength`. */
  get (index: number): number {
    let position = index + this.offset

    for (const chunk of this.chunks) {
      if (position < chunk.byteLength) {
        return chunk[position]
      }

      position -= chunk.byteLength
    }

    throw new RangeError(`index ${index} is past the ${this.byteLength} buffered bytes`)
  }

  /** Removes and returns the first `count` bytes; `count` must not exceed `byteLength`. */
  take (count: number): Uint8Array {
    const first = this.chunks[0]

    if (count === 0) {
      return new Uint8Array(0)
    }

    if (first.byteLength - this.offset >= count) {
      // within one chunk: a view, no copy
      const view = first.subarray(this.offset, this.offset + count)
      this.skip(count)
      return view
    }

    const out = new Uint8Array(count)

    for (let filled = 0; filled < count;) {
      const chunk = this.chunks[0]
      const part = Math.min(chunk.byteLength - this.offset, count - filled)
      out.set(chunk.subarray(this.offset, this.offset + part), filled)
      filled += part
      this.skip(part)
    }

    return out
  }

  /** Drops `count` bytes from the front of the first chunk (at most what it has left). */
  private skip (count: number): void {
    this.offset += count
    this.byteLength -= count

    if (this.offset === this.chunks[0].byteLength) {
      this.chunks.shift()
      this.offset = 0
    }
  }
}

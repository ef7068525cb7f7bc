import { ChannelError, InvalidOptionsError } from '../errors.js'
import type { ChannelErrorCode } from '../errors.js'

/** First byte of a frame: what its body holds. */
export const FRAME_BINARY = 0x00
/** The body is a UTF-8 JSON value. */
export const FRAME_JSON = 0x01
/** The body is UTF-8 JSON `{ "code": ..., "message": ... }`; the sender closes the channel after it. */
export const FRAME_ERROR = 0x02

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

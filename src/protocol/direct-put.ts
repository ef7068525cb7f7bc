import { Record as DhtRecord } from '@libp2p/kad-dht'
import { lpStream } from '@libp2p/utils'
import { encode as varint } from 'uint8-varint'
import { concat as uint8ArrayConcat } from 'uint8arrays/concat'
import { MAX_RECORD_BYTES } from '../constants.js'
import { dhtProtocol, putProtocol } from './ids.js'
import { decodePutAnswer, MAX_PUT_ANSWER_BYTES } from './put-messages.js'
import type { PutAnswer } from './put-messages.js'
import type { PeerId, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

/** kad-dht's `MessageType.PUT_VALUE`. */
const PUT_VALUE = 0

/** kad-dht's `MessageType.GET_VALUE`. */
const GET_VALUE = 1

/**
 * Encodes a kad-dht `PUT_VALUE` message (libp2p kad-dht `Message` protobuf:
 * `type` = field 1, `key` = field 2, `record` = field 3).
 */
export function encodePutValue (key: Uint8Array, value: Uint8Array): Uint8Array {
  const record = new DhtRecord(key, value, new Date()).serialize()
  return uint8ArrayConcat([
    Uint8Array.of(0x08), varint(PUT_VALUE),
    Uint8Array.of(0x12), varint(key.byteLength), key,
    Uint8Array.of(0x1a), varint(record.byteLength), record
  ])
}

/**
 * Sends a record straight to a registry this node is connected to, one
 * round trip: over the record put protocol (docs/PROTOCOL.md §5.1), whose
 * answer says whether the registry stored it and, if not, why (a reason
 * code of §12); or, from a registry that does not speak it (multistream-select
 * falls back in the same negotiation), over a kad `PUT_VALUE`
 * ({@link putToPeer}: stored, or a bare stream reset, which rejects).
 * Rejects on network failures and timeouts.
 */
export async function putRecord (libp2p: Pick<Libp2p, 'dialProtocol'>, peer: PeerId, network: string, key: Uint8Array, value: Uint8Array, signal: AbortSignal): Promise<PutAnswer> {
  const stream = await libp2p.dialProtocol(peer, [putProtocol(network), dhtProtocol(network)], { signal })

  try {
    if (stream.protocol === dhtProtocol(network)) {
      await putValue(stream, key, value, signal)
      return { ok: true }
    }

    const messages = lpStream(stream, { maxDataLength: MAX_PUT_ANSWER_BYTES })
    await messages.write(value, { signal })
    const answer = decodePutAnswer((await messages.read({ signal })).subarray())
    await stream.close({ signal })
    return answer
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/**
 * Sends one kad `PUT_VALUE` straight to a DHT server this node is connected
 * to — one round trip, without first walking the DHT for the closest peers.
 * Resolves when the server acknowledged (it echoes the message after its
 * validator accepted and stored the record); rejects if it refused (kad
 * servers reset the stream) or did not answer in time.
 */
export async function putToPeer (libp2p: Pick<Libp2p, 'dialProtocol'>, peer: PeerId, network: string, key: Uint8Array, value: Uint8Array, signal: AbortSignal): Promise<void> {
  const stream = await libp2p.dialProtocol(peer, dhtProtocol(network), { signal })

  try {
    await putValue(stream, key, value, signal)
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/** One kad `PUT_VALUE` on an open kad stream: resolves on the echo, then closes the stream. */
async function putValue (stream: Stream, key: Uint8Array, value: Uint8Array, signal: AbortSignal): Promise<void> {
  const messages = lpStream(stream, { maxDataLength: MAX_RECORD_BYTES * 2 })
  await messages.write(encodePutValue(key, value), { signal })
  await messages.read({ signal })
  await stream.close({ signal })
}

/**
 * Asks one DHT server this node is connected to for the value it stores under
 * `key` (kad `GET_VALUE`, one round trip, no DHT walk). kad servers hand out
 * what they stored without validating it again, expired or not: verify what
 * comes back. Resolves undefined if the server holds no value for the key.
 *
 * A kad server answers a refused `PUT_VALUE` by resetting the stream, without
 * a reason; reading what it holds afterwards is how a publisher learns that
 * the refusal was a rollback (the stored `seq` is ahead of the one it sent).
 */
export async function getFromPeer (libp2p: Pick<Libp2p, 'dialProtocol'>, peer: PeerId, network: string, key: Uint8Array, signal: AbortSignal): Promise<Uint8Array | undefined> {
  const stream = await libp2p.dialProtocol(peer, dhtProtocol(network), { signal })

  try {
    const messages = lpStream(stream, { maxDataLength: MAX_RECORD_BYTES * 4 })
    await messages.write(uint8ArrayConcat([
      Uint8Array.of(0x08), varint(GET_VALUE),
      Uint8Array.of(0x12), varint(key.byteLength), key
    ]), { signal })
    const answer = (await messages.read({ signal })).subarray()
    await stream.close({ signal })
    const record = protobufField(answer, 3)
    return record === undefined ? undefined : DhtRecord.deserialize(record).value
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/** The first length-delimited field `field` of a protobuf message, if any. */
function protobufField (bytes: Uint8Array, field: number): Uint8Array | undefined {
  let offset = 0
  const readVarint = (): number => {
    let value = 0
    let shift = 0

    for (;;) {
      if (offset >= bytes.byteLength || shift > 49) {
        throw new Error('Truncated protobuf varint')
      }

      const byte = bytes[offset++]
      value += (byte & 0x7f) * 2 ** shift
      shift += 7

      if ((byte & 0x80) === 0) {
        return value
      }
    }
  }

  while (offset < bytes.byteLength) {
    const tag = readVarint()
    const wireType = tag & 0x07

    if (wireType === 0) {
      readVarint()
    } else if (wireType === 2) {
      const length = readVarint()

      if (offset + length > bytes.byteLength) {
        throw new Error('Truncated protobuf field')
      }

      if (Math.floor(tag / 8) === field) {
        return bytes.subarray(offset, offset + length)
      }

      offset += length
    } else if (wireType === 1) {
      offset += 8
    } else if (wireType === 5) {
      offset += 4
    } else {
      throw new Error(`Unsupported protobuf wire type ${wireType}`)
    }
  }

  return undefined
}

import { Record as DhtRecord } from '@libp2p/kad-dht'
import { lpStream } from '@libp2p/utils'
import { encode as varint } from 'uint8-varint'
import { concat as uint8ArrayConcat } from 'uint8arrays/concat'
import { MAX_RECORD_BYTES } from '../constants.js'
import { dhtProtocol } from './ids.js'
import type { PeerId } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

/** kad-dht's `MessageType.PUT_VALUE`. */
const PUT_VALUE = 0

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
 * Sends one kad `PUT_VALUE` straight to a DHT server this node is connected
 * to — one round trip, without first walking the DHT for the closest peers.
 * Resolves when the server acknowledged (it echoes the message after its
 * validator accepted and stored the record); rejects if it refused (kad
 * servers reset the stream) or did not answer in time.
 */
export async function putToPeer (libp2p: Pick<Libp2p, 'dialProtocol'>, peer: PeerId, network: string, key: Uint8Array, value: Uint8Array, signal: AbortSignal): Promise<void> {
  const stream = await libp2p.dialProtocol(peer, dhtProtocol(network), { signal })

  try {
    const messages = lpStream(stream, { maxDataLength: MAX_RECORD_BYTES * 2 })
    await messages.write(encodePutValue(key, value), { signal })
    await messages.read({ signal })
    await stream.close({ signal })
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

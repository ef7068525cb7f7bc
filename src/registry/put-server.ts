import { Record as DhtRecord } from '@libp2p/kad-dht'
import { lpStream } from '@libp2p/utils'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { DEFAULT_REQUEST_TIMEOUT, MAX_PUT_STREAMS, MAX_RECORD_BYTES } from '../constants.js'
import { InvalidRecordError } from '../errors.js'
import { inDelivery } from '../libp2p/delivery-context.js'
import { dhtDatastorePrefix, putProtocol } from '../protocol/ids.js'
import { encodePutAnswer } from '../protocol/put-messages.js'
import { refusalOf } from '../protocol/refusals.js'
import { storedRecordKey } from '../records/validator.js'
import { recordKey } from '../records/keys.js'
import { peekRecord, verifyRecord } from '../records/verify.js'
import { storeEnvelope } from './record-intake.js'
import type { RecordIndex } from './record-index.js'
import type { PutAnswer } from '../protocol/put-messages.js'
import type { RecordExpectations } from '../records/verify.js'
import type { Connection, Logger, Stream } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

/** What a {@link PutServer} needs. */
export interface PutServerInit {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle'>
  /** The network id (a closed network's `<name>@<authority>`). */
  network: string
  index: Pick<RecordIndex, 'datastore' | 'admitDelivery'>
  /** Closed networks: refuses a record whose publisher holds no valid credential for it. */
  checkPublisher?: RecordExpectations['checkPublisher']
  log: Logger
}

/**
 * Answers the record put protocol (docs/PROTOCOL.md §5.1): one envelope in,
 * one answer out, `{"ok": true}` once the record is stored or a refusal
 * with its reason code (§12). The record goes through exactly what a kad
 * `PUT_VALUE` goes through — the put rate, every check of §4.4, and the
 * record index's rollback and quota checks under the key's lock — and is
 * stored where kad-dht keeps it, so kad `GET_VALUE` serves it too; only the
 * refusal differs: it says why instead of resetting the stream.
 */
export class PutServer {
  private readonly init: PutServerInit
  private readonly protocol: string
  private readonly datastorePrefix: string

  constructor (init: PutServerInit) {
    this.init = init
    this.protocol = putProtocol(init.network)
    this.datastorePrefix = dhtDatastorePrefix(init.network)
  }

  async start (): Promise<void> {
    await this.init.libp2p.handle(this.protocol, async (stream, connection) => {
      await this.serve(stream, connection)
    }, { maxInboundStreams: MAX_PUT_STREAMS })
  }

  async stop (): Promise<void> {
    await this.init.libp2p.unhandle(this.protocol)
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const { log } = this.init
    const signal = AbortSignal.timeout(DEFAULT_REQUEST_TIMEOUT)
    const messages = lpStream(stream, { maxDataLength: MAX_RECORD_BYTES })
    let answer: PutAnswer

    try {
      let envelope: Uint8Array

      try {
        envelope = (await messages.read({ signal })).subarray()
      } catch (err) {
        const name = (err as Error).name

        if (name !== 'InvalidDataLengthError' && name !== 'InvalidDataLengthLengthError') {
          throw err
        }

        throw new InvalidRecordError(`A put frame is at most ${MAX_RECORD_BYTES} bytes (the largest envelope)`, { cause: err, code: 'too-large' })
      }

      answer = await inDelivery({ connection }, async () => this.store(envelope, connection, signal))
    } catch (err) {
      if ((err as Error).name !== InvalidRecordError.name) {
        log.trace('put stream from %p failed - %e', connection.remotePeer, err)
        stream.abort(err as Error)
        return
      }

      answer = { ok: false, ...refusalOf(err) }
    }

    if (!answer.ok) {
      log('refused a put from %p (%s) - %s', connection.remotePeer, answer.code, answer.error)
    }

    try {
      await messages.write(encodePutAnswer(answer), { signal })
      await stream.close({ signal })
    } catch (err) {
      stream.abort(err as Error)
    }
  }

  /** Checks and stores one envelope; a refusal is the answer, not a throw (but for a malformed frame). */
  private async store (envelope: Uint8Array, connection: Connection, signal: AbortSignal): Promise<PutAnswer> {
    const { index, network } = this.init
    let key: Uint8Array | undefined

    try {
      if (envelope.byteLength === 0) {
        throw new InvalidRecordError('A put frame holds one record envelope; this one is empty', { code: 'bad-request' })
      }

      // the put rate first: a flood over it costs no signature check
      index.admitDelivery({ connection }, uint8ArrayFromString(this.protocol))
      const record = await verifyRecord(envelope, { network, checkPublisher: this.init.checkPublisher })
      key = recordKey(network, record.name, record.peerId)
      await storeEnvelope({ network, index, checkPublisher: this.init.checkPublisher }, envelope, signal, record)
      return { ok: true }
    } catch (err) {
      const refusal = refusalOf(err)

      if (refusal.code === 'internal') {
        this.init.log.error('could not store a record put by %p - %e', connection.remotePeer, err)
      }

      const seq = refusal.code === 'stale-seq' && key !== undefined ? await this.storedSeq(key) : undefined
      return { ok: false, ...refusal, ...(seq === undefined ? {} : { seq }) }
    }
  }

  /** The `seq` of the record stored under `key`, if one is. */
  private async storedSeq (key: Uint8Array): Promise<number | undefined> {
    try {
      return peekRecord(DhtRecord.deserialize(await this.init.index.datastore.get(storedRecordKey(this.datastorePrefix, key))).value)?.seq
    } catch {
      return undefined
    }
  }
}

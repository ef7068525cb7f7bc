import { lpStream } from '@libp2p/utils'
import { DEFAULT_REQUEST_TIMEOUT, LOOKUP_IDLE_TIMEOUT, MAX_LOOKUP_RESULTS, MAX_RECORD_BYTES } from '../constants.js'
import { decodeLookupRequest, encodeLookupHeader, MAX_REQUEST_BYTES } from '../protocol/lookup-messages.js'
import { lookupProtocol } from '../protocol/ids.js'
import type { RecordIndex } from './record-index.js'
import type { Logger, Stream, Connection } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

/** What a {@link LookupServer} needs. */
export interface LookupServerInit {
  libp2p: Pick<Libp2p, 'handle' | 'unhandle'>
  network: string
  index: RecordIndex
  log: Logger
  /** Concurrent lookup streams allowed per connection. @default 32 */
  maxInboundStreams?: number
}

/**
 * Answers the registry lookup protocol from the registry's record index. A
 * stream carries any number of lookups, answered in order, so a peer keeps
 * one warm stream per registry instead of opening one per lookup. Peers
 * verify every record themselves, so the server sends what it stored as it
 * stored it.
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
    const { log, index } = this.init
    const messages = lpStream(stream, { maxDataLength: Math.max(MAX_REQUEST_BYTES, MAX_RECORD_BYTES) })

    while (stream.status === 'open') {
      let request: Uint8Array

      try {
        request = (await messages.read({ signal: AbortSignal.timeout(LOOKUP_IDLE_TIMEOUT) })).subarray()
      } catch (err) {
        // the asker is done (closed its side), went idle, or went away
        log.trace('lookup stream from %p ended - %e', connection.remotePeer, err)
        await stream.close().catch(() => { stream.abort(err as Error) })
        return
      }

      const signal = AbortSignal.timeout(DEFAULT_REQUEST_TIMEOUT)

      try {
        let name: string

        try {
          name = decodeLookupRequest(request)
        } catch (err) {
          log('bad lookup request from %p - %e', connection.remotePeer, err)
          await messages.write(encodeLookupHeader({ error: 'bad request: send {"name": "<service name>"}' }), { signal })
          await stream.close({ signal })
          return
        }

        const envelopes = index.lookup(name, MAX_LOOKUP_RESULTS)
        await messages.writeV([encodeLookupHeader({ count: envelopes.length }), ...envelopes], { signal })
        log.trace('answered lookup of %s from %p with %d records', name, connection.remotePeer, envelopes.length)
      } catch (err) {
        log('lookup stream from %p failed - %e', connection.remotePeer, err)
        stream.abort(err as Error)
        return
      }
    }
  }
}

import { TimeoutError } from '@libp2p/interface'
import { CONNECTION_WATCH_INTERVAL } from '../constants.js'

/** yamux's own keep-alive interval under the watch, in ms: a day (its first ping, as the connection opens, is what is kept). */
const YAMUX_KEEP_ALIVE_INTERVAL = 24 * 60 * 60_000
import type { YamuxMuxerInit } from '@chainsafe/libp2p-yamux'
import type { ComponentLogger, Logger, MessageStream, StreamMuxer, StreamMuxerFactory } from '@libp2p/interface'

/** The one thing a watched muxer must do: a muxer-level ping (yamux's ping frame), resolving with the RTT in ms. */
export type PingableMuxer = StreamMuxer & { ping(options?: { signal?: AbortSignal }): Promise<number> }

/** What a {@link ConnectionWatch} needs. */
export interface ConnectionWatchInit {
  /**
   * Time between two pings of a connection, in ms; a ping unanswered for a
   * whole interval closes the connection. @default CONNECTION_WATCH_INTERVAL (10,000)
   */
  interval?: number
  log: Logger
}

interface Watched {
  muxer: PingableMuxer
  /** The connection's (encrypted) byte stream under the muxer: aborted to close the connection. */
  transport: MessageStream
  /** When the unanswered ping was sent (`Date.now()`), if one is. */
  sentAt?: number
}

/**
 * Detects dead connections with muxer-level pings, in place of libp2p's
 * connection monitor (which opens a new ping stream per connection every
 * 10 s: multistream-select, window updates, close, ~4 ms of CPU each) and of
 * yamux's keep-alive (which only logs a failure). Every `interval` each
 * connection gets one yamux ping frame (12 bytes, one Noise message each
 * way); a connection whose previous ping is still unanswered — a peer that
 * died without a FIN, or a black-holed path — is aborted, so a dead
 * connection is closed `interval` to `2 × interval` after it went silent
 * (10–20 s by default). The check runs after pending I/O (a 0 ms timeout,
 * run after the poll phase), so an answer already read from the socket during a long pause of this
 * process still counts. The peer's own answers cost it one frame; it needs
 * no netget code (any yamux answers pings).
 *
 * Connections are added by the muxer factory {@link watchMuxers} wraps and
 * dropped when they close; the timer runs only while a connection is
 * watched, so a stopped node leaves nothing running.
 */
export class ConnectionWatch {
  private readonly interval: number
  private readonly log: Logger
  private readonly watched = new Set<Watched>()
  private timer?: ReturnType<typeof setInterval>

  constructor (init: ConnectionWatchInit) {
    this.interval = init.interval ?? CONNECTION_WATCH_INTERVAL
    this.log = init.log
  }

  /** Connections watched now. */
  get size (): number {
    return this.watched.size
  }

  /** Watches the connection of a new muxer until its transport closes. */
  add (muxer: PingableMuxer, transport: MessageStream): void {
    const watched: Watched = { muxer, transport }
    this.watched.add(watched)
    transport.addEventListener('close', () => {
      this.watched.delete(watched)

      if (this.watched.size === 0) {
        clearInterval(this.timer)
        this.timer = undefined
      }
    }, { once: true })

    this.timer ??= setInterval(() => { this.tick() }, this.interval)
  }

  private tick (): void {
    const now = Date.now()
    const silent: Watched[] = []

    for (const watched of this.watched) {
      if (watched.sentAt === undefined) {
        this.ping(watched, now)
      } else {
        // sent on an earlier tick, an interval ago
        silent.push(watched)
      }
    }

    if (silent.length > 0) {
      // after the poll phase: an answer waiting in a socket buffer is read first
      setTimeout(() => {
        for (const watched of silent) {
          if (watched.sentAt !== undefined && this.watched.has(watched)) {
            this.log('closing a connection whose muxer ping went unanswered for %d ms', Date.now() - watched.sentAt)
            watched.transport.abort(new TimeoutError(`no answer to a muxer ping within ${this.interval} ms`))
          }
        }
      }, 0)
    }
  }

  private ping (watched: Watched, now: number): void {
    if (watched.muxer.status !== 'open') {
      return
    }

    watched.sentAt = now
    watched.muxer.ping().then(
      () => { watched.sentAt = undefined },
      // the muxer is closing: its transport's close event drops it
      () => { watched.sentAt = undefined }
    )
  }
}

/**
 * Wraps yamux so each connection's muxer is watched by `watch`; yamux's own
 * periodic keep-alive is made daily (the watch pings instead). It is not
 * turned off: yamux 8.0.1 sends its first keep-alive ping as the connection
 * opens, and without it a burst of writes on a new stream can stall for
 * good (1,000 concurrent channel sends did, in test/channel.spec.ts).
 */
export function watchMuxers (yamux: (init?: YamuxMuxerInit) => (components: { logger: ComponentLogger }) => StreamMuxerFactory<PingableMuxer>, watch: ConnectionWatch): (components: { logger: ComponentLogger }) => StreamMuxerFactory<PingableMuxer> {
  return components => {
    const factory = yamux({ keepAliveInterval: YAMUX_KEEP_ALIVE_INTERVAL })(components)
    return {
      protocol: factory.protocol,
      createStreamMuxer: (transport: MessageStream) => {
        const muxer = factory.createStreamMuxer(transport)
        watch.add(muxer, transport)
        return muxer
      }
    }
  }
}

import type { Logger } from '@libp2p/interface'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'

/** What a {@link ConnectionGuard} needs. */
export interface ConnectionGuardInit {
  /** Most open connections. */
  maxConnections: number
  log: Logger
}

interface Tracked {
  /** Requests being answered on the connection. */
  busy: number
  /** `performance.now()` when it last became idle (or connected). */
  idleSince: number
}

/**
 * Caps a server's open connections. A connection is idle while no request
 * of it is being answered (it has sent no complete request headers yet, or
 * it is a kept-alive connection between requests). When a connection arrives
 * at the cap, the longest-idle one is closed to make room, so that idle or
 * slow-header sockets (slowloris) cannot lock honest clients out; if every
 * connection is busy answering, the new one is refused at once. Header and
 * keep-alive timeouts are the server's (see `startRegistryHttp`).
 */
export class ConnectionGuard {
  private readonly init: ConnectionGuardInit
  private readonly sockets = new Map<Socket, Tracked>()
  /** Connections closed to make room. */
  evicted = 0
  /** Connections refused because every open one was busy. */
  refused = 0

  constructor (server: Server, init: ConnectionGuardInit) {
    this.init = init
    server.on('connection', socket => { this.admit(socket) })
  }

  /** How many connections are open. */
  get size (): number {
    return this.sockets.size
  }

  /** Marks the request's connection busy until its response is finished or abandoned. */
  track (request: IncomingMessage, response: ServerResponse): void {
    const tracked = this.sockets.get(request.socket)

    if (tracked === undefined) {
      return
    }

    tracked.busy++
    response.once('close', () => {
      tracked.busy--
      tracked.idleSince = performance.now()
    })
  }

  private admit (socket: Socket): void {
    if (this.sockets.size >= this.init.maxConnections && !this.evictIdle()) {
      this.refused++
      this.init.log('refused a connection from %s: %d connections, all busy', socket.remoteAddress, this.sockets.size)
      socket.destroy()
      return
    }

    this.sockets.set(socket, { busy: 0, idleSince: performance.now() })
    socket.once('close', () => { this.sockets.delete(socket) })
  }

  /** Closes the connection idle the longest; false if none is idle. */
  private evictIdle (): boolean {
    let oldest: [Socket, Tracked] | undefined

    for (const entry of this.sockets) {
      if (entry[1].busy === 0 && (oldest === undefined || entry[1].idleSince < oldest[1].idleSince)) {
        oldest = entry
      }
    }

    if (oldest === undefined) {
      return false
    }

    this.evicted++
    this.sockets.delete(oldest[0])
    oldest[0].destroy()
    return true
  }
}

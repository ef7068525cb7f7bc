import { tryGetNetConfig } from '@libp2p/utils'
import { MAX_PENDING_INBOUND_PER_IP } from '../constants.js'
import type { ConnectionGater, Logger, MultiaddrConnection } from '@libp2p/interface'

/** What a {@link PendingInboundLimit} needs. */
export interface PendingInboundLimitInit {
  /** Most handshakes in flight from one IP address. @default MAX_PENDING_INBOUND_PER_IP (128) */
  perIp?: number
  log: Logger
}

/**
 * Caps the inbound connections still in their handshake per remote IP, as a
 * connection gater. libp2p counts pending inbound connections globally only
 * (`maxIncomingPendingConnections`), so one address opening idle TCP sockets
 * that never start Noise fills every slot, and no one else can connect until
 * libp2p's upgrade timeout closes them.
 *
 * A connection is pending from `denyInboundConnection` (accepted by TCP) until
 * its Noise handshake completes (`denyInboundEncryptedConnection`) or it
 * closes. When an address already has `perIp` pending, a new connection from
 * it closes that address's *oldest* pending connection instead of being
 * refused: an honest peer behind the same IP as a flood still gets in, since
 * idle sockets are always the oldest (an honest handshake takes milliseconds
 * on a LAN), and a flood from one address only ever churns its own slots.
 * Other addresses keep the rest of the global pool: one address never holds
 * more than `perIp` of it. libp2p's upgrade timeout (netget's default 5 s)
 * closes whatever is still idle after that.
 *
 * What it cannot do: tell an honest handshake from an idle socket before
 * either sends a byte. Against an address opening new sockets continuously at
 * the inbound rate limit R per second, an honest peer behind that same
 * address gets in if its handshake completes within `perIp / R` seconds
 * (128 / 500 = 256 ms with netget's defaults).
 */
export class PendingInboundLimit {
  private readonly perIp: number
  private readonly log: Logger
  /** Pending connections by remote IP, oldest first. */
  private readonly pending = new Map<string, Set<MultiaddrConnection>>()
  /** How many pending connections were closed to make room, since start. */
  evicted = 0

  constructor (init: PendingInboundLimitInit) {
    this.perIp = init.perIp ?? MAX_PENDING_INBOUND_PER_IP
    this.log = init.log
  }

  /** Handshakes in flight from `ip` (all addresses if omitted). */
  count (ip?: string): number {
    if (ip !== undefined) {
      return this.pending.get(ip)?.size ?? 0
    }

    let total = 0
    this.pending.forEach(connections => { total += connections.size })
    return total
  }

  /** Counts a new inbound connection, closing its address's oldest pending one if the address is at its cap. Never refuses. */
  admit (maConn: MultiaddrConnection): void {
    const ip = tryGetNetConfig(maConn.remoteAddr)?.host

    if (ip === undefined) {
      return
    }

    let connections = this.pending.get(ip)

    if (connections === undefined) {
      connections = new Set()
      this.pending.set(ip, connections)
    }

    if (connections.size >= this.perIp) {
      const oldest = connections.values().next().value as MultiaddrConnection
      this.release(oldest)
      this.evicted++
      this.log('%d handshakes pending from %s: closing the oldest, from %a', this.perIp, ip, oldest.remoteAddr)
      oldest.abort(new Error(`More than ${this.perIp} handshakes pending from ${ip}`))
    }

    connections.add(maConn)
    maConn.addEventListener('close', () => { this.release(maConn) }, { once: true })
  }

  /** Stops counting a connection: its handshake completed, or it closed. */
  release (maConn: MultiaddrConnection): void {
    const ip = tryGetNetConfig(maConn.remoteAddr)?.host
    const connections = ip === undefined ? undefined : this.pending.get(ip)

    if (ip === undefined || connections?.delete(maConn) !== true) {
      return
    }

    if (connections.size === 0) {
      this.pending.delete(ip)
    }
  }

  /**
   * `gater` with this limit added: its own inbound decisions come first (a
   * connection it denies is never counted), then the limit.
   */
  gater (gater: ConnectionGater = {}): ConnectionGater {
    // inherit the given gater's methods, class instances included
    const limited: ConnectionGater = Object.create(gater)
    limited.denyInboundConnection = async maConn => {
      if (await gater.denyInboundConnection?.(maConn) === true) {
        return true
      }

      this.admit(maConn)
      return false
    }
    limited.denyInboundEncryptedConnection = async (peerId, maConn) => {
      this.release(maConn)
      return await gater.denyInboundEncryptedConnection?.(peerId, maConn) === true
    }
    return limited
  }
}

import { RTT_HISTORY } from './dashboard/events.js'
import type { LivenessEvent } from './dashboard/events.js'
import type { ServicesSnapshot, SnapshotLimits } from './services-snapshot.js'
import type { RegistryObserver } from '../types.js'
import type { Logger } from '@libp2p/interface'
import type { ServerResponse } from 'node:http'

/** The registry an {@link EventStream} follows (a started registry `Netget`). */
export interface ObservedRegistry {
  /** The network followed (a registry serving several has one stream per network). */
  network: string
  /** Every network the registry serves, for the page's network links. */
  networks?: string[]
  peerId: string
  multiaddrs: string[]
  observeRegistry(observer: RegistryObserver): () => void
}

/** What an {@link EventStream} needs. */
export interface EventStreamInit {
  registry: ObservedRegistry
  /** The HTTP port's snapshot: the first event of each client, and the service deltas (built capped the same way). */
  snapshot: ServicesSnapshot
  limits: SnapshotLimits
  /** Most clients at once; the next one gets 503. */
  maxClients: number
  /** Time between two heartbeat comments, in ms. */
  heartbeatInterval: number
  /** How long changes are gathered before they are sent, in ms. */
  flushDelay: number
  log: Logger
}

interface Client {
  response: ServerResponse
  /** false until its snapshot is written; what comes meanwhile waits in `queue`. */
  ready: boolean
  queue: Buffer[]
  queued: number
}

/**
 * `GET /api/events`: the registry's changes pushed to pages as server-sent
 * events. The first event of a connection is a `snapshot`; then `service`
 * (one service as it is now, after a record of it was stored, replaced or
 * removed) and `liveness` (a measurement of one publisher) follow, gathered
 * for `flushDelay` ms; a `: heartbeat` comment every `heartbeatInterval` ms
 * keeps idle connections open. It follows the registry
 * ({@link ObservedRegistry.observeRegistry}) only while a client is
 * connected, keeps the last {@link RTT_HISTORY} RTT samples of each
 * publisher meanwhile (at most `limits.maxInstances` publishers), and
 * serves a new client the cached snapshot (at most `snapshotInterval` old,
 * so a crowd of pages costs no extra build) followed by a fresh `service`
 * event of each service changed since that snapshot began. It
 * bounds everything a client or a burst of changes can grow: clients
 * (`maxClients`), bytes waiting to be written to one client (the snapshot's
 * byte cap plus 1 MiB, past which the client is cut off) and pending
 * changes (past the snapshot's caps every client gets a new snapshot).
 */
export class EventStream {
  private readonly init: EventStreamInit
  private readonly clients = new Set<Client>()
  private readonly maxBuffered: number
  private stopObserving?: () => void
  private heartbeat?: ReturnType<typeof setInterval>
  private flushTimer?: ReturnType<typeof setTimeout>
  private flushing?: Promise<void>
  private readonly pendingServices = new Set<string>()
  private readonly pendingLiveness = new Map<string, LivenessEvent>()
  private resync = false
  private readonly history = new Map<string, number[]>()
  /** Unix ms of the last change of each service while followed, oldest first. */
  private readonly changedAt = new Map<string, number>()

  constructor (init: EventStreamInit) {
    this.init = init
    this.maxBuffered = init.limits.maxBytes + 1024 * 1024
  }

  /** Clients connected now. */
  get size (): number {
    return this.clients.size
  }

  /** Whether another client may connect. */
  get full (): boolean {
    return this.clients.size >= this.init.maxClients
  }

  /**
   * Makes `response` an event stream (check {@link full} first): writes the
   * head, then the snapshot, then every change until the client goes, the
   * registry stops or {@link close}. Throws NotStartedError if the registry
   * is not running (nothing written then).
   */
  open (response: ServerResponse, headers: Record<string, string>): void {
    this.attach()
    response.writeHead(200, {
      ...headers,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      'X-Accel-Buffering': 'no'
    })

    if (response.req.method === 'HEAD') {
      response.end()
      this.detachIfIdle()
      return
    }

    const client: Client = { response, ready: false, queue: [], queued: 0 }
    this.clients.add(client)
    response.once('close', () => { this.drop(client) })
    response.write('retry: 2000\n\n')
    void this.sendSnapshot(client)
  }

  /** Ends every stream and stops following the registry. */
  close (): void {
    for (const client of [...this.clients]) {
      client.response.end()
      this.drop(client)
    }

    this.detach()
  }

  private attach (): void {
    if (this.stopObserving !== undefined) {
      return
    }

    this.stopObserving = this.init.registry.observeRegistry({
      record: change => {
        this.changedAt.delete(change.name)
        this.changedAt.set(change.name, Date.now())

        for (const oldest of this.changedAt.keys()) {
          if (this.changedAt.size <= this.init.limits.maxServices) {
            break
          }

          this.changedAt.delete(oldest)
        }

        this.pendingServices.add(change.name)

        if (this.pendingServices.size > this.init.limits.maxServices) {
          this.pendingServices.clear()
          this.resync = true
        }

        this.schedule()
      },
      liveness: measurement => {
        this.sample(measurement.peerId, measurement.status === 'alive' ? measurement.rttMs : undefined)
        this.pendingLiveness.delete(measurement.peerId)
        this.pendingLiveness.set(measurement.peerId, measurement.rttMs === undefined || measurement.status === 'down'
          ? { peerId: measurement.peerId, status: measurement.status, measuredAt: measurement.measuredAt }
          : { peerId: measurement.peerId, status: measurement.status, rttMs: measurement.rttMs, measuredAt: measurement.measuredAt })

        if (this.pendingLiveness.size > this.init.limits.maxInstances) {
          this.pendingLiveness.clear()
          this.resync = true
        }

        this.schedule()
      },
      stopped: () => {
        this.stopObserving = undefined
        this.close()
      }
    })
    // changes made while nobody followed are not in a snapshot built before them
    this.init.snapshot.invalidate()
    this.heartbeat = setInterval(() => { this.broadcast(HEARTBEAT) }, this.init.heartbeatInterval)
    this.init.log('following the registry for %d event stream client(s)', this.clients.size + 1)
  }

  private detach (): void {
    this.stopObserving?.()
    this.stopObserving = undefined
    clearInterval(this.heartbeat)
    clearTimeout(this.flushTimer)
    this.heartbeat = undefined
    this.flushTimer = undefined
    this.pendingServices.clear()
    this.pendingLiveness.clear()
    this.history.clear()
    this.changedAt.clear()
    this.resync = false
  }

  private detachIfIdle (): void {
    if (this.clients.size === 0) {
      this.detach()
    }
  }

  private drop (client: Client): void {
    if (this.clients.delete(client)) {
      client.queue = []
      this.detachIfIdle()
    }
  }

  /** Keeps an RTT sample of a publisher; a down one keeps its history (the page hides it while down). */
  private sample (peerId: string, rttMs: number | undefined): void {
    if (rttMs === undefined) {
      return
    }

    const samples = this.history.get(peerId) ?? []
    samples.push(Math.round(rttMs * 100) / 100)

    if (samples.length > RTT_HISTORY) {
      samples.shift()
    }

    // most recently measured last, so the oldest is evicted first
    this.history.delete(peerId)
    this.history.set(peerId, samples)

    for (const oldest of this.history.keys()) {
      if (this.history.size <= this.init.limits.maxInstances) {
        break
      }

      this.history.delete(oldest)
    }
  }

  private schedule (): void {
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined
      this.flushing ??= this.flush().catch(err => { this.init.log.error('sending events failed - %e', err) }).finally(() => {
        this.flushing = undefined

        if (this.pendingServices.size > 0 || this.pendingLiveness.size > 0 || this.resync) {
          this.schedule()
        }
      })
    }, this.init.flushDelay)
  }

  /** Sends what changed since the last flush (one flush at a time: each service is built after its last change). */
  private async flush (): Promise<void> {
    if (this.resync) {
      this.resync = false
      this.pendingServices.clear()
      this.pendingLiveness.clear()
      await Promise.all([...this.clients].map(async client => {
        client.ready = false
        await this.sendSnapshot(client)
      }))
      return
    }

    const names = [...this.pendingServices]
    this.pendingServices.clear()

    for (const name of names) {
      if (this.stopObserving === undefined) {
        return
      }

      this.broadcast(await this.serviceFrame(name))
    }

    const measurements = [...this.pendingLiveness.values()]
    this.pendingLiveness.clear()

    for (const measurement of measurements) {
      this.broadcast(frame('liveness', Buffer.from(JSON.stringify(measurement))))
    }
  }

  /** A `service` event of one service as it is now. */
  private async serviceFrame (name: string): Promise<Buffer> {
    const entry = await this.init.snapshot.fresh(name)
    return frame('service', entry?.json ?? Buffer.from(JSON.stringify({ name, instances: [] })))
  }

  private async sendSnapshot (client: Client): Promise<void> {
    try {
      const snapshot = await this.init.snapshot.get()
      const { registry, limits } = this.init
      const head = JSON.stringify({ network: registry.network, networks: registry.networks ?? [registry.network], registry: { peerId: registry.peerId, multiaddrs: registry.multiaddrs }, generatedAt: snapshot.generatedAt, limits, truncated: snapshot.truncated })
      const parts: Buffer[] = [Buffer.from(`${head.slice(0, -1)},"services":[`)]
      snapshot.entries.forEach((entry, i) => { parts.push(...(i === 0 ? [entry.json] : [COMMA, entry.json])) })
      parts.push(Buffer.from(`],"rtt":${JSON.stringify(Object.fromEntries(this.history))}}`))
      const queued = client.queue
      client.queue = []
      client.queued = 0
      client.ready = true
      this.write(client, frame('snapshot', Buffer.concat(parts)))

      for (const chunk of queued) {
        this.write(client, chunk)
      }

      // a snapshot served from the cache may predate a change the other clients were sent
      const changed = [...this.changedAt].filter(([, at]) => at >= snapshot.startedAt).map(([name]) => name)

      for (const name of changed) {
        if (this.clients.has(client)) {
          this.write(client, await this.serviceFrame(name))
        }
      }
    } catch (err) {
      this.init.log('no snapshot for an event stream client - %e', err)
      client.response.destroy()
    }
  }

  private broadcast (chunk: Buffer): void {
    for (const client of this.clients) {
      this.write(client, chunk)
    }
  }

  /** Writes to a client, or queues until its snapshot is out; cuts off a client that does not read. */
  private write (client: Client, chunk: Buffer): void {
    if (!client.ready) {
      if (chunk === HEARTBEAT) {
        return
      }

      client.queue.push(chunk)
      client.queued += chunk.byteLength

      if (client.queued > this.maxBuffered) {
        client.response.destroy()
      }

      return
    }

    if (client.response.writableLength > this.maxBuffered) {
      this.init.log('an event stream client is not reading: %d bytes waiting, closing it', client.response.writableLength)
      client.response.destroy()
      return
    }

    client.response.write(chunk)
  }
}

const COMMA = Buffer.from(',')
const HEARTBEAT = Buffer.from(': heartbeat\n\n')

/** One server-sent event; `data` is one line of JSON. */
function frame (event: string, data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`event: ${event}\ndata: `), data, Buffer.from('\n\n')])
}

import { readFile } from 'node:fs/promises'
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { logger } from '@libp2p/logger'
import { SERVICE_NAME_PATTERN } from '../constants.js'
import { InvalidOptionsError, UnsupportedOperationError } from '../errors.js'
import { preview } from '../text.js'
import { ConnectionGuard } from './connection-guard.js'
import {
  DEFAULT_HTTP_HEADERS_TIMEOUT, DEFAULT_HTTP_HOST, DEFAULT_HTTP_IDLE_TIMEOUT, DEFAULT_HTTP_KEEP_ALIVE_TIMEOUT, DEFAULT_HTTP_MAX_CONCURRENT_REQUESTS,
  DEFAULT_HTTP_MAX_CONNECTIONS, DEFAULT_HTTP_REQUEST_TIMEOUT, DEFAULT_PAGE_LIMIT, DEFAULT_SNAPSHOT_INTERVAL, DEFAULT_SNAPSHOT_MAX_BYTES,
  DEFAULT_SNAPSHOT_MAX_INSTANCES, DEFAULT_SNAPSHOT_MAX_INSTANCES_PER_SERVICE, DEFAULT_SNAPSHOT_MAX_SERVICES, HTTP_TIMEOUT_CHECK_INTERVAL, MAX_PAGE_LIMIT,
  DEFAULT_HTTP_MAX_EVENT_CLIENTS, DEFAULT_EVENT_HEARTBEAT_INTERVAL, EVENT_FLUSH_DELAY
} from './constants.js'
import { DASHBOARD_CSP, dashboardHtml } from './dashboard.js'
import { EventStream } from './event-stream.js'
import { allowedHostNames, apiCorsHeaders, isHostAllowed, refusedHostMessage } from './request-guard.js'
import { page, ServicesSnapshot } from './services-snapshot.js'
import type { ObservedRegistry } from './event-stream.js'
import type { ServiceEntry, SnapshotEntry, SnapshotLimits } from './services-snapshot.js'
import type { Netget } from '../netget.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export { DEFAULT_HTTP_HOST } from './constants.js'
export type { ServiceEntry, SnapshotLimits } from './services-snapshot.js'
export type { LivenessEvent, ServiceEvent, SnapshotEvent } from './dashboard/events.js'

/** The single-file browser bundle built by `npm run build`. */
export const BROWSER_BUNDLE_PATH = fileURLToPath(new URL('../../netget.browser.js', import.meta.url))

/** The dashboard page's script, built by `npm run build` from `src/http/dashboard/page.ts`. */
export const DASHBOARD_BUNDLE_PATH = fileURLToPath(new URL('../../dashboard.js', import.meta.url))

/** Options of {@link startRegistryHttp}. */
export interface RegistryHttpInit {
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number
  /**
   * Address to bind. The default serves this machine only; to serve others,
   * bind `'0.0.0.0'` (or one interface's address) and list the names clients
   * use in {@link allowedHosts}.
   * @default '127.0.0.1'
   */
  host?: string
  /**
   * Host names (the `Host` header, without port) answered besides
   * `127.0.0.1`, `localhost`, `[::1]` and the bound `host`, like
   * `['registry.example.com', '10.0.0.7']`; `'*'` answers any. A request for
   * another host gets 421 (this is what stops DNS rebinding).
   * @default []
   */
  allowedHosts?: string[]
  /**
   * Origins whose pages may read the JSON API (`/api/...`) cross-origin,
   * like `['https://status.example.com']`; `'*'` grants every origin. The
   * browser bundle `/netget.js` is public code and always `*`.
   * @default [] (same origin only)
   */
  corsOrigins?: string[]
  /** Most open connections; past it the longest-idle one is closed, or the new one refused if all are answering. @default 256 */
  maxConnections?: number
  /** How long a client has to send a request's headers, in ms (enforced within 250 ms). @default 5000 */
  headersTimeout?: number
  /** How long a client has to send a whole request, in ms. @default 10000 */
  requestTimeout?: number
  /** How long an idle kept-alive connection stays open, in ms. @default 2000 */
  keepAliveTimeout?: number
  /** How long a connection may pass no data at all before it is closed, in ms. @default 30000 */
  idleTimeout?: number
  /** Most `/api/...` requests answered at once; the rest get 503 with `Retry-After: 1`. @default 32 */
  maxConcurrentRequests?: number
  /** How long one snapshot of the services answers `/api/...`, in ms, counted from the end of its build. @default 2000 */
  snapshotInterval?: number
  /** Most services in a snapshot. @default 1000 */
  maxServices?: number
  /** Most instances of one service in a snapshot. @default 100 */
  maxInstancesPerService?: number
  /** Most instances in a snapshot, all services together. @default 2000 */
  maxInstances?: number
  /** Most bytes of service JSON in a snapshot. @default 4194304 (4 MiB) */
  maxSnapshotBytes?: number
  /** The browser bundle to serve as `/netget.js`. @default dist/netget.browser.js of this package */
  bundlePath?: string
  /** Most `/api/events` streams open at once (each holds a connection, within `maxConnections`); the next gets 503 with `Retry-After: 5`. @default 32 */
  maxEventClients?: number
  /** Time between two heartbeat comments on an `/api/events` stream, in ms. @default 15000 */
  eventHeartbeatInterval?: number
}

/** A running registry HTTP server. */
export interface RegistryHttp {
  /** Base URL, like `http://127.0.0.1:8080`. */
  url: string
  /** The bound port. */
  port: number
  /** Stops the server and closes open connections. */
  close(): Promise<void>
}

/** What every `/api/...` answer starts with. */
export interface ApiResponseHead {
  /** The network answered for: `?network=NAME`, else the registry's first. */
  network: string
  /** Every network the registry serves (a registry serving several: pass one as `?network=NAME`). */
  networks: string[]
  /** The registry answering, with its addresses (the `/ws` ones are what pages pass as `registryNodes`). */
  registry: { peerId: string, multiaddrs: string[] }
  /** Unix ms when the snapshot answering was built (at most `snapshotInterval` ms before the request, plus the build). */
  generatedAt: number
  /** The snapshot's caps. */
  limits: SnapshotLimits
  /** true if a cap left services or instances out of the snapshot (each capped service says `truncated: true` too). */
  truncated: boolean
}

/** The JSON `GET /api/services[?cursor=NAME&limit=N]` returns. */
export interface ServicesResponse extends ApiResponseHead {
  /** Pass as `?cursor=` for the next page; absent on the last page. */
  nextCursor?: string
  /** At most `limit` services (default 100, at most 1000) after `cursor`, in name order; health is what the registry knows. */
  services: ServiceEntry[]
}

/** The JSON `GET /api/services/NAME` returns (404 if no live instance is stored). */
export interface ServiceResponse extends ApiResponseHead {
  service: ServiceEntry
}

interface Bundle {
  code: Buffer
  gzip: Buffer
  /** A hash of `code`, the dashboard script's version in its URL. */
  version: string
}

/** What the HTTP port serves of one network: its snapshot and its event stream. */
interface NetworkView {
  snapshot: ServicesSnapshot
  events: EventStream
}

interface Context {
  netget: Netget
  /** One view per network served, the first network's first. */
  views: Map<string, NetworkView>
  limits: SnapshotLimits
  hosts: Set<string>
  corsOrigins: ReadonlySet<string>
  maxConcurrentRequests: number
  inFlight: number
  loadBundle(): Promise<Bundle | undefined>
  loadDashboard(): Promise<Bundle | undefined>
  /** Whether the server still accepts connections. */
  listening(): boolean
}

const log = logger('netget:http')

/**
 * Serves a registry node over HTTP:
 *
 * - `GET /netget.js`: the browser bundle (defines the global `Netget`), with
 *   `Access-Control-Allow-Origin: *` so a page of any origin can load it.
 * - `GET /`: a dashboard of the network's services, instances, metadata,
 *   health and RTT over time, updated by push from `/api/events`.
 * - `GET /api/services[?cursor=&limit=]`: the same data as JSON, paged;
 *   `GET /api/services/NAME`: one service; `GET /api/events`: a server-sent
 *   event stream, a snapshot then every change (see {@link EventStream}).
 *   Same-origin unless `corsOrigins`.
 *
 * Read-only, and cheap whatever the load: answers come from a snapshot
 * rebuilt at most every `snapshotInterval` ms and capped (see
 * {@link RegistryHttpInit}); nothing is pinged for a request, so health is
 * what the registry already measures. Only requests for the bound host,
 * loopback or `allowedHosts` are answered; connections are capped and slow
 * clients cut off at the header timeout.
 */
export async function startRegistryHttp (netget: Netget, init: RegistryHttpInit = {}): Promise<RegistryHttp> {
  if (netget.nodeType !== 'registry') {
    throw new UnsupportedOperationError('The HTTP dashboard is served by registry nodes only (nodeType: "registry")')
  }

  const port = init.port ?? 0

  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) {
    throw new InvalidOptionsError(`Option "port" must be a TCP port from 0 to 65535, got ${preview(init.port)}`, { option: 'port' })
  }

  const host = init.host ?? DEFAULT_HTTP_HOST

  if (typeof host !== 'string' || host.trim() === '') {
    throw new InvalidOptionsError(`Option "host" must be an address to bind, like "127.0.0.1" or "0.0.0.0", got ${preview(init.host)}`, { option: 'host' })
  }

  const allowedHosts = stringList(init.allowedHosts, 'allowedHosts', 'host names, like ["registry.example.com"]', text => text.trim() !== '' && !/[\s/]/.test(text))
  const corsOrigins = stringList(init.corsOrigins, 'corsOrigins', 'origins, like ["https://status.example.com"] or ["*"]', isOrigin)
  const limits: SnapshotLimits = {
    maxServices: positive(init.maxServices, 'maxServices', DEFAULT_SNAPSHOT_MAX_SERVICES),
    maxInstancesPerService: positive(init.maxInstancesPerService, 'maxInstancesPerService', DEFAULT_SNAPSHOT_MAX_INSTANCES_PER_SERVICE),
    maxInstances: positive(init.maxInstances, 'maxInstances', DEFAULT_SNAPSHOT_MAX_INSTANCES),
    maxBytes: positive(init.maxSnapshotBytes, 'maxSnapshotBytes', DEFAULT_SNAPSHOT_MAX_BYTES)
  }
  const headersTimeout = positive(init.headersTimeout, 'headersTimeout', DEFAULT_HTTP_HEADERS_TIMEOUT)
  const requestTimeout = positive(init.requestTimeout, 'requestTimeout', DEFAULT_HTTP_REQUEST_TIMEOUT)
  const keepAliveTimeout = positive(init.keepAliveTimeout, 'keepAliveTimeout', DEFAULT_HTTP_KEEP_ALIVE_TIMEOUT)
  const idleTimeout = positive(init.idleTimeout, 'idleTimeout', DEFAULT_HTTP_IDLE_TIMEOUT)
  const maxConnections = positive(init.maxConnections, 'maxConnections', DEFAULT_HTTP_MAX_CONNECTIONS)
  const maxConcurrentRequests = positive(init.maxConcurrentRequests, 'maxConcurrentRequests', DEFAULT_HTTP_MAX_CONCURRENT_REQUESTS)
  const snapshotInterval = positive(init.snapshotInterval, 'snapshotInterval', DEFAULT_SNAPSHOT_INTERVAL, 0)
  const maxEventClients = positive(init.maxEventClients, 'maxEventClients', DEFAULT_HTTP_MAX_EVENT_CLIENTS)
  const eventHeartbeatInterval = positive(init.eventHeartbeatInterval, 'eventHeartbeatInterval', DEFAULT_EVENT_HEARTBEAT_INTERVAL)

  const bundlePath = init.bundlePath ?? BROWSER_BUNDLE_PATH
  let bundle: Promise<Bundle | undefined> | undefined
  let dashboard: Promise<Bundle | undefined> | undefined
  const views = new Map(netget.networks.map((network): [string, NetworkView] => {
    const snapshot = new ServicesSnapshot({ ...limits, interval: snapshotInterval, log, list: async options => netget.listServices({ ...options, network }) })
    const registry: ObservedRegistry = {
      network,
      networks: netget.networks,
      get peerId () { return netget.peerId },
      get multiaddrs () { return netget.multiaddrs },
      observeRegistry: observer => netget.observeRegistry(observer, { network })
    }
    return [network, { snapshot, events: new EventStream({ registry, snapshot, limits, maxClients: maxEventClients, heartbeatInterval: eventHeartbeatInterval, flushDelay: EVENT_FLUSH_DELAY, log: log.newScope('events') }) }]
  }))
  const context: Context = {
    netget,
    limits,
    views,
    hosts: allowedHostNames(host, allowedHosts),
    corsOrigins: new Set(corsOrigins),
    maxConcurrentRequests,
    inFlight: 0,
    listening: () => server.listening,
    loadBundle: async () => {
      bundle ??= loadScript(bundlePath).then(loaded => {
        bundle = loaded === undefined ? undefined : bundle
        return loaded
      })
      return bundle
    },
    loadDashboard: async () => {
      dashboard ??= loadScript(DASHBOARD_BUNDLE_PATH).then(loaded => {
        dashboard = loaded === undefined ? undefined : dashboard
        return loaded
      })
      return dashboard
    }
  }

  const server = createServer({
    headersTimeout,
    requestTimeout: Math.max(requestTimeout, headersTimeout),
    keepAliveTimeout,
    // Node checks the two timeouts above only this often (30 s by default)
    connectionsCheckingInterval: Math.min(HTTP_TIMEOUT_CHECK_INTERVAL, headersTimeout)
  }, (request, response) => {
    guard.track(request, response)
    handle(context, request, response).catch(err => {
      log.error('request %s failed - %e', request.url, err)

      if (!response.headersSent && (err as Error).name === 'NotStartedError') {
        send(response, 503, 'text/plain; charset=utf-8', 'the registry node is not running\n', { 'Retry-After': '1' })
      } else if (!response.headersSent) {
        send(response, 500, 'text/plain; charset=utf-8', 'internal error\n')
      } else {
        response.destroy()
      }
    })
  })
  const guard = new ConnectionGuard(server, { maxConnections, log })
  server.setTimeout(idleTimeout, socket => { socket.destroy() })

  await new Promise<void>((resolve, reject) => {
    server.once('error', err => {
      reject(new InvalidOptionsError(`Cannot serve HTTP on ${host}:${port}: ${err.message} — is another program using the port?`, { cause: err, option: 'port' }))
    })
    server.listen(port, host, resolve)
  })

  const address = server.address() as AddressInfo
  const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address
  log('serving HTTP on %s:%d', shown, address.port)
  return {
    url: `http://${shown === '0.0.0.0' || shown === '[::]' ? '127.0.0.1' : shown}:${address.port}`,
    port: address.port,
    close: async () => {
      context.views.forEach(view => { view.events.close() })
      await closeServer(server)
    }
  }
}

/** A script file, gzipped and hashed once; undefined (logged) if it cannot be read. */
async function loadScript (path: string): Promise<Bundle | undefined> {
  try {
    const code = await readFile(path)
    return { code, gzip: gzipSync(code, { level: 9 }), version: createHash('sha256').update(code).digest('hex').slice(0, 16) }
  } catch (err) {
    log.error('cannot read the script %s - %e', path, err)
    return undefined
  }
}

async function handle (context: Context, request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (!isHostAllowed(request, context.hosts)) {
    send(response, 421, 'text/plain; charset=utf-8', refusedHostMessage(request))
    return
  }

  const url = new URL(request.url ?? '/', 'http://localhost')
  const path = url.pathname
  const api = path === '/api/services' || path.startsWith('/api/services/') || path === '/api/events'

  if (request.method === 'OPTIONS') {
    const cors = api ? apiCorsHeaders(request.headers.origin, context.corsOrigins) : BUNDLE_CORS
    response.writeHead(204, { ...cors, 'Access-Control-Allow-Methods': 'GET, HEAD', 'Access-Control-Max-Age': '86400' })
    response.end()
    return
  }

  if (request.method !== 'GET' && request.method !== 'HEAD') {
    send(response, 405, 'text/plain; charset=utf-8', 'only GET and HEAD\n', { Allow: 'GET, HEAD' })
    return
  }

  if (path === '/api/events') {
    openEvents(context, request, response, url)
    return
  }

  if (api) {
    await answerApi(context, request, response, url)
    return
  }

  switch (path) {
    case '/':
    case '/index.html': {
      const script = await context.loadDashboard()
      send(response, 200, 'text/html; charset=utf-8', dashboardHtml(script === undefined ? undefined : `/dashboard.js?v=${script.version}`), { 'Content-Security-Policy': DASHBOARD_CSP })
      return
    }
    case '/healthz': {
      const healthy = context.netget.status === 'started' && context.listening()
      const body = { status: healthy ? 'ok' : context.netget.status === 'started' ? 'closing' : context.netget.status, network: context.netget.network }
      send(response, healthy ? 200 : 503, 'application/json; charset=utf-8', `${JSON.stringify(body)}\n`, healthy ? {} : { 'Retry-After': '1' })
      return
    }
    case '/metrics': {
      if (context.netget.config.metrics === false) {
        send(response, 404, 'text/plain; charset=utf-8', 'metrics are off: create the registry node with metrics: true (netget-peer --http turns them on)\n')
        return
      }

      const metrics = await context.netget.metrics()
      send(response, 200, metrics.contentType, metrics.text)
      return
    }
    case '/favicon.ico':
      response.writeHead(204, { 'Cache-Control': 'public, max-age=86400' })
      response.end()
      return
    case '/dashboard.js': {
      const script = await context.loadDashboard()

      if (script === undefined) {
        send(response, 503, 'text/plain; charset=utf-8', 'the dashboard script is not built: run npm run build\n')
        return
      }

      // the page names the script by its hash: that URL never changes content
      const versioned = url.searchParams.get('v') === script.version
      sendScript(request, response, script, { 'Cache-Control': versioned ? 'public, max-age=31536000, immutable' : 'no-cache', ETag: `"${script.version}"` })
      return
    }
    case '/netget.js': {
      const bundle = await context.loadBundle()

      if (bundle === undefined) {
        send(response, 503, 'text/plain; charset=utf-8', 'the browser bundle is not built: run npm run build\n', BUNDLE_CORS)
        return
      }

      sendScript(request, response, bundle, { ...BUNDLE_CORS, 'Cache-Control': 'public, max-age=300' })
      return
    }
    default:
      send(response, 404, 'text/plain; charset=utf-8', 'not found: try /, /netget.js, /api/services, /api/services/NAME, /api/events, /metrics or /healthz\n')
  }
}

/** A script, gzipped if the client takes it. */
function sendScript (request: IncomingMessage, response: ServerResponse, script: Bundle, headers: Record<string, string>): void {
  if (headers.ETag !== undefined && request.headers['if-none-match'] === headers.ETag) {
    response.writeHead(304, { ...BASE_HEADERS, ...headers })
    response.end()
    return
  }

  const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))
  send(response, 200, 'text/javascript; charset=utf-8', gzip ? script.gzip : script.code, {
    ...headers,
    Vary: 'Accept-Encoding',
    ...(gzip ? { 'Content-Encoding': 'gzip' } : {})
  })
}

/**
 * The view `?network=NAME` asks for (the first network's without it), or
 * the message of a 404 naming the networks served.
 */
function viewOf (context: Context, url: URL): NetworkView | string {
  const network = url.searchParams.get('network') ?? context.netget.network
  return context.views.get(network) ?? `this registry does not serve network ${preview(network)}; it serves ${[...context.views.keys()].map(name => `"${name}"`).join(', ')} (pass one as ?network=NAME)`
}

/** `/api/events[?network=NAME]`: a server-sent event stream, at most `maxEventClients` at once per network. */
function openEvents (context: Context, request: IncomingMessage, response: ServerResponse, url: URL): void {
  const cors = apiCorsHeaders(request.headers.origin, context.corsOrigins)
  const view = viewOf(context, url)

  if (typeof view === 'string') {
    send(response, 404, 'text/plain; charset=utf-8', `${view}\n`, cors)
    return
  }

  if (view.events.full) {
    send(response, 503, 'text/plain; charset=utf-8', 'busy: too many event streams open, retry later\n', { ...cors, 'Retry-After': '5' })
    return
  }

  if (context.netget.status !== 'started') {
    send(response, 503, 'text/plain; charset=utf-8', 'the registry node is not running\n', { ...cors, 'Retry-After': '1' })
    return
  }

  view.events.open(response, cors)
}

/** `/api/services` and `/api/services/NAME`, from the snapshot, at most `maxConcurrentRequests` at once. */
async function answerApi (context: Context, request: IncomingMessage, response: ServerResponse, url: URL): Promise<void> {
  const cors = apiCorsHeaders(request.headers.origin, context.corsOrigins)

  if (context.inFlight >= context.maxConcurrentRequests) {
    sendJson(response, 503, [Buffer.from('{"error":"busy: too many requests at once, retry in a second"}')], { ...cors, 'Retry-After': '1' })
    return
  }

  const view = viewOf(context, url)

  if (typeof view === 'string') {
    sendJson(response, 404, [jsonError(view)], cors)
    return
  }

  context.inFlight++

  try {
    if (url.pathname === '/api/services') {
      const query = pageQuery(url)

      if (typeof query === 'string') {
        sendJson(response, 400, [jsonError(query)], cors)
        return
      }

      const snapshot = await view.snapshot.get()
      const selected = page(snapshot.entries, query.cursor, query.limit)
      const head = { ...responseHead(context, view, snapshot.generatedAt, snapshot.truncated), ...(selected.nextCursor === undefined ? {} : { nextCursor: selected.nextCursor }) }
      sendJson(response, 200, withEntries(head, 'services', selected.entries), cors)
      return
    }

    let name: string

    try {
      name = decodeURIComponent(url.pathname.slice('/api/services/'.length))
    } catch {
      name = ''
    }

    if (!SERVICE_NAME_PATTERN.test(name)) {
      sendJson(response, 400, [jsonError('not a service name: /api/services/NAME takes 1 to 64 letters, digits, ".", "_" or "-"')], cors)
      return
    }

    const snapshot = await view.snapshot.get()
    const entry = await view.snapshot.service(name)

    if (entry === undefined) {
      sendJson(response, 404, [jsonError(`no live instance of "${name}" is stored on this registry`)], cors)
      return
    }

    const parts = withEntries(responseHead(context, view, snapshot.generatedAt, snapshot.truncated), 'service', [entry])
    sendJson(response, 200, parts, cors)
  } finally {
    context.inFlight--
  }
}

function pageQuery (url: URL): { cursor?: string, limit: number } | string {
  const cursor = url.searchParams.get('cursor') ?? undefined
  const limitText = url.searchParams.get('limit')
  const limit = limitText === null ? DEFAULT_PAGE_LIMIT : Number(limitText)

  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    return `"limit" must be an integer from 1 to ${MAX_PAGE_LIMIT}, got ${preview(limitText)}`
  }

  if (cursor !== undefined && cursor.length > 256) {
    return '"cursor" must be the nextCursor of a previous page'
  }

  return { cursor, limit }
}

function responseHead (context: Context, view: NetworkView, generatedAt: number, truncated: boolean): ApiResponseHead {
  const { netget } = context
  const network = [...context.views.entries()].find(([, each]) => each === view)?.[0] ?? netget.network
  return { network, networks: [...context.views.keys()], registry: { peerId: netget.peerId, multiaddrs: netget.multiaddrs }, generatedAt, limits: context.limits, truncated }
}

/**
 * The chunks of `{ ...head, [key]: <entries> }` (or `[key]: <the entry>`
 * for `service`): each entry's JSON is the snapshot's own buffer, shared by
 * every answer, so a page costs no copy of the services it holds.
 */
function withEntries (head: object, key: 'services' | 'service', entries: SnapshotEntry[]): Buffer[] {
  const opening = JSON.stringify(head).slice(0, -1)
  const parts: Buffer[] = [Buffer.from(`${opening},${JSON.stringify(key)}:${key === 'services' ? '[' : ''}`)]

  entries.forEach((entry, i) => {
    if (i > 0) {
      parts.push(COMMA)
    }

    parts.push(entry.json)
  })

  parts.push(Buffer.from(key === 'services' ? ']}' : '}'))
  return parts
}

const COMMA = Buffer.from(',')

function jsonError (message: string): Buffer {
  return Buffer.from(JSON.stringify({ error: message }))
}

/** The bundle is public code: any page may load it. */
const BUNDLE_CORS = { 'Access-Control-Allow-Origin': '*' }

const BASE_HEADERS = { 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' }

function send (response: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body
  response.writeHead(status, { ...BASE_HEADERS, 'Content-Type': type, 'Content-Length': String(bytes.byteLength), ...headers })
  response.end(response.req.method === 'HEAD' ? undefined : bytes)
}

function sendJson (response: ServerResponse, status: number, parts: Buffer[], headers: Record<string, string>): void {
  const length = parts.reduce((sum, part) => sum + part.byteLength, 0)
  response.writeHead(status, { ...BASE_HEADERS, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(length), ...headers })

  if (response.req.method === 'HEAD') {
    response.end()
    return
  }

  response.cork()

  for (const part of parts) {
    response.write(part)
  }

  // end() uncorks: the head and every part go out in as few writes as the socket takes
  response.end()
}

function positive (value: number | undefined, option: string, fallback: number, min = 1): number {
  const result = value ?? fallback

  if (typeof result !== 'number' || !Number.isSafeInteger(result) || result < min) {
    throw new InvalidOptionsError(`Option "${option}" must be an integer of at least ${min}, got ${preview(value)}`, { option })
  }

  return result
}

function stringList (value: string[] | undefined, option: string, what: string, valid: (text: string) => boolean): string[] {
  if (value === undefined) {
    return []
  }

  if (!Array.isArray(value) || !value.every(item => typeof item === 'string' && valid(item))) {
    throw new InvalidOptionsError(`Option "${option}" must be a list of ${what}, got ${preview(value)}`, { option })
  }

  return value
}

function isOrigin (text: string): boolean {
  if (text === '*') {
    return true
  }

  try {
    const url = new URL(text)
    return url.origin === text
  } catch {
    return false
  }
}

async function closeServer (server: Server): Promise<void> {
  if (!server.listening) {
    return
  }

  const closed = new Promise<void>(resolve => { server.close(() => { resolve() }) })
  server.closeAllConnections()
  await closed
}

import { readFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { logger } from '@libp2p/logger'
import { InvalidOptionsError, UnsupportedOperationError } from '../errors.js'
import { DASHBOARD_HTML, DASHBOARD_JS } from './dashboard.js'
import type { Netget } from '../netget.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** The single-file browser bundle built by `npm run build`. */
export const BROWSER_BUNDLE_PATH = fileURLToPath(new URL('../../netget.browser.js', import.meta.url))

/** Default address the registry HTTP server binds to. */
export const DEFAULT_HTTP_HOST = '0.0.0.0'

/** How long `/api/services` may take (health pings of new instances included), in ms. */
export const API_TIMEOUT = 3_000

/** Options of {@link startRegistryHttp}. */
export interface RegistryHttpInit {
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number
  /** Address to bind. @default '0.0.0.0' */
  host?: string
  /** The browser bundle to serve as `/netget.js`. @default dist/netget.browser.js of this package */
  bundlePath?: string
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

/** The JSON `/api/services` returns. */
export interface ServicesResponse {
  network: string
  /** The registry answering, with its addresses (the `/ws` ones are what pages pass as `registryNodes`). */
  registry: { peerId: string, multiaddrs: string[] }
  /** Unix ms of the answer. */
  generatedAt: number
  services: Awaited<ReturnType<Netget['listServices']>>
}

interface Bundle {
  code: Buffer
  gzip: Buffer
}

const log = logger('netget:http')

/**
 * Serves a registry node over HTTP:
 *
 * - `GET /netget.js`: the browser bundle (defines the global `Netget`), with
 *   `Access-Control-Allow-Origin: *` so a page of any origin can load it.
 * - `GET /`: a dashboard of the network's services, instances, health and RTT,
 *   refreshed every second.
 * - `GET /api/services`: the same data as JSON, for tools (CORS open too).
 *
 * Read-only: nothing served changes the registry. Health is measured by the
 * registry, which pings each instance listed from then on.
 */
export async function startRegistryHttp (netget: Netget, init: RegistryHttpInit = {}): Promise<RegistryHttp> {
  if (netget.nodeType !== 'registry') {
    throw new UnsupportedOperationError('The HTTP dashboard is served by registry nodes only (nodeType: "registry")')
  }

  const port = init.port ?? 0

  if (!Number.isSafeInteger(port) || port < 0 || port > 65535) {
    throw new InvalidOptionsError(`Option "port" must be a TCP port from 0 to 65535, got ${JSON.stringify(init.port)}`, { option: 'port' })
  }

  const bundlePath = init.bundlePath ?? BROWSER_BUNDLE_PATH
  let bundle: Promise<Bundle | undefined> | undefined
  const loadBundle = async (): Promise<Bundle | undefined> => {
    bundle ??= readFile(bundlePath).then(code => ({ code, gzip: gzipSync(code, { level: 9 }) }), err => {
      log.error('cannot read the browser bundle %s - %e', bundlePath, err)
      bundle = undefined
      return undefined
    })
    return bundle
  }

  const server = createServer((request, response) => {
    handle(netget, request, response, loadBundle).catch(err => {
      log.error('request %s failed - %e', request.url, err)

      if (!response.headersSent) {
        send(response, 500, 'text/plain; charset=utf-8', 'internal error\n')
      } else {
        response.destroy()
      }
    })
  })
  server.requestTimeout = 10_000
  server.headersTimeout = 5_000
  server.keepAliveTimeout = 5_000

  await new Promise<void>((resolve, reject) => {
    server.once('error', err => {
      reject(new InvalidOptionsError(`Cannot serve HTTP on ${init.host ?? DEFAULT_HTTP_HOST}:${port}: ${err.message} — is another program using the port?`, { option: 'port', cause: err }))
    })
    server.listen(port, init.host ?? DEFAULT_HTTP_HOST, resolve)
  })

  const address = server.address() as AddressInfo
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`,
    port: address.port,
    close: async () => { await closeServer(server) }
  }
}

async function handle (netget: Netget, request: IncomingMessage, response: ServerResponse, loadBundle: () => Promise<Bundle | undefined>): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://localhost').pathname

  if (request.method === 'OPTIONS') {
    response.writeHead(204, { ...CORS, 'Access-Control-Allow-Methods': 'GET, HEAD', 'Access-Control-Max-Age': '86400' })
    response.end()
    return
  }

  if (request.method !== 'GET' && request.method !== 'HEAD') {
    send(response, 405, 'text/plain; charset=utf-8', 'only GET and HEAD\n', { Allow: 'GET, HEAD' })
    return
  }

  switch (path) {
    case '/':
    case '/index.html':
      send(response, 200, 'text/html; charset=utf-8', DASHBOARD_HTML, { 'Content-Security-Policy': "default-src 'self'; style-src 'unsafe-inline'" })
      return
    case '/favicon.ico':
      response.writeHead(204, { 'Cache-Control': 'public, max-age=86400' })
      response.end()
      return
    case '/dashboard.js':
      send(response, 200, 'text/javascript; charset=utf-8', DASHBOARD_JS)
      return
    case '/netget.js': {
      const bundle = await loadBundle()

      if (bundle === undefined) {
        send(response, 503, 'text/plain; charset=utf-8', 'the browser bundle is not built: run npm run build\n', CORS)
        return
      }

      const gzip = /\bgzip\b/.test(String(request.headers['accept-encoding'] ?? ''))
      send(response, 200, 'text/javascript; charset=utf-8', gzip ? bundle.gzip : bundle.code, {
        ...CORS,
        'Cache-Control': 'public, max-age=300',
        Vary: 'Accept-Encoding',
        ...(gzip ? { 'Content-Encoding': 'gzip' } : {})
      })
      return
    }
    case '/api/services': {
      const body: ServicesResponse = {
        network: netget.network,
        registry: { peerId: netget.peerId, multiaddrs: netget.multiaddrs },
        generatedAt: Date.now(),
        services: await netget.listServices({ signal: AbortSignal.timeout(API_TIMEOUT) })
      }
      send(response, 200, 'application/json; charset=utf-8', JSON.stringify(body), CORS)
      return
    }
    default:
      send(response, 404, 'text/plain; charset=utf-8', 'not found: try /, /netget.js or /api/services\n', CORS)
  }
}

const CORS = { 'Access-Control-Allow-Origin': '*' }

function send (response: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string> = {}): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body
  response.writeHead(status, {
    'Content-Type': type,
    'Content-Length': String(bytes.byteLength),
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
    ...headers
  })
  response.end(response.req.method === 'HEAD' ? undefined : bytes)
}

async function closeServer (server: Server): Promise<void> {
  if (!server.listening) {
    return
  }

  const closed = new Promise<void>(resolve => { server.close(() => { resolve() }) })
  server.closeAllConnections()
  await closed
}

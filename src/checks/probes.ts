/**
 * The HTTP and TCP probes of service checks, on Node's sockets (a browser
 * build swaps in probes.browser.ts). Each probe settles by the signal at the
 * latest and leaves no socket open.
 */
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import { Socket } from 'node:net'
import { MAX_CHECK_OUTPUT_LENGTH } from '../constants.js'
import { parseHostPort } from './definition.js'
import { errorOutput, httpOutcome } from './outcome.js'
import type { Outcome } from './outcome.js'

/** GETs `url` (no redirects followed, a new connection each time) and judges the answer; see `HttpCheck`. */
export async function probeHttp (url: string, expect: number | undefined, signal: AbortSignal): Promise<Outcome> {
  signal.throwIfAborted()
  const request = url.startsWith('https:') ? httpsRequest : httpRequest

  return new Promise<Outcome>((resolve, reject) => {
    const req = request(url, { method: 'GET', agent: false, signal, headers: { accept: 'text/plain, application/json, */*', 'user-agent': 'netget-check' } }, response => {
      let body = ''
      const finish = (): void => {
        response.destroy()

        if (signal.aborted) {
          reject(signal.reason)
          return
        }

        resolve(httpOutcome(response.statusCode ?? 0, response.statusMessage ?? '', body, expect))
      }
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        body += chunk

        if (body.length >= MAX_CHECK_OUTPUT_LENGTH) {
          finish()
        }
      })
      response.on('end', finish)
      response.on('error', finish)
    })
    req.on('error', err => {
      signal.aborted ? reject(signal.reason) : resolve({ status: 'critical', output: errorOutput(err) })
    })
    req.end()
  })
}

/** Opens a TCP connection to `target` (`host:port`) and closes it at once; see `TcpCheck`. */
export async function probeTcp (target: string, signal: AbortSignal): Promise<Outcome> {
  signal.throwIfAborted()
  const { host, port } = parseHostPort(target)

  return new Promise<Outcome>((resolve, reject) => {
    const socket = new Socket()
    const onAbort = (): void => {
      socket.destroy()
      reject(signal.reason)
    }
    signal.addEventListener('abort', onAbort, { once: true })
    socket.once('connect', () => {
      signal.removeEventListener('abort', onAbort)
      socket.destroy()
      resolve({ status: 'passing', output: `connected to ${target}` })
    })
    socket.once('error', err => {
      signal.removeEventListener('abort', onAbort)
      socket.destroy()
      resolve({ status: 'critical', output: errorOutput(err) })
    })
    socket.connect({ host, port })
  })
}

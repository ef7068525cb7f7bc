/**
 * The browser stand-in of probes.ts: HTTP checks through `fetch` (the page's
 * CORS rules apply), TCP checks unavailable (a page cannot open sockets).
 */
import { MAX_CHECK_OUTPUT_LENGTH } from '../constants.js'
import { errorOutput, httpOutcome } from './outcome.js'
import type { Outcome } from './outcome.js'

/** GETs `url` (no redirects followed) and judges the answer; see `HttpCheck`. */
export async function probeHttp (url: string, expect: number | undefined, signal: AbortSignal): Promise<Outcome> {
  let response: Response

  try {
    response = await fetch(url, { method: 'GET', redirect: 'manual', cache: 'no-store', signal })
  } catch (err) {
    if (signal.aborted) {
      throw signal.reason
    }

    return { status: 'critical', output: errorOutput(err) }
  }

  const body = (await response.text().catch(() => '')).slice(0, MAX_CHECK_OUTPUT_LENGTH)
  return httpOutcome(response.status, response.statusText, body, expect)
}

/** TCP checks need Node: always `critical`, saying so. */
export async function probeTcp (target: string, signal: AbortSignal): Promise<Outcome> {
  signal.throwIfAborted()
  return { status: 'critical', output: `tcp check of ${target}: a browser cannot open TCP connections; run this check in Node.js` }
}

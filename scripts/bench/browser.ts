/**
 * The browser side of the benchmark: a page in Debian's Chromium (driven by
 * playwright-core, as the browser tests do) loads `/netget.js` from a
 * registry's HTTP port, as the README shows, and finds, pings and talks to
 * an echo service over WebSockets. The registry and the echo service run
 * with netget's production defaults in this process; the page runs in
 * Chromium's, so every figure crosses a process boundary.
 *
 * Each trial is a new page (a fresh identity, no connection yet):
 *
 * - `firstInstanceMs`: from the page's own script starting (the bundle is
 *   loaded and parsed) to the first instance of a default discovery
 *   (`discoverServiceNode`, health included: the registry's attestation);
 * - `pingMs`: `ping()` of that instance once connected, the median of
 *   {@link PINGS_PER_TRIAL} after one that dials;
 * - `echoMs`: a message sent on an open channel until its echo arrives, the
 *   median of {@link PINGS_PER_TRIAL} after a first one.
 *
 * hyperdht has no browser peer: these rows have no counterpart.
 *
 * @example
 * ```ts
 * const result = await benchBrowser({ trials: 5 })
 * result.firstInstanceMs.median // ms from page script start to the first instance
 * ```
 *
 * @packageDocumentation
 */

import { mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium } from 'playwright-core'
import { Netget, startRegistryHttp } from '../../src/index.js'
import { distribution } from './stats.js'
import { TrialLog } from './trials.js'
import type { Distribution } from './stats.js'
import type { TrialFailure } from './trials.js'
import type { RegistryHttp } from '../../src/index.js'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { BrowserContext } from 'playwright-core'

/** Debian's chromium, never a downloaded browser (`NETGET_CHROMIUM` overrides the path). */
const CHROMIUM = process.env.NETGET_CHROMIUM ?? '/usr/bin/chromium'

/** Chromium's flags: the browser tests' own. */
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']

/** The network of the browser bench. */
const NETWORK = 'bench-browser'

/** The echo service's name. */
const SERVICE = 'echo'

/** Pings and echoes timed per trial (after a first one each); the trial's sample is their median. */
export const PINGS_PER_TRIAL = 10

/** How long one trial's page may take, in ms; past it the trial fails. */
const TRIAL_TIMEOUT_MS = 30_000

/** The page's bound on one operation, in ms. */
const PAGE_OPERATION_TIMEOUT_MS = 10_000

/** Every node listens on loopback TCP and WebSockets, any port. */
const LISTEN = ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws']

/** The figures of the browser bench, each named by its key in {@link BrowserBenchResult}. */
export const BROWSER_FIGURES = ['firstInstanceMs', 'pingMs', 'echoMs'] as const

/** One figure of the browser bench. */
export type BrowserFigure = typeof BROWSER_FIGURES[number]

/** What to measure. */
export interface BrowserBenchOptions {
  /** Pages loaded, one after another; an integer >= 1. */
  trials: number
}

/** The browser figures, in ms, over the successful trials. */
export interface BrowserBenchResult {
  /** Page script start until the first instance of a default discovery. */
  firstInstanceMs: Distribution
  /** Navigation start (the page's time origin) until that first instance: the bundle's fetch and parse included. */
  navigationToFirstMs: Distribution
  /** Of `firstInstanceMs`, the part until `start()` resolved (key, libp2p, the registry's connection); the discovery is the rest. */
  startMs: Distribution
  /** `ping()` on an established connection (each trial: the median of {@link PINGS_PER_TRIAL}). */
  pingMs: Distribution
  /** A channel message's round trip to the echo service (each trial: the median of {@link PINGS_PER_TRIAL}). */
  echoMs: Distribution
  /** Failed trials, one per figure a trial could not measure: `failedTrials.length`. */
  failures: number
  failedTrials: Array<TrialFailure<BrowserFigure>>
}

/** What the page reports. */
interface PageTimes {
  scriptStartMs: number
  /** When `start()` resolved (the registry connected). */
  startedMs: number
  firstMs: number
  pingMs: number[]
  echoMs: number[]
}

/** The page: times start → first instance, then pings and channel echoes; `window.result` resolves to {@link PageTimes}. */
function pageHtml (bundleUrl: string, registry: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>netget browser bench</title>
<script src="${bundleUrl}" crossorigin="anonymous"></script>
</head><body>
<script>
window.result = (async () => {
  const scriptStartMs = performance.now()
  const netget = new Netget({ network: ${JSON.stringify(NETWORK)}, registryNodes: [${JSON.stringify(registry)}], operationTimeout: ${PAGE_OPERATION_TIMEOUT_MS} })
  try {
    let firstMs
    await netget.start()
    const startedMs = performance.now()
    const found = await netget.discoverServiceNode(${JSON.stringify(SERVICE)}, { onInstance: () => { firstMs ??= performance.now() } })
    if (found.length === 0 || firstMs === undefined) throw new Error('no instance found')
    const median = values => values.slice().sort((a, b) => a - b)[Math.ceil(values.length / 2) - 1]
    const pingMs = []
    await netget.ping(found[0].peerId)
    for (let i = 0; i < ${PINGS_PER_TRIAL}; i++) {
      const t = performance.now()
      await netget.ping(found[0].peerId)
      pingMs.push(performance.now() - t)
    }
    const channel = await netget.openChannel(found[0])
    const replies = channel[Symbol.asyncIterator]()
    const echoMs = []
    for (let i = 0; i <= ${PINGS_PER_TRIAL}; i++) {
      const t = performance.now()
      await channel.send({ i })
      const reply = await replies.next()
      if (reply.done || reply.value.i !== i) throw new Error('wrong echo ' + JSON.stringify(reply.value))
      if (i > 0) echoMs.push(performance.now() - t)
    }
    await channel.close()
    return { scriptStartMs, startedMs, firstMs, pingMs: [median(pingMs)], echoMs: [median(echoMs)] }
  } finally {
    await netget.stop()
  }
})()
</script></body></html>`
}

/**
 * Runs the browser bench: starts a registry with its HTTP port and an echo
 * service, serves the page from another origin, and loads it `trials`
 * times in one Chromium. Everything it started is stopped before the promise
 * settles. Rejects if the setup fails (no Chromium, a node that cannot
 * start); a failed page only lands in `failedTrials`.
 */
export async function benchBrowser (options: BrowserBenchOptions): Promise<BrowserBenchResult> {
  if (!Number.isInteger(options.trials) || options.trials < 1) {
    throw new RangeError(`trials must be an integer >= 1, got ${options.trials}`)
  }

  const log = new TrialLog(BROWSER_FIGURES)
  const navigation: number[] = []
  const starts: number[] = []
  const dataDir = await mkdtemp(join(tmpdir(), 'netget-bench-browser-'))
  const profile = await mkdtemp(join(tmpdir(), 'netget-bench-chromium-'))
  const registry = new Netget({ network: NETWORK, nodeType: 'registry', listen: LISTEN, dataDir: join(dataDir, 'registry'), registryNodes: [] })
  let service: Netget | undefined
  let http: RegistryHttp | undefined
  let pages: Server | undefined
  let context: BrowserContext | undefined

  try {
    await registry.start()
    const registryWs = registry.multiaddrs.find(address => address.includes('/ws/'))
    if (registryWs === undefined) {
      throw new Error(`the registry has no WebSocket address: ${registry.multiaddrs.join(', ')}`)
    }
    http = await startRegistryHttp(registry, { port: 0, host: '127.0.0.1' })
    service = new Netget({ network: NETWORK, listen: LISTEN, dataDir: false, registryNodes: [registry.multiaddrs[0]], metadata: { name: SERVICE } })
    await service.handleChannels(async channel => {
      for await (const message of channel) {
        await channel.send(message)
      }
    })
    await service.registerWithNetwork()

    const html = pageHtml(`${http.url}/netget.js`, registryWs)
    const server = createServer((request, response) => {
      response.writeHead(request.url === '/' ? 200 : 204, { 'Content-Type': 'text/html; charset=utf-8' })
      response.end(request.url === '/' ? html : undefined)
    })
    pages = server
    await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
    const pageUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS })

    for (let trial = 0; trial < options.trials; trial++) {
      const page = await context.newPage()

      await log.attempt(trial, BROWSER_FIGURES, async () => {
        try {
          await page.goto(pageUrl, { timeout: TRIAL_TIMEOUT_MS })
          const times = await page.evaluate(async timeout => Promise.race([
            (window as unknown as { result: Promise<PageTimes> }).result,
            new Promise<never>((_resolve, reject) => { setTimeout(() => { reject(new Error(`the page did not finish within ${timeout} ms`)) }, timeout) })
          ]), TRIAL_TIMEOUT_MS)
          log.sample('firstInstanceMs', trial, times.firstMs - times.scriptStartMs)
          navigation.push(times.firstMs)
          starts.push(times.startedMs - times.scriptStartMs)
          log.sample('pingMs', trial, times.pingMs[0])
          log.sample('echoMs', trial, times.echoMs[0])
        } finally {
          await page.close()
        }
      })
    }
  } finally {
    await context?.close()
    if (pages !== undefined) {
      const server = pages
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
    await http?.close()
    await service?.stop()
    await registry.stop()
    await rm(dataDir, { recursive: true, force: true })
    await rm(profile, { recursive: true, force: true })
  }

  return {
    firstInstanceMs: log.distribution('firstInstanceMs'),
    navigationToFirstMs: distribution(navigation),
    startMs: distribution(starts),
    pingMs: log.distribution('pingMs'),
    echoMs: log.distribution('echoMs'),
    failures: log.failures.length,
    failedTrials: log.failures
  }
}

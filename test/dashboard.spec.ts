import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import { chromium } from 'playwright-core'
import { startRegistryHttp } from '../src/index.js'
import { createTestnet } from '../src/testing/index.js'
import type { Netget, RegistryHttp } from '../src/index.js'
import type { Testnet } from '../src/testing/index.js'
import type { IncomingMessage } from 'node:http'
import type { BrowserContext, Page } from 'playwright-core'

/** Debian's chromium, never a downloaded browser. */
const CHROMIUM = process.env.NETGET_CHROMIUM ?? '/usr/bin/chromium'
const IMAGES = join(process.cwd(), 'docs', 'images')

/** Metadata from a stranger: a URL, plain fields, and markup that must stay text. */
const METADATA = { name: 'web', version: '1.4.2', url: 'https://status.example.com/web', region: 'eu-west-1', owner: '<img src=x onerror="window.pwned=1">team-web' }

interface SseEvent { event: string, data: string }

/** Reads server-sent events from `url` until `until` returns true for the list so far (or `timeout` ms pass). */
async function readEvents (url: string, until: (events: SseEvent[], comments: string[]) => boolean, timeout = 30_000): Promise<{ events: SseEvent[], comments: string[], response: IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = []
    const comments: string[] = []
    let buffer = ''
    const req = httpRequest(url, { headers: { Accept: 'text/event-stream' } }, response => {
      const timer = setTimeout(() => { req.destroy(); reject(new Error(`events so far: ${JSON.stringify(events.map(e => e.event))}`)) }, timeout)
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => {
        buffer += chunk
        let end: number

        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end)
          buffer = buffer.slice(end + 2)
          const lines = block.split('\n')
          comments.push(...lines.filter(line => line.startsWith(':')))
          const event = lines.find(line => line.startsWith('event: '))?.slice(7)
          const data = lines.find(line => line.startsWith('data: '))?.slice(6)

          if (event !== undefined && data !== undefined) {
            events.push({ event, data })
          }
        }

        if (until(events, comments)) {
          clearTimeout(timer)
          req.destroy()
          resolve({ events, comments, response })
        }
      })
      response.on('end', () => { clearTimeout(timer); resolve({ events, comments, response }) })
    })
    req.on('error', err => { if (!req.destroyed) { reject(err) } })
    req.end()
  })
}

describe('dashboard', function () {
  this.timeout(60_000)
  let testnet: Testnet
  let registry: Netget
  let http: RegistryHttp
  let context: BrowserContext
  let profile: string
  let page: Page
  let web: Netget
  let web2: Netget | undefined
  const pageErrors: string[] = []

  before(async () => {
    testnet = await createTestnet(0)
    registry = testnet.registries[0]
    http = await startRegistryHttp(registry, { port: 0, host: '127.0.0.1', eventHeartbeatInterval: 300 })
    await mkdir(IMAGES, { recursive: true })
    profile = await mkdtemp(join(tmpdir(), 'netget-chromium-'))
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      viewport: { width: 1280, height: 800 },
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
  })

  after(async () => {
    await context?.close()
    await http?.close()
    await testnet?.destroy()
    await rm(profile, { recursive: true, force: true })
  })

  it('/api/events sends a snapshot first, then a service event when a record is stored, and heartbeats', async () => {
    const probe = testnet.createNode({ metadata: { name: 'probe' } })
    await probe.start()
    const probeId = probe.peerId
    let registered = false
    const { events, response } = await readEvents(`${http.url}/api/events`, (events, comments) => {
      if (events.length === 1 && !registered) {
        registered = true
        void probe.registerWithNetwork()
      }

      return events.some(event => event.event === 'service' && event.data.includes(probeId)) && comments.includes(': heartbeat')
    })
    expect(response.statusCode).to.equal(200)
    expect(response.headers['content-type']).to.equal('text/event-stream; charset=utf-8')
    expect(events[0].event).to.equal('snapshot')
    const snapshot = JSON.parse(events[0].data) as { network: string, services: unknown[], rtt: object }
    expect(snapshot).to.include({ network: testnet.network })
    expect(snapshot.services).to.deep.equal([])
    const service = JSON.parse(events.find(event => event.event === 'service')?.data ?? '{}') as { name: string, instances: Array<{ peerId: string, metadata: object }> }
    expect(service.name).to.equal('probe')
    expect(service.instances.map(instance => instance.peerId)).to.deep.equal([probeId])

    // its withdrawal: the same service with no instance left
    let stopped = false
    const after = await readEvents(`${http.url}/api/events`, events => {
      if (events.length === 1 && !stopped) {
        stopped = true
        void probe.stop()
      }

      return events.some(event => event.event === 'service' && JSON.parse(event.data).instances.length === 0)
    })
    expect(after.events[0].event).to.equal('snapshot')
    expect(after.events[0].data).to.include(probeId)
  })

  it('a client served a cached snapshot also gets the services changed since it was built', async () => {
    const cached = await startRegistryHttp(registry, { port: 0, snapshotInterval: 60_000, eventHeartbeatInterval: 200 })
    const late = testnet.createNode({ metadata: { name: 'late' } })
    await late.start()
    const lateId = late.peerId

    try {
      // a first client, kept open: the snapshot is built for it, and cached for a minute
      let registered: Promise<unknown> | undefined
      let done = false
      let seen: () => void = () => {}
      const seenLate = new Promise<void>(resolve => { seen = resolve })
      const first = readEvents(`${cached.url}/api/events`, events => {
        if (events.length > 0) {
          registered ??= late.registerWithNetwork()
        }

        if (events.some(event => event.event === 'service' && event.data.includes(lateId))) {
          seen()
        }

        return done
      })
      await seenLate
      const second = await readEvents(`${cached.url}/api/events`, events => events.some(event => event.event === 'service' && event.data.includes(lateId)))
      expect(second.events[0].event).to.equal('snapshot')
      const services = (JSON.parse(second.events[0].data) as { services: Array<{ name: string }> }).services.map(service => service.name)
      expect(services, 'the cached snapshot predates the record').to.not.include('late')
      expect(second.events[1].event).to.equal('service')
      expect(JSON.parse(second.events[1].data)).to.have.property('name', 'late')
      done = true
      await first
    } finally {
      await late.stop()
      await cached.close()
    }
  })

  it('refuses event streams past maxEventClients with 503', async () => {
    const small = await startRegistryHttp(registry, { port: 0, maxEventClients: 1 })

    const get = async (): Promise<IncomingMessage> => new Promise((resolve, reject) => {
      const req = httpRequest(`${small.url}/api/events`, resolve)
      req.on('error', reject)
      req.end()
    })

    try {
      const held = await get()
      expect(held.statusCode).to.equal(200)
      const refused = await get()
      expect(refused.statusCode).to.equal(503)
      expect(refused.headers['retry-after']).to.equal('5')
      refused.resume()
      held.destroy()
    } finally {
      await small.close()
    }
  })

  it('serves its script built from TypeScript, versioned and cached', async () => {
    const html = await (await fetch(`${http.url}/`)).text()
    const src = /<script src="(\/dashboard\.js\?v=[0-9a-f]{16})"><\/script>/.exec(html)?.[1]
    expect(src).to.be.a('string')
    const script = await fetch(`${http.url}${src as string}`)
    expect(script.headers.get('content-type')).to.equal('text/javascript; charset=utf-8')
    expect(script.headers.get('cache-control')).to.equal('public, max-age=31536000, immutable')
    expect(await script.text()).to.include('/api/events')
    const unversioned = await fetch(`${http.url}/dashboard.js`)
    expect(unversioned.headers.get('cache-control')).to.equal('no-cache')
    const revalidated = await fetch(`${http.url}/dashboard.js`, { headers: { 'If-None-Match': unversioned.headers.get('etag') ?? '' } })
    expect(revalidated.status).to.equal(304)
  })

  it('shows a service by push, with every metadata field, as text, and URLs as links', async () => {
    page = await context.newPage()
    page.on('pageerror', err => { pageErrors.push(err.message) })
    let navigations = 0
    page.on('framenavigated', () => { navigations++ })
    await page.goto(`${http.url}/`)
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'live')

    web = testnet.createNode({ metadata: METADATA })
    await web.registerWithNetwork()
    const row = page.locator(`article[data-peer="${web.peerId}"]`)
    await row.waitFor({ timeout: 10_000 })
    expect(navigations, 'no reload').to.equal(1)

    const text = await row.innerText()

    for (const [key, value] of Object.entries(METADATA)) {
      expect(text).to.include(key).and.include(value)
    }

    const link = row.locator('a[href="https://status.example.com/web"]')
    expect(await link.getAttribute('rel')).to.equal('noopener noreferrer')
    expect(await page.locator('img').count(), 'record markup stays text').to.equal(0)
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).to.equal(undefined)
    await page.waitForFunction(peerId => document.querySelector(`article[data-peer="${peerId}"] .pill`)?.textContent === 'healthy', web.peerId)
    expect(await page.locator('section[data-service="web"] h2 .count').innerText()).to.equal('1 instance · 1 up')
  })

  it('draws the RTT samples of an instance as a sparkline', async () => {
    // the registry pings its publishers every healthInterval (200 ms here)
    await page.waitForFunction(peerId => (document.querySelector(`article[data-peer="${peerId}"] .spark polyline`)?.getAttribute('points') ?? '').split(' ').length >= 3, web.peerId, { timeout: 15_000 })
    expect(await page.locator(`article[data-peer="${web.peerId}"] .rtt`).innerText()).to.match(/^\d+\.\d\d ms$/)
  })

  it('keeps a text selection in a row while the rows update', async () => {
    await page.evaluate(peerId => {
      const code = document.querySelector(`article[data-peer="${peerId}"] code.peer`) as Element
      const range = document.createRange()
      range.selectNodeContents(code)
      window.getSelection()?.removeAllRanges()
      window.getSelection()?.addRange(range)
    }, web.peerId)
    expect(await page.evaluate(() => window.getSelection()?.toString())).to.equal(web.peerId)

    // a second instance of the same service: a service event for "web", and liveness events meanwhile
    web2 = testnet.createNode({ metadata: { ...METADATA, region: 'us-east-2' } })
    await web2.registerWithNetwork()
    await page.locator(`article[data-peer="${web2.peerId}"]`).waitFor({ timeout: 10_000 })
    const before = await page.locator(`article[data-peer="${web.peerId}"] .spark polyline`).getAttribute('points')
    await page.waitForFunction(([peerId, points]) => document.querySelector(`article[data-peer="${peerId}"] .spark polyline`)?.getAttribute('points') !== points, [web.peerId, before] as const, { timeout: 10_000 })
    await new Promise(resolve => setTimeout(resolve, 2_000))
    expect(await page.evaluate(() => window.getSelection()?.toString())).to.equal(web.peerId)
    expect(await page.locator('section[data-service="web"] h2 .count').innerText()).to.equal('2 instances · 2 up')
    await page.evaluate(() => { window.getSelection()?.removeAllRanges() })
    await page.screenshot({ path: join(IMAGES, 'dashboard-wide.png'), fullPage: true })
  })

  it('filters instances by peer ID and metadata with the search box', async () => {
    await page.fill('#search', 'us-east-2')
    expect(await page.locator(`article[data-peer="${web.peerId}"]`).isVisible()).to.equal(false)
    expect(await page.locator(`article[data-peer="${web2?.peerId as string}"]`).isVisible()).to.equal(true)
    await page.fill('#search', web.peerId.slice(-12))
    expect(await page.locator(`article[data-peer="${web.peerId}"]`).isVisible()).to.equal(true)
    expect(await page.locator(`article[data-peer="${web2?.peerId as string}"]`).isVisible()).to.equal(false)
    await page.fill('#search', 'no-such-thing')
    expect(await page.locator('section[data-service="web"]').isVisible()).to.equal(false)
    await page.fill('#search', '')
    await page.locator('#search').blur()
  })

  it('removes a row by push when its instance withdraws', async () => {
    const gone = web2?.peerId as string
    await web2?.stop()
    await page.locator(`article[data-peer="${gone}"]`).waitFor({ state: 'detached', timeout: 10_000 })
    expect(await page.locator('section[data-service="web"] h2 .count').innerText()).to.equal('1 instance · 1 up')
  })

  it('shows an instance whose publisher is gone but whose record stays as down, with no RTT', async () => {
    const api = testnet.createNode({ metadata: { name: 'api', version: '0.9.0', docs: 'http://127.0.0.1:8080/docs' } })
    await api.registerWithNetwork()
    const peerId = api.peerId
    const row = `article[data-peer="${peerId}"]`
    await page.waitForFunction(selector => /^\d+\.\d\d ms$/.test(document.querySelector(`${selector} .rtt`)?.textContent ?? ''), row, { timeout: 10_000 })
    await api.stop({ withdraw: false })
    await page.waitForFunction(selector => document.querySelector(`${selector} .pill`)?.textContent === 'down', row, { timeout: 10_000 })
    expect(await page.locator(`${row} .rtt`).innerText()).to.equal('–')
    expect(await page.locator(`${row} .spark`).isVisible()).to.equal(false)
    expect(await page.locator('section[data-service="api"] h2 .count').innerText()).to.equal('1 instance · 0 up')
  })

  it('has no horizontal scroll at 360 px wide', async () => {
    await page.setViewportSize({ width: 360, height: 780 })
    const widths = await page.evaluate(() => ({ scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }))
    expect(widths.scroll).to.be.at.most(widths.client)
    expect(await page.locator('.row.head').first().isVisible(), 'cards, not a table').to.equal(false)
    await page.screenshot({ path: join(IMAGES, 'dashboard-narrow.png'), fullPage: true })
    await page.setViewportSize({ width: 1280, height: 800 })
  })

  it('a registry serving two networks links each network\'s page, and ?network= shows that network only', async () => {
    const multi = await testnet.startRegistry(undefined, { network: 'alpha', networks: ['alpha', 'beta'], registryNodes: [] })
    const multiHttp = await startRegistryHttp(multi, { port: 0, host: '127.0.0.1' })
    const addresses = multi.multiaddrs.filter(address => !address.includes('/ws'))
    const onAlpha = testnet.createNode({ network: 'alpha', registryNodes: addresses, metadata: { name: 'alpha-only' } })
    const onBeta = testnet.createNode({ network: 'beta', registryNodes: addresses, metadata: { name: 'beta-only' } })
    const betaPage = await context.newPage()

    try {
      await onAlpha.registerWithNetwork()
      await onBeta.registerWithNetwork()
      await betaPage.goto(`${multiHttp.url}/?network=beta`)
      await betaPage.locator(`article[data-peer="${onBeta.peerId}"]`).waitFor({ timeout: 10_000 })

      expect(await betaPage.locator('#network').innerText()).to.equal('beta')
      expect(await betaPage.locator('#networks a').evaluateAll(links => links.map(link => [link.textContent, link.getAttribute('href'), link.getAttribute('aria-current')]))).to.deep.equal([
        ['alpha', '?network=alpha', null],
        ['beta', '?network=beta', 'page']
      ])
      expect(await betaPage.locator('section[data-service="alpha-only"]').count()).to.equal(0)

      await betaPage.locator('#networks a', { hasText: 'alpha' }).click()
      await betaPage.locator(`article[data-peer="${onAlpha.peerId}"]`).waitFor({ timeout: 10_000 })
      expect(await betaPage.locator('section[data-service="beta-only"]').count()).to.equal(0)
    } finally {
      await betaPage.close()
      await multiHttp.close()
    }
  })

  it('shows a banner and grey pills once the registry is gone, and clears them when it is back', async () => {
    await registry.stop()
    await page.waitForFunction(() => document.getElementById('banner')?.hidden === false, undefined, { timeout: 10_000 })
    expect(await page.locator('#banner').innerText()).to.match(/^registry unreachable — showing data from \d\d:\d\d:\d\d$/)
    const colours = await page.locator('.pill').evaluateAll(pills => pills.map(pill => getComputedStyle(pill).backgroundColor))
    expect(colours).to.have.length.greaterThan(0)
    // the healthy pill is rgb(223, 245, 227); stale pills are grey
    expect(colours.every(colour => colour === 'rgb(229, 231, 235)'), colours.join(', ')).to.equal(true)
    await page.screenshot({ path: join(IMAGES, 'dashboard-registry-gone.png'), fullPage: true })

    await registry.start()
    await page.waitForFunction(() => document.getElementById('banner')?.hidden === true, undefined, { timeout: 20_000 })
    expect(await page.evaluate(() => document.body.classList.contains('stale'))).to.equal(false)
    expect(pageErrors).to.deep.equal([])
    await page.close()
  })
})

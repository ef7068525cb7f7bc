import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect } from 'chai'
import { chromium } from 'playwright-core'
import { startRegistryHttp } from '../src/index.js'
import { createTestnet } from '../src/testing/index.js'
import type { Netget, RegistryHttp } from '../src/index.js'
import type { Testnet } from '../src/testing/index.js'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { BrowserContext, Page } from 'playwright-core'

/** Debian's chromium, never a downloaded browser. */
const CHROMIUM = process.env.NETGET_CHROMIUM ?? '/usr/bin/chromium'
const ARTIFACTS = join(process.cwd(), 'test-artifacts')

/** What the page script reports back. */
interface PageResult {
  found: Array<{ peerId: string, name: string, health: string, multiaddrs: string[] }>
  rttMs: number
  replies: unknown[]
  oversized: { name: string, code: string }
  register: string
  denied: string
  closedCleanly: boolean
  watched: { type: string, peerId: string, source: string }
}

/** A page of another origin that loads the bundle from the registry's HTTP port, as the README shows. */
function pageHtml (bundleUrl: string, network: string, registry: string, notDiscovered: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>netget browser test</title>
<script src="${bundleUrl}" crossorigin="anonymous"></script>
</head><body><pre id="out">running…</pre>
<script>
window.result = (async () => {
  const netget = new Netget({ network: ${JSON.stringify(network)}, registryNodes: [${JSON.stringify(registry)}], healthInterval: 500, operationTimeout: 8000 })
  try {
    const found = await netget.discoverServiceNode('echo')
    const watch = netget.watch('echo')
    const first = await watch[Symbol.asyncIterator]().next()
    await watch.close()
    const watched = { type: first.value.type, peerId: first.value.instance.peerId, source: first.value.instance.health.source }
    const rttMs = await netget.ping(found[0].peerId)
    const channel = await netget.openChannel(found[0])
    await channel.send({ hello: 'from chromium' })
    await channel.send(new Uint8Array([7, 8, 9]))
    const replies = []
    for await (const message of channel) {
      replies.push(message instanceof Uint8Array ? { bytes: Array.from(message) } : message)
      if (replies.length === 2) break
    }
    let oversized
    try { await channel.send('x'.repeat(70000)) } catch (err) { oversized = { name: err.name, code: err.code } }
    const closing = new Promise(resolve => channel.addEventListener('close', e => resolve(e.detail.error === undefined)))
    await channel.close()
    const closedCleanly = await closing
    const register = await netget.registerWithNetwork().then(() => 'registered', err => err.name)
    const denied = await netget.ping(${JSON.stringify(notDiscovered)}, { signal: AbortSignal.timeout(3000) }).then(() => 'dialled', err => err.name + ': ' + err.message)
    document.getElementById('out').textContent = 'ok ' + JSON.stringify(replies)
    return { found: found.map(i => ({ peerId: i.peerId, name: i.name, health: i.health.status, multiaddrs: i.multiaddrs })), rttMs, replies, oversized, register, denied, closedCleanly, watched }
  } finally {
    await netget.stop()
  }
})()
</script></body></html>`
}

describe('browser (Chromium)', function () {
  this.timeout(60_000)
  let testnet: Testnet
  let http: RegistryHttp
  let pages: Server
  let context: BrowserContext
  let profile: string
  let service: Netget
  let bystander: Netget
  const pageErrors: string[] = []

  before(async () => {
    testnet = await createTestnet(0)
    http = await startRegistryHttp(testnet.registries[0], { port: 0, host: '127.0.0.1' })
    service = testnet.createNode({ metadata: { name: 'echo', version: '2.1.0' } })
    await service.handleChannels(async channel => {
      for await (const message of channel) {
        await channel.send(message)
      }
    })
    await service.registerWithNetwork()
    // a peer the page never discovers: the dial policy must refuse ws:// to it
    bystander = testnet.createNode({ metadata: { name: 'bystander' } })
    await bystander.start()

    profile = await mkdtemp(join(tmpdir(), 'netget-chromium-'))
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']
    })
  })

  after(async () => {
    await context?.close()
    await new Promise<void>(resolve => {
      if (pages === undefined) {
        resolve()
        return
      }

      pages.closeAllConnections()
      pages.close(() => { resolve() })
    })
    await http?.close()
    await testnet?.destroy()
    await rm(profile, { recursive: true, force: true })
  })

  async function newPage (): Promise<Page> {
    const page = await context.newPage()
    page.on('pageerror', err => { pageErrors.push(err.message) })
    page.on('console', message => {
      if (message.type() === 'error') {
        pageErrors.push(message.text())
      }
    })
    return page
  }

  it('a page loading /netget.js by a script tag discovers a Node service, pings it and round-trips messages on a channel', async () => {
    const registryWs = testnet.registries[0].multiaddrs.find(address => address.includes('/ws/'))
    const bystanderWs = bystander.multiaddrs.find(address => address.includes('/ws/'))
    expect(registryWs).to.be.a('string')
    const html = pageHtml(`${http.url}/netget.js`, testnet.network, registryWs as string, bystanderWs as string)
    pages = createServer((request, response) => {
      response.writeHead(request.url === '/' ? 200 : 204, { 'Content-Type': 'text/html; charset=utf-8' })
      response.end(request.url === '/' ? html : undefined)
    })
    await new Promise<void>(resolve => { pages.listen(0, '127.0.0.1', resolve) })

    const page = await newPage()
    const bundle = page.waitForResponse(response => response.url().endsWith('/netget.js'))
    await page.goto(`http://127.0.0.1:${(pages.address() as AddressInfo).port}/`)
    const bundleResponse = await bundle
    expect(bundleResponse.headers()['access-control-allow-origin']).to.equal('*')
    expect(bundleResponse.headers()['content-type']).to.match(/^text\/javascript/)

    const result = await page.evaluate(async () => (window as unknown as { result: Promise<PageResult> }).result)

    expect(result.found).to.have.length(1)
    expect(result.found[0]).to.include({ peerId: service.peerId, name: 'echo', health: 'healthy' })
    expect(result.rttMs).to.be.a('number').and.be.greaterThan(0).and.lessThan(1000)
    expect(result.replies).to.deep.equal([{ hello: 'from chromium' }, { bytes: [7, 8, 9] }])
    expect(result.oversized).to.deep.equal({ name: 'ChannelError', code: 'MESSAGE_TOO_LARGE' })
    expect(result.closedCleanly).to.equal(true)
    expect(result.watched).to.deep.equal({ type: 'added', peerId: service.peerId, source: 'registry' })
    expect(result.register).to.equal('UnsupportedOperationError')
    expect(result.denied).to.match(/^DialDeniedError|gater/i)
    expect(await page.textContent('#out')).to.match(/^ok /)
    expect(pageErrors.filter(text => !text.includes('WebSocket'))).to.deep.equal([])
    await page.close()
  })

  it('the README\'s copy-paste page works as written', async () => {
    const readme = await readFile(join(process.cwd(), 'README.md'), 'utf8')
    const browserSection = readme.slice(readme.indexOf('## Browser'))
    const example = /```html\n([\s\S]*?)```/.exec(browserSection)?.[1]
    expect(example).to.be.a('string')
    const registryWs = testnet.registries[0].multiaddrs.find(address => address.includes('/ws/')) as string
    // the only edits: this registry's addresses and network instead of the README's placeholders
    const html = (example as string)
      .replace('http://127.0.0.1:8080/netget.js', `${http.url}/netget.js`)
      .replace('/ip4/127.0.0.1/tcp/4102/ws/p2p/12D3KooW...', registryWs)
      .replace("network: 'demo'", `network: '${testnet.network}'`)
    expect(html).to.include(registryWs).and.include(`${http.url}/netget.js`)

    // the README's chat service
    const chat = testnet.createNode({ metadata: { name: 'chat' } })
    await chat.handleChannels(async channel => {
      for await (const message of channel) {
        await channel.send({ echo: message, from: chat.peerId })
      }
    })
    await chat.registerWithNetwork()

    const server = createServer((request, response) => {
      response.writeHead(request.url === '/' ? 200 : 204, { 'Content-Type': 'text/html; charset=utf-8' })
      response.end(request.url === '/' ? html : undefined)
    })
    await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })

    try {
      const page = await newPage()
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
      await page.waitForFunction(() => document.getElementById('log')?.textContent?.includes('received') === true, undefined, { timeout: 20_000 })
      const log = (await page.textContent('#log') ?? '').split('\n')
      expect(log[0]).to.equal(`found ${chat.peerId}, healthy`)
      expect(log[1]).to.match(/^ping: \d+\.\d ms$/)
      expect(log[2]).to.equal(`received ${JSON.stringify({ echo: { text: 'hello from the browser' }, from: chat.peerId })}`)
      await page.close()
    } finally {
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  })

  it('the dashboard shows the service, its instance and its health, and /api/services the same as JSON', async () => {
    // the HTTP port pings nobody: health is what the registry measures, here because listServices() asked it to
    await testnet.registries[0].listServices()
    const page = await newPage()
    await page.goto(`${http.url}/`)
    const section = page.locator('section[data-service="echo"]')
    await section.locator('.pill.healthy').waitFor({ timeout: 10_000 })
    const row = section.locator(`article[data-peer="${service.peerId}"]`)
    expect(await row.locator('.pill').textContent()).to.equal('healthy')
    expect(await row.textContent()).to.match(/\d+\.\d\d ms/)
    expect(await row.textContent()).to.include('2.1.0')
    expect(await page.textContent('#network')).to.equal(testnet.network)
    await mkdir(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true })
    await page.close()

    const response = await fetch(`${http.url}/api/services`)
    expect(response.headers.get('access-control-allow-origin')).to.equal(null)
    const body = await response.json() as { network: string, services: Array<{ name: string, instances: Array<{ peerId: string, health: { status: string, rttMs?: number } }> }> }
    expect(body.network).to.equal(testnet.network)
    const echo = body.services.find(entry => entry.name === 'echo')
    expect(echo?.instances.map(instance => instance.peerId)).to.deep.equal([service.peerId])
    expect(echo?.instances[0].health.status).to.equal('healthy')
    expect(echo?.instances[0].health.rttMs).to.be.a('number')
  })

  it('a page of another origin may load /netget.js but not read /api/services', async () => {
    const server = createServer((request, response) => {
      response.writeHead(request.url === '/' ? 200 : 204, { 'Content-Type': 'text/html; charset=utf-8' })
      response.end(request.url === '/' ? '<!doctype html><title>other origin</title>' : undefined)
    })
    await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })

    try {
      const page = await newPage()
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
      const outcome = await page.evaluate(async base => {
        const read = async (path: string): Promise<string> => {
          try {
            const response = await fetch(base + path)
            return `read ${response.status}`
          } catch (err) {
            return (err as Error).name
          }
        }
        return { bundle: await read('/netget.js'), api: await read('/api/services'), service: await read('/api/services/echo') }
      }, http.url)
      expect(outcome).to.deep.equal({ bundle: 'read 200', api: 'TypeError', service: 'TypeError' })
      await page.close()
    } finally {
      server.closeAllConnections()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  })
})

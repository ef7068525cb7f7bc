/**
 * A registry's metrics over its HTTP port (`/metrics`, `/healthz`) and an
 * embedded node's (`node.metrics()`), scraped from real nodes on 127.0.0.1:
 * netget's own series move when a service registers and is looked up, and
 * two nodes in one process keep their own registries.
 */
import { request } from 'node:http'
import { expect } from 'chai'
import { startRegistryHttp } from '../src/index.js'
import { createTestnet } from '../src/testing/index.js'
import { rejectionOf } from './helpers.js'
import type { Netget, RegistryHttp } from '../src/index.js'
import type { Testnet } from '../src/testing/index.js'

async function get (url: string): Promise<{ status: number, type: string, body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, response => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => { resolve({ status: response.statusCode ?? 0, type: String(response.headers['content-type']), body: Buffer.concat(chunks).toString() }) })
      response.on('error', reject)
    })
    req.setTimeout(15_000, () => { req.destroy(new Error(`no answer from ${url} within 15 s`)) })
    req.on('error', reject)
    req.end()
  })
}

/** The value of one series in Prometheus text, like `netget_lookups_total{result="found"}`; undefined if absent. */
function sample (text: string, series: string): number | undefined {
  const line = text.split('\n').find(line => line.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

describe('metrics', function () {
  this.timeout(60_000)
  let testnet: Testnet
  let registry: Netget
  let http: RegistryHttp

  before(async () => {
    testnet = await createTestnet(0, { network: 'metricstest', nodeOptions: { metrics: true } })
    registry = testnet.registries[0]
    http = await startRegistryHttp(registry)
  })

  after(async () => {
    await http?.close()
    await testnet?.destroy()
  })

  it('serves Prometheus text whose netget series move as a service registers and is looked up', async () => {
    const before = await get(`${http.url}/metrics`)
    expect(before.status).to.equal(200)
    expect(before.type).to.match(/^text\/plain; version=0\.0\.4/)
    expect(before.body).to.match(/^# HELP netget_lookups_total /m)
    expect(before.body).to.match(/^libp2p_/m) // the libp2p stack's own
    expect(sample(before.body, 'netget_records{network="metricstest"}')).to.equal(0)
    expect(sample(before.body, 'netget_lookups_total{result="found"}')).to.equal(0)

    const service = testnet.createNode({ metadata: { name: 'api' } })
    await service.registerWithNetwork()
    await testnet.createNode().discoverServiceNode('api')
    await rejectionOf(testnet.createNode().discoverServiceNode('nothing-here', { signal: AbortSignal.timeout(5_000) }))

    const after = (await get(`${http.url}/metrics`)).body
    expect(sample(after, 'netget_records{network="metricstest"}')).to.equal(1)
    expect(sample(after, 'netget_puts_total{result="stored"}')).to.be.at.least(1)
    expect(sample(after, 'netget_lookups_total{result="found"}')).to.be.at.least(1)
    expect(sample(after, 'netget_lookups_total{result="empty"}')).to.be.at.least(1)
    expect(sample(after, 'netget_lookup_duration_seconds_count')).to.be.at.least(2)
    expect(sample(after, 'netget_connected_peers')).to.be.at.least(1)
    // the registry attested the service it measures
    expect(sample(after, 'netget_attestations_total')).to.be.at.least(1)
    expect(sample(after, 'netget_watch_subscribers')).to.equal(0)

    // a watcher subscribes; the gauge follows it
    const watcher = testnet.createNode()
    const watch = watcher.watch('api')
    await watch.ready
    expect(sample((await get(`${http.url}/metrics`)).body, 'netget_watch_subscribers')).to.equal(1)
    await watch.close()
  })

  it('keeps each node\'s metrics in its own registry', async () => {
    const service = testnet.createNode({ metadata: { name: 'own' } })
    await service.registerWithNetwork()
    const own = await service.metrics()
    expect(sample(own.text, 'netget_puts_total{result="stored"}')).to.equal(0)
    const registry = await testnet.registries[0].metrics()
    expect(sample(registry.text, 'netget_puts_total{result="stored"}')).to.be.at.least(1)
  })
})

describe('registry HTTP health and metrics off', function () {
  this.timeout(60_000)

  it('answers /healthz with 200 while started and 503 once stopped', async () => {
    const testnet = await createTestnet(0, { network: 'metricstest' })
    const other = testnet.registries[0]
    const server = await startRegistryHttp(other)

    try {
      const up = await get(`${server.url}/healthz`)
      expect(up.status).to.equal(200)
      expect(JSON.parse(up.body)).to.deep.equal({ status: 'ok', network: 'metricstest' })
      await other.stop()
      const down = await get(`${server.url}/healthz`)
      expect(down.status).to.equal(503)
      expect(JSON.parse(down.body)).to.deep.equal({ status: 'stopped', network: 'metricstest' })
    } finally {
      await server.close()
      await testnet.destroy()
    }
  })

  it('says how to turn metrics on when they are off, and refuses a bad option', async () => {
    const plain = await createTestnet(0, { network: 'nometrics' })

    try {
      const server = await startRegistryHttp(plain.registries[0])
      const answer = await get(`${server.url}/metrics`)
      await server.close()
      expect(answer.status).to.equal(404)
      expect(answer.body).to.match(/metrics are off: create the registry node with metrics: true/)
      expect(() => plain.createNode({ metrics: 'yes' as any })).to.throw(/Option "metrics" must be true, false or a prom-client Registry/)
    } finally {
      await plain.destroy()
    }
  })
})

/**
 * The registry's HTTP port under load: a registry holding thousands of
 * stored records (validly signed, for instances that do not run) gets 40
 * concurrent `GET /api/services` at a time while a client keeps discovering
 * an honest service through it. The registry must keep answering discovery,
 * its memory must stay bounded, and no request may make it ping anyone.
 */
import { request } from 'node:http'
import { createServer } from 'node:net'
import { expect } from 'chai'
import { startRegistryHttp } from '../../src/index.js'
import { createTestnet } from '../../src/testing/index.js'
import { storeRecords } from '../stored-records.js'
import { tally } from './fixtures/figures.js'
import type { Netget, RegistryHttp, ServiceResponse, ServicesResponse } from '../../src/index.js'
import type { Testnet } from '../../src/testing/index.js'
import type { Server } from 'node:net'

const NAMES = 2_000
const INSTANCES_PER_NAME = 2
const PADDING = 'x'.repeat(1_000)
const ROUNDS = 5
const CONCURRENT = 40
/** Generous: the old port grew by 2 GB and died; what is left is the test's own traffic. */
const RSS_BOUND = 300 * 1024 * 1024

/** A GET on a fresh connection: status and body size (the body is read and dropped). */
async function get (url: string): Promise<{ status: number, bytes: number, body?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false }, response => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => {
        const body = Buffer.concat(chunks)
        resolve({ status: response.statusCode ?? 0, bytes: body.byteLength, body: response.statusCode === 200 ? body.toString() : undefined })
      })
      response.on('error', reject)
    })
    req.setTimeout(60_000, () => { req.destroy(new Error(`no answer from ${url} within 60 s`)) })
    req.on('error', reject)
    req.end()
  })
}

describe('HTTP faults', function () {
  this.timeout(300_000)
  let testnet: Testnet
  let registry: Netget
  let client: Netget
  let http: RegistryHttp
  let sink: Server
  let sinkConnections = 0

  before(async () => {
    sink = createServer(socket => {
      sinkConnections++
      socket.destroy()
    })
    await new Promise<void>(resolve => { sink.listen(0, '127.0.0.1', resolve) })
    testnet = await createTestnet(0, { network: 'httpfaults' })
    registry = testnet.registries[0]
    const honest = testnet.createNode({ metadata: { name: 'honest' } })
    await honest.registerWithNetwork()
    client = testnet.createNode()
    await client.start()

    const started = performance.now()
    const address = `/ip4/127.0.0.1/tcp/${(sink.address() as { port: number }).port}`
    const records = Array.from({ length: NAMES * INSTANCES_PER_NAME }, (_, i) => ({ name: `svc-${String(i % NAMES).padStart(5, '0')}`, address, metadata: { padding: PADDING } }))
    await storeRecords(registry, records)
    tally('http', { storedRecords: records.length, storeMs: Math.round(performance.now() - started) })
    http = await startRegistryHttp(registry, { port: 0 })
  })

  after(async () => {
    await http?.close()
    await testnet?.destroy()
    await new Promise<void>(resolve => { sink?.close(() => { resolve() }) })
  })

  it(`${CONCURRENT} concurrent GETs of /api/services, ${ROUNDS} times, leave discovery working, memory bounded, and ping nobody`, async () => {
    const baseline = process.memoryUsage().rss
    let peak = baseline
    const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss) }, 50)
    let discovering = true
    let discoveries = 0
    const failures: string[] = []
    const discovery = (async () => {
      while (discovering) {
        try {
          const found = await client.discoverServiceNode('honest', { signal: AbortSignal.timeout(10_000) })
          expect(found).to.have.length(1)
          discoveries++
        } catch (err) {
          failures.push(`${(err as Error).name}: ${(err as Error).message}`)
        }
      }
    })()
    const statuses: Record<number, number> = {}
    const latencies: number[] = []
    let largest = 0

    try {
      for (let round = 0; round < ROUNDS; round++) {
        await Promise.all(Array.from({ length: CONCURRENT }, async () => {
          const started = performance.now()
          const answer = await get(`${http.url}/api/services`)
          latencies.push(performance.now() - started)
          statuses[answer.status] = (statuses[answer.status] ?? 0) + 1
          largest = Math.max(largest, answer.bytes)
        }))
      }
    } finally {
      discovering = false
      await discovery
      clearInterval(sampler)
    }

    latencies.sort((a, b) => a - b)
    tally('http', {
      concurrentGets: CONCURRENT * ROUNDS,
      statuses,
      largestAnswerBytes: largest,
      getMedianMs: Math.round(latencies[latencies.length >> 1]),
      getMaxMs: Math.round(latencies[latencies.length - 1]),
      rssGrowthMb: Math.round((peak - baseline) / 1024 / 1024),
      discoveries,
      failedDiscoveries: failures.length,
      sinkConnections
    })
    expect(failures).to.deep.equal([])
    expect(discoveries).to.be.greaterThan(0)
    expect(Object.keys(statuses).filter(status => status !== '200' && status !== '503')).to.deep.equal([])
    expect(statuses[200]).to.be.greaterThan(0)
    expect(peak - baseline).to.be.lessThan(RSS_BOUND)
    // every stored instance claims the sink's address: a ping of any would have connected to it
    expect(sinkConnections).to.equal(0)
  })

  it('the capped snapshot says what it left out, and every stored service is still reachable by name', async () => {
    const first = JSON.parse((await get(`${http.url}/api/services?limit=1000`)).body as string) as ServicesResponse
    expect(first.truncated).to.equal(true)
    let services = first.services.length
    let instances = first.services.reduce((sum, service) => sum + service.instances.length, 0)
    let cursor = first.nextCursor

    while (cursor !== undefined) {
      const next = JSON.parse((await get(`${http.url}/api/services?limit=1000&cursor=${encodeURIComponent(cursor)}`)).body as string) as ServicesResponse
      services += next.services.length
      instances += next.services.reduce((sum, service) => sum + service.instances.length, 0)
      cursor = next.nextCursor
    }

    expect(instances).to.be.at.most(first.limits.maxInstances)
    expect(services).to.be.at.most(first.limits.maxServices)
    const last = `svc-${String(NAMES - 1).padStart(5, '0')}`
    const answer = await get(`${http.url}/api/services/${last}`)
    expect(answer.status).to.equal(200)
    expect((JSON.parse(answer.body as string) as ServiceResponse).service.instances).to.have.length(INSTANCES_PER_NAME)
    tally('http', { snapshotServices: services, snapshotInstances: instances })
    expect(sinkConnections).to.equal(0)
  })
})

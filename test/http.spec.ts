/**
 * The registry's HTTP port against real clients on 127.0.0.1: which hosts
 * and origins it answers, the capped and paged snapshot behind the JSON API,
 * that a request pings nobody, and what idle or silent sockets can do.
 */
import { request } from 'node:http'
import { connect, createServer } from 'node:net'
import { expect } from 'chai'
import { startRegistryHttp } from '../src/index.js'
import { DEFAULT_HTTP_HOST, DEFAULT_HTTP_MAX_CONNECTIONS } from '../src/http/constants.js'
import { createTestnet } from '../src/testing/index.js'
import { rejectionOf } from './helpers.js'
import { storeRecords } from './stored-records.js'
import type { Netget, RegistryHttp, RegistryHttpInit, ServiceResponse, ServicesResponse } from '../src/index.js'
import type { Testnet } from '../src/testing/index.js'
import type { IncomingHttpHeaders } from 'node:http'
import type { Server, Socket } from 'node:net'

interface Answer {
  status: number
  headers: IncomingHttpHeaders
  body: string
}

/** One request on a fresh connection, with exactly these headers (Host included, if given). */
async function fetchRaw (url: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent: false }, response => {
      const chunks: Buffer[] = []
      response.on('data', (chunk: Buffer) => chunks.push(chunk))
      response.on('end', () => { resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString() }) })
      response.on('error', reject)
    })
    req.setTimeout(15_000, () => { req.destroy(new Error(`no answer from ${url} within 15 s`)) })
    req.on('error', reject)
    req.end()
  })
}

async function getJson<T> (url: string): Promise<T> {
  const answer = await fetchRaw(url)
  expect(answer.status, answer.body).to.equal(200)
  return JSON.parse(answer.body) as T
}

/** Opens a TCP connection that sends nothing; resolves once connected. */
async function openSilent (port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host)
    socket.once('connect', () => { resolve(socket) })
    socket.once('error', reject)
  })
}

describe('registry HTTP port', function () {
  this.timeout(60_000)
  let testnet: Testnet
  let registry: Netget
  let sink: Server
  let sinkConnections = 0
  const servers: RegistryHttp[] = []

  async function serve (init: RegistryHttpInit = {}): Promise<RegistryHttp> {
    const http = await startRegistryHttp(registry, init)
    servers.push(http)
    return http
  }

  before(async () => {
    // every stored instance claims to listen here: any ping of one is a connection
    sink = createServer(socket => {
      sinkConnections++
      socket.destroy()
    })
    await new Promise<void>(resolve => { sink.listen(0, '127.0.0.1', resolve) })
    const address = `/ip4/127.0.0.1/tcp/${(sink.address() as { port: number }).port}`
    testnet = await createTestnet(0, { network: 'httptest' })
    registry = testnet.registries[0]
    // a0 has 3 instances, a1…a4 one each
    await storeRecords(registry, ['a0', 'a0', 'a0', 'a1', 'a2', 'a3', 'a4'].map(name => ({ name, address })))
  })

  after(async () => {
    await Promise.all(servers.map(async http => { await http.close() }))
    await testnet?.destroy()
    await new Promise<void>(resolve => { sink?.close(() => { resolve() }) })
  })

  describe('hosts and origins', () => {
    it('binds 127.0.0.1 by default', async () => {
      expect(DEFAULT_HTTP_HOST).to.equal('127.0.0.1')
      const http = await serve()
      expect(http.url).to.equal(`http://127.0.0.1:${http.port}`)
      expect((await fetchRaw(`${http.url}/api/services`)).status).to.equal(200)
      // all of 127/8 is this machine: a server bound to every interface would accept on 127.0.0.2
      const err = await rejectionOf(openSilent(http.port, '127.0.0.2'))
      expect(err).to.have.property('code', 'ECONNREFUSED')
    })

    it('refuses a request for another Host with 421 and a line saying how to allow it', async () => {
      const http = await serve()
      const refused = await fetchRaw(`${http.url}/api/services`, { Host: 'evil.example' })
      expect(refused.status).to.equal(421)
      expect(refused.body).to.equal('host "evil.example" is not served here: to allow it, pass allowedHosts: ["evil.example"] to startRegistryHttp()\n')
      expect((await fetchRaw(`${http.url}/`, { Host: `evil.example:${http.port}` })).status).to.equal(421)

      for (const host of [`127.0.0.1:${http.port}`, `localhost:${http.port}`, `[::1]:${http.port}`, 'LocalHost']) {
        expect((await fetchRaw(`${http.url}/api/services`, { Host: host })).status, host).to.equal(200)
      }

      const exposed = await serve({ allowedHosts: ['registry.example'] })
      expect((await fetchRaw(`${exposed.url}/api/services`, { Host: `registry.example:${exposed.port}` })).status).to.equal(200)
      expect((await fetchRaw(`${exposed.url}/netget.js`, { Host: 'evil.example' })).status).to.equal(421)
    })

    it('gives the JSON API to no other origin unless listed in corsOrigins; the bundle stays open to all', async () => {
      const http = await serve()
      const origin = 'http://page.example'
      const api = await fetchRaw(`${http.url}/api/services`, { Origin: origin })
      expect(api.status).to.equal(200)
      expect(api.headers).to.not.have.property('access-control-allow-origin')
      expect(api.headers.vary).to.equal('Origin')
      const preflight = await fetchRaw(`${http.url}/api/services/a1`, { Origin: origin, 'Access-Control-Request-Method': 'GET' }, 'OPTIONS')
      expect(preflight.headers).to.not.have.property('access-control-allow-origin')
      const bundle = await fetchRaw(`${http.url}/netget.js`, { Origin: origin })
      expect(bundle.headers['access-control-allow-origin']).to.equal('*')

      const listed = await serve({ corsOrigins: [origin] })
      expect((await fetchRaw(`${listed.url}/api/services`, { Origin: origin })).headers['access-control-allow-origin']).to.equal(origin)
      expect((await fetchRaw(`${listed.url}/api/services`, { Origin: 'http://other.example' })).headers).to.not.have.property('access-control-allow-origin')
      const open = await serve({ corsOrigins: ['*'] })
      expect((await fetchRaw(`${open.url}/api/services`, { Origin: origin })).headers['access-control-allow-origin']).to.equal('*')
    })

    it('refuses bad options, naming the option', async () => {
      for (const [init, option] of [
        [{ corsOrigins: ['page.example'] }, 'corsOrigins'],
        [{ allowedHosts: ['a b'] }, 'allowedHosts'],
        [{ maxConnections: 0 }, 'maxConnections'],
        [{ headersTimeout: 1.5 }, 'headersTimeout'],
        [{ host: '' }, 'host']
      ] as Array<[RegistryHttpInit, string]>) {
        const err = await rejectionOf(startRegistryHttp(registry, init))
        expect(err, option).to.have.property('name', 'InvalidOptionsError')
        expect(err, option).to.have.property('option', option)
      }
    })
  })

  describe('the JSON API', () => {
    it('answers from a capped snapshot that reports its caps and what they left out', async () => {
      const http = await serve({ maxServices: 3, maxInstancesPerService: 2 })
      const body = await getJson<ServicesResponse>(`${http.url}/api/services`)
      expect(body.network).to.equal('httptest')
      expect(body.registry.peerId).to.equal(registry.peerId)
      expect(body.truncated).to.equal(true)
      expect(body.limits).to.include({ maxServices: 3, maxInstancesPerService: 2 })
      expect(body.services.map(service => service.name)).to.deep.equal(['a0', 'a1', 'a2'])
      expect(body.services[0].instances).to.have.length(2)
      expect(body.services[0].truncated).to.equal(true)
      expect(body.services[1]).to.not.have.property('truncated')

      const fewServices = await getJson<ServicesResponse>(`${(await serve({ maxServices: 3 })).url}/api/services`)
      expect(fewServices.truncated).to.equal(true)
      expect(fewServices.services.map(service => [service.name, service.instances.length, service.truncated])).to.deep.equal([['a0', 3, undefined], ['a1', 1, undefined], ['a2', 1, undefined]])
      const fewInstances = await getJson<ServicesResponse>(`${(await serve({ maxInstances: 4 })).url}/api/services`)
      expect(fewInstances.truncated).to.equal(true)
      expect(fewInstances.services.map(service => [service.name, service.instances.length])).to.deep.equal([['a0', 3], ['a1', 1]])

      const bytes = await serve({ maxSnapshotBytes: 1_000 })
      const small = await getJson<ServicesResponse>(`${bytes.url}/api/services`)
      expect(small.truncated).to.equal(true)
      expect(JSON.stringify(small.services).length).to.be.at.most(1_000)
      expect(small.services.length).to.be.greaterThan(0)

      const all = await getJson<ServicesResponse>(`${(await serve()).url}/api/services`)
      expect(all.truncated).to.equal(false)
      expect(all.services.map(service => [service.name, service.instances.length])).to.deep.equal([['a0', 3], ['a1', 1], ['a2', 1], ['a3', 1], ['a4', 1]])
      // health is what the registry knows, and it was never asked to ping these
      expect(all.services.flatMap(service => service.instances.map(instance => instance.health.status))).to.deep.equal(['unknown', 'unknown', 'unknown', 'unknown', 'unknown', 'unknown', 'unknown'])
    })

    it('is built by listServices({ ping: false }), whose bounds hold', async () => {
      const names = async (options: Parameters<Netget['listServices']>[0]): Promise<Array<[string, number]>> =>
        (await registry.listServices({ ping: false, ...options })).filter(service => service.name.startsWith('a')).map(service => [service.name, service.instances.length])
      expect(await names({ limit: 2 })).to.deep.equal([['a0', 3], ['a1', 1]])
      expect(await names({ after: 'a2' })).to.deep.equal([['a3', 1], ['a4', 1]])
      expect(await names({ name: 'a3' })).to.deep.equal([['a3', 1]])
      expect(await names({ maxInstances: 2, limit: 2 })).to.deep.equal([['a0', 2], ['a1', 1]])
      // the listing stops verifying once it holds this many instances
      expect(await names({ maxTotalInstances: 4 })).to.deep.equal([['a0', 3], ['a1', 1]])
    })

    it('pages with ?cursor= and ?limit=', async () => {
      const http = await serve()
      const names: string[] = []
      let cursor: string | undefined
      let pages = 0

      do {
        const body = await getJson<ServicesResponse>(`${http.url}/api/services?limit=2${cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`}`)
        expect(body.services.length).to.be.at.most(2)
        names.push(...body.services.map(service => service.name))
        cursor = body.nextCursor
        pages++
      } while (cursor !== undefined && pages < 10)

      expect(names).to.deep.equal(['a0', 'a1', 'a2', 'a3', 'a4'])
      expect(pages).to.equal(3)
      const bad = await fetchRaw(`${http.url}/api/services?limit=0`)
      expect(bad.status).to.equal(400)
      expect(JSON.parse(bad.body)).to.deep.equal({ error: '"limit" must be an integer from 1 to 1000, got "0"' })
    })

    it('answers GET /api/services/NAME for one service, also past the snapshot\'s cap', async () => {
      const http = await serve({ maxServices: 2 })
      const inSnapshot = await getJson<ServiceResponse>(`${http.url}/api/services/a1`)
      expect(inSnapshot.service.name).to.equal('a1')
      expect(inSnapshot.service.instances).to.have.length(1)
      const pastCap = await getJson<ServiceResponse>(`${http.url}/api/services/a4`)
      expect(pastCap.service.name).to.equal('a4')
      expect(pastCap.service.instances).to.have.length(1)
      expect(pastCap.service.instances[0].name).to.equal('a4')
      expect((await fetchRaw(`${http.url}/api/services/nothing-here`)).status).to.equal(404)
      expect((await fetchRaw(`${http.url}/api/services/${encodeURIComponent('bad name!')}`)).status).to.equal(400)
    })

    it('builds one snapshot per interval, however many requests come', async () => {
      const http = await serve({ snapshotInterval: 60_000 })
      const first = await getJson<ServicesResponse>(`${http.url}/api/services`)
      await storeRecords(registry, [{ name: 'late' }])
      const answers = await Promise.all(Array.from({ length: 20 }, async () => getJson<ServicesResponse>(`${http.url}/api/services`)))
      expect(new Set(answers.map(answer => answer.generatedAt))).to.deep.equal(new Set([first.generatedAt]))
      expect(answers.every(answer => answer.services.every(service => service.name !== 'late'))).to.equal(true)
      // a new server builds afresh and sees it
      const fresh = await getJson<ServicesResponse>(`${(await serve()).url}/api/services`)
      expect(fresh.services.map(service => service.name)).to.include('late')
    })

    it('answers 503 while the registry is stopped', async () => {
      const other = await testnet.startRegistry()
      const http = await startRegistryHttp(other)

      try {
        await other.stop()
        const answer = await fetchRaw(`${http.url}/api/services`)
        expect(answer.status).to.equal(503)
        expect(answer.headers['retry-after']).to.equal('1')
      } finally {
        await http.close()
      }
    })

    it('pings nobody for a request', async () => {
      const http = await serve({ snapshotInterval: 0 })
      sinkConnections = 0

      for (let i = 0; i < 5; i++) {
        await getJson<ServicesResponse>(`${http.url}/api/services`)
        await getJson<ServiceResponse>(`${http.url}/api/services/a0`)
      }

      // a health tick is 200 ms on a testnet: long enough for any ping started by a request to dial
      await new Promise(resolve => setTimeout(resolve, 1_000))
      expect(sinkConnections).to.equal(0)
    })
  })

  describe('connections', () => {
    it('closes a socket that sends no headers within the header timeout', async () => {
      const http = await serve({ headersTimeout: 1_000 })
      const started = performance.now()
      const socket = await openSilent(http.port)
      const received: Buffer[] = []
      socket.on('data', (chunk: Buffer) => received.push(chunk))
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error('the silent socket is still open 6 s after connecting')) }, 6_000)
        socket.once('close', () => {
          clearTimeout(timer)
          resolve()
        })
      })
      socket.destroy()
      expect(performance.now() - started).to.be.at.least(900)
      expect(Buffer.concat(received).toString()).to.match(/^(HTTP\/1\.1 408|$)/)
    })

    it('300 idle sockets do not lock a new client out', async () => {
      const http = await serve()
      const idle: Socket[] = []
      let closed = 0

      try {
        for (let i = 0; i < 300; i++) {
          const socket = await openSilent(http.port)
          socket.on('error', () => {})
          socket.once('close', () => { closed++ })
          idle.push(socket)
        }

        const answer = await fetchRaw(`${http.url}/api/services`)
        expect(answer.status).to.equal(200)
        // the oldest idle ones made room: never more than the cap open at once
        const enough = 300 - DEFAULT_HTTP_MAX_CONNECTIONS + 1

        for (let waited = 0; closed < enough && waited < 5_000; waited += 50) {
          await new Promise(resolve => setTimeout(resolve, 50))
        }

        expect(closed).to.be.at.least(enough)
      } finally {
        idle.forEach(socket => socket.destroy())
      }
    })
  })
})

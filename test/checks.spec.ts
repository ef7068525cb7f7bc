/* eslint-env mocha */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer as createHttpServer } from 'node:http'
import { createServer as createTcpServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { peerIdFromString } from '@libp2p/peer-id'
import { expect } from 'chai'
import { main } from '../src/cli/main.js'
import { decodeRecord, Netget, sealRecord, startRegistryHttp } from '../src/index.js'
import { createTestnet } from '../src/testing/index.js'
import { freePort, nextEvent, rejectionOf } from './helpers.js'
import { putOverOneStream, signedEntry } from './store-helpers.js'
import type { CheckStatus, NetgetInit, ServiceCheck, ServiceInstance } from '../src/index.js'
import type { Testnet } from '../src/testing/index.js'
import type { ChildProcess } from 'node:child_process'
import type { Server as HttpServer } from 'node:http'

const BIN = fileURLToPath(new URL('../src/cli/bin.js', import.meta.url))
/** The check interval of these tests, in ms. */
const INTERVAL = 500
/** How long a test waits for something that should take about one interval: generous, for a busy machine. */
const WAIT = 15_000
const encoder = new TextEncoder()

/** Polls `discover` until it yields something `accept` takes, for at most {@link WAIT} ms. */
async function eventually<T> (what: string, attempt: () => Promise<T>, accept: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + WAIT
  let last: unknown

  while (Date.now() < deadline) {
    try {
      const value = await attempt()

      if (accept(value)) {
        return value
      }

      last = value
    } catch (err) {
      last = err
    }

    await new Promise(resolve => setTimeout(resolve, 100))
  }

  throw new Error(`${what} did not happen within ${WAIT} ms; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`)
}

/** The instances of `name` a fresh lookup returns (none on ServiceNotFoundError). */
async function lookup (client: Netget, name: string, includeUnhealthy = false): Promise<ServiceInstance[]> {
  try {
    return await client.discoverServiceNode(name, { includeUnhealthy, signal: AbortSignal.timeout(5_000) })
  } catch (err) {
    if ((err as Error).name === 'ServiceNotFoundError') {
      return []
    }

    throw err
  }
}

function statuses (instances: ServiceInstance[]): CheckStatus[] {
  return instances.map(instance => instance.status)
}

/** An HTTP server on 127.0.0.1 answering /health with the status `code()` says. */
async function healthServer (code: () => number): Promise<{ url: string, server: HttpServer }> {
  const server = createHttpServer((request, response) => {
    response.writeHead(code(), { 'content-type': 'text/plain' })
    response.end(code() >= 500 ? 'database unreachable' : 'ok')
  })
  await new Promise<void>(resolve => { server.listen(0, '127.0.0.1', resolve) })
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/health`, server }
}

async function close (server: { close(callback: () => void): unknown, closeAllConnections?: () => void }): Promise<void> {
  server.closeAllConnections?.()
  await new Promise<void>(resolve => { server.close(resolve) })
}

describe('service checks', function () {
  this.timeout(60_000)

  describe('option checks', () => {
    const run = (): boolean => true
    const cases: Array<[string, unknown, string]> = [
      ['not an array', { http: 'http://x' }, 'Option "checks" must be an array of checks like [{ http: "http://127.0.0.1:8080/health" }, { tcp: "127.0.0.1:5432" }], got {"http":"http://x"}'],
      ['too many', Array.from({ length: 33 }, (_, i) => ({ tcp: `127.0.0.1:${i + 1}` })), 'Option "checks" has 33 checks; at most 32 are allowed'],
      ['not an object', ['http://x'], 'Option "checks": check 0 must be an object with one of "http", "tcp" or "run", got "http://x"'],
      ['no kind', [{ name: 'x' }], 'Option "checks": check 0 must have exactly one of "http", "tcp" or "run"'],
      ['two kinds', [{ run }, { http: 'http://x/', tcp: 'x:1' }], 'Option "checks": check 1 must have exactly one of "http", "tcp" or "run", not "http" and "tcp"'],
      ['unknown field', [{ tcp: 'x:1', expect: 200 }], 'Option "checks": check 0 has unknown field "expect"; a tcp check takes "tcp", "name", "interval", "timeout"'],
      ['bad URL', [{ http: 'ftp://x/' }], 'Option "checks": check 0 "http" must be an http:// or https:// URL like "http://127.0.0.1:8080/health", got "ftp://x/"'],
      ['bad expect', [{ http: 'http://x/', expect: 99 }], 'Option "checks": check 0 "expect" must be an HTTP status code from 100 to 599, got 99'],
      ['no port', [{ tcp: '127.0.0.1' }], 'Option "checks": check 0 "tcp" must be HOST:PORT with a port from 1 to 65535, like "127.0.0.1:5432", got "127.0.0.1"'],
      ['port 0', [{ tcp: '127.0.0.1:0' }], 'Option "checks": check 0 "tcp" must be HOST:PORT with a port from 1 to 65535, like "127.0.0.1:5432", got "127.0.0.1:0"'],
      ['run not a function', [{ run: true }], 'Option "checks": check 0 "run" must be a function (signal) => boolean | Promise<boolean>, got true'],
      ['zero interval', [{ run, interval: 0 }], 'Option "checks": check 0 "interval" must be a positive number of milliseconds, got 0'],
      ['bad timeout', [{ run, timeout: '1s' }], 'Option "checks": check 0 "timeout" must be a positive number of milliseconds, got "1s"'],
      ['empty name', [{ run, name: '' }], 'Option "checks": check 0 "name" must be a non-empty string of at most 64 characters, got ""'],
      ['same name', [{ tcp: 'db:5432' }, { tcp: 'db:5432' }], 'Option "checks": check 1 is named "tcp db:5432" like an earlier one; give each check its own "name"']
    ]

    for (const [what, checks, message] of cases) {
      it(`refuses ${what} with an exact message`, () => {
        expect(() => new Netget({ metadata: { name: 'api' }, dataDir: false, checks: checks as ServiceCheck[] }))
          .to.throw(message).with.property('option', 'checks')
      })
    }

    it('refuses checks on a node that publishes nothing, and a negative deregisterCriticalAfter', () => {
      expect(() => new Netget({ dataDir: false, checks: [{ run }] })).to.throw('Option "checks" is for a service node that publishes a service: give metadata: { name: "MyService" }').with.property('option', 'checks')
      expect(() => new Netget({ nodeType: 'registry', dataDir: false, checks: [{ run }] })).to.throw('Option "checks" is for a service node that publishes a service: a registry node publishes none')
      expect(() => new Netget({ metadata: { name: 'api' }, dataDir: false, deregisterCriticalAfter: -1 }))
        .to.throw('Option "deregisterCriticalAfter" must be a number of milliseconds, 0 or more (0: never withdraw), got -1').with.property('option', 'deregisterCriticalAfter')
    })

    it('fills in names, intervals and timeouts', () => {
      const node = new Netget({ metadata: { name: 'api' }, dataDir: false, checks: [{ http: 'http://127.0.0.1:1/h', expect: 204 }, { tcp: '[::1]:5432', interval: 50 }, { run, name: 'mine', timeout: 7 }] })
      expect(node.config.checks.map(({ name, interval, timeout }) => ({ name, interval, timeout }))).to.deep.equal([
        { name: 'http http://127.0.0.1:1/h', interval: 10_000, timeout: 2_000 },
        { name: 'tcp [::1]:5432', interval: 50, timeout: 2_000 },
        { name: 'mine', interval: 10_000, timeout: 7 }
      ])
      expect(node.config.deregisterCriticalAfter).to.equal(60_000)
    })
  })

  describe('the record\'s status', () => {
    it('reads a record without status (an older writer\'s) as passing, an unknown status as critical, and refuses a status that is not a string', async () => {
      const entry = await signedEntry('testnet', 'api')
      const payload = (status: unknown): Uint8Array => encoder.encode(JSON.stringify({ v: 1, network: 'testnet', name: 'api', peerId: entry.peerId, multiaddrs: [], metadata: {}, seq: 1, expiresAt: Date.now() + 60_000, withdrawn: false, status }))

      expect(decodeRecord(payload(undefined))).to.not.have.property('status')
      expect(decodeRecord(payload('warning')).status).to.equal('warning')
      expect(decodeRecord(payload('maintenance')).status).to.equal('critical')
      expect(() => decodeRecord(payload(2))).to.throw('Record field "status" must be a string: "passing", "warning" or "critical"')
    })

    describe('over the network', () => {
      let testnet: Testnet

      beforeEach(async () => { testnet = await createTestnet(0) })
      afterEach(async () => { await testnet.destroy() })

      it('discovers an older writer\'s record as passing, hides an unknown status as critical, and registries refuse a non-string status', async () => {
        const client = testnet.createNode()
        await client.start()
        const registry = peerIdFromString(testnet.registries[0].peerId)
        const old = await signedEntry(testnet.network, 'legacy')
        const unknown = await signedEntry(testnet.network, 'legacy')
        const withStatus = async (status: unknown): Promise<Uint8Array> => sealRecord({ ...unknown.record, status: status as CheckStatus }, unknown.privateKey)
        expect(new TextDecoder().decode(old.value)).to.not.include('"status"')

        expect(await putOverOneStream(client, registry, testnet.network, [{ ...unknown, value: await withStatus(42) }])).to.equal(0)
        expect(await putOverOneStream(client, registry, testnet.network, [old, { ...unknown, value: await withStatus('maintenance') }])).to.equal(2)

        const shown = await client.discoverServiceNode('legacy', { checkHealth: false })
        expect(shown.map(instance => [instance.peerId, instance.status])).to.deep.equal([[old.peerId, 'passing']])
        const all = await client.discoverServiceNode('legacy', { checkHealth: false, includeUnhealthy: true })
        expect(all.map(instance => [instance.peerId, instance.status])).to.deep.equal([[old.peerId, 'passing'], [unknown.peerId, 'critical']])
      })
    })
  })

  describe('a service node with checks', () => {
    let testnet: Testnet
    let client: Netget

    beforeEach(async () => {
      testnet = await createTestnet(0)
      client = testnet.createNode()
    })

    afterEach(async () => { await testnet.destroy() })

    /** A node of service "api"; its timer re-announces after the test's waits, so only a status change re-publishes in time. */
    function service (init: NetgetInit): Netget {
      return testnet.createNode({ metadata: { name: 'api' }, reannounceInterval: 25_000, ...init })
    }

    it('publishes the status of a run check, re-publishing at once when it changes: a critical instance is left out until it passes', async () => {
      let healthy = true
      const node = service({ checks: [{ run: () => healthy, name: 'db', interval: INTERVAL }] })
      const first = await node.registerWithNetwork()
      expect(first.record.status).to.equal('passing')
      expect(statuses(await lookup(client, 'api'))).to.deep.equal(['passing'])

      const critical = nextEvent(node, 'service:status', event => event.detail.status === 'critical', WAIT)
      const republished = nextEvent(node, 'service:announced', event => event.detail.record.status === 'critical', WAIT)
      healthy = false
      expect((await critical).detail).to.deep.include({ status: 'critical', previous: 'passing', output: 'returned false' })
      expect((await republished).detail.record.seq).to.be.greaterThan(first.record.seq)
      expect(await lookup(client, 'api')).to.deep.equal([])
      expect(statuses(await lookup(client, 'api', true))).to.deep.equal(['critical'])

      const passing = nextEvent(node, 'service:status', event => event.detail.status === 'passing', WAIT)
      healthy = true
      expect((await passing).detail).to.deep.include({ previous: 'critical', output: '' })
      await eventually('the instance coming back', async () => lookup(client, 'api'), found => found.length === 1 && found[0].status === 'passing')
    })

    it('runs an HTTP check: 500 is critical, 429 a warning (still discovered), 200 passing', async () => {
      let code = 200
      const { url, server } = await healthServer(() => code)

      try {
        const node = service({ checks: [{ http: url, interval: INTERVAL }] })
        await node.registerWithNetwork()
        expect(statuses(await lookup(client, 'api'))).to.deep.equal(['passing'])

        const critical = nextEvent(node, 'service:status', event => event.detail.status === 'critical', WAIT)
        code = 500
        expect((await critical).detail.output).to.equal('HTTP 500 Internal Server Error: database unreachable')
        await eventually('the instance leaving discovery', async () => lookup(client, 'api'), found => found.length === 0)

        const warning = nextEvent(node, 'service:status', event => event.detail.status === 'warning', WAIT)
        code = 429
        expect((await warning).detail.output).to.equal('HTTP 429 Too Many Requests: ok')
        await eventually('the instance coming back as warning', async () => lookup(client, 'api'), found => found.length === 1 && found[0].status === 'warning')

        code = 200
        await eventually('the instance passing again', async () => lookup(client, 'api'), found => found.length === 1 && found[0].status === 'passing')
      } finally {
        await close(server)
      }
    })

    it('publishes the first results: a service whose TCP port is closed registers as critical', async () => {
      const port = await freePort()
      const node = service({ checks: [{ tcp: `127.0.0.1:${port}`, interval: INTERVAL }] })
      const result = await node.registerWithNetwork()
      expect(result.record.status).to.equal('critical')
      expect(await lookup(client, 'api')).to.deep.equal([])
      expect(statuses(await lookup(client, 'api', true))).to.deep.equal(['critical'])

      const server = createTcpServer(socket => { socket.destroy() })
      await new Promise<void>(resolve => { server.listen(port, '127.0.0.1', resolve) })

      try {
        await eventually('the instance passing once the port opens', async () => lookup(client, 'api'), found => found.length === 1 && found[0].status === 'passing')
      } finally {
        await close(server)
      }
    })

    it('withdraws the record after deregisterCriticalAfter of critical, keeps checking, and announces again when the checks pass', async () => {
      let healthy = true
      const deregisterCriticalAfter = 1_500
      const node = service({ checks: [{ run: () => healthy, interval: INTERVAL }], deregisterCriticalAfter })
      await node.registerWithNetwork()

      const critical = nextEvent(node, 'service:status', event => event.detail.status === 'critical', WAIT)
      const deregistered = nextEvent(node, 'service:deregistered', () => true, WAIT)
      healthy = false
      await critical
      const criticalAt = Date.now()
      expect(statuses(await lookup(client, 'api', true))).to.deep.equal(['critical'])
      const { detail } = await deregistered
      expect(Date.now() - criticalAt).to.be.at.least(deregisterCriticalAfter - 100)
      expect(detail.criticalFor).to.be.at.least(deregisterCriticalAfter)
      expect(detail.output).to.equal('returned false')
      // withdrawn: gone even for includeUnhealthy
      await eventually('the withdrawal', async () => lookup(client, 'api', true), found => found.length === 0)

      const announced = nextEvent(node, 'service:announced', event => event.detail.record.status === 'passing' && !event.detail.record.withdrawn, WAIT)
      healthy = true
      await announced
      await eventually('the instance announced again', async () => lookup(client, 'api'), found => found.length === 1 && found[0].status === 'passing')
    })

    it('times a run out through its signal, never overlaps two runs of a check, and stops running them on stop()', async () => {
      let running = 0
      let most = 0
      let runs = 0
      let aborted = 0
      const node = service({
        checks: [{
          name: 'slow',
          interval: 20,
          timeout: 150,
          run: async signal => {
            runs++
            most = Math.max(most, ++running)
            signal.addEventListener('abort', () => { aborted++ })
            // ignores the signal: the timeout must still end the run
            await new Promise(resolve => setTimeout(resolve, 300))
            running--
            return true
          }
        }]
      })
      const critical = nextEvent(node, 'service:status', event => event.detail.status === 'critical', WAIT)
      await node.registerWithNetwork()
      expect((await critical).detail.output).to.equal('timed out after 150 ms')
      await eventually('a few runs', async () => runs, count => count >= 3)
      expect(aborted).to.be.at.least(1)
      // a timed-out run that ignores its signal is not run again until it settles
      expect(most).to.equal(1)

      await node.stop()
      const stoppedAt = runs
      await new Promise(resolve => setTimeout(resolve, 300))
      expect(runs).to.equal(stoppedAt)
    })

    it('leaves critical instances out of a registry\'s listing and /api/services unless asked', async () => {
      let healthy = false
      await service({ checks: [{ run: () => healthy, interval: INTERVAL }] }).registerWithNetwork()
      await testnet.createNode({ metadata: { name: 'api' } }).registerWithNetwork()
      const registry = testnet.registries[0]

      const listed = await registry.listServices({ ping: false })
      expect(listed.map(service => statuses(service.instances))).to.deep.equal([['passing']])
      const all = await registry.listServices({ ping: false, includeUnhealthy: true })
      expect(all.map(service => statuses(service.instances))).to.deep.equal([['passing', 'critical']])

      const http = await startRegistryHttp(registry, { port: 0, snapshotInterval: 50 })

      try {
        const api = async (): Promise<CheckStatus[]> => {
          const body = await (await fetch(`${http.url}/api/services`)).json() as { services: Array<{ instances: ServiceInstance[] }> }
          return body.services.flatMap(service => statuses(service.instances))
        }
        expect(await api()).to.deep.equal(['passing'])
        healthy = true
        await eventually('/api/services listing the instance once it passes', api, found => found.length === 2)
      } finally {
        await http.close()
      }
    })
  })

  describe('netget-peer register --check-*', () => {
    let dir: string
    let testnet: Testnet
    let children: ChildProcess[]

    before(async () => { dir = await mkdtemp(join(tmpdir(), 'netget-checks-')) })
    after(async () => { await rm(dir, { recursive: true, force: true }) })
    beforeEach(async () => {
      testnet = await createTestnet(0, { network: 'checknet' })
      children = []
    })
    afterEach(async () => {
      for (const child of children) {
        child.kill('SIGKILL')
      }

      await Promise.all(children.map(async child => child.exitCode !== null ? undefined : new Promise(resolve => child.once('close', resolve))))
      await testnet.destroy()
    })

    /** Spawns `netget-peer register` with --json; `event(name, accept)` waits for a JSON line. */
    function register (name: string, flags: string[]): { child: ChildProcess, event(name: string, accept?: (event: Record<string, any>) => boolean): Promise<Record<string, any>> } {
      const env = { ...process.env }
      delete env.DEBUG
      const child = spawn(process.execPath, [BIN, 'register', '--name', name, '--network', 'checknet', '--registry', testnet.registryNodes[0], '--listen', '/ip4/127.0.0.1/tcp/0', '--data-dir', join(dir, name), '--json', ...flags], { env, stdio: ['ignore', 'pipe', 'pipe'] })
      children.push(child)
      let stdout = ''
      let stderr = ''
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
      child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })

      return {
        child,
        async event (event, accept = () => true) {
          return eventually(`event "${event}" from the sidecar (stderr: ${stderr})`, async () => stdout.split('\n').filter(line => line.startsWith('{')).map(line => JSON.parse(line)), lines => lines.some(line => line.event === event && accept(line)))
            .then(lines => lines.find(line => line.event === event && accept(line)) as Record<string, any>)
        }
      }
    }

    it('a sidecar whose --check-tcp port is closed is critical and left out; opening the port brings it back', async () => {
      const port = await freePort()
      const sidecar = register('db-sidecar', ['--check-tcp', `127.0.0.1:${port}`, '--check-interval', String(INTERVAL)])
      const client = testnet.createNode()

      const registered = await sidecar.event('registered')
      expect(registered.status).to.equal('critical')
      const status = await sidecar.event('status')
      expect(status).to.deep.include({ status: 'critical', previous: 'passing' })
      expect(status.output).to.match(/ECONNREFUSED/)
      expect(await lookup(client, 'db-sidecar')).to.deep.equal([])
      expect(statuses(await lookup(client, 'db-sidecar', true))).to.deep.equal(['critical'])

      const server = createTcpServer(socket => { socket.destroy() })
      await new Promise<void>(resolve => { server.listen(port, '127.0.0.1', resolve) })

      try {
        await sidecar.event('status', event => event.status === 'passing')
        await eventually('the sidecar coming back', async () => lookup(client, 'db-sidecar'), found => found.length === 1 && found[0].peerId === registered.peerId)
      } finally {
        await close(server)
      }

      sidecar.child.kill('SIGTERM')
      expect(await new Promise(resolve => sidecar.child.once('close', resolve))).to.equal(0)
    })

    it('a sidecar whose --check-http answers 500 is left out until it answers 200', async () => {
      let code = 500
      const { url, server } = await healthServer(() => code)

      try {
        const sidecar = register('web-sidecar', ['--check-http', url, '--check-interval', String(INTERVAL), '--check-timeout', '1000'])
        const client = testnet.createNode()
        expect((await sidecar.event('registered')).status).to.equal('critical')
        expect((await sidecar.event('status')).output).to.equal('HTTP 500 Internal Server Error: database unreachable')
        expect(await lookup(client, 'web-sidecar')).to.deep.equal([])

        code = 200
        await sidecar.event('status', event => event.status === 'passing')
        await eventually('the sidecar coming back', async () => lookup(client, 'web-sidecar'), found => found.length === 1)
      } finally {
        await close(server)
      }
    })
  })

  describe('netget-peer register, bad check flags', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--check-tcp', 'nope'], /^--check-tcp must be HOST:PORT with a port from 1 to 65535, like "127\.0\.0\.1:5432", got "nope"$/],
      [['--check-http', 'ftp://x/'], /^--check-http must be an http:\/\/ or https:\/\/ URL like "http:\/\/127\.0\.0\.1:8080\/health", got "ftp:\/\/x\/"$/],
      [['--check-tcp', 'db:5432', '--check-interval', '0'], /^--check-interval must be a positive number of milliseconds, got 0$/],
      [['--check-tcp', 'db:5432', '--check-timeout', '2s'], /^Bad --check-timeout "2s": give a whole number$/],
      [['--check-tcp', 'db:5432', '--check-tcp', 'db:5432'], /^--check-tcp "db:5432" is given twice; give each check once$/],
      [['--check-interval', '500'], /^--check-interval applies to checks: add --check-http URL or --check-tcp HOST:PORT$/],
      [['--check-tcp'], /^Flag --check-tcp needs a value, like --check-tcp HOST:PORT$/]
    ]

    for (const [flags, pattern] of cases) {
      it(`${flags.join(' ')}: one line, exit 2`, async () => {
        let stdout = ''
        let stderr = ''
        const code = await main(['register', '--name', 'api', '--registry', '/ip4/127.0.0.1/tcp/9/p2p/12D3KooWQxJ2u6wHhMkYhW7aM1bGfCzQwJHUx4gPvHGbSZjZ8ZbX', '--data-dir', join(tmpdir(), 'netget-never-created'), ...flags], {
          stdout: { write: chunk => { stdout += chunk } },
          stderr: { write: chunk => { stderr += chunk } },
          env: {}
        })
        expect(code, stderr).to.equal(2)
        expect(stderr).to.match(/^netget-peer: [^\n]*\n$/)
        expect(stderr.slice('netget-peer: '.length, -1)).to.match(pattern)
        expect(stdout).to.equal('')
      })
    }
  })

  it('rejects registerWithNetwork() of a node whose first check round is cut short by the signal', async () => {
    const testnet = await createTestnet(0)

    try {
      const node = testnet.createNode({ metadata: { name: 'api' }, checks: [{ run: async () => new Promise<boolean>(() => {}), timeout: 5_000 }] })
      const err = await rejectionOf(node.registerWithNetwork({ signal: AbortSignal.timeout(300) }))
      expect(err.name).to.be.oneOf(['AbortError', 'TimeoutError'])
    } finally {
      await testnet.destroy()
    }
  })
})

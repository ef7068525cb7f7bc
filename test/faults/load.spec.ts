/**
 * Load: many peers from one IP connect to one registry at once, then run
 * 1,000 discoveries at the same time; and one peer runs 1,000 at once over
 * its single registry connection. Every discovery must succeed.
 */
import { spawn } from 'node:child_process'
import { expect } from 'chai'
import { createTestnet } from '../../src/testing/index.js'
import { tally } from './fixtures/figures.js'
import { waitFor } from './fixtures/hostile-peer.js'
import type { DiscoverOptions, Netget } from '../../src/index.js'
import type { Testnet } from '../../src/testing/index.js'

const NETWORK = 'load'
const SERVICES = ['api', 'db', 'cache']
const CLIENTS = 100
const DISCOVERIES = 1_000

interface Outcome {
  ok: number
  errors: Record<string, number>
  p50: number
  p99: number
  max: number
  wallMs: number
}

async function discoverAll (clients: Netget[], total: number, expected: Map<string, string>, options: DiscoverOptions = {}): Promise<Outcome> {
  const latencies: number[] = []
  const errors: Record<string, number> = {}
  let ok = 0
  const started = performance.now()

  await Promise.all(Array.from({ length: total }, async (_, i) => {
    const name = SERVICES[i % SERVICES.length]
    const t0 = performance.now()
    try {
      const found = await clients[i % clients.length].discoverServiceNode(name, options)
      if (found.length === 1 && found[0].peerId === expected.get(name)) { ok++ } else { errors.WrongResult = (errors.WrongResult ?? 0) + 1 }
    } catch (err) {
      const key = `${(err as Error).name}: ${(err as Error).message.slice(0, 120)}`
      errors[key] = (errors[key] ?? 0) + 1
    } finally {
      latencies.push(performance.now() - t0)
    }
  }))

  latencies.sort((a, b) => a - b)
  const at = (q: number): number => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))])
  return { ok, errors, p50: at(0.5), p99: at(0.99), max: at(1), wallMs: Math.round(performance.now() - started) }
}

/** An error and its causes, in one line. */
function describeError (err: unknown): string {
  const parts: string[] = []
  for (let e = err as (Error & { errors?: Error[] }) | undefined; e !== undefined && parts.length < 5; e = (e.cause ?? e.errors?.[0]) as typeof e) {
    parts.push(`${e.name}: ${e.message}`)
  }
  return parts.join(' <- ')
}

describe('Load', function () {
  this.timeout(180_000)
  let testnet: Testnet
  let registry: Netget
  const expected = new Map<string, string>()

  before(async () => {
    testnet = await createTestnet(0, { network: NETWORK })
    registry = testnet.registries[0]
    for (const name of SERVICES) {
      const node = testnet.createNode({ metadata: { name } })
      await node.registerWithNetwork()
      expected.set(name, node.peerId)
    }
  })

  after(async () => {
    await testnet?.destroy()
  })

  it(`${CLIENTS} peers from 127.0.0.1 connect at once and run ${DISCOVERIES} concurrent discoveries; all can reach a service`, async () => {
    // production health interval: the testnet's 200 ms × 100 peers × 3
    // instances is 1,500 pings a second on this one event loop
    const clients = Array.from({ length: CLIENTS }, () => testnet.createNode({ healthInterval: 10_000 }))
    const started = Date.now()
    await Promise.all(clients.map(async client => client.start()))
    await waitFor(() => clients.every(client => client.registryNodes()[0]?.connected), 30_000, 'every client connected to the registry')
    const connectMs = Date.now() - started
    const clientIds = new Set(clients.map(client => client.peerId))
    const connected = new Set(registry.libp2p.getConnections().map(connection => connection.remotePeer.toString()).filter(peerId => clientIds.has(peerId))).size

    // the registry's side: lookups only (health pings of 100 peers sharing
    // this one CPU would measure the test harness, not the registry)
    const outcome = await discoverAll(clients, DISCOVERIES, expected, { checkHealth: false })
    console.log(`      ${CLIENTS} peers connected in ${connectMs} ms (registry sees ${connected}); ${outcome.ok}/${DISCOVERIES} discoveries ok in ${outcome.wallMs} ms, p50 ${outcome.p50} ms, p99 ${outcome.p99} ms`)
    if (Object.keys(outcome.errors).length > 0) { console.log('      errors:', outcome.errors) }

    // every one of them can open a connection to every service at once, as
    // their first health pings do (a service's per-IP inbound limit must not
    // refuse them)
    const targets = testnet.nodes.filter(node => node.config.serviceName !== undefined)
    // dialled by their published addresses, as health checks dial the addresses in a record
    const dials = await Promise.allSettled(clients.flatMap(client => targets.map(async target => client.libp2p.dial(target.libp2p.getMultiaddrs(), { signal: AbortSignal.timeout(60_000) }))))
    const failed = dials.flatMap(dial => dial.status === 'rejected' ? [describeError(dial.reason)] : [])
    // a refused connection is reset by the service; a Noise handshake that
    // outlasts libp2p's upgrade timeout is this one CPU running 100 peers
    const handshakeTimeouts = failed.filter(reason => /timeout|timed out/i.test(reason)).length
    const refused = failed.length - handshakeTimeouts
    console.log(`      ${dials.length - failed.length}/${dials.length} connections from ${CLIENTS} peers on one IP to ${targets.length} services opened at once; ${refused} refused, ${handshakeTimeouts} handshakes timed out`)
    if (refused > 0) { console.log('      refusals:', failed.filter(reason => !/timeout|timed out/i.test(reason)).slice(0, 3)) }
    tally('load', { peersFromOneIp: CLIENTS, registrySeesPeers: connected, connectMs, manyPeers: outcome, serviceDials: dials.length, serviceDialsRefused: refused, serviceDialHandshakeTimeouts: handshakeTimeouts })

    expect(connected).to.be.at.least(CLIENTS * 0.95)
    expect(outcome.errors).to.deep.equal({})
    expect(outcome.ok).to.equal(DISCOVERIES)
    expect(refused).to.equal(0)
    expect(registry.status).to.equal('started')
  })

  it(`one peer runs ${DISCOVERIES} concurrent discoveries over its one registry connection`, async () => {
    const client = testnet.createNode()
    await client.start()
    const outcome = await discoverAll([client], DISCOVERIES, expected)
    console.log(`      ${outcome.ok}/${DISCOVERIES} discoveries ok in ${outcome.wallMs} ms, p50 ${outcome.p50} ms, p99 ${outcome.p99} ms`)
    if (Object.keys(outcome.errors).length > 0) { console.log('      errors:', outcome.errors) }
    tally('load', { onePeer: outcome })

    expect(outcome.errors).to.deep.equal({})
    expect(outcome.ok).to.equal(DISCOVERIES)
  })

  it(`under CPU stress (both cores spinning in another process), ${DISCOVERIES} concurrent default discoveries return every live instance`, async () => {
    // two busy threads in a child process, for this test's duration
    const spinner = spawn(process.execPath, ['-e', "new (require('node:worker_threads').Worker)('for (;;) {}', { eval: true }); for (;;) {}"], { stdio: 'ignore' })

    try {
      const client = testnet.createNode()
      await client.start()
      // default discovery: health comes from the registry's attestations, so no instance is dropped by a first ping lost to the load
      const outcome = await discoverAll([client], DISCOVERIES, expected)
      console.log(`      under CPU stress: ${outcome.ok}/${DISCOVERIES} default discoveries ok in ${outcome.wallMs} ms, p50 ${outcome.p50} ms, p99 ${outcome.p99} ms`)
      if (Object.keys(outcome.errors).length > 0) { console.log('      errors:', outcome.errors) }
      tally('load', { underCpuStress: outcome })

      expect(outcome.errors).to.deep.equal({})
      expect(outcome.ok).to.equal(DISCOVERIES)
    } finally {
      spinner.kill('SIGKILL')
    }
  })
})

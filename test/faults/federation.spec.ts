/**
 * Registry federation with real `netget-peer` processes on 127.0.0.1
 * (docs/PROTOCOL.md §17): ten registries peered as a line, services on two
 * registries each, a registry restarted on an empty data dir, and half the
 * registries SIGKILLed. The deadlines are generous, for a busy CI machine;
 * the real times are measured by `node dist/scripts/sync-bench.js`
 * (docs/RELIABILITY.md), e.g. a record crosses the ten-registry line in
 * about a second and a registry joins with 1,000 records in a few.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ChildProcess } from 'node:child_process'

const BIN = fileURLToPath(new URL('../../src/cli/bin.js', import.meta.url))
const NETWORK = 'fedtest'
const LOOPBACK = ['--listen', '/ip4/127.0.0.1/tcp/0']
/** How long a registry or service may take to print its first event on a busy machine. */
const EVENT_TIMEOUT = 120_000
/** The deadline of each "eventually" (the issue's figures are 2 s and 5 s; see the file comment). */
const DEADLINE = 120_000

/** A `netget-peer` process printing JSON lines. */
class CliPeer {
  readonly child: ChildProcess
  readonly exited: Promise<void>
  stdout = ''
  stderr = ''

  constructor (args: string[]) {
    const env = { ...process.env }
    delete env.DEBUG
    this.child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    this.child.stdout?.setEncoding('utf8').on('data', (chunk: string) => { this.stdout += chunk })
    this.child.stderr?.setEncoding('utf8').on('data', (chunk: string) => { this.stderr += chunk })
    this.exited = new Promise(resolve => { this.child.on('close', () => { resolve() }) })
  }

  async event (name: string): Promise<Record<string, any>> {
    let found: Record<string, any> | undefined
    await eventually(() => {
      found = this.stdout.split('\n').filter(line => line.startsWith('{')).map(line => JSON.parse(line)).find(event => event.event === name)

      if (found === undefined && this.child.exitCode !== null) {
        throw new Error(`exited with ${this.child.exitCode} before "${name}": ${this.stderr}`)
      }

      return found !== undefined
    }, EVENT_TIMEOUT, true)
    return found as Record<string, any>
  }

  kill (signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill(signal)
    }
  }
}

async function eventually (check: () => boolean | Promise<boolean>, timeout = DEADLINE, rethrow = false): Promise<void> {
  const deadline = Date.now() + timeout
  let last: unknown

  for (;;) {
    try {
      if (await check()) {
        return
      }
    } catch (err) {
      if (rethrow) {
        throw err
      }

      last = err
    }

    if (Date.now() > deadline) {
      throw new Error(`not within ${timeout} ms${last === undefined ? '' : ` (last: ${String(last)})`}`)
    }

    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

interface Registry {
  peer: CliPeer
  address: string
  http: string
  dataDir: string
}

/** Live instances of `name` a registry's HTTP port lists (its own index: no DHT walk, no other registry). */
async function instancesAt (registry: Registry, name: string): Promise<string[]> {
  const response = await fetch(`${registry.http}/api/services/${name}`, { signal: AbortSignal.timeout(5_000) })

  if (response.status === 404) {
    return []
  }

  const body = await response.json() as { service: { instances: Array<{ peerId: string }> } }
  return body.service.instances.map(instance => instance.peerId).sort()
}

/** `discover NAME --json` through the one registry given: the instances' peer IDs. */
async function discoverVia (registry: Registry, name: string): Promise<string[]> {
  const peer = new CliPeer(['discover', name, '--network', NETWORK, '--registry', registry.address, '--json', '--timeout', '20000'])
  await peer.exited

  if (peer.child.exitCode !== 0) {
    throw new Error(`discover exited with ${peer.child.exitCode}: ${peer.stderr}`)
  }

  return (JSON.parse(peer.stdout) as { instances: Array<{ peerId: string }> }).instances.map(instance => instance.peerId).sort()
}

describe('registry federation (CLI processes)', function () {
  this.timeout(600_000)
  let dir: string
  const peers: CliPeer[] = []
  const registries: Registry[] = []
  const services: Array<{ peer: CliPeer, peerId: string }> = []

  async function startRegistry (dataDir: string, neighbours: string[]): Promise<Registry> {
    const peer = new CliPeer(['--bootstrap', '--json', '--network', NETWORK, ...LOOPBACK, '--data-dir', dataDir, '--http', '0', ...neighbours.flatMap(address => ['--registry', address])])
    peers.push(peer)
    const started = await peer.event('started')
    return { peer, address: started.bootstrapEntry.registryNodes.find((address: string) => !address.includes('/ws')), http: started.http, dataDir }
  }

  async function startService (name: string, at: Registry[]): Promise<{ peer: CliPeer, peerId: string }> {
    const peer = new CliPeer(['register', '--name', name, '--network', NETWORK, ...LOOPBACK, '--data-dir', join(dir, `service-${peers.length}`), '--json', '--timeout', '60000', ...at.flatMap(registry => ['--registry', registry.address])])
    peers.push(peer)
    const registered = await peer.event('registered')
    return { peer, peerId: registered.peerId }
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'netget-federation-'))

    // a line: each registry is started knowing only the one before it
    for (let i = 0; i < 10; i++) {
      registries.push(await startRegistry(join(dir, `registry-${i}`), i === 0 ? [] : [registries[i - 1].address]))
    }
  })

  after(async () => {
    peers.forEach(peer => { peer.kill() })
    await Promise.all(peers.map(async peer => peer.exited))
    await rm(dir, { recursive: true, force: true })
  })

  it('a service registered at registry 1 is discovered by a client that knows only registry 10', async () => {
    const service = await startService('line-api', [registries[0]])
    services.push(service)
    await eventually(async () => (await discoverVia(registries[9], 'line-api')).includes(service.peerId))
  })

  it('a registry restarted on an empty data dir holds as many instances as its peers', async () => {
    // services on two registries each, chosen at random
    services.push(...await Promise.all(Array.from({ length: 4 }, async () => startService('fed-api', [...registries].sort(() => Math.random() - 0.5).slice(0, 2)))))

    const all = services.filter((_, i) => i > 0).map(service => service.peerId).sort()
    await eventually(async () => (await instancesAt(registries[0], 'fed-api')).length === all.length)

    const old = registries[4]
    old.peer.kill()
    await old.peer.exited
    registries[4] = await startRegistry(join(dir, 'registry-4-empty'), [registries[3].address])
    await eventually(async () => JSON.stringify(await instancesAt(registries[4], 'fed-api')) === JSON.stringify(all))
    await eventually(async () => JSON.stringify(await instancesAt(registries[4], 'line-api')) === JSON.stringify([services[0].peerId]))
  })

  it('with 5 of 10 registries SIGKILLed, every live service is discovered through any surviving registry', async () => {
    const order = [...registries.keys()].sort(() => Math.random() - 0.5)
    const killed = order.slice(0, 5).map(i => registries[i])
    const survivors = order.slice(5).map(i => registries[i])
    killed.forEach(registry => { registry.peer.kill() })
    await Promise.all(killed.map(async registry => registry.peer.exited))
    const live = services.filter((_, i) => i > 0).map(service => service.peerId).sort()

    for (const registry of survivors) {
      await eventually(async () => {
        const found = await discoverVia(registry, 'fed-api')

        if (JSON.stringify(found) !== JSON.stringify(live)) {
          throw new Error(`found ${found.length} of ${live.length} through ${registry.address}`)
        }

        return true
      })
    }
  })
})

describe('one registry process serving two networks (CLI processes)', function () {
  this.timeout(300_000)
  let dir: string
  const peers: CliPeer[] = []

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'netget-networks-'))
  })

  after(async () => {
    peers.forEach(peer => { peer.kill() })
    await Promise.all(peers.map(async peer => peer.exited))
    await rm(dir, { recursive: true, force: true })
  })

  /** `discover NAME --json` on `network` through one registry: the instances' peer IDs, or the exit code. */
  async function discoverOn (network: string, address: string, name: string): Promise<string[] | number> {
    const peer = new CliPeer(['discover', name, '--network', network, '--registry', address, '--json', '--timeout', '20000'])
    await peer.exited
    return peer.child.exitCode === 0 ? (JSON.parse(peer.stdout) as { instances: Array<{ peerId: string }> }).instances.map(instance => instance.peerId).sort() : peer.child.exitCode ?? -1
  }

  it('keeps them isolated: one name registered on each network, each network finds only its own', async () => {
    const registryPeer = new CliPeer(['--bootstrap', '--json', '--network', 'net-a', '--network', 'net-b', ...LOOPBACK, '--data-dir', join(dir, 'registry'), '--http', '0'])
    peers.push(registryPeer)
    const started = await registryPeer.event('started')
    const address: string = started.bootstrapEntry.registryNodes.find((each: string) => !each.includes('/ws'))
    const registry: Registry = { peer: registryPeer, address, http: started.http, dataDir: join(dir, 'registry') }

    if (JSON.stringify(started.networks) !== JSON.stringify(['net-a', 'net-b'])) {
      throw new Error(`started serving ${JSON.stringify(started.networks)}`)
    }

    const register = async (network: string): Promise<string> => {
      const peer = new CliPeer(['register', '--name', 'orders', '--network', network, ...LOOPBACK, '--data-dir', join(dir, `service-${network}`), '--json', '--timeout', '60000', '--registry', address])
      peers.push(peer)
      return (await peer.event('registered')).peerId
    }
    const onA = await register('net-a')
    const onB = await register('net-b')

    await eventually(async () => JSON.stringify(await discoverOn('net-a', address, 'orders')) === JSON.stringify([onA]))
    await eventually(async () => JSON.stringify(await discoverOn('net-b', address, 'orders')) === JSON.stringify([onB]))
    // a network the process does not serve: not found there (exit code of "not found" or "no registry")
    const elsewhere = await discoverOn('net-c', address, 'orders')

    if (Array.isArray(elsewhere)) {
      throw new Error(`net-c found ${JSON.stringify(elsewhere)}`)
    }

    const listed = async (network: string): Promise<string[]> => {
      const response = await fetch(`${registry.http}/api/services/orders?network=${network}`, { signal: AbortSignal.timeout(5_000) })
      const body = await response.json() as { network: string, service: { instances: Array<{ peerId: string }> } }
      return [body.network, ...body.service.instances.map(instance => instance.peerId)]
    }

    if (JSON.stringify(await listed('net-a')) !== JSON.stringify(['net-a', onA]) || JSON.stringify(await listed('net-b')) !== JSON.stringify(['net-b', onB])) {
      throw new Error(`the HTTP port lists ${JSON.stringify([await listed('net-a'), await listed('net-b')])}`)
    }
  })
})

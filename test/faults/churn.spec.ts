/**
 * Churn: 20 service nodes (5 services × 4 instances) in 10 child processes
 * of 2 nodes each, one registry and one observer. Half the service nodes —
 * 5 processes — are SIGKILLed at once. Every surviving instance must stay discoverable, and
 * the observer must flag every dead one unhealthy within the documented
 * health window (README, "Health": failureThreshold × (interval + timeout) + timeout).
 */
import { expect } from 'chai'
import { createTestnet, TESTNET_TIMERS } from '../../src/testing/index.js'
import { healthWindow } from '../../src/index.js'
import { tally } from './fixtures/figures.js'
import { waitFor } from './fixtures/hostile-peer.js'
import { killAllServices, spawnServices } from './fixtures/processes.js'
import type { HostedNode, ServiceProcess } from './fixtures/processes.js'
import type { Netget, ServiceInstance } from '../../src/index.js'
import type { Testnet } from '../../src/testing/index.js'

const NETWORK = 'churn'
const SERVICES = ['auth', 'billing', 'catalog', 'db', 'edge']
const INSTANCES = 4
const NODES_PER_PROCESS = 2
const HEALTH_WINDOW = healthWindow(TESTNET_TIMERS.healthInterval, TESTNET_TIMERS.healthTimeout, TESTNET_TIMERS.healthFailureThreshold)

describe('Churn', function () {
  this.timeout(180_000)
  let testnet: Testnet
  let observer: Netget
  let processes: ServiceProcess[] = []

  before(async () => {
    testnet = await createTestnet(0, { network: NETWORK })
    const started = Date.now()
    // node n is instance ⌊n/5⌋ of SERVICES[n % 5]; process p hosts nodes 2p and 2p+1
    const layout = Array.from({ length: SERVICES.length * INSTANCES }, (_, n) => ({ name: SERVICES[n % SERVICES.length], instance: Math.floor(n / SERVICES.length) }))
    processes = await Promise.all(Array.from({ length: layout.length / NODES_PER_PROCESS }, async (_, p) => spawnServices(NETWORK, testnet.registryNodes, layout.slice(p * NODES_PER_PROCESS, (p + 1) * NODES_PER_PROCESS))))
    console.log(`      ${layout.length} service nodes in ${processes.length} processes registered in ${Date.now() - started} ms`)
    observer = testnet.createNode()
  })

  after(async () => {
    await Promise.all(processes.map(async service => { await service.stop() }))
    await killAllServices()
    await testnet?.destroy()
  })

  it('SIGKILL half the service nodes: survivors stay discoverable, the dead turn unhealthy within the health window', async () => {
    // the observer discovers and tracks all 20 instances
    await waitFor(async () => {
      const found = await Promise.all(SERVICES.map(async name => observer.discoverServiceNode(name).catch(() => [] as ServiceInstance[])))
      return found.every(instances => instances.length === INSTANCES && instances.every(instance => instance.health.status === 'healthy'))
    }, 30_000, 'all 20 instances discovered healthy')

    // every other process: each service loses 2 of its 4 instances
    const killedProcesses = processes.filter((_, p) => p % 2 === 0)
    const victims: HostedNode[] = killedProcesses.flatMap(service => service.nodes)
    const survivors: HostedNode[] = processes.filter((_, p) => p % 2 === 1).flatMap(service => service.nodes)
    for (const name of SERVICES) { expect(survivors.filter(node => node.name === name)).to.have.length(2) }
    // the observer learns of deaths from the registry's attestations, pushed to its watches: it pings nobody
    const unhealthyAt = new Map<string, number>()
    const watches = SERVICES.map(name => observer.watch(name))
    await Promise.all(watches.map(async watch => watch.ready))
    for (const watch of watches) {
      watch.addEventListener('health', ({ detail }) => {
        if (detail.instance.health.status === 'unhealthy' && !unhealthyAt.has(detail.instance.peerId)) { unhealthyAt.set(detail.instance.peerId, Date.now()) }
      })
    }

    const killedAt = Date.now()
    await Promise.all(killedProcesses.map(async service => service.kill()))
    const killMs = Date.now() - killedAt

    // discovery keeps working while the dead are being detected
    let discoveriesDuringWindow = 0
    let failedDuringWindow = 0
    while (Date.now() - killedAt < HEALTH_WINDOW * 2) {
      const results = await Promise.allSettled(SERVICES.map(async name => observer.discoverServiceNode(name)))
      discoveriesDuringWindow += results.length
      failedDuringWindow += results.filter(result => result.status === 'rejected').length
    }

    await waitFor(() => victims.every(victim => unhealthyAt.has(victim.peerId)), 10_000, 'every killed instance flagged unhealthy')
    await Promise.all(watches.map(async watch => { await watch.close() }))
    const delays = victims.map(victim => (unhealthyAt.get(victim.peerId) as number) - killedAt)
    const maxDelay = Math.max(...delays)

    // every survivor, and only the survivors, are returned
    let survivorsLost = 0
    let deadReturned = 0
    for (const name of SERVICES) {
      const found = await observer.discoverServiceNode(name)
      const expected = survivors.filter(service => service.name === name).map(service => service.peerId).sort()
      const got = found.map(instance => instance.peerId).sort()
      survivorsLost += expected.filter(peerId => !got.includes(peerId)).length
      deadReturned += got.filter(peerId => !expected.includes(peerId)).length
    }

    const figures = {
      nodes: victims.length + survivors.length + 2,
      serviceNodes: victims.length + survivors.length,
      serviceProcesses: processes.length,
      killed: victims.length,
      processesKilled: killedProcesses.length,
      killSignal: 'SIGKILL',
      survivorsLost,
      deadReturnedAfterWindow: deadReturned,
      healthWindowMs: HEALTH_WINDOW,
      timeToUnhealthyMs: { min: Math.min(...delays), median: delays.sort((a, b) => a - b)[delays.length >> 1], max: maxDelay },
      discoveriesDuringWindow,
      failedDuringWindow
    }
    tally('churn', figures)
    console.log(`      killed ${victims.length} of ${victims.length + survivors.length} nodes (${killedProcesses.length} processes) in ${killMs} ms; unhealthy after ${figures.timeToUnhealthyMs.min}–${maxDelay} ms (window ${HEALTH_WINDOW} ms); ${survivorsLost} survivors lost; ${failedDuringWindow}/${discoveriesDuringWindow} discoveries failed meanwhile`)

    expect(survivorsLost).to.equal(0)
    expect(deadReturned).to.equal(0)
    expect(failedDuringWindow).to.equal(0)
    expect(maxDelay).to.be.at.most(HEALTH_WINDOW)
  })
})

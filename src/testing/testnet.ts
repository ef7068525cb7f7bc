import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Netget } from '../netget.js'
import type { NetgetInit } from '../options/index.js'

/** Timers that make a testnet react in milliseconds instead of minutes. */
export const TESTNET_TIMERS = {
  recordTtl: 30_000,
  reannounceInterval: 5_000,
  reannounceJitter: 0,
  healthInterval: 200,
  // generous: a refused dial fails at once anyway, and a loaded CI machine can take a second to set up a connection
  healthTimeout: 3_000,
  healthFailureThreshold: 2,
  operationTimeout: 15_000,
  requestTimeout: 2_000,
  dialTimeout: 2_000,
  redialMinDelay: 50,
  redialMaxDelay: 400,
  recordCleanupInterval: 1_000
} satisfies NetgetInit

/** Options of {@link createTestnet}. */
export interface TestnetOptions {
  /** Network name. @default 'testnet' */
  network?: string
  /** How many registry nodes to start. @default 1 */
  registries?: number
  /** Options merged into every node's options (after the fast timers). */
  nodeOptions?: NetgetInit
}

/** A running test network on 127.0.0.1. */
export interface Testnet {
  /** The network's name. */
  network: string
  /** The registry nodes, started. */
  registries: Netget[]
  /** Their TCP multiaddrs (with /p2p/), to pass as `registryNodes`. */
  registryNodes: string[]
  /** The nodes made by {@link createTestnet} and {@link Testnet.createNode}. */
  nodes: Netget[]
  /** A fresh temporary directory, deleted by {@link Testnet.destroy}. */
  dataDir(label: string): string
  /** Creates (not starts) a node on this network with fast timers; it is stopped by {@link Testnet.destroy}. */
  createNode(init?: NetgetInit): Netget
  /**
   * Starts a registry on `dataDir` (a new one if omitted), with `init` merged
   * into its options (a closed network's `privateKey` and `credential`, say),
   * and adds it to {@link Testnet.registries}.
   */
  startRegistry(dataDir?: string, init?: NetgetInit): Promise<Netget>
  /** Stops every node and registry and deletes the temporary directories. */
  destroy(): Promise<void>
}

/**
 * Starts a netget network on 127.0.0.1: `options.registries` registry nodes
 * (persisting to temporary directories) and `size` service nodes, with fast
 * timers. Used by netget's own tests; use it in yours.
 *
 * @example
 * ```ts
 * const testnet = await createTestnet(2)
 * await testnet.createNode({ metadata: { name: 'api' } }).registerWithNetwork()
 * await testnet.nodes[0].discoverServiceNode('api')
 * await testnet.destroy()
 * ```
 */
export async function createTestnet (size = 0, options: TestnetOptions = {}): Promise<Testnet> {
  const network = options.network ?? 'testnet'
  const root = await mkdtemp(join(tmpdir(), 'netget-testnet-'))
  let counter = 0
  const all: Netget[] = []

  const testnet: Testnet = {
    network,
    registries: [],
    registryNodes: [],
    nodes: [],
    dataDir (label) {
      return join(root, `${label}-${counter++}`)
    },
    createNode (init = {}) {
      const node = new Netget({
        network,
        listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'],
        dataDir: false,
        registryNodes: testnet.registryNodes,
        ...TESTNET_TIMERS,
        ...options.nodeOptions,
        ...init
      })
      all.push(node)
      testnet.nodes.push(node)
      return node
    },
    async startRegistry (dataDir, init = {}) {
      const registry = new Netget({
        nodeType: 'registry',
        network,
        listen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'],
        dataDir: dataDir ?? testnet.dataDir('registry'),
        registryNodes: [...testnet.registryNodes],
        ...TESTNET_TIMERS,
        ...options.nodeOptions,
        ...init
      })
      all.push(registry)
      await registry.start()
      testnet.registries.push(registry)
      const address = registry.multiaddrs.find(address => !address.includes('/ws'))

      if (address !== undefined && !testnet.registryNodes.includes(address)) {
        testnet.registryNodes.push(address)
      }

      return registry
    },
    async destroy () {
      await Promise.all(all.map(async node => { await node.stop() }))
      await rm(root, { recursive: true, force: true })
    }
  }

  try {
    for (let i = 0; i < (options.registries ?? 1); i++) {
      await testnet.startRegistry()
    }

    await Promise.all(Array.from({ length: size }, async () => { await testnet.createNode().start() }))
  } catch (err) {
    await testnet.destroy()
    throw err
  }

  return testnet
}

/**
 * The hyperdht testnet's process in the benchmark: `createTestnet` on
 * 127.0.0.1 (the first node is the bootstrap node), whose nodes announce
 * topics when the parent asks. The querying node runs in another process
 * (`hyperdht-querier-worker.ts`), as netget's clients do.
 *
 * Usage: forked by `hyperdht.js` (with `--expose-gc`); not meant to be started by hand.
 *
 * @packageDocumentation
 */

/// <reference path="./hyperdht-types.d.ts" />

import { randomBytes } from 'node:crypto'
import { performance } from 'node:perf_hooks'
import HyperDHT from 'hyperdht'
import createTestnet from 'hyperdht/testnet.js'
import { drain, settledRss, TESTNET_HOST } from './hyperdht-query.js'
import { serve } from './ipc.js'
import type { AnnouncedTopic } from './hyperdht-query.js'
import type { HostPort } from 'hyperdht'
import type { Testnet } from 'hyperdht/testnet.js'

/** Size of a random topic, in bytes (hyperdht targets are 32 bytes). */
const TOPIC_BYTES = 32

/** Bound on one announce, in ms; a trial that hits it fails. */
const ANNOUNCE_TIMEOUT_MS = 10_000

/** What {@link handlers.start} reports. */
export interface TestnetStarted {
  /** Bootstrap addresses for nodes in other processes. */
  bootstrap: HostPort[]
  /** Every testnet node's address, in testnet order. */
  addresses: HostPort[]
  /** RSS growth of this process across `createTestnet`, divided by its nodes, in bytes. */
  rssBytesPerNode: number
}

let testnet: Testnet | undefined

function started (): Testnet {
  if (testnet === undefined) {
    throw new Error('the testnet has not been started')
  }
  return testnet
}

/** What the parent can ask the testnet process to do. */
export const handlers = {
  /** Creates a testnet of `nodes` nodes. */
  async start (params: { nodes: number }): Promise<TestnetStarted> {
    const before = settledRss()
    testnet = await createTestnet(params.nodes, { host: TESTNET_HOST })
    const rssBytesPerNode = Math.max(0, settledRss() - before) / params.nodes
    const addresses = testnet.nodes.map(node => {
      const address = node.address()
      if (address === null) {
        throw new Error('a testnet node has no address')
      }
      return { host: TESTNET_HOST, port: address.port }
    })

    return { bootstrap: testnet.bootstrap, addresses, rssBytesPerNode }
  },

  /** Node `trial % n` announces a fresh topic under a fresh key pair; times the announce query to its end. */
  async announce (params: { trial: number }): Promise<AnnouncedTopic & { ms: number }> {
    const { nodes } = started()
    const announcer = nodes[params.trial % nodes.length]
    const topic = randomBytes(TOPIC_BYTES)
    const keyPair = HyperDHT.keyPair()
    const start = performance.now()
    await drain(announcer.announce(topic, keyPair), AbortSignal.timeout(ANNOUNCE_TIMEOUT_MS))
    const ms = performance.now() - start

    return { topic: topic.toString('hex'), publicKey: keyPair.publicKey.toString('hex'), ms }
  },

  /** This process's CPU time so far (user + system, µs) and the wall clock of the reading (ms). */
  async cpu (): Promise<{ cpuMicros: number, atMs: number }> {
    const usage = process.cpuUsage()
    return { cpuMicros: usage.user + usage.system, atMs: performance.timeOrigin + performance.now() }
  }
}

serve(handlers, async () => { await testnet?.destroy() })

/**
 * Flood: one connection puts records of `payments` signed by thousands of
 * fresh Ed25519 keys (each key is free), then a real instance registers.
 * With default quotas the registry must store only what one connection may
 * deliver (`maxRecordsPerConnection`, `putsPerSecond`), stay within a memory
 * bound, and default discovery must return the real instance.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { lpStream } from '@libp2p/utils'
import { expect } from 'chai'
import { DEFAULT_MAX_RECORDS_PER_CONNECTION } from '../../src/constants.js'
import { dhtProtocol } from '../../src/index.js'
import { encodePutValue } from '../../src/protocol/direct-put.js'
import { createTestnet } from '../../src/testing/index.js'
import { junkEntries, lookupAll } from '../store-helpers.js'
import { tally } from './fixtures/figures.js'
import type { Netget } from '../../src/index.js'
import type { Testnet } from '../../src/testing/index.js'
import type { PeerId } from '@libp2p/interface'

const NETWORK = 'flood'
const NAME = 'payments'

/** How much the registry's process may grow while it is flooded, in bytes (generous: one process holds every node here). */
const RSS_BOUND = 200 * 1024 * 1024

interface FloodResult {
  stored: number
  refused: number
  streams: number
}

/**
 * What an attacker that does not give up does over one connection: puts
 * `count` records, each signed by a fresh key, one after another on a kad
 * stream; when the registry refuses one (it resets the stream) it opens a new
 * stream on the same connection and goes on with the next record. Keys are
 * made in batches, so the test's own memory stays out of the figures.
 */
async function flood (attacker: Netget, registry: PeerId, count: number): Promise<FloodResult> {
  const result: FloodResult = { stored: 0, refused: 0, streams: 0 }

  for (let done = 0; done < count; done += 500) {
    const entries = await junkEntries(NETWORK, NAME, Math.min(500, count - done))
    let i = 0

    while (i < entries.length) {
      const stream = await attacker.libp2p.dialProtocol(registry, dhtProtocol(NETWORK), { signal: AbortSignal.timeout(10_000) })
      const messages = lpStream(stream, { maxDataLength: 64 * 1024 })
      result.streams++

      try {
        for (; i < entries.length; i++) {
          const signal = AbortSignal.timeout(10_000)
          await messages.write(encodePutValue(entries[i].key, entries[i].value), { signal })
          await messages.read({ signal })
          result.stored++
        }

        await stream.close()
      } catch {
        result.refused++
        i++
        stream.abort(new Error('refused'))
      }
    }
  }

  return result
}

/** The process's resident memory after a full garbage collection, in bytes. */
function rss (): number {
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
  gc()
  return process.memoryUsage().rss
}

describe('Flood: one connection, thousands of free keys', function () {
  this.timeout(300_000)
  let testnet: Testnet | undefined

  afterEach(async () => {
    await testnet?.destroy()
    testnet = undefined
  })

  for (const keys of [1_100, 5_000]) {
    it(`stores what one connection may deliver of ${keys.toLocaleString('en')} records signed by fresh keys, and discovery returns the real instance`, async () => {
      testnet = await createTestnet(0, { network: NETWORK })
      const registry = testnet.registries[0]
      const registryPeer = registry.libp2p.peerId
      const attacker = testnet.createNode()
      await attacker.start()
      const before = rss()
      const started = performance.now()

      const result = await flood(attacker, registryPeer, keys)
      const floodMs = Math.round(performance.now() - started)
      const after = rss()
      // every put came over one connection
      expect(registry.libp2p.getConnections(attacker.libp2p.peerId)).to.have.length(1)

      const honest = testnet.createNode({ metadata: { name: NAME } })
      await honest.registerWithNetwork()
      const client = testnet.createNode()
      await client.start()
      const discoveryStarted = performance.now()
      const found = await client.discoverServiceNode(NAME)
      const discoveryMs = Math.round(performance.now() - discoveryStarted)
      const storedNow = (await lookupAll(client, registryPeer, NETWORK, NAME)).filter(record => record.peerId !== honest.peerId).length

      const figures = { keys, putsStored: result.stored, putsRefused: result.refused, streams: result.streams, recordsStored: storedNow, floodMs, registryRssBeforeMb: Math.round(before / 2 ** 20), registryRssAfterMb: Math.round(after / 2 ** 20), discoveryMs }
      console.log('      ', figures)
      tally('flood', { [`keys${keys}`]: figures })

      expect(found.map(instance => instance.peerId)).to.deep.equal([honest.peerId])
      expect(result.stored).to.be.at.most(DEFAULT_MAX_RECORDS_PER_CONNECTION)
      expect(storedNow).to.equal(result.stored)
      expect(result.stored + result.refused).to.equal(keys)
      expect(after - before).to.be.below(RSS_BOUND)
    })
  }
})

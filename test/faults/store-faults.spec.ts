/**
 * Store faults: a lookup flood on every stream one connection may open,
 * against a registry holding 15.5 MB of records of one name; and a
 * registry's start-up over thousands of maximum-size records on disk. Answers
 * must stay within their byte bound, honest discovery must keep working, and
 * start-up must not hold the envelopes in memory.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Record as DhtRecord } from '@libp2p/kad-dht'
import { expect } from 'chai'
import { LevelDatastore } from 'datastore-level'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { MAX_LOOKUP_PAGE_BYTES, MAX_RECORD_BYTES } from '../../src/constants.js'
import { lookupProtocol } from '../../src/index.js'
import { dhtDatastorePrefix } from '../../src/protocol/ids.js'
import { storedRecordKey } from '../../src/records/validator.js'
import { RecordIndex } from '../../src/registry/record-index.js'
import { createTestnet } from '../../src/testing/index.js'
import { heapAfterGc } from '../helpers.js'
import { putOverOneStream, rawLookup, signedEntry } from '../store-helpers.js'
import { tally } from './fixtures/figures.js'
import type { Testnet } from '../../src/testing/index.js'
import type { Logger } from '@libp2p/interface'
import { logger } from '@libp2p/logger'

const NETWORK = 'storefaults'

/** Metadata and addresses that make an envelope of about 15.5 KB, under the 16 KB limit. */
function bulk (i: number): { metadata: Record<string, unknown>, multiaddrs: string[] } {
  return {
    metadata: { blob: 'x'.repeat(8000) },
    multiaddrs: Array.from({ length: 31 }, (_, j) => `/dns4/${String(i).padStart(8, '0')}-${j}-${'a'.repeat(200)}.example/tcp/4001`)
  }
}

/** A junk record of about 15.5 KB signed by a throwaway key. */
async function bigEntry (name: string, i: number, ttl?: number): ReturnType<typeof signedEntry> {
  const { metadata, multiaddrs } = bulk(i)
  const entry = await signedEntry(NETWORK, name, { metadata, ttl })
  // signedEntry seals without addresses: seal again with them
  const { sealRecord } = await import('../../src/index.js')
  const value = await sealRecord({ ...entry.record, multiaddrs }, entry.privateKey)
  return { ...entry, value }
}

describe('Store faults', function () {
  this.timeout(300_000)
  let testnet: Testnet | undefined

  afterEach(async () => {
    await testnet?.destroy()
    testnet = undefined
  })

  it('a lookup flood on 32 pipelined streams gets answers of at most 1 MiB, and honest discovery keeps working', async () => {
    // 1,000 puts over one connection: lift the per-connection quota and put rate (test/faults/flood.spec.ts tests those)
    testnet = await createTestnet(0, { network: NETWORK, nodeOptions: { storeQuotas: { maxRecordsPerConnection: 10_000, putBurst: 10_000 } } })
    const registryPeer = testnet.registries[0].libp2p.peerId
    const attacker = testnet.createNode()
    await attacker.start()
    const junk = await Promise.all(Array.from({ length: 1000 }, async (_, i) => bigEntry('big', i)))
    expect(junk.every(entry => entry.value.byteLength <= MAX_RECORD_BYTES)).to.equal(true)
    const storedBytes = junk.reduce((sum, entry) => sum + entry.value.byteLength, 0)
    expect(await putOverOneStream(attacker, registryPeer, NETWORK, junk)).to.equal(1000)
    junk.length = 0
    const honest = testnet.createNode({ metadata: { name: 'api' } })
    await honest.registerWithNetwork()
    const client = testnet.createNode()
    await client.start()

    const quiet: number[] = []

    for (let i = 0; i < 20; i++) {
      const started = performance.now()
      await client.discoverServiceNode('api', { checkHealth: false })
      quiet.push(performance.now() - started)
    }

    // the largest answer one 20-byte request gets
    const page = await rawLookup(attacker, registryPeer, NETWORK, { name: 'big' })
    const answerBytes = page.envelopes.reduce((sum, envelope) => sum + envelope.byteLength, 0)
    expect(answerBytes).to.be.at.most(MAX_LOOKUP_PAGE_BYTES)

    // the flood: 32 streams, each with 200 pipelined requests, never read
    const request = uint8ArrayFromString(JSON.stringify({ name: 'big' }))
    const frame = new Uint8Array([request.byteLength, ...request])
    const streams = await Promise.all(Array.from({ length: 32 }, async () => attacker.libp2p.dialProtocol(registryPeer, lookupProtocol(NETWORK), { signal: AbortSignal.timeout(10_000) })))
    let refused = 0
    streams.forEach(stream => {
      stream.addEventListener('close', () => { refused++ }, { once: true })
      for (let i = 0; i < 200; i++) { stream.send(frame) }
    })
    const flooded: number[] = []
    let failures = 0

    for (let i = 0; i < 20; i++) {
      const started = performance.now()
      await client.discoverServiceNode('api', { checkHealth: false }).catch(() => { failures++ })
      flooded.push(performance.now() - started)
    }

    streams.forEach(stream => { stream.abort(new Error('done')) })
    const p50 = (values: number[]): number => Math.round(values.sort((a, b) => a - b)[Math.floor(values.length / 2)])
    const figures = { storedBytes, answerBytes, answerRecords: page.envelopes.length, discoveryQuietP50Ms: p50(quiet), discoveryFloodedP50Ms: p50(flooded), discoveryFloodedMaxMs: Math.round(Math.max(...flooded)), discoveryFailures: failures, floodStreamsEnded: refused }
    console.log('      ', figures)
    tally('store', { flood: figures })
    expect(failures).to.equal(0)
    expect(testnet.registries[0].status).to.equal('started')
  })

  it('starts over 8,000 records of 15.5 KB on disk without holding them, deleting 1,000 expired ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'netget-store-'))
    let level = new LevelDatastore(dir)
    await level.open()
    const prefix = dhtDatastorePrefix(NETWORK)
    const quiet: Logger = logger('netget:test:store')

    try {
      let envelopeBytes = 0
      const writer = new RecordIndex({ network: NETWORK, datastore: level, datastorePrefix: prefix, log: quiet, quotas: { maxRelayedRecordsPerName: 20_000, maxRelayedRecords: 20_000 } })

      for (let i = 0; i < 9000; i += 500) {
        const batch = await Promise.all(Array.from({ length: 500 }, async (_, j) => bigEntry(`svc${(i + j) % 10}`, i + j, i + j < 1000 ? 30_000 : undefined)))

        for (const entry of batch) {
          await writer.datastore.put(storedRecordKey(prefix, entry.key), new DhtRecord(entry.key, entry.value, new Date()).serialize())
          envelopeBytes += i >= 1000 ? entry.value.byteLength : 0
        }
      }

      // a restart: the store reopened, nothing in memory but what load() builds
      await level.close()
      level = new LevelDatastore(dir)
      await level.open()
      const before = heapAfterGc()
      const reader = new RecordIndex({ network: NETWORK, datastore: level, datastorePrefix: prefix, log: quiet })
      const started = performance.now()
      await reader.load(Date.now() + 60_000)
      const loadMs = Math.round(performance.now() - started)
      const memory = heapAfterGc() - before
      const figures = { records: reader.size, envelopeBytes: reader.usage.bytes, loadMs, indexMemoryBytes: memory, bytesPerRecord: Math.round(memory / reader.size) }
      console.log('      ', figures)
      tally('store', { startup: figures })
      expect(reader.size).to.equal(8000)
      expect(reader.usage.bytes).to.equal(envelopeBytes)
      expect(memory).to.be.below(8000 * 1024)
      expect(loadMs).to.be.below(120_000)
    } finally {
      await level.close()
      await rm(dir, { recursive: true, force: true })
    }
  })
})

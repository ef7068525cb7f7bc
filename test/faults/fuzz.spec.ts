/**
 * Fuzz: the record decoder, the envelope verifier and the kad validator over
 * generated input. Every input must either be accepted as exactly what its
 * signer published, or be refused with InvalidRecordError. Anything else
 * thrown is a crash; anything else accepted is a forgery.
 *
 * Seeded and reproducible: FUZZ_SEED=<n> npm run test:faults -- --grep Fuzz
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Record as DhtRecord } from '@libp2p/kad-dht'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RecordEnvelope } from '@libp2p/peer-record'
import { expect } from 'chai'
import { MemoryDatastore } from 'datastore-core'
import fc from 'fast-check'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { MAX_RECORD_BYTES } from '../../src/constants.js'
import { dhtDatastorePrefix } from '../../src/protocol/ids.js'
import { decodeRecord, RECORD_DOMAIN, RECORD_PAYLOAD_TYPE, sealRecord } from '../../src/records/record.js'
import { createRecordValidator, selectRecord, storedRecordKey } from '../../src/records/validator.js'
import { peekRecord, verifyRecord } from '../../src/records/verify.js'
import { recordKey } from '../../src/records/keys.js'
import { tally } from './fixtures/figures.js'
import type { ServiceRecord } from '../../src/records/record.js'
import type { PrivateKey } from '@libp2p/interface'

export const FUZZ_SEED = Number.parseInt(process.env.FUZZ_SEED ?? '20261122', 10)
const NETWORK = 'fuzznet'
const NAME = 'DatabaseService'

/** Rejections must be InvalidRecordError; anything else escaping is a crash. */
async function outcome (run: () => unknown): Promise<'accepted' | 'rejected'> {
  try {
    await run()
    return 'accepted'
  } catch (err) {
    if ((err as Error).name !== 'InvalidRecordError') {
      throw new Error(`crash: ${(err as Error).name}: ${(err as Error).message}`, { cause: err })
    }

    return 'rejected'
  }
}

/** A payload the signer chooses freely: the attacker's own bytes under the netget domain. */
class RawPayload {
  readonly domain = RECORD_DOMAIN
  readonly codec: Uint8Array
  private readonly bytes: Uint8Array

  constructor (bytes: Uint8Array, codec = RECORD_PAYLOAD_TYPE) {
    this.bytes = bytes
    this.codec = codec
  }

  marshal (): Uint8Array { return this.bytes }
  equals (): boolean { return false }
}

function sameRecord (a: ServiceRecord, b: ServiceRecord): boolean {
  return JSON.stringify([a.network, a.name, a.peerId, a.multiaddrs, a.metadata, a.seq, a.expiresAt, a.withdrawn]) ===
    JSON.stringify([b.network, b.name, b.peerId, b.multiaddrs, b.metadata, b.seq, b.expiresAt, b.withdrawn])
}

/** Any JSON value, with deep nesting and odd numbers now and then. */
const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 4 }),
  fc.constantFrom(null, -1, 0, 1.5, 2 ** 53, -(2 ** 53), Number.MAX_VALUE, '', [], {}),
  // deep nesting is spliced in as text by toJsonText (fast-check cannot print it)
  fc.integer({ min: 1, max: 7_000 }).map(depth => `__DEEP_${depth}__`)
)

/** JSON text of a generated payload, with `__DEEP_n__` markers replaced by n nested arrays. */
function toJsonText (value: unknown): string {
  return (JSON.stringify(value) ?? 'null').replace(/"__DEEP_(\d+)__"/g, (_match, depth: string) => '['.repeat(Number(depth)) + ']'.repeat(Number(depth)))
}

describe('Fuzz: record decoder and validator', function () {
  this.timeout(240_000)
  let honestKey: PrivateKey
  let attackerKey: PrivateKey
  let honestId: string
  let attackerId: string
  let honest: ServiceRecord
  let honestEnvelope: Uint8Array
  const stats = { tried: 0, accepted: 0, forgeriesAccepted: 0 }

  before(async () => {
    console.log(`      fast-check seed: ${FUZZ_SEED} (set FUZZ_SEED to replay another)`)
    honestKey = await generateKeyPair('Ed25519')
    attackerKey = await generateKeyPair('Ed25519')
    honestId = peerIdFromPrivateKey(honestKey).toString()
    attackerId = peerIdFromPrivateKey(attackerKey).toString()
    honest = {
      network: NETWORK,
      name: NAME,
      peerId: honestId,
      multiaddrs: [`/ip4/127.0.0.1/tcp/4001/p2p/${honestId}`],
      metadata: { name: NAME, version: '1.4.0' },
      seq: 1_000,
      expiresAt: Date.now() + 600_000,
      withdrawn: false
    }
    honestEnvelope = await sealRecord(honest, honestKey)
  })

  after(() => {
    console.log(`      fuzz: ${stats.tried} inputs, ${stats.accepted} accepted (all genuine), ${stats.forgeriesAccepted} forgeries accepted, 0 crashes`)
    tally('fuzz', stats)
  })

  it('random bytes never verify and never crash the verifier', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 2048 }), async bytes => {
      stats.tried++
      expect(await outcome(async () => verifyRecord(bytes, { network: NETWORK }))).to.equal('rejected')
      expect(await outcome(() => decodeRecord(bytes))).to.be.oneOf(['rejected', 'accepted'])
      expect(() => peekRecord(bytes)).to.not.throw()
    }), { seed: FUZZ_SEED, numRuns: 3_000 })
  })

  it('a mutated honest envelope is either refused or yields the exact honest record', async () => {
    const mutation = fc.oneof(
      // flip bits
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 4 }).map(flips => (bytes: Uint8Array) => {
        const copy = bytes.slice()
        for (const [at, mask] of flips) { copy[at % copy.length] ^= mask }
        return copy
      }),
      // truncate
      fc.nat().map(cut => (bytes: Uint8Array) => bytes.subarray(0, cut % bytes.length)),
      // splice random bytes in
      fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 64 })).map(([at, junk]) => (bytes: Uint8Array) => {
        const i = at % bytes.length
        return Uint8Array.from([...bytes.subarray(0, i), ...junk, ...bytes.subarray(i)])
      }),
      // append
      fc.uint8Array({ minLength: 1, maxLength: 64 }).map(junk => (bytes: Uint8Array) => Uint8Array.from([...bytes, ...junk]))
    )

    await fc.assert(fc.asyncProperty(mutation, async mutate => {
      stats.tried++
      const bytes = mutate(honestEnvelope)
      let record: ServiceRecord | undefined
      const result = await outcome(async () => { record = await verifyRecord(bytes, { network: NETWORK, name: NAME, peerId: honestId }) })

      if (result === 'accepted') {
        stats.accepted++
        if (record === undefined || !sameRecord(record, honest)) { stats.forgeriesAccepted++ }
        expect(record !== undefined && sameRecord(record, honest), 'accepted a changed record').to.equal(true)
      }
    }), { seed: FUZZ_SEED, numRuns: 3_000 })
  })

  it('records the attacker signs itself: only its own, well-formed, unexpired ones pass', async () => {
    const field = <T>(good: T): fc.Arbitrary<unknown> => fc.oneof({ weight: 3, arbitrary: fc.constant(good) }, { weight: 1, arbitrary: anyJson })
    const forged = fc.record({
      v: field(1),
      network: fc.oneof(fc.constant(NETWORK), fc.constantFrom('production', 'development', 'FuzzNet', '', 'fuzznet ', '../fuzznet'), anyJson),
      name: fc.oneof(fc.constant(NAME), fc.constantFrom('Other', '', 'a'.repeat(65), '.x', 'x/y'), anyJson),
      peerId: fc.constantFrom('attacker', 'honest', 'garbage'),
      multiaddrs: fc.oneof(fc.constant(['/ip4/127.0.0.1/tcp/1']), fc.array(fc.oneof(fc.string(), fc.constant('/ip4/1.2.3.4/tcp/5'), anyJson), { maxLength: 40 }), anyJson),
      metadata: fc.oneof(fc.constant({ name: NAME }), fc.dictionary(fc.string({ maxLength: 8 }), anyJson, { maxKeys: 4 }), fc.constant({ big: 'x'.repeat(9_000) }), anyJson),
      seq: fc.oneof(fc.constant(1), fc.integer(), fc.double(), anyJson),
      expiresAt: fc.oneof(fc.constantFrom('past', 'soon', 'far'), fc.integer(), anyJson),
      withdrawn: field(false)
    }, { requiredKeys: [] })
    const payloadType = fc.oneof({ weight: 5, arbitrary: fc.constant(RECORD_PAYLOAD_TYPE) }, { weight: 1, arbitrary: fc.uint8Array({ maxLength: 30 }) })

    await fc.assert(fc.asyncProperty(forged, payloadType, async (fields, codec) => {
      stats.tried++
      const now = Date.now()
      const payload: Record<string, unknown> = { ...fields }
      if ('peerId' in fields) { payload.peerId = fields.peerId === 'attacker' ? attackerId : fields.peerId === 'honest' ? honestId : 'QmNotAPeer' }
      if (fields.expiresAt === 'past') { payload.expiresAt = now - 1 } else if (fields.expiresAt === 'soon') { payload.expiresAt = now + 60_000 } else if (fields.expiresAt === 'far') { payload.expiresAt = now + 30 * 86_400_000 }
      const envelope = await RecordEnvelope.seal(new RawPayload(uint8ArrayFromString(toJsonText(payload)), codec), attackerKey)
      const bytes = envelope.marshal()
      let record: ServiceRecord | undefined
      // The reader asks for the honest peer's key: nothing the attacker signs may pass.
      expect(await outcome(async () => verifyRecord(bytes, { network: NETWORK, name: NAME, peerId: honestId }))).to.equal('rejected')
      const result = await outcome(async () => { record = await verifyRecord(bytes, { network: NETWORK, name: NAME }) })

      if (result === 'accepted') {
        stats.accepted++
        const genuine = record?.peerId === attackerId && record.network === NETWORK && record.name === NAME &&
          record.expiresAt > now && record.expiresAt <= now + 86_400_000 + 60_000 && bytes.byteLength <= MAX_RECORD_BYTES
        if (!genuine) { stats.forgeriesAccepted++ }
        expect(genuine, `accepted ${JSON.stringify(payload).slice(0, 200)}`).to.equal(true)
      }
    }), { seed: FUZZ_SEED, numRuns: 2_500 })
  })

  it('the kad validator refuses bad keys, bad values and replays, and never throws anything else', async () => {
    const datastorePrefix = dhtDatastorePrefix(NETWORK)
    const datastore = new MemoryDatastore()
    const validate = createRecordValidator({ network: NETWORK, datastore, datastorePrefix })
    const key = recordKey(NETWORK, NAME, honestId)
    const newer = await sealRecord({ ...honest, seq: 5_000 }, honestKey)
    await datastore.put(storedRecordKey(datastorePrefix, key), new DhtRecord(key, newer, new Date()).serialize())
    const older = await Promise.all([1, 4_999].map(async seq => sealRecord({ ...honest, seq }, honestKey)))
    const sameSeqOther = await sealRecord({ ...honest, seq: 5_000, metadata: { name: NAME, version: 'evil' } }, honestKey)

    const keys = fc.oneof(
      fc.constant(key),
      fc.constant(recordKey(NETWORK, NAME, attackerId)),
      fc.constant(recordKey('production', NAME, honestId)),
      fc.constant(recordKey(NETWORK, 'Other', honestId)),
      fc.string({ maxLength: 120 }).map(text => uint8ArrayFromString(text)),
      fc.uint8Array({ maxLength: 120 })
    )
    const values = fc.oneof(
      fc.constant(honestEnvelope),
      fc.constantFrom(...older, sameSeqOther),
      fc.uint8Array({ maxLength: 512 }),
      fc.constant(new Uint8Array(MAX_RECORD_BYTES + 1)),
      fc.constant(uint8ArrayFromString('not an envelope'))
    )

    await fc.assert(fc.asyncProperty(keys, values, async (k, v) => {
      stats.tried++
      const result = await outcome(async () => { await validate(k, v) })

      if (result === 'accepted') {
        stats.accepted++
        // only the stored record itself may pass against a stored seq 5000
        const genuine = k === key && v === newer
        if (!genuine) { stats.forgeriesAccepted++ }
        expect(genuine).to.equal(true)
      }
    }), { seed: FUZZ_SEED, numRuns: 2_000 })

    // the stored record itself passes, a higher seq passes
    await validate(key, newer)
    await validate(key, await sealRecord({ ...honest, seq: 5_001 }, honestKey))
  })

  it('the selector picks a decodable record with the highest seq, whatever else it is given', async () => {
    const envelopes = await Promise.all([3, 9, 7].map(async seq => sealRecord({ ...honest, seq }, honestKey)))
    await fc.assert(fc.property(fc.array(fc.oneof(fc.constantFrom(...envelopes), fc.uint8Array({ maxLength: 200 })), { minLength: 1, maxLength: 8 }), records => {
      stats.tried++
      const best = selectRecord(recordKey(NETWORK, NAME, honestId), records) as number
      expect(best).to.be.within(0, records.length - 1)
      const seqs = records.map(bytes => peekRecord(bytes)?.seq ?? -1)
      expect(seqs[best]).to.equal(Math.max(...seqs))
    }), { seed: FUZZ_SEED, numRuns: 1_000 })
  })
})

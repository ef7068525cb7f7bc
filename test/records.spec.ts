import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { expect } from 'chai'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { MAX_RECORD_BYTES } from '../src/constants.js'
import { decodeRecord, encodeRecord, sealRecord, verifyRecord, recordKey, serviceCid } from '../src/index.js'
import { parseRecordKey } from '../src/records/keys.js'
import { createRecordValidator, selectRecord } from '../src/records/validator.js'
import { MemoryDatastore } from 'datastore-core'
import { Record as DhtRecord } from '@libp2p/kad-dht'
import { storedRecordKey } from '../src/records/validator.js'
import { rejectionOf } from './helpers.js'
import type { ServiceRecord } from '../src/index.js'
import type { PrivateKey } from '@libp2p/interface'

async function makeRecord (key: PrivateKey, patch: Partial<ServiceRecord> = {}): Promise<ServiceRecord> {
  return {
    network: 'production',
    name: 'DatabaseService',
    peerId: peerIdFromPrivateKey(key).toString(),
    multiaddrs: ['/ip4/127.0.0.1/tcp/4001'],
    metadata: { name: 'DatabaseService', version: '1.4.0' },
    seq: 5,
    expiresAt: Date.now() + 60_000,
    withdrawn: false,
    ...patch
  }
}

describe('records', () => {
  let key: PrivateKey
  let other: PrivateKey

  before(async () => {
    key = await generateKeyPair('Ed25519')
    other = await generateKeyPair('Ed25519')
  })

  it('round-trips a record through encode and decode', async () => {
    const record = await makeRecord(key)
    expect(decodeRecord(encodeRecord(record))).to.deep.equal(record)
  })

  it('verifies a sealed record and returns its content', async () => {
    const record = await makeRecord(key)
    const verified = await verifyRecord(await sealRecord(record, key), { network: 'production', name: 'DatabaseService', peerId: record.peerId })
    expect(verified.metadata).to.deep.equal(record.metadata)
    expect(verified.seq).to.equal(5)
  })

  const rejections: Array<[string, (record: ServiceRecord) => Partial<ServiceRecord>, RegExp]> = [
    ['another network', () => ({ network: 'development' }), /belongs to network "development"/],
    ['another name', () => ({ name: 'Other', metadata: { name: 'Other' } }), /is for service "Other"/],
    ['an expired record', () => ({ expiresAt: Date.now() - 1 }), /expired/],
    ['an expiry over 24 hours ahead', () => ({ expiresAt: Date.now() + 48 * 3600_000 }), /further ahead/],
    ['a mismatched metadata.name', () => ({ metadata: { name: 'Else' } }), /metadata.name/],
    ['a negative seq', () => ({ seq: -1 }), /seq/],
    ['a bad multiaddr', () => ({ multiaddrs: ['not-a-multiaddr'] }), /multiaddrs/],
    ['an address of another peer', () => ({ multiaddrs: ['/ip4/127.0.0.1/tcp/4001', `/ip4/127.0.0.1/tcp/4002/p2p/${peerIdFromPrivateKey(other).toString()}`] }), /has an address of another peer/]
  ]

  for (const [what, patch, message] of rejections) {
    it(`rejects ${what}`, async () => {
      const record = await makeRecord(key)
      const bytes = await sealRecord({ ...record, ...patch(record) }, key)
      expect((await rejectionOf(verifyRecord(bytes, { network: 'production', name: 'DatabaseService', peerId: record.peerId }))).message).to.match(message)
    })
  }

  it('rejects a record signed by a key other than its peer ID', async () => {
    const record = await makeRecord(key)
    const forged = await sealRecord(record, other)
    expect(await rejectionOf(verifyRecord(forged, { network: 'production' }))).to.have.property('name', 'InvalidRecordError')
  })

  it('rejects a record whose signature was tampered with', async () => {
    const bytes = await sealRecord(await makeRecord(key), key)
    bytes[bytes.length - 1] ^= 0xff
    expect((await rejectionOf(verifyRecord(bytes, { network: 'production' }))).message).to.match(/signature/)
  })

  it('rejects a record stored under another peer ID', async () => {
    const bytes = await sealRecord(await makeRecord(key), key)
    expect((await rejectionOf(verifyRecord(bytes, { network: 'production', peerId: peerIdFromPrivateKey(other).toString() }))).message).to.match(/stored under peer/)
  })

  it('rejects an oversized record before parsing it', async () => {
    const huge = new Uint8Array(MAX_RECORD_BYTES + 1)
    expect((await rejectionOf(verifyRecord(huge, { network: 'production' }))).message).to.match(/more than the/)
  })

  it('rejects garbage and truncated envelopes', async () => {
    const bytes = await sealRecord(await makeRecord(key), key)
    expect(await rejectionOf(verifyRecord(bytes.subarray(0, bytes.length - 10), { network: 'production' }))).to.have.property('name', 'InvalidRecordError')
    expect(await rejectionOf(verifyRecord(uint8ArrayFromString('hello'), { network: 'production' }))).to.have.property('name', 'InvalidRecordError')
  })

  it('parses record keys and refuses malformed ones', () => {
    const parts = parseRecordKey(recordKey('production', 'DatabaseService', 'peer'))
    expect(parts).to.deep.equal({ network: 'production', name: 'DatabaseService', peerId: 'peer' })
    expect(() => parseRecordKey(uint8ArrayFromString('/netget/production/x'))).to.throw(/not of the form/)
    expect(() => parseRecordKey(uint8ArrayFromString('/netget/Prod!/x/y'))).to.throw(/invalid network/)
  })

  it('derives a different provider CID per network and name', async () => {
    const a = await serviceCid('production', 'api')
    expect(a.equals(await serviceCid('production', 'api'))).to.equal(true)
    expect(a.equals(await serviceCid('development', 'api'))).to.equal(false)
    expect(a.equals(await serviceCid('production', 'web'))).to.equal(false)
  })

  describe('DHT validator and selector', () => {
    it('refuses a lower or equal seq than the stored record (replay)', async () => {
      const datastore = new MemoryDatastore()
      const validate = createRecordValidator({ network: 'production', datastore, datastorePrefix: '/dht' })
      const record = await makeRecord(key)
      const dhtKey = recordKey('production', 'DatabaseService', record.peerId)
      const older = await sealRecord({ ...record, seq: 4 }, key)
      const stored = await sealRecord(record, key)
      const sameSeq = await sealRecord({ ...record, metadata: { name: 'DatabaseService', version: 'x' } }, key)
      const newer = await sealRecord({ ...record, seq: 6 }, key)

      await validate(dhtKey, older)
      await datastore.put(storedRecordKey('/dht', dhtKey), new DhtRecord(dhtKey, stored, new Date()).serialize())

      expect((await rejectionOf(Promise.resolve(validate(dhtKey, older)))).message).to.match(/replay/)
      expect((await rejectionOf(Promise.resolve(validate(dhtKey, sameSeq)))).message).to.match(/other content/)
      await validate(dhtKey, stored)
      await validate(dhtKey, newer)
    })

    it('refuses a key of another network', async () => {
      const validate = createRecordValidator({ network: 'development', datastorePrefix: '/dht' })
      const record = await makeRecord(key)
      expect((await rejectionOf(Promise.resolve(validate(recordKey("production", "DatabaseService", record.peerId), await sealRecord(record, key))))).message).to.match(/network "production"/)
    })

    it('selects the highest seq', async () => {
      const record = await makeRecord(key)
      const values = await Promise.all([3, 9, 7].map(async seq => sealRecord({ ...record, seq }, key)))
      expect(selectRecord(new Uint8Array(), [...values, uint8ArrayFromString('junk')])).to.equal(1)
    })
  })
})

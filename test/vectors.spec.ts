import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPairFromSeed, privateKeyFromProtobuf, privateKeyToProtobuf, publicKeyToProtobuf } from '@libp2p/crypto/keys'
import { Record as DhtRecord } from '@libp2p/kad-dht'
import { logger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { expect } from 'chai'
import { MemoryDatastore } from 'datastore-core'
import { decode as varintDecode, encodingLength } from 'uint8-varint'
import { equals as uint8ArrayEquals } from 'uint8arrays/equals'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { lookupProtocol, dhtDatastorePrefix } from '../src/protocol/ids.js'
import { verifyAttestation } from '../src/liveness/attestation.js'
import { decodeLookupHeader, decodeLookupRequest, decodeServerFrame } from '../src/protocol/lookup-messages.js'
import { decodeSyncMessage, encodeSyncMessage } from '../src/protocol/sync-messages.js'
import { revocationDigest, revocationId } from '../src/sync/revocation-exchange.js'
import { fingerprint, itemHash } from '../src/sync/sync-set.js'
import { decodePutAnswer, encodePutAnswer } from '../src/protocol/put-messages.js'
import { refusalOf } from '../src/protocol/refusals.js'
import { recordKey, serviceCid } from '../src/records/keys.js'
import { sealRecord } from '../src/records/record.js'
import { createRecordValidator, storedRecordKey } from '../src/records/validator.js'
import { verifyRecord } from '../src/records/verify.js'
import { createTestnet } from '../src/testing/index.js'
import { NetworkTrust } from '../src/trust/network-trust.js'
import { openRevocation } from '../src/trust/revocation.js'
import { VECTOR_GENERATORS } from '../scripts/vectors/index.js'
import { rejectionOf } from './helpers.js'
import type { ServiceRecord } from '../src/records/record.js'
import type { RecordVector } from '../scripts/vectors/records.js'
import type { CredentialRole } from '../src/trust/credential.js'
import type { Libp2p } from '@libp2p/interface'

/**
 * docs/vectors/ against netget's code: each file is what the generators
 * make (so its bytes are netget's bytes), and netget judges every vector as
 * the file says — valid ones verify and decode to the stated fields, invalid
 * ones are refused with the stated reason code.
 */

const dir = join(process.cwd(), 'docs', 'vectors')
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any
const files = new Map<string, Json>()

async function load (file: string): Promise<Json> {
  if (!files.has(file)) {
    files.set(file, JSON.parse(await readFile(join(dir, file), 'utf8')))
  }

  return files.get(file)
}

const bytes = (hex: string): Uint8Array => uint8ArrayFromString(hex, 'base16')

/** The body of a frame: strips the varint length, checking it. */
function body (frameHex: string): Uint8Array {
  const frame = bytes(frameHex)
  const length = varintDecode(frame)
  const start = encodingLength(length)
  expect(frame.byteLength - start, 'the frame\'s length prefix').to.equal(length)
  return frame.subarray(start)
}

/** A reader of `vector.reader` at the vectors' clock: the kad validator netget runs on every record it receives. */
function reader (vector: RecordVector, now: number, datastore?: MemoryDatastore): (key: Uint8Array, envelope: Uint8Array) => Promise<void> {
  const { network, authority } = vector.reader
  const trust = authority === undefined ? undefined : new NetworkTrust({ network: network.split('@')[0], authority, peerId: authority, log: logger('netget:test:vectors'), now: () => now })
  const validate = createRecordValidator({
    network,
    datastore,
    datastorePrefix: dhtDatastorePrefix(network),
    checkPublisher: trust === undefined ? undefined : async record => { await trust.checkPublisher(record) },
    now: () => now
  })
  return async (key, envelope) => { await validate(key, envelope) }
}

/** `value` without its undefined fields, as JSON has it. */
const plain = (value: unknown): unknown => JSON.parse(JSON.stringify(value))

/** A lookup stream (production) to `registry`: `send` writes a frame and reads the next header frame as JSON. */
async function openLookup (node: { libp2p: Libp2p }, registry: string): Promise<{ send(frame: Uint8Array): Promise<Json>, close(): void }> {
  const stream = await node.libp2p.dialProtocol(multiaddr(registry), lookupProtocol('production'), { signal: AbortSignal.timeout(5_000) })
  const messages = lpStream(stream)

  return {
    async send (frame) {
      stream.send(frame)
      return JSON.parse(uint8ArrayToString((await messages.read({ signal: AbortSignal.timeout(10_000) })).subarray()))
    },
    close: () => { stream.abort(new Error('done')) }
  }
}

/**
 * A decoded record as its payload's fields, written out here on purpose rather
 * than through `encodeRecord`: the check must not share the encoder it checks.
 */
function fieldsOf (record: ServiceRecord): Record<string, unknown> {
  return {
    v: 1,
    network: record.network,
    name: record.name,
    peerId: record.peerId,
    multiaddrs: record.multiaddrs,
    metadata: record.metadata,
    seq: record.seq,
    expiresAt: record.expiresAt,
    withdrawn: record.withdrawn,
    ...(record.credential === undefined ? {} : { credential: uint8ArrayToString(record.credential, 'base64url') })
  }
}

describe('test vectors (docs/vectors)', function () {
  this.timeout(60_000)

  for (const generator of VECTOR_GENERATORS) {
    it(`${generator.file} is what netget produces, byte for byte`, async () => {
      const made = JSON.parse(JSON.stringify(await generator.generate()))
      expect(made, `docs/vectors/${generator.file} is out of date: run node dist/scripts/vectors.js --write`).to.deep.equal(await load(generator.file))
    })
  }

  it('keys.json: each seed gives its private key, public key and peer ID', async () => {
    const { keys } = await load('keys.json')

    for (const key of keys) {
      const privateKey = key.type === 'Ed25519' ? await generateKeyPairFromSeed('Ed25519', bytes(key.seed)) : privateKeyFromProtobuf(bytes(key.privateKey))
      expect(uint8ArrayToString(privateKeyToProtobuf(privateKey), 'base16'), key.label).to.equal(key.privateKey)
      expect(uint8ArrayToString(publicKeyToProtobuf(privateKey.publicKey), 'base16'), key.label).to.equal(key.publicKey)
      expect(peerIdFromPrivateKey(privateKey).toString(), key.label).to.equal(key.peerId)
    }
  })

  it('dht-keys.json: service CIDs, their multihashes (the provider key) and record keys', async () => {
    const { services } = await load('dht-keys.json')

    for (const service of services) {
      const cid = await serviceCid(service.network, service.name)
      expect(cid.toString()).to.equal(service.cid)
      expect(uint8ArrayToString(cid.multihash.bytes, 'base16')).to.equal(service.providerKey)
      expect(service.providerKey).to.match(/^1220[0-9a-f]{64}$/)
      expect(uint8ArrayToString(recordKey(service.network, service.name, service.peerId), 'base16')).to.equal(service.recordKeyBytes)
    }
  })

  describe('records.json', () => {
    it('every valid record verifies and decodes to its fields; netget seals the same bytes', async () => {
      const { valid, now } = await load('records.json')
      const { keys } = await load('keys.json')
      const publisher = await generateKeyPairFromSeed('Ed25519', bytes(keys.find((key: Json) => key.label === 'publisher').seed))
      expect(valid.length).to.be.above(5)

      for (const vector of valid as RecordVector[]) {
        const key = uint8ArrayFromString(vector.key)
        const envelope = bytes(vector.envelope)
        await reader(vector, now)(key, envelope).catch(err => { throw new Error(`${vector.description}: ${(err as Error).message}`) })
        const record = await verifyRecord(envelope, { network: vector.reader.network, now })
        expect(fieldsOf(record), vector.description).to.deep.equal(vector.record)

        if (vector.payload === JSON.stringify(vector.record)) {
          expect(uint8ArrayEquals(await sealRecord(record, publisher), envelope), `${vector.description}: sealRecord makes the same envelope`).to.equal(true)
        }
      }
    })

    it('every invalid record is refused with its reason code', async () => {
      const { invalid, now } = await load('records.json')
      expect(invalid.length).to.be.above(30)

      for (const vector of invalid as RecordVector[]) {
        const err = await rejectionOf(reader(vector, now)(uint8ArrayFromString(vector.key), bytes(vector.envelope)))
        const refusal = refusalOf(err)
        expect(refusal.code, `${vector.description}: ${err.message}`).to.equal(vector.code)
        expect(err.message, vector.description).to.include(vector.message)

        if (vector.reason !== undefined) {
          expect((err as Error & { reason: string }).reason, vector.description).to.equal(vector.reason)
        }
      }
    })

    it('rollback: a registry refuses a lower seq, or the same seq with other bytes, against what it stores (expired or not)', async () => {
      const { rollback, now } = await load('records.json')

      for (const vector of rollback) {
        const datastore = new MemoryDatastore()
        const key = uint8ArrayFromString(vector.key)
        await datastore.put(storedRecordKey(dhtDatastorePrefix('production'), key), new DhtRecord(key, bytes(vector.stored), new Date()).serialize())
        const judge = reader({ ...vector, reader: { network: 'production' } }, now, datastore)

        if (vector.accepted === true) {
          await judge(key, bytes(vector.incoming))
        } else {
          expect(refusalOf(await rejectionOf(judge(key, bytes(vector.incoming)))).code, vector.description).to.equal(vector.code)
        }
      }
    })
  })

  describe('lookup.json', () => {
    it('valid and tolerated requests decode to their request; malformed ones are refused with their code', async () => {
      const { requests } = await load('lookup.json')

      for (const vector of [...requests.valid, ...requests.tolerated]) {
        expect(plain(decodeLookupRequest(body(vector.frame))), vector.description).to.deep.equal(vector.request)
      }

      for (const vector of requests.malformed.filter((vector: Json) => vector.wireOnly !== true)) {
        const err = await rejectionOf((async () => decodeLookupRequest(body(vector.frame)))())
        expect(refusalOf(err).code, vector.description).to.equal(vector.code)
      }
    })

    it('answers and put answers decode as stated', async () => {
      const { answers, puts } = await load('lookup.json')

      for (const vector of answers) {
        if (vector.error !== undefined) {
          expect((await rejectionOf((async () => decodeLookupHeader(body(vector.frames[0])))())) as Error & { code: string }).to.have.property('code', vector.error.code)
        } else {
          expect(plain(decodeLookupHeader(body(vector.frames[0]))), vector.description).to.deep.equal(vector.header)
          expect(vector.frames.length - 1).to.equal(vector.records)
        }
      }

      for (const vector of puts) {
        expect(decodePutAnswer(body(vector.frame)), vector.description).to.deep.equal(vector.answer)
        expect(uint8ArrayToString(encodePutAnswer(vector.answer), 'base16'), vector.description).to.equal(uint8ArrayToString(body(vector.frame), 'base16'))
      }
    })

    it('a registry answers every request frame as the file says, over a real stream', async () => {
      const { requests } = await load('lookup.json')
      const testnet = await createTestnet(0, { network: 'production' })

      try {
        const node = testnet.createNode()
        await node.start()
        const send = async (frame: Uint8Array): Promise<Json> => {
          const lookup = await openLookup(node, testnet.registryNodes[0])

          try {
            return await lookup.send(frame)
          } finally {
            lookup.close()
          }
        }

        for (const vector of [...requests.valid.filter((vector: Json) => vector.request.cursor === undefined), ...requests.tolerated]) {
          expect(await send(bytes(vector.frame)), vector.description).to.deep.equal({ count: 0 })
        }

        for (const vector of requests.malformed) {
          const header = await send(bytes(vector.frame))
          expect(header, vector.description).to.have.property('code', vector.code)
          expect(header.error, vector.description).to.be.a('string')
        }
      } finally {
        await testnet.destroy()
      }
    })
  })

  describe('trust.json', () => {
    it('every credential passes or fails with its reason', async () => {
      const { credentials } = await load('trust.json')

      for (const vector of credentials) {
        const { network, authority, peer, roles, name, now } = vector.check
        const trust = new NetworkTrust({ network, authority, peerId: authority, log: logger('netget:test:vectors'), now: () => now })

        for (const revocation of vector.revocations ?? []) {
          expect(await trust.revocations.add(bytes(revocation), now), vector.description).to.equal(true)
        }

        const checking = trust.checkPresented(bytes(vector.envelope), peer, roles as CredentialRole[], name)

        if (vector.passes === true) {
          await checking.catch(err => { throw new Error(`${vector.description}: ${(err as Error).message}`) })
        } else {
          expect(await rejectionOf(checking), vector.description).to.have.property('reason', vector.reason)
        }
      }
    })

    it('revocations open or not as stated', async () => {
      const { revocations } = await load('trust.json')

      for (const vector of revocations) {
        const opening = openRevocation(bytes(vector.envelope))

        if (vector.valid === true) {
          await opening
        } else {
          await rejectionOf(opening)
        }
      }
    })
  })

  describe('liveness.json', () => {
    /** What netget's refusal says for each rule of §15.3, so a vector is refused for its own rule and not another. */
    const ruleMessage: Record<number, RegExp> = {
      1: /signature is not valid|payload type|secp256k1 key/,
      2: /Attestation payload|Attestation "/,
      3: /is for network/,
      4: /is about/,
      5: /not a registry this node trusts/,
      6: /in the future|expired at/
    }

    it('valid attestations verify and decode to their fields; invalid ones are refused for their rule', async () => {
      const { attestations } = await load('liveness.json')
      const expectation = (check: Json): Parameters<typeof verifyAttestation>[1] =>
        ({ network: check.network, peerId: check.peerId, now: check.now, trusted: (registry: string) => check.trusted.includes(registry) })

      for (const vector of attestations.valid) {
        const { envelope, ...fields } = await verifyAttestation(bytes(vector.envelope), expectation(vector.check))
        expect(uint8ArrayToString(envelope, 'base16')).to.equal(vector.envelope)
        expect(plain(fields), vector.description).to.deep.equal(vector.attestation)
      }

      for (const vector of attestations.invalid) {
        const err = await rejectionOf(verifyAttestation(bytes(vector.envelope), expectation(vector.check)))
        expect(err.name, vector.description).to.equal('InvalidRecordError')
        expect(err.message, vector.description).to.match(ruleMessage[vector.rule])
      }
    })

    it('subscribe requests, their answers and push frames decode as stated; malformed ones are refused', async () => {
      const { subscriptions } = await load('liveness.json')

      for (const vector of subscriptions.requests.valid) {
        expect(plain(decodeLookupRequest(body(vector.frame))), vector.description).to.deep.equal(vector.request)
      }

      for (const vector of subscriptions.requests.malformed) {
        expect(refusalOf(await rejectionOf((async () => decodeLookupRequest(body(vector.frame)))())).code, vector.description).to.equal(vector.code)
      }

      for (const vector of subscriptions.answers) {
        expect(plain(decodeServerFrame(body(vector.frames[0]))), vector.description).to.deep.equal({ kind: 'answer', header: vector.header })
        expect(vector.frames.length - 1, vector.description).to.equal(vector.header.count + (vector.header.attestations ?? 0))
      }

      for (const vector of subscriptions.pushes.valid) {
        expect(plain(decodeServerFrame(body(vector.frames[0]))), vector.description).to.deep.equal({ kind: 'push', push: vector.push })
        expect(vector.frames.length - 1, vector.description).to.equal(vector.push.count + vector.push.attestations)
      }

      for (const vector of subscriptions.pushes.malformed) {
        expect((await rejectionOf((async () => decodeServerFrame(body(vector.frame)))())).name, vector.description).to.equal('InvalidRecordError')
      }
    })

    it('a registry takes a subscribe request as the file says, over a real stream', async () => {
      const { subscriptions } = await load('liveness.json')
      const testnet = await createTestnet(0, { network: 'production' })

      try {
        const node = testnet.createNode()
        await node.start()
        const lookup = await openLookup(node, testnet.registryNodes[0])

        try {
          const [subscribe, unsubscribe] = subscriptions.requests.valid.slice(1)
          expect(await lookup.send(bytes(subscribe.frame))).to.deep.equal({ count: 0, subscribed: true })
          expect(await lookup.send(bytes(unsubscribe.frame))).to.deep.equal({ count: 0 })
        } finally {
          lookup.close()
        }
      } finally {
        await testnet.destroy()
      }
    })
  })

  describe('sync.json', () => {
    it('item hashes and range fingerprints are what netget computes', async () => {
      const { items, fingerprints } = await load('sync.json')
      const hashed = await Promise.all(items.map(async (item: Json) => ({ id: item.id, seq: item.seq, hash: await itemHash(item.id, item.seq) })))

      for (const [i, item] of items.entries()) {
        expect(uint8ArrayToString(hashed[i].hash, 'base16'), item.id).to.equal(item.hash)
      }

      expect(items.map((item: Json) => item.id), 'items are sorted by id').to.deep.equal(items.map((item: Json) => item.id).sort())

      for (const vector of fingerprints) {
        expect(fingerprint(hashed.filter(item => vector.ids.includes(item.id))), vector.description).to.equal(vector.fp)
      }

      expect(fingerprints[0].fp).to.equal('0'.repeat(32))
    })

    it('revocation ids and their digest are what netget computes', async () => {
      const { revocations } = await load('sync.json')
      const ids = await Promise.all(revocations.envelopes.map(async (envelope: string) => revocationId(bytes(envelope))))
      expect(ids).to.deep.equal(revocations.ids)
      expect(await revocationDigest(ids)).to.deep.equal(revocations.digest)
      expect(await revocationDigest([...ids].reverse()), 'the ids are sorted first').to.deep.equal(revocations.digest)
    })

    it('valid and tolerated messages decode as stated, netget encodes the valid ones byte for byte; malformed ones are refused', async () => {
      const { messages } = await load('sync.json')

      for (const vector of messages.valid) {
        expect(plain(decodeSyncMessage(body(vector.frames[0]))), vector.description).to.deep.equal(vector.message)
        expect(uint8ArrayToString(encodeSyncMessage(vector.message), 'base16'), vector.description).to.equal(uint8ArrayToString(body(vector.frames[0]), 'base16'))
        expect(vector.frames.length - 1, vector.description).to.equal(vector.message.records)
      }

      for (const vector of messages.tolerated) {
        expect(plain(decodeSyncMessage(body(vector.frame))), vector.description).to.deep.equal(vector.message)
      }

      for (const vector of messages.malformed) {
        expect(refusalOf(await rejectionOf((async () => decodeSyncMessage(body(vector.frame)))())).code, vector.description).to.equal(vector.code)
      }
    })
  })
})

/**
 * Revocations carried by registry sync (docs/PROTOCOL.md §17.5): pushed
 * when a registry learns one, reconciled by digest in every full session,
 * verified like the trust exchange's, and voiding the records they cover.
 * The trust exchange's own refresh is an hour in every test here, so only
 * sync can carry a revocation between the registries.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { expect } from 'chai'
import { issueCredential, issueRevocation, recordKey, sealRecord } from '../src/index.js'
import { syncProtocol, trustProtocol } from '../src/protocol/ids.js'
import { decodeSyncMessage, encodeSyncMessage } from '../src/protocol/sync-messages.js'
import { sealEnvelope } from '../src/records/envelope.js'
import { createTestnet } from '../src/testing/index.js'
import { REVOCATION_DOMAIN, REVOCATION_PAYLOAD_TYPE, encodeRevocation } from '../src/trust/revocation.js'
import { nextEvent } from './helpers.js'
import { lookupAll, putOverOneStream } from './store-helpers.js'
import type { CredentialRole, Netget, NetgetInit } from '../src/index.js'
import type { SyncMessage } from '../src/protocol/sync-messages.js'
import type { Testnet } from '../src/testing/index.js'
import type { PrivateKey } from '@libp2p/interface'

const NETWORK = 'fedrev'
const MINUTE = 60_000
const HOUR = 60 * MINUTE

interface Grant {
  privateKey: PrivateKey
  credential: Uint8Array
  peerId: string
}

async function eventually (check: () => Promise<boolean> | boolean, timeout = 30_000): Promise<void> {
  const deadline = Date.now() + timeout
  const passes = async (): Promise<boolean> => { try { return await check() } catch { return false } }

  while (!(await passes())) {
    if (Date.now() > deadline) {
      throw new Error(`not within ${timeout} ms`)
    }

    await new Promise(resolve => setTimeout(resolve, 100))
  }
}

describe('registry federation: revocations', function () {
  this.timeout(120_000)
  let authorityKey: PrivateKey
  let authority: string
  let testnet: Testnet

  const grant = async (role: CredentialRole, names?: string[]): Promise<Grant> => {
    const privateKey = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(privateKey).toString()
    const { envelope } = await issueCredential({ network: NETWORK, peer: peerId, role, names, ttl: 10 * MINUTE }, authorityKey)
    return { privateKey, credential: envelope, peerId }
  }

  const options = (given: Grant): NetgetInit => ({ privateKey: given.privateKey, credential: given.credential })

  /** The peer IDs of the records of `name` that `registry` serves, asked by `asker` (signatures checked, credentials not). */
  const served = async (asker: Netget, registry: Netget, name: string): Promise<string[]> =>
    (await lookupAll(asker, registry.libp2p.peerId, registry.networkId, name)).map(record => record.peerId)

  /** A fresh record of the publisher's, with its credential: what a re-announce would put. */
  const freshRecord = async (registry: Netget, publisher: Grant, name = 'payments'): Promise<{ key: Uint8Array, value: Uint8Array, peerId: string }> => ({
    peerId: publisher.peerId,
    key: recordKey(registry.networkId, name, publisher.peerId),
    value: await sealRecord({ network: registry.networkId, name, peerId: publisher.peerId, multiaddrs: [`/ip4/127.0.0.1/tcp/9/p2p/${publisher.peerId}`], metadata: { name }, seq: Date.now() + 1_000, expiresAt: Date.now() + 5 * MINUTE, withdrawn: false, credential: publisher.credential }, publisher.privateKey)
  })

  beforeEach(async () => {
    authorityKey = await generateKeyPair('Ed25519')
    authority = peerIdFromPrivateKey(authorityKey).toString()
    testnet = await createTestnet(0, { network: NETWORK, registries: 0, nodeOptions: { authority, revocationRefreshInterval: HOUR } })
  })

  afterEach(async () => {
    await testnet.destroy()
  })

  it('a revocation handed to one registry is pushed to its peer registry, which drops and then refuses the revoked record', async () => {
    // no timed sessions either: only the push can carry it
    const a = await testnet.startRegistry(undefined, { syncInterval: HOUR, ...options(await grant('registry')) })
    const b = await testnet.startRegistry(undefined, { syncInterval: HOUR, ...options(await grant('registry')) })
    await eventually(() => a.syncStats().peers === 1 && b.syncStats().peers === 1)
    // the publisher's record, put once into a (no re-announce reaches b by kad, and b pushes nothing back)
    const revoker = testnet.createNode({ registryNodes: [testnet.registryNodes[0]], ...options(await grant('read')) })
    const connected = nextEvent(revoker, 'registry:connected')
    await revoker.start()
    await connected
    const publisher = await grant('publish', ['payments'])
    expect(await putOverOneStream(revoker, a.libp2p.peerId, a.networkId, [await freshRecord(a, publisher)])).to.equal(1)
    await eventually(async () => (await served(a, b, 'payments')).includes(publisher.peerId))

    // what `netget-peer network revoke --registry <a>` does
    const { envelope } = await issueRevocation({ network: NETWORK, peer: publisher.peerId }, authorityKey)
    expect(await revoker.publishRevocation(envelope)).to.equal(1)

    await eventually(async () => (await served(a, b, 'payments')).length === 0)
    // a session's counts are added when it ends, which may be after the record is gone
    await eventually(() => b.syncStats().revocationsReceived >= 1 && a.syncStats().revocationsSent >= 1)
    expect(b.syncStats()).to.include({ recordsRevoked: 1, revocationsRefused: 0 })
    expect(await putOverOneStream(revoker, b.libp2p.peerId, b.networkId, [await freshRecord(b, publisher)])).to.equal(0)
  })

  it('a registry that missed the push gets the revocation from the digest of the next full session', async () => {
    const a = await testnet.startRegistry(undefined, options(await grant('registry')))
    const revoker = testnet.createNode({ registryNodes: [testnet.registryNodes[0]], ...options(await grant('read')) })
    const publisher = await grant('publish', ['payments'])
    const { envelope } = await issueRevocation({ network: NETWORK, peer: publisher.peerId }, authorityKey)
    expect(await revoker.publishRevocation(envelope)).to.equal(1)
    // a's trust protocol closes, so b cannot take the revocation from a trust exchange of its own with a
    // (b learns a from the DHT announcement and would ask it): only the sync digest can carry it
    await a.libp2p.unhandle(trustProtocol(a.networkId))

    // b knows no registry, and holds the publisher's record: a takes b into its mesh, so a dials and
    // a's trust exchange hands b nothing (an opener's request carries no revocations)
    const b = await testnet.startRegistry(undefined, { registryNodes: [], ...options(await grant('registry')) })
    const reader = testnet.createNode({ registryNodes: [testnet.registryNodes[1]], ...options(await grant('read')) })
    const connected = nextEvent(reader, 'registry:connected')
    await reader.start()
    await connected
    expect(await putOverOneStream(reader, b.libp2p.peerId, b.networkId, [await freshRecord(b, publisher)])).to.equal(1)
    expect(await served(reader, b, 'payments')).to.deep.equal([publisher.peerId])

    a.addRegistryNode(testnet.registryNodes[1])
    await eventually(async () => (await served(reader, b, 'payments')).length === 0)
    // a session's counts are added when it ends, which may be after the record is gone
    await eventually(() => b.syncStats().revocationsReceived === 1)
    expect(b.syncStats()).to.include({ recordsRevoked: 1, revocationsReceived: 1, revocationsRefused: 0 })
    expect(await putOverOneStream(reader, b.libp2p.peerId, b.networkId, [await freshRecord(b, publisher)])).to.equal(0)
  })

  it('refuses a forged revocation from a peer registry, and the session goes on', async () => {
    const b = await testnet.startRegistry(undefined, options(await grant('registry')))
    // a peer holding a registry credential speaks sync to b by hand
    const peer = testnet.createNode(options(await grant('registry')))
    const admitted = nextEvent(peer, 'registry:connected')
    await peer.start()
    await admitted
    const publisher = await grant('publish', ['payments'])
    expect(await putOverOneStream(peer, b.libp2p.peerId, b.networkId, [await freshRecord(b, publisher)])).to.equal(1)

    // naming the network's authority, signed by another key: what a lying registry could send; and bytes that are no envelope
    const forged = await sealEnvelope(REVOCATION_DOMAIN, REVOCATION_PAYLOAD_TYPE, encodeRevocation({ network: NETWORK, authority, peer: publisher.peerId, revokedAt: Date.now() }), await generateKeyPair('Ed25519'))
    const garbage = new Uint8Array(64).fill(7)
    const valid = await issueRevocation({ network: NETWORK, peer: publisher.peerId }, authorityKey)

    const stream = await peer.libp2p.dialProtocol(b.libp2p.peerId, syncProtocol(b.networkId), { signal: AbortSignal.timeout(10_000) })
    const frames = lpStream(stream, { maxDataLength: 256 * 1024 })
    const say = async (message: SyncMessage): Promise<SyncMessage> => {
      const signal = AbortSignal.timeout(20_000)
      await frames.write(encodeSyncMessage(message), { signal })
      return decodeSyncMessage((await frames.read({ signal })).subarray())
    }

    expect(await say({ ranges: [], want: [], records: 0, revocations: [forged, garbage] })).to.include({ records: 0 })
    expect(await served(peer, b, 'payments')).to.deep.equal([publisher.peerId])

    // the same stream still answers, and takes the real one
    await say({ ranges: [], want: [], records: 0, revocations: [valid.envelope] })
    await stream.close()
    await eventually(async () => (await served(peer, b, 'payments')).length === 0)
    // counted when a session ends well (a failed one counts as a failure only)
    await eventually(() => b.syncStats().revocationsReceived === 3)
    expect(b.syncStats()).to.include({ revocationsReceived: 3, revocationsRefused: 2, recordsRevoked: 1 })
  })
})

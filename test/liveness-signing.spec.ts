import { generateKeyPair } from '@libp2p/crypto/keys'
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { expect } from 'chai'
import { verifyAttestation } from '../src/index.js'
import { attestationTtl, mustResign, PublisherLiveness } from '../src/liveness/publisher-liveness.js'
import { createTestnet } from '../src/testing/index.js'
import type { Netget, VerifiedAttestation } from '../src/index.js'
import type { PublisherLivenessInit } from '../src/liveness/publisher-liveness.js'
import type { Testnet } from '../src/testing/index.js'

const sleep = async (ms: number): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

/**
 * A publisher liveness of its own on the testnet registry's libp2p node (its
 * own key, intervals and a signature counter), measuring one publisher.
 */
interface Probe {
  liveness: PublisherLiveness
  /** Signatures made so far. */
  signatures: () => number
  /** Envelopes told to `onChange`, in order. */
  told: Uint8Array[]
  /** The current attestation, verified. */
  current: () => Promise<VerifiedAttestation | undefined>
}

async function probe (testnet: Testnet, service: Netget, timers: Pick<PublisherLivenessInit, 'interval' | 'timeout' | 'failureThreshold'>): Promise<Probe> {
  const registry = testnet.registries[0]
  const peerId = service.peerId
  const privateKey = await generateKeyPair('Ed25519')
  let signatures = 0
  const told: Uint8Array[] = []
  const liveness = new PublisherLiveness({
    ...timers,
    libp2p: registry.libp2p,
    privateKey,
    network: testnet.network,
    log: logger('netget:test:liveness-signing'),
    isPublisher: () => false,
    metrics: { attestation: () => { signatures++ } },
    onChange: (_, envelope) => { told.push(envelope) }
  })
  liveness.start()
  liveness.track(peerId)
  const current = async (): Promise<VerifiedAttestation | undefined> => {
    const envelope = await liveness.attestation(peerId)
    return envelope === undefined ? undefined : verifyAttestation(envelope, { network: testnet.network, peerId, trusted: () => true })
  }
  return { liveness, signatures: () => signatures, told, current }
}

describe('attestation signing (a registry signs only when it matters)', function () {
  this.timeout(60_000)
  let testnet: Testnet
  let service: Netget
  let liveness: PublisherLiveness | undefined

  beforeEach(async () => {
    testnet = await createTestnet(0)
    service = testnet.createNode({ metadata: { name: 'api' } })
    await service.registerWithNetwork()
  })

  afterEach(async () => {
    liveness?.stop()
    liveness = undefined
    await testnet.destroy()
  })

  it('a steady publisher measured 20 times in 2 s is signed at most a few times; closing its connection re-signs down at once and tells it', async () => {
    // validity 3 × 2100 + 2000 + 100 = 8.4 s: no re-sign for age within the 2 s watched
    const p = await probe(testnet, service, { interval: 100, timeout: 2_000, failureThreshold: 3 })
    liveness = p.liveness
    let measurements = 0
    p.liveness.onMeasurement(() => { measurements++ })
    expect(await p.current()).to.include({ status: 'alive' })
    // the smoothed RTT settles first (the first ping's sample includes opening its stream)
    await sleep(1_500)
    const [measuredBefore, signedBefore] = [measurements, p.signatures()]
    await sleep(2_000)

    expect(measurements - measuredBefore).to.be.at.least(10)
    // each measurement was signed before; now none, or a few when a busy machine moves the RTT out of its band
    expect(p.signatures() - signedBefore).to.be.at.most(4)
    expect(p.told).to.have.length(1)
    const signedSteady = p.signatures()

    await testnet.registries[0].libp2p.hangUp(peerIdFromString(service.peerId))
    const deadline = Date.now() + 5_000
    while (p.told.length < 2 && Date.now() < deadline) {
      await sleep(20)
    }

    // (the service's supervisor may have redialled since: its alive comes after)
    expect(p.told.length).to.be.at.least(2)
    const down = await verifyAttestation(p.told[1], { network: testnet.network, peerId: service.peerId, trusted: () => true })
    expect(down).to.include({ status: 'down' })
    expect(down.rttMs).to.equal(undefined)
    expect(p.signatures()).to.be.at.least(signedSteady + 1)
  })

  it('re-signs a steady publisher before its attestation expires: the one served is never past half its validity', async () => {
    // validity 1 × 400 + 200 + 200 = 800 ms: re-signed from 400 ms on, at a measurement every 200 ms
    const timers = { interval: 200, timeout: 200, failureThreshold: 1 }
    const ttl = attestationTtl(timers.interval, timers.timeout, timers.failureThreshold)
    const p = await probe(testnet, service, timers)
    liveness = p.liveness
    // steady down (no RTT that could move): only the attestation's age makes it re-sign
    await service.stop()
    const downSince = Date.now() + 5_000
    while ((await p.current())?.status !== 'down' && Date.now() < downSince) {
      await sleep(20)
    }
    let measurements = 0
    p.liveness.onMeasurement(() => { measurements++ })
    const signedBefore = p.signatures()
    const seen = new Set<number>()
    const deadline = Date.now() + 3_000

    while (Date.now() < deadline) {
      const attestation = await p.current()
      expect(attestation).to.include({ status: 'down' })
      // half the validity, one measurement interval and a second of slack for a busy machine
      expect(Date.now() - (attestation?.measuredAt ?? 0)).to.be.below(ttl / 2 + timers.interval + 1_000)
      seen.add(attestation?.measuredAt ?? 0)
      await sleep(50)
    }

    expect(seen.size).to.be.at.least(3)
    expect(measurements).to.be.at.least(10)
    expect(p.signatures() - signedBefore).to.be.below(measurements)
  })

  it('mustResign: status, the RTT band (25 % and 1 ms), and half the validity', () => {
    const signed = { status: 'alive' as const, rttMs: 10, measuredAt: 1_000 }
    expect(mustResign(undefined, { status: 'alive', rttMs: 10 }, 1_000, 8_000)).to.equal(true)
    expect(mustResign(signed, { status: 'alive', rttMs: 12.4 }, 2_000, 8_000)).to.equal(false)
    expect(mustResign(signed, { status: 'alive', rttMs: 12.6 }, 2_000, 8_000)).to.equal(true)
    expect(mustResign(signed, { status: 'alive', rttMs: 7.4 }, 2_000, 8_000)).to.equal(true)
    expect(mustResign({ ...signed, rttMs: 0.2 }, { status: 'alive', rttMs: 1.1 }, 2_000, 8_000)).to.equal(false)
    expect(mustResign({ ...signed, rttMs: 0.2 }, { status: 'alive', rttMs: 1.3 }, 2_000, 8_000)).to.equal(true)
    expect(mustResign({ ...signed, rttMs: undefined }, { status: 'alive', rttMs: 0.2 }, 2_000, 8_000)).to.equal(true)
    expect(mustResign(signed, { status: 'down' }, 2_000, 8_000)).to.equal(true)
    expect(mustResign({ status: 'down', measuredAt: 1_000 }, { status: 'down' }, 4_999, 8_000)).to.equal(false)
    expect(mustResign({ status: 'down', measuredAt: 1_000 }, { status: 'down' }, 5_000, 8_000)).to.equal(true)
  })
})

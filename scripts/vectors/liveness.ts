import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { ATTESTATION_DOMAIN, ATTESTATION_PAYLOAD_TYPE, sealAttestation } from '../../src/liveness/attestation.js'
import { encodeLookupHeader, encodeLookupRequest } from '../../src/protocol/lookup-messages.js'
import { sealEnvelope } from '../../src/records/envelope.js'
import { sealRecord } from '../../src/records/record.js'
import { NOW, EXPIRES_AT, SEQ, fixedKey, fixedSecp256k1Key, hex, peerIdOf } from './common.js'
import { frame } from './lookup.js'
import { NAME, NETWORK } from './records.js'
import type { VectorFile, VectorGenerator } from './common.js'
import type { PrivateKey } from '@libp2p/interface'

/** What a reader checks an attestation against (docs/PROTOCOL.md §15.3). */
export interface AttestationCheck {
  network: string
  peerId: string
  /** The registries the reader trusts for the network. */
  trusted: string[]
  now: number
}

const text = (value: string): Uint8Array => uint8ArrayFromString(value)

/** An attestation payload signed as is, to break one rule at a time. */
async function rawAttestation (payload: Record<string, unknown>, key: PrivateKey, domain = ATTESTATION_DOMAIN, payloadType: Uint8Array = ATTESTATION_PAYLOAD_TYPE): Promise<Uint8Array> {
  return sealEnvelope(domain, payloadType, text(JSON.stringify(payload)), key)
}

export const liveness: VectorGenerator = {
  file: 'liveness.json',
  async generate (): Promise<VectorFile> {
    const registryKey = await fixedKey('registry')
    const otherKey = await fixedKey('other')
    const registry = peerIdOf(registryKey)
    const publisher = peerIdOf(await fixedKey('publisher'))
    const check: AttestationCheck = { network: NETWORK, peerId: publisher, trusted: [registry], now: NOW }
    const measuredAt = NOW - 2_000
    const expiresAt = measuredAt + 48_000
    const fields = { v: 1, network: NETWORK, peerId: publisher, status: 'alive', rttMs: 0.412, measuredAt, expiresAt }

    const valid = async (description: string, envelope: Uint8Array, attestation: Record<string, unknown>, checkAs: Partial<AttestationCheck> = {}): Promise<Record<string, unknown>> =>
      ({ description, envelope: hex(envelope), check: { ...check, ...checkAs }, attestation: { ...attestation, registry } })
    const invalid = async (description: string, envelope: Uint8Array, rule: number, breaks: string, checkAs: Partial<AttestationCheck> = {}): Promise<Record<string, unknown>> =>
      ({ description, envelope: hex(envelope), check: { ...check, ...checkAs }, rule, breaks })

    const attestations = {
      valid: [
        await valid('alive, with its smoothed RTT', await sealAttestation({ network: NETWORK, peerId: publisher, status: 'alive', rttMs: 0.412, measuredAt, expiresAt }, registryKey),
          { network: NETWORK, peerId: publisher, status: 'alive', rttMs: 0.412, measuredAt, expiresAt }),
        await valid('down (no RTT)', await sealAttestation({ network: NETWORK, peerId: publisher, status: 'down', measuredAt, expiresAt }, registryKey),
          { network: NETWORK, peerId: publisher, status: 'down', measuredAt, expiresAt }),
        await valid('expired 4999 ms ago (within the 5 s of clock skew)', await sealAttestation({ network: NETWORK, peerId: publisher, status: 'alive', measuredAt: NOW - 60_000, expiresAt: NOW - 4_999 }, registryKey),
          { network: NETWORK, peerId: publisher, status: 'alive', measuredAt: NOW - 60_000, expiresAt: NOW - 4_999 }),
        await valid('measured 5000 ms ahead of the reader\'s clock', await sealAttestation({ network: NETWORK, peerId: publisher, status: 'alive', measuredAt: NOW + 5_000, expiresAt: NOW + 53_000 }, registryKey),
          { network: NETWORK, peerId: publisher, status: 'alive', measuredAt: NOW + 5_000, expiresAt: NOW + 53_000 }),
        await valid('valid for exactly 300000 ms', await sealAttestation({ network: NETWORK, peerId: publisher, status: 'alive', measuredAt, expiresAt: measuredAt + 300_000 }, registryKey),
          { network: NETWORK, peerId: publisher, status: 'alive', measuredAt, expiresAt: measuredAt + 300_000 }),
        await valid('an unknown extra field (ignored)', await rawAttestation({ ...fields, 'x-future': true }, registryKey),
          { network: NETWORK, peerId: publisher, status: 'alive', rttMs: 0.412, measuredAt, expiresAt })
      ],
      invalid: [
        await invalid('signed for the record domain', await rawAttestation(fields, registryKey, 'netget-service-record'), 1, 'the signature is valid for the domain netget-liveness-attestation'),
        await invalid('payload type /netget/record/1', await rawAttestation(fields, registryKey, ATTESTATION_DOMAIN, text('/netget/record/1')), 1, 'the payload type is /netget/attestation/1'),
        await invalid('signed by a secp256k1 key', await rawAttestation(fields, fixedSecp256k1Key('secp256k1'), ATTESTATION_DOMAIN), 1, 'signatures are Ed25519 (§1)', { trusted: [registry, peerIdOf(fixedSecp256k1Key('secp256k1'))] }),
        await invalid('payload not JSON', await sealEnvelope(ATTESTATION_DOMAIN, ATTESTATION_PAYLOAD_TYPE, text('alive'), registryKey), 2, 'the payload is a JSON object'),
        await invalid('"v": 2', await rawAttestation({ ...fields, v: 2 }, registryKey), 2, '"v" is 1'),
        await invalid('status "up"', await rawAttestation({ ...fields, status: 'up' }, registryKey), 2, '"status" is "alive" or "down"'),
        await invalid('a negative rttMs', await rawAttestation({ ...fields, rttMs: -1 }, registryKey), 2, '"rttMs" ≥ 0'),
        await invalid('a peerId that is not a peer ID', await rawAttestation({ ...fields, peerId: 'QmNope' }, registryKey), 2, '"peerId" is a base58btc peer ID'),
        await invalid('measuredAt a string', await rawAttestation({ ...fields, measuredAt: String(measuredAt) }, registryKey), 2, '"measuredAt" is an integer'),
        await invalid('expiresAt before measuredAt', await rawAttestation({ ...fields, expiresAt: measuredAt - 1 }, registryKey), 2, 'measuredAt ≤ expiresAt'),
        await invalid('valid for 300001 ms', await rawAttestation({ ...fields, expiresAt: measuredAt + 300_001 }, registryKey), 2, 'expiresAt ≤ measuredAt + 300000'),
        await invalid('of another network', await sealAttestation({ network: 'staging', peerId: publisher, status: 'alive', measuredAt, expiresAt }, registryKey), 3, '"network" is the reader\'s network id'),
        await invalid('about another publisher than the record', await sealAttestation({ network: NETWORK, peerId: registry, status: 'alive', measuredAt, expiresAt }, registryKey), 4, '"peerId" is that of the record it is matched with'),
        await invalid('signed by a key the reader does not trust for the network', await sealAttestation({ network: NETWORK, peerId: publisher, status: 'alive', measuredAt, expiresAt }, otherKey), 5, 'the signer is a registry the reader trusts'),
        await invalid('measured 5001 ms ahead of the reader\'s clock', await sealAttestation({ network: NETWORK, peerId: publisher, status: 'alive', measuredAt: NOW + 5_001, expiresAt: NOW + 53_000 }, registryKey), 6, 'measuredAt ≤ now + 5000'),
        await invalid('expired 5000 ms ago', await sealAttestation({ network: NETWORK, peerId: publisher, status: 'alive', measuredAt: NOW - 60_000, expiresAt: NOW - 5_000 }, registryKey), 6, 'now < expiresAt + 5000')
      ]
    }

    const record = await sealRecord({ network: NETWORK, name: NAME, peerId: publisher, multiaddrs: [`/ip4/10.0.0.7/tcp/41237/p2p/${publisher}`], metadata: { name: NAME }, seq: SEQ, expiresAt: EXPIRES_AT, withdrawn: false }, await fixedKey('publisher'))
    const alive = await sealAttestation({ network: NETWORK, peerId: publisher, status: 'alive', rttMs: 0.412, measuredAt, expiresAt }, registryKey)
    const down = await sealAttestation({ network: NETWORK, peerId: publisher, status: 'down', measuredAt, expiresAt }, registryKey)
    const request = (description: string, value: Record<string, unknown>): Record<string, unknown> =>
      ({ description, frame: hex(frame(encodeLookupRequest(value as { name: string }))), request: value })
    const malformed = (description: string, body: string): Record<string, unknown> => ({ description, frame: hex(frame(text(body))), code: 'bad-request' })
    const serverFrame = (value: Record<string, unknown>): string => hex(frame(encodeLookupHeader(value as never)))

    const subscriptions = {
      requests: {
        valid: [
          request('a lookup with attestations', { name: NAME, health: true }),
          request('subscribe (netget sends it with health)', { name: NAME, health: true, subscribe: true }),
          request('unsubscribe', { name: NAME, unsubscribe: true })
        ],
        malformed: [
          malformed('both subscribe and unsubscribe', '{"name":"DatabaseService","subscribe":true,"unsubscribe":true}'),
          malformed('subscribe not a boolean', '{"name":"DatabaseService","subscribe":"yes"}'),
          malformed('health not a boolean', '{"name":"DatabaseService","health":1}')
        ]
      },
      answers: [
        { description: 'the answer to a subscribe: one record, its attestation, subscribed', frames: [serverFrame({ count: 1, attestations: 1, subscribed: true }), hex(frame(record)), hex(frame(alive))], header: { count: 1, attestations: 1, subscribed: true } },
        { description: 'a subscribe the registry did not take (no "subscribed"): the asker polls', frames: [serverFrame({ count: 1 }), hex(frame(record))], header: { count: 1 } },
        { description: 'the answer to an unsubscribe', frames: [serverFrame({ count: 0 })], header: { count: 0 } }
      ],
      pushes: {
        valid: [
          { description: 'a new or replaced record, with its attestation', frames: [serverFrame({ push: NAME, count: 1, attestations: 1, removed: [], resync: false }), hex(frame(record)), hex(frame(alive))], push: { push: NAME, count: 1, attestations: 1, removed: [], resync: false } },
          { description: 'a status change only: the publisher is down', frames: [serverFrame({ push: NAME, count: 0, attestations: 1, removed: [], resync: false }), hex(frame(down))], push: { push: NAME, count: 0, attestations: 1, removed: [], resync: false } },
          { description: 'a record the registry no longer holds', frames: [serverFrame({ push: NAME, count: 0, attestations: 0, removed: [publisher], resync: false })], push: { push: NAME, count: 0, attestations: 0, removed: [publisher], resync: false } },
          { description: 'changes dropped: look the service up again', frames: [serverFrame({ push: NAME, count: 0, attestations: 0, removed: [], resync: true })], push: { push: NAME, count: 0, attestations: 0, removed: [], resync: true } },
          { description: 'optional fields left out (attestations 0, removed [], resync false)', frames: [serverFrame({ push: NAME, count: 0 })], push: { push: NAME, count: 0, attestations: 0, removed: [], resync: false } }
        ],
        malformed: [
          { description: 'push is not a service name', frame: serverFrame({ push: 'Database Service', count: 0 }) },
          { description: 'count above 1000', frame: serverFrame({ push: NAME, count: 1001 }) },
          { description: 'a negative attestations', frame: serverFrame({ push: NAME, count: 0, attestations: -1 }) },
          { description: 'removed not an array', frame: serverFrame({ push: NAME, count: 0, removed: publisher }) }
        ]
      }
    }

    return {
      description: 'Liveness attestations (docs/PROTOCOL.md §15) and subscriptions (§16). `attestations.valid` verify for a reader checking as `check` says (its network id, the record\'s peerId, the registries it trusts, its clock `now`) and decode to `attestation` (with the signing `registry`); `attestations.invalid` are ignored by such a reader, each breaking the rule numbered `rule` of §15.3 (`breaks`). `subscriptions`: lookup requests that subscribe, their answers, and push frames, as hex frames (a minimal unsigned varint length, then the bytes); malformed requests get an error header with `code`; malformed pushes are a protocol error (the asker closes the stream).',
      now: NOW,
      registry,
      publisher,
      attestations,
      subscriptions
    }
  }
}

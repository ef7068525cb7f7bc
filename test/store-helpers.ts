import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { dhtProtocol, lookupProtocol, recordKey, sealRecord } from '../src/index.js'
import { LookupClient } from '../src/discovery/lookup-client.js'
import { encodePutValue } from '../src/protocol/direct-put.js'
import { peekRecord } from '../src/records/verify.js'
import type { Netget, ServiceRecord } from '../src/index.js'
import type { VerifiedRecord } from '../src/records/verify.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { logger } from '@libp2p/logger'

/** A record key and the envelope to put under it. */
export interface Entry {
  key: Uint8Array
  value: Uint8Array
  peerId: string
}

/** A live record of `name` signed by `key` (fresh key when omitted). */
export async function signedEntry (network: string, name: string, options: { key?: PrivateKey, seq?: number, ttl?: number, withdrawn?: boolean, metadata?: Record<string, unknown> } = {}): Promise<Entry & { key: Uint8Array, privateKey: PrivateKey, record: ServiceRecord }> {
  const privateKey = options.key ?? await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(privateKey).toString()
  const record: ServiceRecord = {
    network,
    name,
    peerId,
    multiaddrs: [],
    metadata: { name, ...options.metadata },
    seq: options.seq ?? 1,
    expiresAt: Date.now() + (options.ttl ?? 10 * 60_000),
    withdrawn: options.withdrawn ?? false
  }
  return { key: recordKey(network, name, peerId), value: await sealRecord(record, privateKey), peerId, privateKey, record }
}

/** `count` live records of `name`, each signed by a throwaway key. */
export async function junkEntries (network: string, name: string, count: number, metadata?: Record<string, unknown>): Promise<Entry[]> {
  return Promise.all(Array.from({ length: count }, async () => signedEntry(network, name, { metadata })))
}

/**
 * Puts `entries` one after another over one kad stream from `node` to
 * `registry` (what one connection can do); resolves with how many were
 * acknowledged before the registry refused one (it resets the stream).
 */
export async function putOverOneStream (node: Netget, registry: PeerId, network: string, entries: Entry[]): Promise<number> {
  const stream = await node.libp2p.dialProtocol(registry, dhtProtocol(network), { signal: AbortSignal.timeout(5_000) })
  const messages = lpStream(stream, { maxDataLength: 64 * 1024 })
  let accepted = 0

  try {
    for (const entry of entries) {
      const signal = AbortSignal.timeout(10_000)
      await messages.write(encodePutValue(entry.key, entry.value), { signal })
      await messages.read({ signal })
      accepted++
    }

    await stream.close()
  } catch {
    stream.abort(new Error('refused'))
  }

  return accepted
}

/** One page of a lookup, read raw: the header and the envelopes. */
export async function rawLookup (node: Netget, registry: PeerId, network: string, request: Record<string, unknown>): Promise<{ header: Record<string, unknown>, envelopes: Uint8Array[] }> {
  const stream = await node.libp2p.dialProtocol(registry, lookupProtocol(network), { signal: AbortSignal.timeout(5_000) })
  const messages = lpStream(stream, { maxDataLength: 64 * 1024 })
  const signal = AbortSignal.timeout(10_000)

  try {
    await messages.write(uint8ArrayFromString(JSON.stringify(request)), { signal })
    const header = JSON.parse(uint8ArrayToString((await messages.read({ signal })).subarray()))
    const envelopes: Uint8Array[] = []

    for (let i = 0; i < (header.count ?? 0); i++) {
      envelopes.push((await messages.read({ signal })).subarray())
    }

    await stream.close()
    return { header, envelopes }
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/** Every record of `name` a registry returns to netget's lookup client (all pages). */
export async function lookupAll (node: Netget, registry: PeerId, network: string, name: string, maxRecords?: number): Promise<VerifiedRecord[]> {
  const client = new LookupClient({ libp2p: node.libp2p, network, log: logger('netget:test:lookup'), maxRecords })
  const records: VerifiedRecord[] = []

  try {
    await client.lookup(registry, name, AbortSignal.timeout(20_000), { onRecord: record => { records.push(record) } })
    return records
  } finally {
    client.stop()
  }
}

/** The peer IDs and seqs of envelopes, without verifying them. */
export function peek (envelopes: Uint8Array[]): Array<{ peerId: string, seq: number, withdrawn: boolean }> {
  return envelopes.map(envelope => {
    const record = peekRecord(envelope)
    return { peerId: record?.peerId ?? '', seq: record?.seq ?? -1, withdrawn: record?.withdrawn ?? false }
  })
}

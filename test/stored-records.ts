/**
 * Fills a registry with validly signed records of instances that do not run,
 * cheaply: each is sealed with a fresh Ed25519 key by the exported
 * `sealRecord` and written straight into the registry's datastore under the
 * key kad-dht uses, as if a peer had put it (the record index sees it like
 * any other write). Nothing goes over the network.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { Record as DhtRecord } from '@libp2p/kad-dht'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Key } from 'interface-datastore'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { recordKey, sealRecord } from '../src/index.js'
import { dhtDatastorePrefix } from '../src/protocol/ids.js'
import type { Netget } from '../src/index.js'
import type { Datastore } from 'interface-datastore'

/** One record to store. */
export interface StoredRecord {
  name: string
  /** Where the (absent) instance claims to listen; the peer ID is appended. @default '/ip4/127.0.0.1/tcp/9' */
  address?: string
  /** Extra metadata, e.g. padding to make the record bigger. */
  metadata?: Record<string, unknown>
}

/** Stores the records on `registry` and returns their peer IDs, in order. */
export async function storeRecords (registry: Netget, records: StoredRecord[]): Promise<string[]> {
  const datastore = (registry.libp2p as unknown as { components: { datastore: Datastore } }).components.datastore
  const prefix = `${dhtDatastorePrefix(registry.network)}/record`
  const peerIds: string[] = []

  for (const record of records) {
    const key = await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(key).toString()
    const envelope = await sealRecord({
      network: registry.network,
      name: record.name,
      peerId,
      multiaddrs: [`${record.address ?? '/ip4/127.0.0.1/tcp/9'}/p2p/${peerId}`],
      metadata: { name: record.name, ...record.metadata },
      seq: Date.now(),
      expiresAt: Date.now() + 10 * 60_000,
      withdrawn: false
    }, key)
    const dhtKey = recordKey(registry.network, record.name, peerId)
    await datastore.put(new Key(`${prefix}/${uint8ArrayToString(dhtKey, 'base32')}`, false), new DhtRecord(dhtKey, envelope, new Date()).serialize())
    peerIds.push(peerId)
  }

  return peerIds
}

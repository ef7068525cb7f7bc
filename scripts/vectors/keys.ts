import { serviceCid, serviceTopic, recordKey } from '../../src/records/keys.js'
import { networkNamespace } from '../../src/protocol/ids.js'
import { describeKey, fixedKey, fixedSecp256k1Key, hex, peerIdOf } from './common.js'
import { NAME, NETWORK } from './records.js'
import type { VectorFile, VectorGenerator } from './common.js'

/** The labels of the fixed Ed25519 keys every other file signs with. */
export const KEY_LABELS = ['publisher', 'other', 'relay', 'authority', 'registry']

export const keys: VectorGenerator = {
  file: 'keys.json',
  async generate (): Promise<VectorFile> {
    const ed25519 = await Promise.all(KEY_LABELS.map(async label => describeKey(label, await fixedKey(label))))
    return {
      description: 'Fixed keys (docs/PROTOCOL.md §1): `seed` is sha2-256 of "netget test vector key <label>"; an Ed25519 key is generated from it as a 32-byte seed (RFC 8032), the secp256k1 key takes it as its raw private key. `privateKey` and `publicKey` are the libp2p PrivateKey and PublicKey protobufs, `peerId` the base58btc string of the identity multihash of the PublicKey protobuf. The secp256k1 key exists only to show that netget refuses what it signs.',
      keys: [...ed25519, describeKey('secp256k1', fixedSecp256k1Key('secp256k1'))]
    }
  }
}

export const dhtKeys: VectorGenerator = {
  file: 'dht-keys.json',
  async generate (): Promise<VectorFile> {
    const publisher = peerIdOf(await fixedKey('publisher'))
    const authority = peerIdOf(await fixedKey('authority'))
    const services = []

    for (const [network, name] of [[NETWORK, NAME], ['development', 'api'], [networkNamespace(NETWORK, authority), NAME]]) {
      const cid = await serviceCid(network, name)
      const key = recordKey(network, name, publisher)
      services.push({
        network,
        name,
        topic: serviceTopic(network, name),
        cid: cid.toString(),
        cidBytes: hex(cid.bytes),
        providerKey: hex(cid.multihash.bytes),
        peerId: publisher,
        recordKey: new TextDecoder().decode(key),
        recordKeyBytes: hex(key)
      })
    }

    return {
      description: 'DHT keys (docs/PROTOCOL.md §2, §4.3, §5): `cid` is the service CID (CIDv1, raw, sha2-256 of the UTF-8 `topic`), base32 string and bytes; `providerKey` is the kad key of ADD_PROVIDER and GET_PROVIDERS, the CID\'s multihash (0x12 0x20 + digest), not the CID bytes; `recordKey` is the kad key of the record of `peerId`, the UTF-8 bytes of the string.',
      services
    }
  }
}

import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { fromString as uint8ArrayFromString } from 'uint8arrays/from-string'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { NETWORK_ID_PATTERN, SERVICE_NAME_PATTERN } from '../constants.js'
import { InvalidRecordError } from '../errors.js'

/** The first part of every netget DHT key; kad-dht picks netget's validator and selector by it. */
export const KEY_NAMESPACE = 'netget'

/** The parts of a service record key. */
export interface RecordKeyParts {
  network: string
  name: string
  peerId: string
}

/**
 * The DHT key of one instance's record: `/netget/<network>/<name>/<peerId>`,
 * UTF-8 encoded.
 */
export function recordKey (network: string, name: string, peerId: string): Uint8Array {
  return uint8ArrayFromString(`/${KEY_NAMESPACE}/${network}/${name}/${peerId}`)
}

/**
 * Splits a record key into its parts, or throws InvalidRecordError if it is
 * not a well-formed netget record key.
 */
export function parseRecordKey (key: Uint8Array): RecordKeyParts {
  const parts = uint8ArrayToString(key).split('/')

  if (parts.length !== 5 || parts[0] !== '' || parts[1] !== KEY_NAMESPACE) {
    throw new InvalidRecordError('Record key is not of the form /netget/<network>/<name>/<peerId>', { code: 'bad-key' })
  }

  const [, , network, name, peerId] = parts

  if (!NETWORK_ID_PATTERN.test(network)) {
    throw new InvalidRecordError(`Record key names an invalid network "${network.slice(0, 40)}"`, { code: 'bad-key' })
  }

  if (!SERVICE_NAME_PATTERN.test(name)) {
    throw new InvalidRecordError(`Record key names an invalid service "${name.slice(0, 70)}"`, { code: 'bad-key' })
  }

  if (peerId.length === 0) {
    throw new InvalidRecordError('Record key has an empty peer ID', { code: 'bad-key' })
  }

  return { network, name, peerId }
}

/** The string every instance of a service derives its provider CID from: `/netget/<network>/<name>`. */
export function serviceTopic (network: string, name: string): string {
  return `/${KEY_NAMESPACE}/${network}/${name}`
}

/**
 * The CID every instance of a service announces itself as a provider of:
 * CIDv1, raw codec, sha2-256 of the UTF-8 bytes of {@link serviceTopic}.
 */
export async function serviceCid (network: string, name: string): Promise<CID> {
  const digest = await sha256.digest(uint8ArrayFromString(serviceTopic(network, name)))
  return CID.createV1(raw.code, digest)
}

import { lpStream } from '@libp2p/utils'
import { MAX_RECORD_BYTES } from '../constants.js'
import { decodeLookupHeader, encodeLookupRequest } from '../network/lookup-messages.js'
import { lookupProtocol } from '../network/namespace.js'
import { verifyRecord } from '../records/verify.js'
import type { VerifiedRecord } from '../records/verify.js'
import type { Logger, PeerId } from '@libp2p/interface'
import type { Libp2p } from 'libp2p'

/**
 * Asks one registry for every record of `name` over the lookup protocol and
 * calls `onRecord` for each one that passes verification, as it arrives.
 * Records that fail verification are logged and dropped: a registry cannot
 * make this node accept a forged, foreign or expired record.
 */
export async function askRegistry (libp2p: Libp2p, registry: PeerId, network: string, name: string, signal: AbortSignal, log: Logger, onRecord: (record: VerifiedRecord) => void): Promise<void> {
  const stream = await libp2p.dialProtocol(registry, lookupProtocol(network), { signal })

  try {
    const messages = lpStream(stream, { maxDataLength: MAX_RECORD_BYTES })
    await messages.write(encodeLookupRequest(name), { signal })
    const count = decodeLookupHeader((await messages.read({ signal })).subarray())

    for (let i = 0; i < count; i++) {
      const envelope = (await messages.read({ signal })).subarray()

      try {
        onRecord(await verifyRecord(envelope, { network, name }))
      } catch (err) {
        log('registry %p sent an invalid record for %s - %e', registry, name, err)
      }
    }

    await stream.close({ signal })
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

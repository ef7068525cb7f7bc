import { MAX_LOOKUP_RESULTS } from '../constants.js'
import { verifyRecord } from '../records/verify.js'
import type { Health, HealthMonitor } from '../health/health-monitor.js'
import type { VerifiedRecord } from '../records/verify.js'
import type { RecordIndex } from './record-index.js'
import type { Logger } from '@libp2p/interface'
import { byHealth } from '../instances/instances.js'

/** What {@link listIndexedServices} needs from a registry. */
export interface ServiceListInit<T> {
  network: string
  index: RecordIndex
  health: HealthMonitor<VerifiedRecord>
  /** Pings instances whose health is unknown before returning, bounded by this signal. */
  signal: AbortSignal
  log: Logger
  toInstance(record: VerifiedRecord, health: Health): T
}

/** One service as a registry knows it. */
export interface ServiceSummary<T> {
  /** The service name. */
  name: string
  /** Its live instances, each record verified, healthy first. */
  instances: T[]
}

/**
 * Lists every service a registry stores and the live instances of each. Every
 * record is verified again (the index holds what peers stored). Instances are
 * tracked by the registry's health monitor from then on, until their record
 * expires; instances not pinged yet are pinged before this resolves.
 */
export async function listIndexedServices<T> (init: ServiceListInit<T>): Promise<Array<ServiceSummary<T>>> {
  const { index, network, health, log } = init
  const services = await Promise.all(index.names().map(async name => {
    const records: VerifiedRecord[] = []

    const page = index.page(name, { limit: MAX_LOOKUP_RESULTS, maxBytes: Infinity })

    for (const envelope of await index.envelopes(page.records)) {
      try {
        const record = await verifyRecord(envelope, { network, name })

        if (!record.withdrawn && record.expiresAt > Date.now()) {
          records.push(record)
        }
      } catch (err) {
        log('stored record of %s does not verify - %e', name, err)
      }
    }

    const instances = await Promise.all(records.map(async record => {
      const current = await health.observe(record, { signal: init.signal })
      return { health: current, instance: init.toInstance(record, current) }
    }))

    instances.sort(byHealth)
    return { name, instances: instances.map(entry => entry.instance) }
  }))

  return services.filter(service => service.instances.length > 0)
}

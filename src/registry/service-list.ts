import { MAX_LOOKUP_RESULTS } from '../constants.js'
import { byHealth } from '../instances/instances.js'
import { verifyRecord } from '../records/verify.js'
import type { RecordExpectations } from '../records/verify.js'
import type { Health, HealthMonitor } from '../health/health-monitor.js'
import type { VerifiedRecord } from '../records/verify.js'
import type { RecordIndex } from './record-index.js'
import type { AbortOptions, Logger } from '@libp2p/interface'

/** Options of `Netget.listServices()`. */
export interface ListServicesOptions extends AbortOptions {
  /**
   * Ping instances whose health is unknown before answering, and track every
   * listed instance (pinged each `healthInterval`) until its record expires.
   * With `false` nothing is pinged or tracked: health is what the registry
   * already knows (`unknown` for an instance nobody asked it to check).
   * @default true
   */
  ping?: boolean
  /** Only services whose name sorts after this one (by UTF-16 code unit), for paging. */
  after?: string
  /** Only this service. */
  name?: string
  /** At most this many services. @default Infinity */
  limit?: number
  /** At most this many instances per service (the first verified, then sorted by health). @default 1000 (`MAX_LOOKUP_RESULTS`) */
  maxInstances?: number
  /** At most this many instances in all; the listing ends with the service that reaches it. @default Infinity */
  maxTotalInstances?: number
  /** Also list instances whose own checks are `critical` (their record's `status`); instances that do not answer pings are listed either way, with their health. @default false */
  includeUnhealthy?: boolean
  /** A registry serving several networks: the network to list (its name). @default the node's `network` */
  network?: string
}

/** What {@link listIndexedServices} needs from a registry. */
export interface ServiceListInit<T> {
  network: string
  index: RecordIndex
  health: HealthMonitor<VerifiedRecord>
  /** Bounds the pings of instances whose health is unknown. */
  signal: AbortSignal
  log: Logger
  toInstance(record: VerifiedRecord, health: Health): T
  /**
   * Records already verified, by `<name>/<peer id>`, so that a record is
   * checked once however often it is listed (an Ed25519 check costs about
   * 0.5 ms of CPU); an entry is used only while its `seq` is the stored one,
   * and goes when it expires.
   */
  verified?: Map<string, VerifiedRecord>
  /** Closed networks: leaves out a record whose publisher holds no valid credential for it. */
  checkPublisher?: RecordExpectations['checkPublisher']
}

/** One service as a registry knows it. */
export interface ServiceSummary<T> {
  /** The service name. */
  name: string
  /** Its live instances, each record verified, healthy first. */
  instances: T[]
}

/** Verifications between two yields to the event loop while listing. */
const VERIFICATIONS_PER_TURN = 32

/**
 * Lists the services a registry stores and the live instances of each, in
 * name order. Every record is verified (the index holds what peers stored;
 * `init.verified` remembers the ones that passed), yielding to the event loop
 * every few checks so a long listing never stalls the node. With `ping` (the
 * default) instances are tracked by the registry's health monitor from then
 * on, until their record expires, and those not pinged yet are pinged before
 * this resolves; with `ping: false` health is only read.
 */
export async function listIndexedServices<T> (init: ServiceListInit<T>, options: ListServicesOptions = {}): Promise<Array<ServiceSummary<T>>> {
  const { index, network, health, log } = init
  const limit = options.limit ?? Infinity
  const maxInstances = options.maxInstances ?? MAX_LOOKUP_RESULTS
  const maxTotal = options.maxTotalInstances ?? Infinity
  const after = options.after
  let names = options.name === undefined ? index.names() : [options.name]

  if (after !== undefined) {
    names = names.filter(name => name > after)
  }

  const found: Array<{ name: string, records: VerifiedRecord[] }> = []
  const verified = init.verified ?? new Map<string, VerifiedRecord>()

  for (const [key, record] of verified) {
    if (record.expiresAt <= Date.now()) {
      verified.delete(key)
    }
  }

  let verifications = 0
  let total = 0

  for (const name of names) {
    if (found.length >= limit || total >= maxTotal) {
      break
    }

    const records: VerifiedRecord[] = []

    const now = Date.now()
    const page = index.page(name, { limit: MAX_LOOKUP_RESULTS, maxBytes: Infinity })
    const live = page.records.filter(meta => !meta.withdrawn && meta.expiresAt > now).slice(0, Math.max(0, Math.min(maxInstances, maxTotal - total)))
    const unverified = live.filter(meta => verified.get(`${name}/${meta.peerId}`)?.seq !== meta.seq)
    const envelopes = await index.envelopes(unverified)

    for (let i = 0; i < unverified.length; i++) {
      if (++verifications % VERIFICATIONS_PER_TURN === 0) {
        await yieldToEventLoop()
      }

      try {
        verified.set(`${name}/${unverified[i].peerId}`, await verifyRecord(envelopes[i], { network, name, checkPublisher: init.checkPublisher }))
      } catch (err) {
        log('stored record of %s does not verify - %e', name, err)
      }
    }

    for (const meta of live) {
      const record = verified.get(`${name}/${meta.peerId}`)

      if (record === undefined || record.seq !== meta.seq) {
        continue
      }

      if (!record.withdrawn && record.expiresAt > Date.now() && (options.includeUnhealthy === true || record.status !== 'critical')) {
        records.push(record)
        total++
      }
    }

    if (records.length > 0) {
      found.push({ name, records })
    }
  }

  return Promise.all(found.map(async ({ name, records }) => {
    const instances = await Promise.all(records.map(async record => {
      const current = options.ping === false ? health.health(record.peerId) : await health.observe(record, { signal: init.signal })
      return { health: current, status: record.status, instance: init.toInstance(record, current) }
    }))

    instances.sort(byHealth)
    return { name, instances: instances.map(entry => entry.instance) }
  }))
}

async function yieldToEventLoop (): Promise<void> {
  await new Promise<void>(resolve => { setImmediate(resolve) })
}

import { SERVICE_CACHE_SIZE } from './constants.js'
import type { ListServicesOptions, ServiceSummary } from '../registry/service-list.js'
import type { ServiceInstance } from '../types.js'
import type { Logger } from '@libp2p/interface'

/** The caps of one snapshot, reported in every `/api/services` answer. */
export interface SnapshotLimits {
  /** Most services. */
  maxServices: number
  /** Most instances per service. */
  maxInstancesPerService: number
  /** Most instances in all. */
  maxInstances: number
  /** Most bytes of service JSON. */
  maxBytes: number
}

/** One service as the HTTP API shows it. */
export interface ServiceEntry extends ServiceSummary<ServiceInstance> {
  /** Present (true) when instances were left out by a cap of {@link SnapshotLimits}. */
  truncated?: true
}

/** A service of a snapshot, serialised once for every answer that includes it. */
export interface SnapshotEntry {
  name: string
  /** The service's JSON ({@link ServiceEntry}), UTF-8. */
  json: Buffer
}

/** What the registry stored at one moment, within the caps. */
export interface Snapshot {
  /** Unix ms when it was built. */
  generatedAt: number
  /** Unix ms when its build began: a change after this may be missing from it. */
  startedAt: number
  /** Services in name order. */
  entries: SnapshotEntry[]
  /** true if services or instances were left out by a cap. */
  truncated: boolean
  /** Instances held. */
  instances: number
  /** Bytes of service JSON held. */
  bytes: number
}

/** What a {@link ServicesSnapshot} needs. */
export interface ServicesSnapshotInit extends SnapshotLimits {
  /** Lists the registry's services (`Netget.listServices`); always called with `ping: false`. */
  list(options: ListServicesOptions): Promise<Array<ServiceSummary<ServiceInstance>>>
  /** How long a snapshot is served before it is rebuilt, in ms. */
  interval: number
  log: Logger
}

interface CachedService {
  builtAt: number
  entry: Promise<SnapshotEntry | undefined>
}

/**
 * The registry's services as the HTTP API serves them: a snapshot built at
 * most once per `interval` (counted from the end of the last build), by one
 * build at a time, capped in services, instances and bytes, each service
 * serialised once. Nothing is pinged: health is what the registry already
 * knows. Requests only read the snapshot, so any number of them cost one
 * build per interval.
 */
export class ServicesSnapshot {
  private readonly init: ServicesSnapshotInit
  private current?: Snapshot
  private builtAt = -Infinity
  private building?: Promise<Snapshot>
  private builds: Promise<unknown> = Promise.resolve()
  private readonly services = new Map<string, CachedService>()
  /** Bumped by {@link invalidate}: a build begun before it is served but not cached. */
  private generation = 0

  constructor (init: ServicesSnapshotInit) {
    this.init = init
  }

  /** The current snapshot, rebuilt first if it is older than the interval (requests arriving meanwhile share that build). */
  async get (): Promise<Snapshot> {
    if (this.current !== undefined && performance.now() - this.builtAt < this.init.interval) {
      return this.current
    }

    const generation = this.generation
    const building = this.building ?? this.exclusive(async () => this.build()).then(snapshot => {
      if (generation === this.generation) {
        this.current = snapshot
        this.builtAt = performance.now()
      }

      return snapshot
    }).finally(() => {
      if (this.building === building) {
        this.building = undefined
      }
    })
    this.building = building
    return building
  }

  /** Forgets the snapshot and the cached services: the next request builds anew (changes may have gone unseen). */
  invalidate (): void {
    this.generation++
    this.current = undefined
    this.builtAt = -Infinity
    this.building = undefined
    this.services.clear()
  }

  /** One service built now, capped like the snapshot's; undefined if it has no live instance. */
  async fresh (name: string): Promise<SnapshotEntry | undefined> {
    return this.exclusive(async () => this.buildService(name))
  }

  /**
   * One service: from the snapshot, or, if the snapshot was capped before
   * reaching it, from a build of that service alone (capped the same way,
   * cached for the interval, one build at a time with the snapshot's).
   */
  async service (name: string): Promise<SnapshotEntry | undefined> {
    const snapshot = await this.get()
    const entry = findEntry(snapshot.entries, name)

    if (entry !== undefined || !snapshot.truncated) {
      return entry
    }

    const cached = this.services.get(name)

    if (cached !== undefined && performance.now() - cached.builtAt < this.init.interval) {
      return cached.entry
    }

    const built: CachedService = { builtAt: Infinity, entry: Promise.resolve(undefined) }
    built.entry = this.exclusive(async () => this.buildService(name)).finally(() => { built.builtAt = performance.now() })
    this.services.delete(name)
    this.services.set(name, built)

    for (const oldest of this.services.keys()) {
      if (this.services.size <= SERVICE_CACHE_SIZE) {
        break
      }

      this.services.delete(oldest)
    }

    return built.entry
  }

  private async buildService (name: string): Promise<SnapshotEntry | undefined> {
    const [summary] = await this.init.list({ ping: false, name, limit: 1, maxInstances: this.init.maxInstancesPerService + 1 })
    return summary === undefined || summary.name !== name ? undefined : serialise(summary, this.init.maxInstancesPerService, this.init.maxBytes).entry
  }

  private async build (): Promise<Snapshot> {
    const { maxServices, maxInstancesPerService, maxInstances, maxBytes, log } = this.init
    const started = performance.now()
    const startedAt = Date.now()
    // one more of each than the caps allow, to know whether a cap left something out
    const summaries = await this.init.list({ ping: false, limit: maxServices + 1, maxInstances: maxInstancesPerService + 1, maxTotalInstances: maxInstances + 1 })
    let truncated = summaries.length > maxServices
    const entries: SnapshotEntry[] = []
    let instances = 0
    let bytes = 0

    for (const summary of summaries.slice(0, maxServices)) {
      const room = Math.min(maxInstancesPerService, maxInstances - instances)
      const { entry, count, complete } = serialise(summary, room, maxBytes - bytes)

      if (!complete) {
        truncated = true
      }

      if (entry === undefined) {
        break
      }

      entries.push(entry)
      instances += count
      bytes += entry.json.byteLength
    }

    log('snapshot of %d services, %d instances, %d bytes%s built in %d ms', entries.length, instances, bytes, truncated ? ' (truncated)' : '', Math.round(performance.now() - started))
    return { generatedAt: Date.now(), startedAt, entries, truncated, instances, bytes }
  }

  /** Runs builds one after another. */
  private async exclusive<T> (task: () => Promise<T>): Promise<T> {
    const result = this.builds.then(task)
    this.builds = result.catch(() => {})
    return result
  }
}

/** The services of `entries` (in name order) after `cursor`, at most `limit`, and the cursor of the next page if there is one. */
export function page (entries: SnapshotEntry[], cursor: string | undefined, limit: number): { entries: SnapshotEntry[], nextCursor?: string } {
  const start = cursor === undefined ? 0 : firstAfter(entries, cursor)
  const slice = entries.slice(start, start + limit)
  return start + limit < entries.length ? { entries: slice, nextCursor: slice[slice.length - 1].name } : { entries: slice }
}

/**
 * A service's JSON with at most `maxInstances` instances and `maxBytes`
 * bytes; `complete` is false if anything was left out, `entry` undefined if
 * not even one instance fits.
 */
function serialise (summary: ServiceSummary<ServiceInstance>, maxInstances: number, maxBytes: number): { entry?: SnapshotEntry, count: number, complete: boolean } {
  const head = `{"name":${JSON.stringify(summary.name)},"instances":[`
  const parts: string[] = []
  let bytes = Buffer.byteLength(head) + '],"truncated":true}'.length
  let complete = summary.instances.length <= maxInstances

  for (const instance of summary.instances.slice(0, maxInstances)) {
    const json = JSON.stringify(instance)
    const size = Buffer.byteLength(json) + 1

    if (bytes + size > maxBytes) {
      complete = false
      break
    }

    parts.push(json)
    bytes += size
  }

  if (parts.length === 0) {
    return { count: 0, complete: complete && summary.instances.length === 0 }
  }

  const json = `${head}${parts.join(',')}]${complete ? '' : ',"truncated":true'}}`
  return { entry: { name: summary.name, json: Buffer.from(json) }, count: parts.length, complete }
}

/** Index of the first entry whose name sorts after `name`. */
function firstAfter (entries: SnapshotEntry[], name: string): number {
  let low = 0
  let high = entries.length

  while (low < high) {
    const middle = (low + high) >>> 1

    if (entries[middle].name <= name) {
      low = middle + 1
    } else {
      high = middle
    }
  }

  return low
}

function findEntry (entries: SnapshotEntry[], name: string): SnapshotEntry | undefined {
  const index = firstAfter(entries, name) - 1
  return index >= 0 && entries[index].name === name ? entries[index] : undefined
}

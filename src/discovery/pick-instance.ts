import { MAX_CACHED_ANSWERS, RTT_SMOOTHING } from '../constants.js'
import { ServiceNotFoundError } from '../errors.js'
import { isAvailable } from '../instances/instances.js'
import type { DiscoverOptions, ServiceInstance } from '../types.js'

/** How {@link InstancePicker.pick} chooses. */
export type PickStrategy = 'nearest' | 'random' | 'round-robin'

/** Options of `Netget.pickInstance()`. */
export interface PickOptions extends DiscoverOptions {
  /**
   * `nearest`: the lowest smoothed RTT from this node (measured on an open
   * connection, so connection set-up never counts); `random`: uniformly at
   * random; `round-robin`: each call the next instance, in peer ID order.
   * @default 'nearest'
   */
  strategy?: PickStrategy
}

/** Pings a peer over a connection that is already open (dialling first, untimed); resolves with the RTT in ms. */
export type MeasureRtt = (instance: ServiceInstance, signal: AbortSignal) => Promise<number>

/** Samples a first measurement takes, in a row; their median starts the smoothed RTT. */
const FIRST_SAMPLES = 3

/** Most instances `nearest` measures in one pick. */
const MAX_MEASURED = 16

/**
 * Picks one instance among healthy ones. `nearest` keeps a smoothed RTT per
 * peer (the median of {@link FIRST_SAMPLES} pings to start, then one more
 * sample per pick, weighted by {@link RTT_SMOOTHING}), at most
 * {@link MAX_CACHED_ANSWERS} peers and names.
 */
export class InstancePicker {
  private readonly measure: MeasureRtt
  private readonly rtts = new Map<string, number>()
  private readonly turns = new Map<string, number>()

  constructor (measure: MeasureRtt) {
    this.measure = measure
  }

  /** One of `instances` (a discovery's answer, healthy first) by `strategy`; throws ServiceNotFoundError if none is healthy. */
  async pick (name: string, network: string, instances: ServiceInstance[], strategy: PickStrategy, signal: AbortSignal): Promise<ServiceInstance> {
    // an instance whose own checks are critical is never picked
    const available = instances.filter(isAvailable)
    const healthy = available.filter(instance => instance.health.status === 'healthy')
    const candidates = healthy.length > 0 ? healthy : available

    if (candidates.length === 0) {
      throw new ServiceNotFoundError(`No healthy instance of "${name}" on network "${network}" to pick from`, name, network)
    }

    if (strategy === 'random') {
      return candidates[Math.floor(Math.random() * candidates.length)]
    }

    if (strategy === 'round-robin') {
      const sorted = [...candidates].sort((a, b) => a.peerId < b.peerId ? -1 : 1)
      const turn = this.turns.get(name) ?? 0
      remember(this.turns, name, turn + 1)
      return sorted[turn % sorted.length]
    }

    const measured = await Promise.all(candidates.slice(0, MAX_MEASURED).map(async instance => ({ instance, rtt: await this.sample(instance, signal) })))
    signal.throwIfAborted()
    measured.sort((a, b) => a.rtt - b.rtt)
    return measured[0].instance
  }

  /** The smoothed RTT of this node's pings to `instance`, one sample more; Infinity if it does not answer. */
  private async sample (instance: ServiceInstance, signal: AbortSignal): Promise<number> {
    const known = this.rtts.get(instance.peerId)

    try {
      if (known === undefined) {
        const samples: number[] = []

        for (let i = 0; i < FIRST_SAMPLES; i++) {
          samples.push(await this.measure(instance, signal))
        }

        const median = samples.sort((a, b) => a - b)[Math.floor(samples.length / 2)]
        remember(this.rtts, instance.peerId, median)
        return median
      }

      const smoothed = known + RTT_SMOOTHING * (await this.measure(instance, signal) - known)
      remember(this.rtts, instance.peerId, smoothed)
      return smoothed
    } catch {
      return known ?? instance.health.rttMs ?? Number.POSITIVE_INFINITY
    }
  }
}

/** Sets a key, most recent last, keeping at most {@link MAX_CACHED_ANSWERS} keys. */
function remember (map: Map<string, number>, key: string, value: number): void {
  map.delete(key)
  map.set(key, value)

  if (map.size > MAX_CACHED_ANSWERS) {
    map.delete(map.keys().next().value as string)
  }
}

/** What a {@link PutRate} allows. */
export interface PutRateInit {
  /** Sustained puts per second per connection. */
  perSecond: number
  /** Puts at once (the bucket's size). */
  burst: number
}

/** Past this many buckets, buckets that have refilled are dropped (a full bucket is the same as none). */
const SWEEP_ABOVE = 1024

/**
 * A token bucket per connection: each put takes a token, tokens come back at
 * `perSecond` up to `burst`. Buckets go when their connection closes
 * ({@link PutRate.forget}); a refilled one is also dropped once there are
 * many, so the map stays bounded by the connections that put recently.
 */
export class PutRate {
  private readonly perSecond: number
  private readonly burst: number
  private readonly buckets = new Map<string, { tokens: number, at: number }>()
  private sweptAt = 0

  constructor (init: PutRateInit) {
    this.perSecond = init.perSecond
    this.burst = init.burst
  }

  /** Takes a token of connection `id`: false if it has none left (the put is over the rate). `now` in ms. */
  take (id: string, now = performance.now()): boolean {
    const bucket = this.buckets.get(id)
    const tokens = bucket === undefined ? this.burst : Math.min(this.burst, bucket.tokens + (now - bucket.at) * this.perSecond / 1000)

    if (this.buckets.size > SWEEP_ABOVE && now - this.sweptAt > 1000) {
      this.sweep(now)
    }

    if (tokens < 1) {
      this.buckets.set(id, { tokens, at: now })
      return false
    }

    this.buckets.set(id, { tokens: tokens - 1, at: now })
    return true
  }

  /** Forgets connection `id` (it closed). */
  forget (id: string): void {
    this.buckets.delete(id)
  }

  /** How many connections have a bucket. */
  get size (): number {
    return this.buckets.size
  }

  private sweep (now: number): void {
    this.sweptAt = now

    for (const [id, bucket] of this.buckets) {
      if (bucket.tokens + (now - bucket.at) * this.perSecond / 1000 >= this.burst) {
        this.buckets.delete(id)
      }
    }
  }
}

/**
 * A token bucket: `rate` per second sustained, `burst` at once. Refilled
 * lazily on each take, so an idle connection costs nothing.
 */
export class TokenBucket {
  private tokens: number
  private last: number

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = burst
    this.last = now()
  }

  /** Takes `n` tokens; false when the bucket cannot cover them. */
  take(n = 1): boolean {
    this.refill()
    if (this.tokens < n) return false
    this.tokens -= n
    return true
  }

  /** True once the bucket has refilled completely: forgetting it then loses nothing. */
  get full(): boolean {
    this.refill()
    return this.tokens >= this.burst
  }

  private refill(): void {
    const t = this.now()
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) / 1000) * this.rate)
    this.last = t
  }
}

/**
 * One bucket per key (a token id), shared by every connection or socket of
 * that key, so opening more of them buys no more budget. Buckets that have
 * refilled are forgotten now and then: a key that comes back gets a full one,
 * exactly what it would have had.
 */
export class BucketsByKey {
  private buckets = new Map<string, TokenBucket>()
  private takesSincePrune = 0

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now?: () => number,
  ) {}

  get(key: string): TokenBucket {
    if (++this.takesSincePrune >= 1024) this.prune()
    let bucket = this.buckets.get(key)
    if (!bucket) this.buckets.set(key, (bucket = new TokenBucket(this.rate, this.burst, this.now)))
    return bucket
  }

  take(key: string, n = 1): boolean {
    return this.get(key).take(n)
  }

  get size(): number {
    return this.buckets.size
  }

  private prune(): void {
    this.takesSincePrune = 0
    for (const [key, bucket] of this.buckets) if (bucket.full) this.buckets.delete(key)
  }
}

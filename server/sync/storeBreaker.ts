/**
 * A circuit breaker in front of the store's write path. After a failed
 * commit, writes are refused up front (the doc is left untouched, so readers
 * keep reading) for a back-off that doubles up to `maxBackoffMs`; then one
 * batch is let through to test the store. The first success closes the
 * breaker and asks every room to collect what its writers could not save.
 */
export class StoreBreaker {
  private openUntil = 0
  private backoff: number
  private broken = false
  private recoveredListeners: Array<() => void> = []

  constructor(
    private readonly minBackoffMs = 500,
    private readonly maxBackoffMs = 8000,
    private readonly now: () => number = Date.now,
  ) {
    this.backoff = minBackoffMs
  }

  /** True when a write may be attempted now. */
  writable(): boolean {
    return !this.broken || this.now() >= this.openUntil
  }

  get isBroken(): boolean {
    return this.broken
  }

  failed(_err: unknown): void {
    this.openUntil = this.now() + this.backoff
    this.backoff = this.broken ? Math.min(this.backoff * 2, this.maxBackoffMs) : this.backoff
    this.broken = true
  }

  succeeded(): void {
    if (!this.broken) return
    this.broken = false
    this.backoff = this.minBackoffMs
    for (const l of this.recoveredListeners) l()
  }

  onRecovered(listener: () => void): void {
    this.recoveredListeners.push(listener)
  }
}

/** Small statistics helpers: percentiles of samples and medians of per-round results. */

/** Nearest-rank percentile of `values` (need not be sorted; a sorted copy is made). */
export function percentile(values: ArrayLike<number>, p: number): number {
  if (values.length === 0) return NaN
  const sorted = Float64Array.from(values as ArrayLike<number>).sort()
  return percentileSorted(sorted, p)
}

export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank]!
}

export function median(values: number[]): number {
  const finite = values.filter((v) => Number.isFinite(v))
  if (finite.length === 0) return NaN
  const s = [...finite].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}

/** A growable Float64Array for latency samples: no per-sample allocation. */
export class Samples {
  private buf: Float64Array
  length = 0

  constructor(capacity = 1 << 16) {
    this.buf = new Float64Array(capacity)
  }

  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2)
      next.set(this.buf)
      this.buf = next
    }
    this.buf[this.length++] = v
  }

  sorted(): Float64Array {
    return this.buf.slice(0, this.length).sort()
  }
}

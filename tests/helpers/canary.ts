/**
 * Do other rooms keep syncing while one is abused, and how fast? A canary
 * negotiation of its own, from another local address, timed write to read.
 *
 * Every abuse test (tests/security, tests/faults, tests/fuzz) ends with the same three questions:
 * - is the server process still alive and answering (`expectAlive`, tests/helpers/server.ts)?
 * - do other rooms keep syncing, and how fast (`Canary`, `LatencyProbe`, here)?
 * - was a refused message neither stored nor broadcast (`Witness`, tests/helpers/storeLog.ts)?
 */
import { cpus, loadavg } from 'node:os'
import { expect } from 'vitest'
import { createNegotiation, expectAlive, WITH_OPENING_TERM, type Target } from './server'
import { synced, waitFor, yClient, type YClient } from './clients'

/**
 * A negotiation of its own with a writer and a reader, both connecting from
 * another local address (127.0.0.2 by default). `check()` writes a marker and
 * resolves with the milliseconds until the reader has it.
 */
export class Canary {
  private n = 0
  private constructor(
    readonly writer: YClient,
    readonly reader: YClient,
  ) {}

  static async open(target: Target & { wsUrl: string }, localAddress = '127.0.0.2'): Promise<Canary> {
    const neg = await createNegotiation(target, WITH_OPENING_TERM)
    const doc = `${neg.id}/board`
    const writer = yClient(target.wsUrl, doc, { token: neg.tokens.negotiator.a!, name: 'canary-w' }, { localAddress })
    const reader = yClient(target.wsUrl, doc, { token: neg.tokens.observer, name: 'canary-r' }, { localAddress })
    await Promise.all([synced(writer), synced(reader)])
    return new Canary(writer, reader)
  }

  async check(timeout = 15_000): Promise<number> {
    const marker = `canary-${++this.n}-${Math.random().toString(36).slice(2)}`
    const started = performance.now()
    this.writer.doc.getArray('order').push([marker])
    const order = this.reader.doc.getArray('order')
    await waitFor(() => order.get(order.length - 1) === marker || order.toArray().includes(marker), {
      timeout,
      interval: 2,
      what: 'the canary room to sync',
    })
    return performance.now() - started
  }

  close(): void {
    this.writer.destroy()
    this.reader.destroy()
  }
}

/** After any refusal: the server is alive and answering, and the canary's negotiation keeps syncing. */
export async function expectStillServing(
  target: Target & { alive?: () => boolean },
  canary: Canary,
  withinMs = 5000,
): Promise<void> {
  await expectAlive(target)
  expect(await canary.check()).toBeLessThan(withinMs)
}

export interface LatencyStats {
  count: number
  p50: number
  p99: number
  max: number
}

/** Runs canary checks back to back while abuse is under way. */
export class LatencyProbe {
  private samples: number[] = []
  private running = true
  private loop: Promise<void>

  constructor(private readonly canary: Canary) {
    this.loop = (async () => {
      while (this.running) {
        this.samples.push(await this.canary.check(30_000))
        await new Promise((r) => setTimeout(r, 20))
      }
    })()
  }

  async stop(): Promise<LatencyStats> {
    this.running = false
    await this.loop
    const s = [...this.samples].sort((a, b) => a - b)
    const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? NaN
    return { count: s.length, p50: at(0.5), p99: at(0.99), max: s[s.length - 1] ?? NaN }
  }
}

/**
 * How many times slower than a quiet machine this one is now (1 when the 1-minute load average
 * is at most one per core, at most 8). CI runs this suite alone on two cores; on a shared
 * development machine other work can make everything several times slower, and latency bounds
 * are scaled by this so they still mean "sane" rather than "quiet machine".
 */
export function slowdown(): number {
  return Math.min(8, Math.max(1, loadavg()[0]! / cpus().length))
}

/** Prints the canary's latency during some abuse and checks it stayed sane (bounds in ms on a quiet machine). */
export function expectSaneLatency(
  what: string,
  stats: LatencyStats,
  bounds: { p50: number; max: number } = { p50: 300, max: 2000 },
): void {
  const k = slowdown()
  console.info(
    `[latency] ${what}: p50 ${stats.p50.toFixed(0)} ms, p99 ${stats.p99.toFixed(0)} ms, max ${stats.max.toFixed(0)} ms ` +
      `over ${stats.count} checks (bounds ×${k.toFixed(1)} for machine load: p50 < ${(bounds.p50 * k).toFixed(0)}, max < ${(bounds.max * k).toFixed(0)})`,
  )
  expect(stats.count).toBeGreaterThan(0)
  expect(stats.p50, `${what}: canary p50`).toBeLessThan(bounds.p50 * k)
  expect(stats.max, `${what}: canary max`).toBeLessThan(bounds.max * k)
}

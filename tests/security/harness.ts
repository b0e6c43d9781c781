/**
 * Shared equipment of the attack and fault suites (tests/security, tests/faults,
 * tests/fuzz). Everything here drives the real thing: a real Parley
 * (tests/helpers/server.ts), the stock y-websocket client (tests/helpers/clients.ts), and the real SQLite file.
 *
 * Every abuse test ends with the same three questions, answered here:
 * - is the server process still alive and answering (`expectAlive`)?
 * - do other rooms keep syncing, and how fast (`Canary`, `LatencyProbe`)?
 * - was a refused message neither stored nor broadcast (`Witness`)?
 */
import { existsSync } from 'node:fs'
import { cpus, loadavg } from 'node:os'
import { join } from 'node:path'
import { expect } from 'vitest'
import * as Y from 'yjs'
import Database from 'better-sqlite3'
import { checkOf, GENESIS_HASH, updateRowHash } from '../../server/store/chain'
import { createNegotiation, WITH_OPENING_TERM, type Target } from '../helpers/server'
import { synced, waitFor, yClient, type YClient } from '../helpers/clients'

// ── other rooms keep syncing ─────────────────────────────────────────────

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

// ── refused: neither stored nor broadcast ────────────────────────────────

/** Reads a doc's head seq and log straight from the SQLite file (a second, read-only connection). */
export class LogReader {
  private db: Database.Database

  constructor(dataDir: string) {
    const file = join(dataDir, 'parley.db')
    if (!existsSync(file)) throw new Error(`no store at ${file}`)
    this.db = new Database(file, { readonly: true, fileMustExist: true })
  }

  headSeq(doc: string): number {
    const row = this.db.prepare('SELECT head_seq AS seq FROM docs WHERE name = ?').get(doc) as { seq: number } | undefined
    return row?.seq ?? 0
  }

  rows(doc: string): LogRow[] {
    return this.db
      .prepare(
        `SELECT u.seq, u.at, u.data, u.meta, u.chk, a.user, a.party, a.role, a.conn
           FROM updates u JOIN authors a ON a.id = u.author_id JOIN docs d ON d.id = u.doc_id
          WHERE d.name = ? ORDER BY u.seq`,
      )
      .all(doc) as LogRow[]
  }

  docs(): string[] {
    return (this.db.prepare('SELECT name FROM docs ORDER BY name').all() as Array<{ name: string }>).map((r) => r.name)
  }

  close(): void {
    this.db.close()
  }
}

export interface LogRow {
  seq: number
  at: number
  data: Buffer
  meta: string | null
  /** the first 32 bits of the row's chain hash (server/store/chain.ts) */
  chk: number
  user: string
  party: string | null
  role: string
  conn: string
}

/**
 * Checks a doc's stored history: seqs 1..n without gaps or duplicates, the
 * hash chain intact, and no row that adds nothing to the doc built from the
 * rows before it. Returns the doc rebuilt from the whole log.
 */
export function verifyLog(doc: string, rows: LogRow[]): Y.Doc {
  const rebuilt = new Y.Doc()
  let prev = GENESIS_HASH
  rows.forEach((r, i) => {
    expect(r.seq, `${doc}: seq of row ${i}`).toBe(i + 1)
    prev = updateRowHash(prev, {
      doc,
      seq: r.seq,
      at: r.at,
      user: r.user,
      party: r.party,
      role: r.role,
      conn: r.conn,
      update: new Uint8Array(r.data),
      meta: r.meta,
    })
    expect(r.chk, `${doc}: chain at seq ${r.seq}`).toBe(checkOf(prev))
    const before = fingerprint(rebuilt)
    Y.applyUpdate(rebuilt, new Uint8Array(r.data))
    expect(fingerprint(rebuilt), `${doc}: row ${r.seq} (by ${r.user}) adds something`).not.toBe(before)
  })
  return rebuilt
}

/** State vector + delete set + pending structs: changes whenever an update adds anything. */
function fingerprint(doc: Y.Doc): string {
  const hex = (u: Uint8Array | null | undefined) => (u ? Buffer.from(u).toString('hex') : '')
  // An update from a doc's own state vector carries no structs, only the whole delete set.
  const deleteSet = Y.encodeStateAsUpdate(doc, Y.encodeStateVector(doc))
  return [hex(Y.encodeStateVector(doc)), hex(deleteSet), hex(doc.store.pendingStructs?.update), hex(doc.store.pendingDs)].join(
    ':',
  )
}

/**
 * Watches one doc through a stock client and the store: `expectUntouched()`
 * checks that the store's head did not move and, after a barrier write by
 * `barrier` (a writer of the same doc) has arrived, that the watcher's doc
 * changed by nothing but the barrier.
 */
export class Witness {
  private head = 0
  private sv = new Map<number, number>()

  constructor(
    readonly doc: string,
    readonly watcher: YClient,
    private readonly headSeq: () => number | Promise<number>,
    private readonly barrier?: YClient,
  ) {}

  async snapshot(): Promise<void> {
    await synced(this.watcher)
    this.head = await this.headSeq()
    this.sv = Y.decodeStateVector(Y.encodeStateVector(this.watcher.doc))
  }

  async expectUntouched(): Promise<void> {
    expect(await this.headSeq(), `${this.doc}: store head unchanged`).toBe(this.head)
    if (this.barrier) {
      const marker = `barrier-${Math.random().toString(36).slice(2)}`
      this.barrier.doc.getArray('order').push([marker])
      await waitFor(() => this.watcher.doc.getArray('order').toArray().includes(marker), {
        timeout: 15_000,
        what: 'the barrier write to reach the witness',
      })
      this.head = await this.headSeq()
    } else {
      await new Promise((r) => setTimeout(r, 150))
    }
    const now = Y.decodeStateVector(Y.encodeStateVector(this.watcher.doc))
    const ignore = this.barrier?.doc.clientID
    for (const [client, clock] of now) {
      if (client === ignore) continue
      expect(clock, `${this.doc}: nothing new from client ${client} reached the witness`).toBe(this.sv.get(client) ?? 0)
    }
    this.sv = now
  }
}

/** Closes everything registered, last first; for afterAll/afterEach. */
export class Cleanup {
  private fns: Array<() => unknown> = []
  add<T>(value: T, fn: (v: T) => unknown): T {
    this.fns.push(() => fn(value))
    return value
  }
  async run(): Promise<void> {
    for (const fn of this.fns.splice(0).reverse()) {
      try {
        await fn()
      } catch {
        // keep closing the rest
      }
    }
  }
}

/**
 * Stores holding a long history, for (c) cold load and (d) history: the
 * generated history (bench/lib/history.ts) is sent through each persisting
 * server's own protocol, the server is stopped gracefully (it flushes and
 * checkpoints as it would in production), and its data dir is kept as a
 * pristine copy that every measured round starts from.
 *
 * Parley's population run raises its rate limits (PARLEY_RATE_MESSAGES,
 * PARLEY_RATE_BYTES, PARLEY_RATE_STRUCTS): one client sends 100k updates as
 * fast as receipts come back, which a browser never does. Measured runs use
 * the defaults.
 *
 * Parley's store then has its version index and materialised history brought
 * to the end of the logs (bench/load/materialise.ts: a VersionIndex and
 * HistoryQueries opened on it in a process of their own, as a restarted
 * server opens them), so no measured round pays for indexing; the store's
 * bytes are measured after that.
 *
 * BENCH_FIXTURE_CACHE=<dir> keeps the filled stores there and reuses them in
 * later runs (the 1M store takes many minutes to fill): a store is reused when
 * it was filled for the same size and generator seed, with the same SQLite
 * schema version and materialised-history format. Remove the dir when the
 * write path changed in any other way.
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { SQLITE_LATEST } from '../../server/store/sqlite/migrations'
import { HISTORY_FORMAT } from '../../server/history/materialiser'
import type { ColdLoadConfig, PopulateResult, PopulateTarget } from '../load/coldload'
import type { MaterialiseConfig, MaterialiseResult } from '../load/materialise'
import { sizeLabel } from './options'
import { createNegotiation, type Endpoint } from './rooms'
import { runWorker, startServer, type RunningServer, type TargetName } from './servers'
import { dirBytes, HISTORY_TABLES, sqliteTables, type TableStat } from './storeStats'

export type PersistingTarget = 'parley' | 'hocuspocus-sqlite'

export interface TargetFixture {
  /** pristine data dir; copy it before starting a server on it */
  dir: string
  docName: string
  reader: Endpoint
  warm: { docName: string; reader: Endpoint }
  /** bytes of the store's files after a graceful shutdown (and, for Parley, the indexing) */
  storeBytes: number
  /** bytes of every file in the data dir (the store, its WAL if any, secrets) */
  dataDirBytes: number
  /** Parley only: the negotiation and a reviewer token for the history API */
  negotiationId?: string
  reviewerToken?: string
  /** Parley only: the small warm-up negotiation (one version), for a first request that warms the code alone */
  warmNegotiationId?: string
  warmReviewerToken?: string
  /** Parley only: versions of the big negotiation, and its board log's head seq */
  versions?: number
  boardHead?: number
  /** Parley only: SQLite's account of each table and index (dbstat), largest first */
  tables?: TableStat[]
  /** Parley only: bytes of the materialised history's tables (history_blocks, history_snapshots, history_state) */
  historyBytes?: Record<(typeof HISTORY_TABLES)[number], number>
  /** seconds spent filling, and (Parley) indexing the rest after the graceful stop */
  populateSeconds?: number
  materialiseSeconds?: number
}

export interface HistoryFixture {
  count: number
  digest: string
  /** the final doc state, encoded (what a fresh client downloads) */
  stateBytes: number
  /** sum of the updates' sizes */
  updateBytes: number
  targets: Partial<Record<PersistingTarget, TargetFixture>>
}

const SEED = 42
const cache = new Map<number, HistoryFixture>()
const dirs: string[] = []

process.on('exit', () => {
  if (process.env.BENCH_KEEP_DATA) return
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

const say = (msg: string) => process.stderr.write(`${msg}\n`)

/** A store of `count` updates for each target (built once per bench process; with BENCH_FIXTURE_CACHE, once per cache). */
export async function historyFixture(count: number, targets: PersistingTarget[]): Promise<HistoryFixture> {
  const cached = cache.get(count) ?? fromDiskCache(count, targets)
  if (cached) cache.set(count, cached)
  const missing = targets.filter((t) => !cached?.targets[t])
  if (cached && missing.length === 0) return cached

  const label = `[fixture ${sizeLabel(count)}]`
  const servers: Array<{
    target: PersistingTarget
    server: RunningServer
    populate: PopulateTarget
    fixture: Omit<TargetFixture, 'storeBytes' | 'dataDirBytes'>
  }> = []
  try {
    for (const target of missing) {
      const dir = fixtureDir(target, count)
      const server = await startServer(target, {
        dataDir: dir,
        env:
          target === 'parley'
            ? { PARLEY_RATE_MESSAGES: '1000000', PARLEY_RATE_BYTES: '1000000000', PARLEY_RATE_STRUCTS: '1000000000' }
            : {},
      })
      servers.push({ target, server, ...(await describe(server)) })
    }
    say(`  ${label} filling ${missing.join(', ')} with ${count.toLocaleString('en-US')} generated updates (progress below)`)
    const config: ColdLoadConfig = { mode: 'populate', count, seed: SEED, targets: servers.map((s) => s.populate) }
    const started = Date.now()
    // ~1 ms an update on the 2-core machine; far more before it is called stuck
    const result = await runWorker<ColdLoadConfig, PopulateResult>(
      'bench/load/coldload.ts',
      config,
      Math.max(30 * 60_000, count * 8),
    )
    say(`  ${label} populated ${count} updates into ${missing.join(', ')} in ${((Date.now() - started) / 1000).toFixed(0)} s`)
    const fixture: HistoryFixture = cached ?? {
      count,
      digest: result.digest,
      stateBytes: result.stateBytes,
      updateBytes: result.updateBytes,
      targets: {},
    }
    for (const [i, s] of servers.entries()) {
      // A graceful stop writes final checkpoints and versions; a big store takes a while.
      await s.server.stop(Math.max(60_000, count * 0.3))
      const dir = s.server.dataDir!
      const f: TargetFixture = { ...s.fixture, storeBytes: 0, dataDirBytes: 0, populateSeconds: result.secondsPerTarget[i] }
      if (s.target === 'parley') {
        const m = await runWorker<MaterialiseConfig, MaterialiseResult>(
          'bench/load/materialise.ts',
          { file: join(dir, 'parley.db'), negotiationId: f.negotiationId!, label },
          Math.max(10 * 60_000, count * 5),
        )
        f.versions = m.versions
        f.boardHead = m.heads.board
        f.materialiseSeconds = m.seconds
        f.tables = sqliteTables(join(dir, 'parley.db'))
        f.historyBytes = Object.fromEntries(
          HISTORY_TABLES.map((t) => [t, f.tables!.filter((x) => x.name === t).reduce((n, x) => n + x.bytes, 0)]),
        ) as TargetFixture['historyBytes']
      }
      f.storeBytes = storeBytes(dir)
      f.dataDirBytes = dirBytes(dir)
      fixture.targets[s.target] = f
      toDiskCache(fixture, s.target)
    }
    cache.set(count, fixture)
    return fixture
  } finally {
    for (const s of servers) await s.server.stop()
  }
}

// ── BENCH_FIXTURE_CACHE ──────────────────────────────────────────────────

const cacheRoot = () => process.env.BENCH_FIXTURE_CACHE || null
const cacheKey = (target: PersistingTarget, count: number) =>
  `${target}-${count}-seed${SEED}-schema${SQLITE_LATEST}-history${HISTORY_FORMAT}`

/** Where a target's store is filled: under the cache when there is one (kept), else a temp dir (removed at exit). */
function fixtureDir(target: PersistingTarget, count: number): string {
  const root = cacheRoot()
  if (!root) {
    const dir = mkdtempSync(join(tmpdir(), `bench-fixture-${target}-${count}-`))
    dirs.push(dir)
    return dir
  }
  const dir = join(root, cacheKey(target, count))
  rmSync(dir, { recursive: true, force: true })
  mkdirSync(join(dir, 'data'), { recursive: true })
  return join(dir, 'data')
}

interface CachedEntry {
  filledAt: string
  fixture: Omit<HistoryFixture, 'targets'>
  target: TargetFixture
}

function fromDiskCache(count: number, targets: PersistingTarget[]): HistoryFixture | null {
  const root = cacheRoot()
  if (!root) return null
  let fixture: HistoryFixture | null = null
  for (const t of targets) {
    const meta = join(root, cacheKey(t, count), 'fixture.json')
    if (!existsSync(meta)) continue
    const entry = JSON.parse(readFileSync(meta, 'utf8')) as CachedEntry
    fixture ??= { ...entry.fixture, targets: {} }
    fixture.targets[t] = entry.target
    say(`  [fixture ${sizeLabel(count)}] ${t}: reusing the store filled ${entry.filledAt} (${entry.target.dir})`)
  }
  return fixture
}

function toDiskCache(fixture: HistoryFixture, target: PersistingTarget): void {
  const root = cacheRoot()
  if (!root) return
  const { targets: _, ...rest } = fixture
  const entry: CachedEntry = { filledAt: new Date().toISOString(), fixture: rest, target: fixture.targets[target]! }
  writeFileSync(join(root, cacheKey(target, fixture.count), 'fixture.json'), JSON.stringify(entry, null, 2))
}

async function describe(
  server: RunningServer,
): Promise<{ populate: PopulateTarget; fixture: Omit<TargetFixture, 'storeBytes' | 'dataDirBytes'> }> {
  const ws = server.url.replace(/^http/, 'ws')
  if (server.target === 'parley') {
    const big = await createNegotiation(server, 'Long history')
    const warm = await createNegotiation(server, 'Warm-up')
    const ep = (docName: string, token: string): Endpoint => ({
      url: `${ws}/yjs/${docName}?token=${encodeURIComponent(token)}`,
      token,
    })
    const docName = `${big.id}/board`
    const warmDoc = `${warm.id}/board`
    return {
      populate: {
        protocol: 'yws',
        docName,
        writers: [ep(docName, big.tokens.negotiator.a!), ep(docName, big.tokens.negotiator.b!)],
        warm: { docName: warmDoc, writer: ep(warmDoc, warm.tokens.negotiator.a!) },
      },
      fixture: {
        dir: server.dataDir!,
        docName,
        reader: ep(docName, big.tokens.observer),
        warm: { docName: warmDoc, reader: ep(warmDoc, warm.tokens.observer) },
        negotiationId: big.id,
        reviewerToken: big.tokens.reviewer,
        warmNegotiationId: warm.id,
        warmReviewerToken: warm.tokens.reviewer,
      },
    }
  }
  const ep: Endpoint = { url: ws, token: 'bench' }
  return {
    populate: {
      protocol: 'hocuspocus',
      docName: 'history/board',
      writers: [ep, ep],
      warm: { docName: 'warm/board', writer: ep },
    },
    fixture: { dir: server.dataDir!, docName: 'history/board', reader: ep, warm: { docName: 'warm/board', reader: ep } },
  }
}

/** Bytes of the database files in a data dir (secrets and other files excluded). */
export function storeBytes(dir: string): number {
  let n = 0
  for (const f of readdirSync(dir)) if (/\.(db|sqlite)(-wal|-shm|-journal)?$/.test(f)) n += statSync(join(dir, f)).size
  return n
}

/** A fresh copy of a pristine data dir, removed when the bench exits. */
export function copyOf(dir: string): string {
  const copy = mkdtempSync(join(tmpdir(), 'bench-copy-'))
  dirs.push(copy)
  cpSync(dir, copy, { recursive: true })
  return copy
}

/** Removes a copy made by copyOf once a round is done with it (a 1M store is ~100 MB a copy). */
export function removeCopy(dir: string): void {
  if (process.env.BENCH_KEEP_DATA) return
  rmSync(dir, { recursive: true, force: true })
  const i = dirs.indexOf(dir)
  if (i >= 0) dirs.splice(i, 1)
}

/** Endpoints of a fixture for a server started on a copy of it (the port changes; tokens stay valid). */
export function endpointFor(server: RunningServer, e: Endpoint, target: TargetName): Endpoint {
  const ws = server.url.replace(/^http/, 'ws')
  return target === 'parley' ? { url: e.url.replace(/^ws:\/\/[^/]+/, ws), token: e.token } : { url: ws, token: e.token }
}

/**
 * What Parley's store takes on disk as a history grows (issue 12, "Linear
 * storage"): `node --import tsx bench/storage.ts [--sizes 10000,100000]
 * [--history turns,scattered] [--postgres] [--keep]`.
 *
 * For each history shape and size: a real Parley (SQLite) in its own process,
 * the generated history sent through two negotiator connections — `turns`
 * is the bench's board (bench/lib/history.ts: runs of typing, mostly at the
 * end of a term, the cold-load scenario's history); `scattered` is the worst
 * case (bench/lib/scatteredHistory.ts: keystrokes in turns at random places
 * of two long terms) — then a graceful stop (as in production: final
 * checkpoints), and the data dir measured: the database files, and SQLite's
 * own account of each table (the `dbstat` virtual table): pages, bytes of
 * payload and unused bytes, per row of the log. With --postgres (at
 * PARLEY_TEST_DATABASE_URL, by default postgres://postgres@127.0.0.1:5432/test) the store is a schema of its own
 * there instead, measured table by table (pg_total_relation_size: heap,
 * indexes and TOAST, after a VACUUM), and dropped afterwards.
 */
import Database from 'better-sqlite3'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import pg from 'pg'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from '../server/cli/args'
import { storeBytes } from './lib/fixtures'
import { sqliteTables } from './lib/storeStats'
import { createNegotiation, type Endpoint } from './lib/rooms'
import { runWorker, startServer } from './lib/servers'
import type { ColdLoadConfig, PopulateResult } from './load/coldload'

const args = parseArgs(process.argv.slice(2), ['sizes', 'history'])
const PG_URL = args.flags.has('postgres')
  ? process.env.PARLEY_TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test'
  : null
const SIZES = (args.values.get('sizes') ?? '10000,100000').split(',').map(Number)
const SHAPES = (args.values.get('history') ?? 'turns,scattered').split(',') as Array<'turns' | 'scattered'>
const MiB = 2 ** 20

async function admin(url: string, sql: string): Promise<pg.QueryResultRow[]> {
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    return (await c.query(sql)).rows
  } finally {
    await c.end()
  }
}

/** A schema of its own on PostgreSQL, and the URL that works in it. */
async function pgSchema(base: string): Promise<{ schema: string; url: string }> {
  const schema = `bench_storage_${randomBytes(4).toString('hex')}`
  await admin(base, `CREATE SCHEMA ${schema}`)
  const u = new URL(base)
  u.searchParams.set('options', `-c search_path=${schema}`)
  return { schema, url: u.toString() }
}

async function measure(shape: 'turns' | 'scattered', count: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `bench-storage-${shape}-${count}-`))
  const pgStore = PG_URL ? await pgSchema(PG_URL) : null
  // One client sends the whole history as fast as receipts come back: the rate limits are raised, as for the bench's fixtures.
  const server = await startServer('parley', {
    dataDir: dir,
    env: {
      PARLEY_RATE_MESSAGES: '1000000',
      PARLEY_RATE_BYTES: '1000000000',
      PARLEY_RATE_STRUCTS: '1000000000',
      ...(pgStore ? { DATABASE_URL: pgStore.url } : {}),
    },
  })
  const started = Date.now()
  let result: PopulateResult
  try {
    const ws = server.url.replace(/^http/, 'ws')
    const big = await createNegotiation(server, 'Long history')
    const warm = await createNegotiation(server, 'Warm-up')
    const ep = (doc: string, token: string): Endpoint => ({ url: `${ws}/yjs/${doc}?token=${encodeURIComponent(token)}`, token })
    const doc = `${big.id}/board`
    const warmDoc = `${warm.id}/board`
    const config: ColdLoadConfig = {
      mode: 'populate',
      count,
      seed: 42,
      history: shape,
      targets: [
        {
          protocol: 'yws',
          docName: doc,
          writers: [ep(doc, big.tokens.negotiator.a!), ep(doc, big.tokens.negotiator.b!)],
          warm: { docName: warmDoc, writer: ep(warmDoc, warm.tokens.negotiator.a!) },
        },
      ],
    }
    result = await runWorker<ColdLoadConfig, PopulateResult>('bench/load/coldload.ts', config, 60 * 60_000)
  } finally {
    await server.stop(120_000)
  }
  const seconds = (Date.now() - started) / 1000
  if (pgStore) return reportPostgres(shape, count, seconds, result, pgStore, dir)
  const tables = sqliteTables(join(dir, 'parley.db'))
  const db = new Database(join(dir, 'parley.db'), { readonly: true })
  const rows = (db.prepare('SELECT count(*) AS n FROM updates').get() as { n: number }).n
  // stores before schema 3 (to measure an older build): raw checkpoints, in `checkpoints`
  const compact = db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'doc_checkpoints'").get() !== undefined
  const checkpoints = db
    .prepare(
      compact
        ? 'SELECT count(*) AS n, coalesce(sum(length(state)), 0) AS stored, coalesce(sum(size), 0) AS state FROM doc_checkpoints'
        : 'SELECT count(*) AS n, coalesce(sum(length(state)), 0) AS stored, coalesce(sum(length(state)), 0) AS state FROM checkpoints',
    )
    .get() as { n: number; stored: number; state: number }
  const versions = (db.prepare('SELECT count(*) AS n FROM versions').get() as { n: number }).n
  db.close()
  const total = storeBytes(dir)
  console.log(
    `\n== ${shape}, ${count.toLocaleString('en-US')} updates (populated in ${seconds.toFixed(0)} s): ` +
      `data dir ${(total / MiB).toFixed(2)} MiB — updates ${(result.updateBytes / 1024).toFixed(0)} KiB sent, ` +
      `final state ${(result.stateBytes / 1024).toFixed(0)} KiB; ${rows.toLocaleString('en-US')} log rows, ` +
      `${versions.toLocaleString('en-US')} versions, ${checkpoints.n} checkpoints (${(checkpoints.stored / 1024).toFixed(0)} KiB stored, ` +
      `${(checkpoints.state / 1024).toFixed(0)} KiB of state)`,
  )
  console.log('| table | pages | bytes | payload | unused | rows | bytes/row |')
  console.log('| --- | --- | --- | --- | --- | --- | --- |')
  for (const t of tables.filter((t) => t.bytes >= 16 * 1024)) {
    console.log(
      `| ${t.name} | ${t.pages} | ${(t.bytes / 1024).toFixed(0)} KiB | ${(t.payload / 1024).toFixed(0)} KiB | ${(t.unused / 1024).toFixed(0)} KiB | ${t.cells} | ${t.cells ? (t.bytes / t.cells).toFixed(1) : ''} |`,
    )
  }
  if (args.flags.has('keep')) console.log(`kept: ${dir}`)
  else rmSync(dir, { recursive: true, force: true })
}

async function reportPostgres(
  shape: string,
  count: number,
  seconds: number,
  result: PopulateResult,
  store: { schema: string; url: string },
  dir: string,
): Promise<void> {
  // dead rows (versions replaced as edit runs grow) are what VACUUM gives back to later rows
  await admin(store.url, 'VACUUM')
  const tables = (await admin(
    store.url,
    `SELECT c.relname AS name, pg_total_relation_size(c.oid)::float8 AS bytes
       FROM pg_class c WHERE c.relnamespace = '${store.schema}'::regnamespace AND c.relkind = 'r' ORDER BY 2 DESC`,
  )) as Array<{ name: string; bytes: number }>
  const counts = new Map<string, number>()
  for (const t of tables) counts.set(t.name, Number((await admin(store.url, `SELECT count(*) AS n FROM ${t.name}`))[0]!.n))
  const total = tables.reduce((n, t) => n + t.bytes, 0)
  console.log(
    `\n== PostgreSQL, ${shape}, ${count.toLocaleString('en-US')} updates (populated in ${seconds.toFixed(0)} s): ` +
      `tables ${(total / MiB).toFixed(2)} MiB — updates ${(result.updateBytes / 1024).toFixed(0)} KiB sent, final state ${(result.stateBytes / 1024).toFixed(0)} KiB`,
  )
  console.log('| table | bytes (heap, indexes, TOAST) | rows | bytes/row |')
  console.log('| --- | --- | --- | --- |')
  for (const t of tables.filter((t) => t.bytes >= 64 * 1024)) {
    const n = counts.get(t.name) ?? 0
    console.log(`| ${t.name} | ${(t.bytes / 1024).toFixed(0)} KiB | ${n} | ${n ? (t.bytes / n).toFixed(1) : ''} |`)
  }
  if (args.flags.has('keep')) console.log(`kept: schema ${store.schema}`)
  else await admin(PG_URL!, `DROP SCHEMA ${store.schema} CASCADE`)
  rmSync(dir, { recursive: true, force: true })
}

for (const shape of SHAPES) for (const count of SIZES) await measure(shape, count)
process.exit(0)

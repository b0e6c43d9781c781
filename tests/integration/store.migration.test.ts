/**
 * Stores written before rows had a gseq (SQLite schema 1 — files from before
 * schema versions were numbered say 0 —, PostgreSQL migration 1) are brought
 * up to date when they are opened, on both stores:
 *
 * [SM1] a history written by hand in the old schema, whose stored versions
 *       were folded in the old order — by `at`, with a watcher's propose and
 *       reopen (stamped a millisecond before the board update that caused
 *       them) after their cause: the backfilled gseq reproduces that order,
 *       the chains still verify, and a version index rebuilt from nothing
 *       after the migration makes the very same versions;
 * [SM2] a history written through the real stack, the gseq column then taken
 *       out again: the same, on a larger history;
 * and a migrated store keeps numbering new rows after the old ones (PostgreSQL:
 * also those an instance of the previous build appends during a rolling upgrade).
 */
import { afterAll, describe, expect, it } from 'vitest'
import Database from 'better-sqlite3'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import * as Y from 'yjs'
import { board, insertTerm, ledger, replaceText, writeMeta, writeStatus } from '../../shared/docLayout'
import { applyMove, type TermStatus } from '../../shared/negotiation'
import { GENESIS_HASH, logRowHash } from '../../server/store/chain'
import { SqliteStore } from '../../server/store/sqlite'
import { SQLITE_MIGRATIONS } from '../../server/store/sqlite/migrations'
import { PostgresStore } from '../../server/store/postgres'
import { MIGRATIONS } from '../../server/store/postgres/migrations'
import type { Author, NegotiationRecord, Store, VersionRecord } from '../../server/store/types'
import { HistoryFold } from '../../server/history/fold'
import type { LogRow } from '../../server/history/logRows'
import { VersionIndex } from '../../server/history/versionIndex'
import { verifyNegotiation } from '../../server/history/verify'
import { startHistoryStack } from '../helpers/historyStack'
import { createTestSchema, postgresForTests, type TestSchema } from '../helpers/services'

const T0 = Date.UTC(2026, 2, 2, 10)
const NEG: NegotiationRecord = {
  id: 'mig',
  title: 'Migrated talks',
  parties: [
    { id: 'a', name: 'Alpha', color: '#1f5fbf' },
    { id: 'b', name: 'Beta', color: '#b3261e' },
  ],
  createdAt: T0,
}
const who = (party: string | null, user: string): Author => ({
  user,
  party,
  role: party ? 'negotiator' : 'server',
  conn: `c-${user}`,
})
const SERVER = who(null, 'Parley')
const A = who('a', 'Ann')
const B = who('b', 'Boris')

interface OldRow {
  doc: 'board' | 'ledger'
  seq: number
  at: number
  author: Author
  update: Uint8Array
  meta?: unknown
}

/** A negotiation written as the old server did, its rows listed in the order its history folded them. */
class OldLog {
  readonly docs = { board: new Y.Doc(), ledger: new Y.Doc() }
  /** in the old fold order */
  readonly order: OldRow[] = []
  private seq = { board: 0, ledger: 0 }
  private statuses = new Map<string, TermStatus>()

  write(doc: 'board' | 'ledger', author: Author, at: number, change: (d: Y.Doc) => void, meta?: unknown): this {
    const d = this.docs[doc]
    let update: Uint8Array | null = null
    const capture = (u: Uint8Array) => (update = u)
    d.on('update', capture)
    d.transact(() => change(d))
    d.off('update', capture)
    this.order.push({ doc, seq: ++this.seq[doc], at, author, update: update!, ...(meta !== undefined ? { meta } : {}) })
    return this
  }

  status(kind: 'propose' | 'accept' | 'reopen-by-edit', author: Author, at: number, id: string): this {
    const text = { title: (board(this.docs.board).terms.get(id)!.get('title') as Y.Text).toString(), body: '' }
    text.body = (board(this.docs.board).terms.get(id)!.get('body') as Y.Text).toString()
    const move =
      kind === 'propose'
        ? ({ kind, party: author.party } as const)
        : kind === 'accept'
          ? ({ kind, party: author.party!, text } as const)
          : ({ kind: 'edit', party: author.party!, text } as const)
    const t = applyMove(this.statuses.get(id), move, ['a', 'b'], at)
    this.statuses.set(id, t.status)
    const meta = {
      kind: t.outcome,
      termIds: [id],
      party: author.party,
      user: author.user,
      ...(kind !== 'accept' ? { via: 'board' } : {}),
    }
    return this.write('ledger', author, at, (d) => writeStatus(d, id, t.status), meta)
  }

  /** The versions the old index made of the first `upTo` rows, folded in this order. */
  versions(upTo = this.order.length): VersionRecord[] {
    const fold = new HistoryFold({
      negotiationId: NEG.id,
      partyName: (id) => NEG.parties.find((p) => p.id === id)?.name ?? null,
      board: new Y.Doc(),
      ledger: new Y.Doc(),
      pos: { boardSeq: 0, ledgerSeq: 0 },
      last: null,
    })
    const byN = new Map<number, VersionRecord>()
    this.order.slice(0, upTo).forEach((r, i) => {
      const row: LogRow = { ...r, gseq: i + 1 }
      for (const ev of fold.apply(row)) byN.set(ev.version.n, ev.version)
    })
    for (const v of byN.values()) fold.seal(v)
    fold.destroy()
    return [...byN.values()].map((v) => ({ ...v, termIds: [...v.termIds] })).sort((x, y) => x.n - y.n)
  }
}

/** The hand-written history of [SM1]. */
function oldHistory(): OldLog {
  const body = (d: Y.Doc, id: string) => board(d).terms.get(id)!.get('body') as Y.Text
  return (
    new OldLog()
      .write('ledger', SERVER, T0, (d) => writeMeta(d, NEG))
      // The watcher's propose was queued while the board update was applied: a millisecond earlier, folded after it.
      .write('board', A, T0 + 100, (d) => insertTerm(d, 't1', { title: 'Deadline', body: 'Within 30 days.' }))
      .status('propose', A, T0 + 99, 't1')
      .write('board', A, T0 + 1000, (d) => replaceText(body(d, 't1'), 'Within 45 days.'))
      .status('accept', B, T0 + 1500, 't1')
      .status('accept', A, T0 + 2000, 't1')
      // An edit of the agreed text, and the reopen it caused, again a millisecond "before" it.
      .write('board', B, T0 + 3001, (d) => replaceText(body(d, 't1'), 'Within 45 days, or 60.'))
      .status('reopen-by-edit', B, T0 + 3000, 't1')
      .write('board', A, T0 + 4000, (d) => insertTerm(d, 't2', { title: 'Costs', body: 'Each side its own.' }))
      .status('propose', A, T0 + 4000, 't2')
      .write('ledger', SERVER, T0 + 4500, (d) => ledger(d).meta.set('note', 'no move'))
      .write('board', B, T0 + 5000, (d) => replaceText(body(d, 't2'), 'Each side its own costs.'))
      // the old index had not folded these two when it stopped: no version pins them
      .write('board', A, T0 + 6000, (d) => replaceText(body(d, 't1'), 'Within 50 days.'))
      .status('accept', B, T0 + 6500, 't2')
  )
}

/** How a store under test is written in its old schema and read back. */
interface OldStore {
  /** an empty store in the old schema */
  create(): Promise<void>
  insert(log: OldLog, versions: VersionRecord[]): Promise<void>
  /** opens it with today's code (which migrates it) */
  open(): Promise<Store>
  dropVersions(): Promise<void>
  /** the schema version the store records */
  schemaVersion(): Promise<number>
}

function chained(log: OldLog): Array<OldRow & { prevHash: string; hash: string; metaText: string | null }> {
  const prev = { board: GENESIS_HASH, ledger: GENESIS_HASH }
  return log.order.map((r) => {
    const metaText = r.meta === undefined ? null : JSON.stringify(r.meta)
    const prevHash = prev[r.doc]
    const hash = logRowHash(prevHash, { ...r, doc: `${NEG.id}/${r.doc}` }, r.seq, metaText)
    prev[r.doc] = hash
    return { ...r, prevHash, hash, metaText }
  })
}

/**
 * The migrated store: gseq holds `order` (when given; else at least every stored version's cut),
 * the chains verify, and an index folded again from nothing makes `expected` — the stored versions
 * and those of the rows the old index had not reached.
 */
async function checkMigrated(
  old: OldStore,
  order: Array<{ doc: string; seq: number }> | null,
  stored: VersionRecord[],
  expected = stored,
) {
  const store = await old.open()
  try {
    expect(await old.schemaVersion()).toBe(2)
    const rows = await foldedOrder(store)
    expect(new Set(rows.map((r) => r.gseq)).size).toBe(rows.length)
    if (order) expect(rows.map((r) => `${r.doc}#${r.seq}`)).toEqual(order.map((r) => `${r.doc}#${r.seq}`))
    // every stored version cuts the order: its rows first, then the rest
    for (const v of stored) {
      const inside = (r: { doc: string; seq: number }) => r.seq <= (r.doc === 'board' ? v.boardSeq : v.ledgerSeq)
      const firstOutside = rows.findIndex((r) => !inside(r))
      if (firstOutside >= 0) expect(rows.slice(firstOutside).some(inside), `version ${v.n}'s cut`).toBe(false)
    }

    const report = await verifyNegotiation(store, NEG.id)
    expect(report.break).toBeNull()
    expect(await store.listVersions(NEG.id)).toEqual(stored)

    // The versions table lost (or never had): the index folds the logs again, in gseq order.
    await old.dropVersions()
    const index = new VersionIndex({ store, negotiation: (id) => store.getNegotiation(id), log: () => {} })
    expect(await index.list(NEG.id)).toEqual(expected)
    await index.close()

    const [next] = await store.appendUpdates([
      { doc: `${NEG.id}/board`, at: T0 + 9000, author: A, update: new Uint8Array([0, 0]) },
    ])
    expect(next!.gseq).toBeGreaterThan(rows[rows.length - 1]!.gseq)
  } finally {
    await store.close()
  }
}

/** The rows of a store's board and ledger in gseq order. */
async function foldedOrder(store: Store): Promise<Array<{ doc: string; seq: number; gseq: number }>> {
  const rows = [
    ...(await store.readUpdates(`${NEG.id}/board`, 0)).map((r) => ({ doc: 'board', seq: r.seq, gseq: r.gseq })),
    ...(await store.readUpdates(`${NEG.id}/ledger`, 0)).map((r) => ({ doc: 'ledger', seq: r.seq, gseq: r.gseq })),
  ]
  return rows.sort((x, y) => x.gseq - y.gseq)
}

/** A history played through the real stack: edits, moves, a reopen by edit, a checkpoint, a restore. */
async function playThroughStack(store: Store | null, dir: string): Promise<VersionRecord[]> {
  const s = await startHistoryStack({
    dir,
    negotiationId: NEG.id,
    parties: NEG.parties,
    start: T0,
    ...(store ? { store: { store, dropVersionsAfter: async () => {} } } : {}),
    terms: [{ id: 't1', title: 'Deadline', body: 'Within 30 days.' }],
  })
  const a = await s.client('a', 'Ann')
  const b = await s.client('b', 'Boris')
  const body = (d: Y.Doc, id: string) => board(d).terms.get(id)!.get('body') as Y.Text
  const step = async (fn: () => unknown, ms = 700) => {
    s.clock.advance(ms)
    await fn()
    await s.settle()
  }
  await step(() => a.edit((d) => replaceText(body(d, 't1'), 'Within 45 days.')))
  await step(() => a.edit((d) => insertTerm(d, 't2', { title: 'Costs', body: 'Each side its own.' })))
  await step(() => b.edit((d) => body(d, 't2').insert(0, 'Agreed: ')), 6000)
  await step(() => s.service.move(s.actor('b', 'Boris'), 'accept', 't1'))
  await step(() => s.service.move(s.actor('a', 'Ann'), 'accept', 't1'))
  await step(() => b.edit((d) => body(d, 't1').insert(0, 'At most ')))
  await step(() => s.service.checkpoint(s.actor('a', 'Ann'), 'round one'))
  await step(() => s.restore('a', 't1', 3, 'Ann'))
  await step(() => a.edit((d) => body(d, 't2').insert(0, 'x')), 100)
  const versions = await s.index.list(NEG.id)
  await s.close()
  return versions
}

// ── SQLite ─────────────────────────────────────────────────────────────────

describe('migrating a SQLite file written before gseq', () => {
  const dirs: string[] = []
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })
  const sqliteOld = (file: string): OldStore => ({
    async create() {
      const db = new Database(file)
      // what the last build without numbered schemas created: migration 1's tables, user_version 0
      SQLITE_MIGRATIONS[0]!.up(db)
      db.close()
    },
    async insert(log, versions) {
      const db = new Database(file)
      try {
        db.transaction(() => {
          db.prepare('INSERT INTO negotiations (id, title, parties, created_at) VALUES (?, ?, ?, ?)').run(
            NEG.id,
            NEG.title,
            JSON.stringify(NEG.parties),
            NEG.createdAt,
          )
          const docIds: Record<string, number> = {}
          const heads: Record<string, { seq: number; hash: string }> = {}
          for (const doc of ['board', 'ledger']) {
            docIds[doc] = Number(
              db.prepare('INSERT INTO docs (name, head_seq, head_hash) VALUES (?, 0, ?)').run(`${NEG.id}/${doc}`, GENESIS_HASH)
                .lastInsertRowid,
            )
          }
          const authorId = (a: Author) => {
            const found = db
              .prepare('SELECT id FROM authors WHERE conn = ? AND user = ? AND party IS ? AND role = ?')
              .get(a.conn, a.user, a.party, a.role) as { id: number } | undefined
            if (found) return found.id
            return Number(
              db.prepare('INSERT INTO authors (user, party, role, conn) VALUES (?, ?, ?, ?)').run(a.user, a.party, a.role, a.conn)
                .lastInsertRowid,
            )
          }
          for (const r of chained(log)) {
            db.prepare('INSERT INTO updates (doc_id, seq, at, author_id, data, meta, prev_hash) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
              docIds[r.doc],
              r.seq,
              r.at,
              authorId(r.author),
              r.update,
              r.metaText,
              r.prevHash,
            )
            heads[r.doc] = { seq: r.seq, hash: r.hash }
          }
          for (const [doc, h] of Object.entries(heads)) {
            db.prepare('UPDATE docs SET head_seq = ?, head_hash = ? WHERE id = ?').run(h.seq, h.hash, docIds[doc])
          }
          const put = db.prepare(
            `INSERT INTO versions (negotiation_id, n, at, last_at, party, user, kind, term_ids, summary, name, board_seq, ledger_seq, hash, prev_hash)
             VALUES (@negotiationId, @n, @at, @lastAt, @party, @user, @kind, @termIds, @summary, @name, @boardSeq, @ledgerSeq, @hash, @prevHash)`,
          )
          for (const v of versions) put.run({ ...v, termIds: JSON.stringify(v.termIds), name: v.name ?? null })
        })()
      } finally {
        db.close()
      }
    },
    open: async () => new SqliteStore(file),
    async dropVersions() {
      const db = new Database(file)
      db.prepare('DELETE FROM versions').run()
      db.close()
    },
    async schemaVersion() {
      const db = new Database(file, { readonly: true })
      const v = db.pragma('user_version', { simple: true }) as number
      db.close()
      return v
    },
  })

  it('[SM1] the old order comes back as gseq: chains verify, a rebuilt index makes the same versions', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-migrate-'))
    dirs.push(dir)
    const old = sqliteOld(join(dir, 'parley.db'))
    const log = oldHistory()
    // the old index stopped before the last two rows
    const stored = log.versions(log.order.length - 2)
    const all = log.versions()
    // the fold of the old order: the propose and the reopen each right after their cause
    expect(all.map((v) => `${v.kind}@${v.boardSeq}/${v.ledgerSeq}`)).toEqual([
      'propose@1/2',
      'edit@2/2',
      'accept@2/3',
      'accept@2/4',
      'agree@2/4',
      'edit@3/4',
      'reopen@3/5',
      'propose@4/6',
      'edit@5/7',
      'edit@6/7',
      'accept@6/8',
    ])
    expect(stored).toEqual(all.slice(0, 9))
    await old.create()
    expect(await old.schemaVersion()).toBe(0)
    await old.insert(log, stored)
    await checkMigrated(old, log.order, stored, all)
    // opened again: nothing left to migrate, the numbers stay
    const again = await old.open()
    const before = (await again.readUpdates(`${NEG.id}/board`, 0)).map((r) => r.gseq)
    await again.close()
    const third = await old.open()
    expect((await third.readUpdates(`${NEG.id}/board`, 0)).map((r) => r.gseq)).toEqual(before)
    await third.close()
  })

  it('[SM2] a history written through the stack, then taken back to schema 1: the same versions after the migration', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-migrate-'))
    dirs.push(dir)
    const file = join(dir, 'parley.db')
    const versions = await playThroughStack(null, dir)
    expect(versions.map((v) => v.kind)).toEqual(expect.arrayContaining(['propose', 'edit', 'agree', 'reopen', 'restore']))
    const db = new Database(file)
    db.exec('ALTER TABLE updates DROP COLUMN gseq; DROP TABLE log_order; PRAGMA user_version = 0')
    db.close()
    await checkMigrated(sqliteOld(file), null, versions)
  })
})

// ── PostgreSQL ─────────────────────────────────────────────────────────────

const pgUrl = await postgresForTests('store migration: postgres')

describe.skipIf(!pgUrl)('migrating a PostgreSQL schema written before gseq', () => {
  const schemas: TestSchema[] = []
  afterAll(async () => {
    for (const s of schemas) await s.drop()
  })
  const sql = async <R extends pg.QueryResultRow = pg.QueryResultRow>(url: string, text: string, values: unknown[] = []) => {
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    try {
      return (await c.query<R>(text, values)).rows
    } finally {
      await c.end()
    }
  }
  const pgOld = (url: string): OldStore => ({
    async create() {
      await sql(url, MIGRATIONS[0]!.sql)
      await sql(
        url,
        `CREATE TABLE parley_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now());
         INSERT INTO parley_migrations (version, name) VALUES (1, 'update log, checkpoints, negotiations, tokens, versions')`,
      )
    },
    async insert(log, versions) {
      const c = new pg.Client({ connectionString: url })
      await c.connect()
      try {
        await c.query('BEGIN')
        await c.query('INSERT INTO negotiations (id, title, parties, created_at) VALUES ($1, $2, $3::json, $4)', [
          NEG.id,
          NEG.title,
          JSON.stringify(NEG.parties),
          NEG.createdAt,
        ])
        const docIds: Record<string, number> = {}
        for (const doc of ['board', 'ledger']) {
          const { rows } = await c.query<{ id: number }>('INSERT INTO docs (name, head_hash) VALUES ($1, $2) RETURNING id', [
            `${NEG.id}/${doc}`,
            GENESIS_HASH,
          ])
          docIds[doc] = rows[0]!.id
        }
        const authorIds = new Map<string, number>()
        for (const r of chained(log)) {
          const key = JSON.stringify(r.author)
          if (!authorIds.has(key)) {
            const { rows } = await c.query<{ id: number }>(
              'INSERT INTO authors (user_name, party, role, conn) VALUES ($1, $2, $3, $4) RETURNING id',
              [r.author.user, r.author.party, r.author.role, r.author.conn],
            )
            authorIds.set(key, rows[0]!.id)
          }
          await c.query(
            'INSERT INTO updates (doc_id, seq, at, author_id, data, meta, prev_hash) VALUES ($1, $2, $3, $4, $5, $6, $7)',
            [docIds[r.doc], r.seq, r.at, authorIds.get(key), Buffer.from(r.update), r.metaText, r.prevHash],
          )
          await c.query('UPDATE docs SET head_seq = $1, head_hash = $2 WHERE id = $3', [r.seq, r.hash, docIds[r.doc]])
        }
        for (const v of versions) {
          await c.query(
            `INSERT INTO versions (negotiation_id, n, at, last_at, party, user_name, kind, term_ids, summary, name, board_seq, ledger_seq, hash, prev_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text[], $9, $10, $11, $12, $13, $14)`,
            [v.negotiationId, v.n, v.at, v.lastAt, v.party, v.user, v.kind, v.termIds, v.summary, v.name ?? null, v.boardSeq, v.ledgerSeq, v.hash, v.prevHash],
          )
        }
        await c.query('COMMIT')
      } finally {
        await c.end()
      }
    },
    open: () => PostgresStore.connect(url),
    async dropVersions() {
      await sql(url, 'DELETE FROM versions')
    },
    async schemaVersion() {
      return (await sql<{ v: number }>(url, 'SELECT max(version) AS v FROM parley_migrations'))[0]!.v
    },
  })
  const freshSchema = async () => {
    const s = await createTestSchema(pgUrl!)
    schemas.push(s)
    return s
  }

  it('[SM1] the old order comes back as gseq: chains verify, a rebuilt index makes the same versions', async () => {
    const { url } = await freshSchema()
    const old = pgOld(url)
    const log = oldHistory()
    const stored = log.versions(log.order.length - 2)
    await old.create()
    expect(await old.schemaVersion()).toBe(1)
    await old.insert(log, stored)
    await checkMigrated(old, log.order, stored, log.versions())
    // An instance of the previous build, during a rolling upgrade, appends as it always did: its row
    // draws from the same sequence instead of failing.
    const max = (await sql<{ max: number }>(url, 'SELECT max(gseq)::float8 AS max FROM updates'))[0]!.max
    const [row] = await sql<{ gseq: number }>(
      url,
      `INSERT INTO updates (doc_id, seq, at, author_id, data, meta, prev_hash)
       SELECT id, head_seq + 1, $1, (SELECT min(id) FROM authors), '\\x00', NULL, head_hash FROM docs WHERE name = $2
       RETURNING gseq::float8 AS gseq`,
      [T0 + 10_000, `${NEG.id}/ledger`],
    )
    expect(row!.gseq).toBeGreaterThan(max)
  })

  it('[SM2] a history written through the stack, then taken back to migration 1: the same versions after the migration', async () => {
    const { url } = await freshSchema()
    const dir = mkdtempSync(join(tmpdir(), 'parley-migrate-'))
    try {
      const versions = await playThroughStack(await PostgresStore.connect(url), dir)
      await sql(url, 'ALTER TABLE updates DROP COLUMN gseq; DROP SEQUENCE updates_gseq; DELETE FROM parley_migrations WHERE version >= 2')
      await checkMigrated(pgOld(url), null, versions)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

/**
 * Stores written by earlier builds are brought up to date when they are
 * opened, on both stores.
 *
 * Written before rows had a gseq (SQLite schema 1 — files from before
 * schema versions were numbered say 0 —, PostgreSQL migration 1):
 *
 * [SM1] a history written by hand in the old schema, whose stored versions
 *       were folded in the old order — by `at`, with a watcher's propose and
 *       reopen (stamped a millisecond before the board update that caused
 *       them) after their cause: the backfilled gseq reproduces that order,
 *       the chains still verify, and a version index rebuilt from nothing
 *       after the migration makes the very same versions;
 * [SM2] a history written through the real stack, then copied into a store of
 *       schema 1 (its rows linked, without gseq): the same, on a larger history;
 * and a migrated store keeps numbering new rows after the old ones (PostgreSQL:
 * also those an instance of the previous build appends during a rolling upgrade).
 */
import { afterAll, describe, expect, it } from 'vitest'
import Database from 'better-sqlite3'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import * as Y from 'yjs'
import { board, insertTerm, ledger, replaceText, writeMeta, writeStatus } from '../../shared/docLayout'
import { applyMove, type TermStatus } from '../../shared/negotiation'
import { ANCHOR_EVERY, checkOf, GENESIS_HASH, logRowHash } from '../../server/store/chain'
import { SqliteStore } from '../../server/store/sqlite'
import { SQLITE_LATEST, SQLITE_MIGRATIONS } from '../../server/store/sqlite/migrations'
import { PostgresStore } from '../../server/store/postgres'
import { LATEST_VERSION, MIGRATIONS } from '../../server/store/postgres/migrations'
import type { Author, NegotiationRecord, Store, VersionRecord } from '../../server/store/types'
import { HistoryFold } from '../../server/history/fold'
import type { LogRow } from '../../server/history/logRows'
import { VersionIndex } from '../../server/history/versionIndex'
import { verifyNegotiation } from '../../server/history/verify'
import { startHistoryStack } from '../helpers/historyStack'
import { startServer, type TestServer } from '../helpers/server'
import { synced, waitFor, yClient } from '../helpers/clients'
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
  insert(log: Pick<OldLog, 'order'>, versions: VersionRecord[]): Promise<void>
  /** opens it with today's code (which migrates it) */
  open(): Promise<Store>
  dropVersions(): Promise<void>
  /** the schema version the store records */
  schemaVersion(): Promise<number>
  /** the version this build brings it to */
  latest: number
  /** runs the shipped migration 2 on a store written in schema 1: what the build before schema 3 left */
  toSchema2(): Promise<void>
  /** runs the shipped migrations after the store's own, up to `version`: what the build of that schema left */
  toSchema(version: number): Promise<void>
  /** checkpoints as the builds before schema 3 wrote them: the raw state, never deleted */
  insertOldCheckpoints(cps: Array<{ doc: 'board' | 'ledger'; seq: number; at: number; state: Uint8Array }>): Promise<void>
  /** runs `sql` on the old store directly (behind the server's back) */
  exec(sql: string, values?: unknown[]): Promise<void>
  /** the bytes the store takes (SQLite: its files; PostgreSQL: its tables, indexes and TOAST) */
  bytes(): Promise<number>
}

function chained(log: Pick<OldLog, 'order'>): Array<OldRow & { prevHash: string; hash: string; metaText: string | null }> {
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
    expect(await old.schemaVersion()).toBe(old.latest)
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

/** A negotiation's board and ledger rows as a store holds them, in its order (gseq); the store is closed. */
async function storedLog(store: Store): Promise<Pick<OldLog, 'order'>> {
  try {
    const rows: Array<OldRow & { gseq: number }> = []
    for (const doc of ['board', 'ledger'] as const) {
      for (const r of await store.readUpdates(`${NEG.id}/${doc}`, 0)) {
        rows.push({
          doc,
          seq: r.seq,
          at: r.at,
          author: r.author,
          update: r.update,
          gseq: r.gseq,
          ...('meta' in r ? { meta: r.meta } : {}),
        })
      }
    }
    return { order: rows.sort((x, y) => x.gseq - y.gseq) }
  } finally {
    await store.close()
  }
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
  latest: SQLITE_LATEST,
  async toSchema2() {
    const db = new Database(file)
    db.transaction(() => {
      SQLITE_MIGRATIONS[1]!.up(db)
      db.pragma('user_version = 2')
    })()
    db.close()
  },
  async toSchema(version) {
    const db = new Database(file)
    try {
      for (const m of SQLITE_MIGRATIONS) {
        if (m.version <= (db.pragma('user_version', { simple: true }) as number) || m.version > version) continue
        db.transaction(() => {
          m.up(db)
          db.pragma(`user_version = ${m.version}`)
        })()
      }
    } finally {
      db.close()
    }
  },
  async insertOldCheckpoints(cps) {
    const db = new Database(file)
    const put = db.prepare('INSERT INTO checkpoints (doc_id, seq, at, state) SELECT id, ?, ?, ? FROM docs WHERE name = ?')
    db.transaction(() => {
      for (const cp of cps) put.run(cp.seq, cp.at, cp.state, `${NEG.id}/${cp.doc}`)
    })()
    db.close()
  },
  async exec(sql, values = []) {
    const db = new Database(file)
    db.prepare(sql).run(...values)
    db.close()
  },
  async bytes() {
    let n = 0
    for (const f of [file, `${file}-wal`]) n += statSync(f, { throwIfNoEntry: false })?.size ?? 0
    return n
  },
})

describe('migrating a SQLite file written before gseq', () => {
  const dirs: string[] = []
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
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

  it('[SM2] a history written through the stack, then copied into schema 1: the same versions after the migration', async () => {
    const played = mkdtempSync(join(tmpdir(), 'parley-migrate-'))
    const dir = mkdtempSync(join(tmpdir(), 'parley-migrate-'))
    dirs.push(played, dir)
    const versions = await playThroughStack(null, played)
    expect(versions.map((v) => v.kind)).toEqual(expect.arrayContaining(['propose', 'edit', 'agree', 'reopen', 'restore']))
    const log = await storedLog(new SqliteStore(join(played, 'parley.db')))
    const old = sqliteOld(join(dir, 'parley.db'))
    await old.create()
    await old.insert(log, versions)
    await checkMigrated(old, null, versions)
  })
})

// ── PostgreSQL ─────────────────────────────────────────────────────────────

const pgUrl = await postgresForTests('store migration: postgres')

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
          [
            v.negotiationId,
            v.n,
            v.at,
            v.lastAt,
            v.party,
            v.user,
            v.kind,
            v.termIds,
            v.summary,
            v.name ?? null,
            v.boardSeq,
            v.ledgerSeq,
            v.hash,
            v.prevHash,
          ],
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
  latest: LATEST_VERSION,
  async toSchema2() {
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    try {
      await c.query('BEGIN')
      const m = MIGRATIONS[1]!
      await c.query(m.sql)
      await m.run!(c as unknown as pg.PoolClient)
      await c.query('INSERT INTO parley_migrations (version, name) VALUES ($1, $2)', [m.version, m.name])
      await c.query('COMMIT')
    } finally {
      await c.end()
    }
  },
  async toSchema(version) {
    const c = new pg.Client({ connectionString: url })
    await c.connect()
    try {
      await c.query('BEGIN')
      const { rows } = await c.query<{ v: number }>('SELECT max(version) AS v FROM parley_migrations')
      for (const m of MIGRATIONS) {
        if (m.version <= rows[0]!.v || m.version > version) continue
        await c.query(m.sql)
        await m.run?.(c as unknown as pg.PoolClient)
        await c.query('INSERT INTO parley_migrations (version, name) VALUES ($1, $2)', [m.version, m.name])
      }
      await c.query('COMMIT')
    } finally {
      await c.end()
    }
  },
  async insertOldCheckpoints(cps) {
    for (const cp of cps) {
      await sql(url, 'INSERT INTO checkpoints (doc_id, seq, at, state) SELECT id, $1, $2, $3 FROM docs WHERE name = $4', [
        cp.seq,
        cp.at,
        Buffer.from(cp.state),
        `${NEG.id}/${cp.doc}`,
      ])
    }
  },
  async exec(text, values = []) {
    await sql(url, text, values)
  },
  async bytes() {
    const rows = await sql<{ n: string }>(
      url,
      // Tables that hold rows: a table a later migration creates empty (e.g. the sealed logs) brings
      // its indexes' fixed pages, which are not what a migration compacts.
      `SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::text AS n FROM pg_class c
         WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r' AND pg_relation_size(c.oid) > 0`,
    )
    return Number(rows[0]!.n)
  },
})

describe.skipIf(!pgUrl)('migrating a PostgreSQL schema written before gseq', () => {
  const schemas: TestSchema[] = []
  afterAll(async () => {
    for (const s of schemas) await s.drop()
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

  it('[SM2] a history written through the stack, then copied into migration 1: the same versions after the migration', async () => {
    const { url } = await freshSchema()
    const dir = mkdtempSync(join(tmpdir(), 'parley-migrate-'))
    try {
      const versions = await playThroughStack(await PostgresStore.connect(url), dir)
      const log = await storedLog(await PostgresStore.connect(url))
      const old = pgOld((await freshSchema()).url)
      await old.create()
      await old.insert(log, versions)
      await checkMigrated(old, null, versions)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

// ── schema 2 → compact rows, compressed checkpoints (SQLite 3, PostgreSQL 3) ──────────
//
// [SM3] a store as the build before schema 3 left it — rows carrying their predecessor's hash,
//       a raw checkpoint every few rows — opened by today's build: every row, gseq, author,
//       time and byte kept, each row's check the start of the hash the old chain recorded for
//       it, anchors and heads the full hashes, verify OK, the versions the same, the
//       checkpoints the newest two of each doc, compressed, the store smaller; a server starts
//       on it, loads the rooms from those checkpoints, and appends after the old rows;
// [SM4] a store changed behind the server's back before the migration still reports the same
//       first broken row after it: the checks are taken from what the old rows recorded,
//       never recomputed over a change.

/** Two delegations typing into one term in turns (runs of seven keystrokes), with moves: past two anchors. */
function typedHistory(keystrokes = 600): OldLog {
  const body = (d: Y.Doc) => board(d).terms.get('t1')!.get('body') as Y.Text
  const log = new OldLog()
    .write('ledger', SERVER, T0, (d) => writeMeta(d, NEG))
    .write('board', A, T0 + 100, (d) => insertTerm(d, 't1', { title: 'Deadline', body: '' }))
    .status('propose', A, T0 + 101, 't1')
  let at = T0 + 1000
  for (let i = 0; i < keystrokes; i++) {
    const who = Math.floor(i / 7) % 2 === 0 ? A : B
    log.write('board', who, (at += 150), (d) => body(d).insert(body(d).length, 'within thirty days '[i % 19]!))
    if (i === keystrokes / 2) log.status('accept', B, (at += 10), 't1')
  }
  return log
}

/** The checkpoints the old rooms wrote: the raw state every `every` rows of each doc. */
function oldCheckpoints(log: OldLog, every = 50) {
  const docs = { board: new Y.Doc(), ledger: new Y.Doc() }
  const out: Array<{ doc: 'board' | 'ledger'; seq: number; at: number; state: Uint8Array }> = []
  for (const r of log.order) {
    Y.applyUpdate(docs[r.doc], r.update)
    if (r.seq % every === 0) out.push({ doc: r.doc, seq: r.seq, at: r.at, state: Y.encodeStateAsUpdate(docs[r.doc]) })
  }
  return out
}

/** A store written in schema 2, with its old checkpoints; returns what was written. */
async function schema2Store(old: OldStore, log: OldLog) {
  const versions = log.versions()
  await old.create()
  await old.insert(log, versions)
  await old.toSchema2()
  const cps = oldCheckpoints(log)
  await old.insertOldCheckpoints(cps)
  expect(await old.schemaVersion()).toBe(2)
  return { versions, cps, rows: chained(log) }
}

async function checkCompacted(old: OldStore, log: OldLog, start: (old: OldStore) => Promise<TestServer>) {
  const { versions, cps, rows } = await schema2Store(old, log)
  const bytesBefore = await old.bytes()
  const store = await old.open()
  try {
    expect(await old.schemaVersion()).toBe(old.latest)
    for (const doc of ['board', 'ledger'] as const) {
      const name = `${NEG.id}/${doc}`
      const want = rows.filter((r) => r.doc === doc)
      const got = await store.readUpdates(name, 0)
      expect(got.map((r) => [r.seq, r.at, r.author, [...r.update], r.meta ?? null])).toEqual(
        want.map((r) => [r.seq, r.at, r.author, [...r.update], r.meta ?? null]),
      )
      got.forEach((r, i) => expect(r.check, `${name}#${r.seq}`).toBe(checkOf(want[i]!.hash)))
      got.slice(1).forEach((r, i) => expect(r.gseq).toBeGreaterThan(got[i]!.gseq))
      expect(await store.chainHead(name)).toEqual({ seq: want.length, hash: want[want.length - 1]!.hash })
      expect(await store.chainAnchors(name)).toEqual(
        want.filter((r) => r.seq % ANCHOR_EVERY === 0).map((r) => ({ seq: r.seq, hash: r.hash })),
      )
      // the newest two of the old checkpoints, compressed, read back as they were
      const old2 = cps.filter((c) => c.doc === doc).slice(-2)
      const kept = await store.listCheckpoints(name)
      expect(kept.map((c) => [c.seq, c.at, c.stateBytes])).toEqual(old2.map((c) => [c.seq, c.at, c.state.byteLength]))
      if (doc === 'board') for (const c of kept) expect(c.storedBytes).toBeLessThan(c.stateBytes)
      for (const c of old2) expect((await store.latestCheckpoint(name, c.seq))!.state).toEqual(c.state)
    }
    expect(rows.filter((r) => r.doc === 'board').length).toBeGreaterThan(2 * ANCHOR_EVERY)
    const report = await verifyNegotiation(store, NEG.id)
    expect(report.break).toBeNull()
    expect(report.chains.find((c) => c.chain === `${NEG.id}/board`)!.checkpoints).toBe(2)
    expect(await store.listVersions(NEG.id)).toEqual(versions)
  } finally {
    await store.close()
  }
  expect(await old.bytes()).toBeLessThan(bytesBefore)

  // A server on it: rooms load from the kept checkpoints, and new rows chain after the old ones.
  const server = await start(old)
  try {
    const res = await server.api(`/api/negotiations/${NEG.id}/tokens`, {
      token: server.parley.adminToken,
      body: { role: 'negotiator', party: 'a' },
    })
    const { token } = (await res.json()) as { token: string }
    const client = yClient(server.wsUrl, `${NEG.id}/board`, { token, name: 'Ann', ack: '1' })
    try {
      await synced(client)
      const text = (d: Y.Doc) => (board(d).terms.get('t1')!.get('body') as Y.Text).toString()
      expect(text(client.doc)).toBe(text(log.docs.board))
      ;(board(client.doc).terms.get('t1')!.get('body') as Y.Text).insert(0, 'All ')
      await waitFor(() => client.receipts.length > 0)
    } finally {
      client.destroy()
    }
    expect(await server.parley.store.headSeq(`${NEG.id}/board`)).toBe(rows.filter((r) => r.doc === 'board').length + 1)
    expect((await verifyNegotiation(server.parley.store, NEG.id)).break).toBeNull()
  } finally {
    await server.close()
  }
}

const boardRow = (seq: string) => `seq = ${seq} AND doc_id = (SELECT id FROM docs WHERE name = '${NEG.id}/board')`

/** Changes made to an old store behind the server's back, and the first break verify must report after the migration. */
const TAMPERS: Array<{ what: string; sql: string; seq: number; problem: RegExp }> = [
  {
    what: 'a row told a millisecond later',
    sql: `UPDATE updates SET at = at + 1 WHERE ${boardRow('123')}`,
    seq: 123,
    problem: /row 123 \(its data, author, time or meta\) no longer hashes to the check stored with it/,
  },
  {
    what: 'a row removed',
    sql: `DELETE FROM updates WHERE ${boardRow('400')}`,
    seq: 400,
    problem: /row 400 is missing/,
  },
  {
    what: "a row's link that is no hash",
    sql: `UPDATE updates SET prev_hash = 'not a hash' WHERE ${boardRow('300')}`,
    seq: 299,
    problem: /row 299 \(its data, author, time or meta\) no longer hashes to the check stored with it/,
  },
  {
    what: 'a first row that does not link to genesis',
    sql: `UPDATE updates SET prev_hash = '${'1'.repeat(64)}' WHERE ${boardRow('1')}`,
    seq: 1,
    problem: /row 1 should link to the genesis hash/,
  },
  {
    what: 'the last row changed',
    sql: `UPDATE updates SET at = at + 1 WHERE ${boardRow(`(SELECT head_seq FROM docs WHERE name = '${NEG.id}/board')`)}`,
    seq: 601,
    problem: /row 601 \(the last; its data, author, time or meta\) no longer hashes to the check stored with it/,
  },
]

async function checkTampered(old: OldStore, tamper: (typeof TAMPERS)[number]) {
  const { rows } = await schema2Store(old, typedHistory())
  expect(rows.filter((r) => r.doc === 'board').length).toBe(601)
  await old.exec(tamper.sql)
  const store = await old.open()
  try {
    const report = await verifyNegotiation(store, NEG.id)
    expect(report.break?.chain, tamper.what).toBe(`${NEG.id}/board`)
    expect(report.break?.seq, tamper.what).toBe(tamper.seq)
    expect(report.break?.problem, tamper.what).toMatch(tamper.problem)
  } finally {
    await store.close()
  }
}

describe('migrating a SQLite file of schema 2 to compact rows', () => {
  const dirs: string[] = []
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })
  const fresh = () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-compact-'))
    dirs.push(dir)
    return dir
  }

  it('[SM3] rows, chain, versions and the newest checkpoints kept, the file smaller; a server loads it and appends', async () => {
    const dir = fresh()
    await checkCompacted(sqliteOld(join(dir, 'parley.db')), typedHistory(), () => startServer({ dataDir: dir }))
    // the old checkpoints table is gone with the old rows' links
    const db = new Database(join(dir, 'parley.db'), { readonly: true })
    const tables = (db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").all() as Array<{ name: string }>).map(
      (t) => t.name,
    )
    db.close()
    expect(tables).not.toContain('checkpoints')
    expect(tables).toEqual(expect.arrayContaining(['updates', 'chain_anchors', 'doc_checkpoints']))
    // version rows keep their hashes as 32 bytes, not 64 hex characters
    const db2 = new Database(join(dir, 'parley.db'), { readonly: true })
    const lengths = db2.prepare('SELECT DISTINCT length(hash) AS h, length(prev_hash) AS p FROM versions').all()
    db2.close()
    expect(lengths).toEqual([{ h: 32, p: 32 }])
  })

  for (const tamper of TAMPERS) {
    it(`[SM4] changed before the migration, reported after it: ${tamper.what}`, async () => {
      await checkTampered(sqliteOld(join(fresh(), 'parley.db')), tamper)
    })
  }
})

describe.skipIf(!pgUrl)('migrating a PostgreSQL schema of migration 2 to compact rows', () => {
  const schemas: TestSchema[] = []
  afterAll(async () => {
    for (const s of schemas) await s.drop()
  })
  const fresh = async () => {
    const s = await createTestSchema(pgUrl!)
    schemas.push(s)
    return s.url
  }
  /** The old log refuses changes: these are made with its trigger off, as only someone behind the server's back would. */
  const behindTheBack = (url: string): OldStore => {
    const old = pgOld(url)
    return {
      ...old,
      exec: (text) =>
        old.exec(
          `ALTER TABLE updates DISABLE TRIGGER updates_append_only; ${text}; ALTER TABLE updates ENABLE TRIGGER updates_append_only`,
        ),
    }
  }

  it('[SM3] rows, chain, versions and the newest checkpoints kept, the store smaller; a server loads it and appends', async () => {
    const url = await fresh()
    await checkCompacted(pgOld(url), typedHistory(), () => startServer({ env: { DATABASE_URL: url } }))
    // kept for instances of the previous build during a rolling upgrade: each doc's newest raw checkpoint
    const old = await sql<{ doc_id: number; n: number }>(
      url,
      'SELECT doc_id, count(*)::int AS n FROM checkpoints GROUP BY doc_id',
    )
    expect(old.length).toBeGreaterThan(0)
    expect(old.every((r) => r.n === 1)).toBe(true)
  })

  it('[SM3] during a rolling upgrade the previous build still appends (with its link), and verify follows both kinds of row', async () => {
    const url = await fresh()
    const old = pgOld(url)
    const log = typedHistory(40)
    await schema2Store(old, log)
    const store = await PostgresStore.connect(url)
    try {
      const name = `${NEG.id}/board`
      // what the build before schema 3 does: its row carries the head's hash, and it moves the head
      const head = await store.chainHead(name)
      const row = { doc: name, at: T0 + 90_000, author: B, update: new Uint8Array([0, 0]) }
      const hash = logRowHash(head.hash, row, head.seq + 1, null)
      await sql(
        url,
        `WITH h AS (SELECT id FROM docs WHERE name = $1)
         INSERT INTO updates (doc_id, seq, at, author_id, data, meta, prev_hash, gseq)
         SELECT h.id, $2, $3, (SELECT id FROM authors WHERE user_name = 'Boris' LIMIT 1), $4, NULL, $5, nextval('updates_gseq') FROM h`,
        [name, head.seq + 1, row.at, Buffer.from(row.update), head.hash],
      )
      await sql(url, 'UPDATE docs SET head_seq = $1, head_hash = $2 WHERE name = $3', [head.seq + 1, hash, name])
      const [legacy] = await store.readUpdates(name, head.seq)
      expect(legacy).toMatchObject({ seq: head.seq + 1, check: null, prevHash: head.hash })
      expect((await verifyNegotiation(store, NEG.id)).break).toBeNull()
      // this build appends after it, chaining on the head the old build left
      const [next] = await store.appendUpdates([{ doc: name, at: T0 + 91_000, author: A, update: new Uint8Array([0, 0]) }])
      expect(next!.seq).toBe(head.seq + 2)
      expect((await verifyNegotiation(store, NEG.id)).break).toBeNull()
      // the old build's row changed behind the server's back: caught by the next row's check
      await behindTheBack(url).exec(`UPDATE updates SET at = at + 1 WHERE ${boardRow(String(head.seq + 1))}`)
      const report = await verifyNegotiation(store, NEG.id)
      expect(report.break).toMatchObject({ chain: name, seq: head.seq + 2 })
      expect(report.break!.problem).toContain(`or row ${head.seq + 1} (written without a check of its own by the previous build)`)
    } finally {
      await store.close()
    }
  })

  for (const tamper of TAMPERS) {
    it(`[SM4] changed before the migration, reported after it: ${tamper.what}`, async () => {
      await checkTampered(behindTheBack(await fresh()), tamper)
    })
  }
})

// ── schema 3 → materialised history (SQLite 4, PostgreSQL 4) ─────────────────────────
//
// [SM5] a store as the build before the materialised history left it (schema 3: compact rows),
//       opened by today's build: migrated, its log, chain and versions as they were, and the
//       history tables working on the docs it already had — written, replaced, read back after
//       a restart, and gone with the negotiation.

async function checkHistoryAdded(old: OldStore) {
  const log = typedHistory(40)
  const versions = log.versions()
  await old.create()
  await old.insert(log, versions)
  await old.toSchema(3)
  expect(await old.schemaVersion()).toBe(3)
  const boardRows = log.order.filter((r) => r.doc === 'board').length
  const blocks = [
    { doc: 'board' as const, level: 1, start: 0, end: 16, data: new Uint8Array([1]) },
    { doc: 'board' as const, level: 1, start: 16, end: 32, data: new Uint8Array([2]) },
    { doc: 'board' as const, level: 1, start: 32, end: boardRows, data: new Uint8Array([3]) },
    { doc: 'ledger' as const, level: 1, start: 0, end: 4, data: new Uint8Array([4]) },
  ]
  const keys = [0, 16, 32].map((start) => ({ level: 1, start }))
  const store = await old.open()
  try {
    expect(await old.schemaVersion()).toBe(old.latest)
    expect(await store.headSeq(`${NEG.id}/board`)).toBe(boardRows)
    expect((await verifyNegotiation(store, NEG.id)).break).toBeNull()
    expect(await store.listVersions(NEG.id)).toEqual(versions)
    // migration 5: versions written before it read as they were (no layoutOnly); a move version round-trips
    const moved = { ...versions[versions.length - 1]!, n: versions.length + 1, layoutOnly: true }
    await store.putVersions([moved])
    expect(await store.getVersion(NEG.id, moved.n)).toEqual(moved)
    expect((await store.listVersions(NEG.id)).slice(0, -1)).toEqual(versions)
    // nothing materialised yet: the materialiser builds it from the log
    expect(await store.historyState(NEG.id)).toBeNull()
    expect(await store.historyBlocks(NEG.id, 'board', keys)).toEqual([])
    await store.putHistory(
      NEG.id,
      { blocks, snapshots: [{ doc: 'board', seq: 32, data: new Uint8Array([9, 9]) }] },
      { format: 1, state: '{"board":40}' },
    )
    // the open block written again as it fills
    const refilled = { ...blocks[2]!, end: boardRows + 1, data: new Uint8Array([5]) }
    await store.putHistory(NEG.id, { blocks: [refilled], snapshots: [] }, { format: 1, state: '{"board":41}' })
  } finally {
    await store.close()
  }
  // opened again: nothing left to migrate, the history as it was written
  const again = await old.open()
  try {
    expect(await old.schemaVersion()).toBe(old.latest)
    expect(await again.historyState(NEG.id)).toEqual({ format: 1, state: '{"board":41}' })
    const found = await again.historyBlocks(NEG.id, 'board', keys)
    expect(found.sort((x, y) => x.start - y.start).map((b) => [b.start, b.end, [...b.data]])).toEqual([
      [0, 16, [1]],
      [16, 32, [2]],
      [32, boardRows + 1, [5]],
    ])
    expect(await again.historyBlocks(NEG.id, 'ledger', [{ level: 1, start: 0 }])).toEqual([blocks[3]])
    expect(await again.historySnapshot(NEG.id, 'board', 100)).toEqual({ doc: 'board', seq: 32, data: new Uint8Array([9, 9]) })
    // history rows hang on the docs the old build made: no new doc rows, the log untouched
    expect(await again.headSeq(`${NEG.id}/board`)).toBe(boardRows)
    expect(await again.deleteNegotiation(NEG.id)).toBe(true)
    expect(await again.historyState(NEG.id)).toBeNull()
    expect(await again.historyBlocks(NEG.id, 'board', keys)).toEqual([])
    expect(await again.historySnapshot(NEG.id, 'board', 100)).toBeNull()
    expect(await again.headSeq(`${NEG.id}/board`)).toBe(boardRows)
  } finally {
    await again.close()
  }
}

describe('migrating a SQLite file of schema 3: materialised history', () => {
  const dirs: string[] = []
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true })
  })

  it('[SM5] migrated to the latest schema (4: history tables, 5: layout_only), the log and versions as they were, the history tables working on its docs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-history-'))
    dirs.push(dir)
    const file = join(dir, 'parley.db')
    await checkHistoryAdded(sqliteOld(file))
    const db = new Database(file, { readonly: true })
    const docs = (db.prepare('SELECT count(*) AS n FROM docs').get() as { n: number }).n
    db.close()
    expect(docs).toBe(2)
  })
})

describe.skipIf(!pgUrl)('migrating a PostgreSQL schema of migration 3: materialised history', () => {
  const schemas: TestSchema[] = []
  afterAll(async () => {
    for (const s of schemas) await s.drop()
  })

  it('[SM5] migrated to migration 4, the log and versions as they were, the history tables working on its docs', async () => {
    const s = await createTestSchema(pgUrl!)
    schemas.push(s)
    await checkHistoryAdded(pgOld(s.url))
    const [row] = await sql<{ n: number }>(s.url, 'SELECT count(*)::int AS n FROM docs')
    expect(row!.n).toBe(2)
  })
})

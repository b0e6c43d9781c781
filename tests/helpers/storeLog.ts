/**
 * What the store holds, read behind the server's back: a doc's head and rows
 * straight from the SQLite file, the checks every stored log must pass, and a
 * `Witness` that a refused message was neither stored nor broadcast.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { expect } from 'vitest'
import * as Y from 'yjs'
import Database from 'better-sqlite3'
import { checkOf, GENESIS_HASH, updateRowHash } from '../../server/store/chain'
import { synced, waitFor, type YClient } from './clients'

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

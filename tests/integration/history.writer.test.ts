/**
 * Issue 12 — the materialised history as the server keeps it
 * (server/history/historyWriter.ts over a real store):
 * [HM4] a writer stopped mid-history (mid-block, mid-level) and resumed
 * from what it stored goes on to the same history: the board at every
 * sampled seq equals the log's own fold (docAt) — every term's text with
 * each character credited to the delegation whose client wrote it, cards
 * where they stood, the order — on SQLite and on PostgreSQL;
 * [HM5] a stored state of another format is dropped and rebuilt from the log.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { boardDocName } from '../../shared/docNames'
import { termsInOrder, board as boardOf } from '../../shared/docLayout'
import { SqliteStore } from '../../server/store/sqlite'
import { PostgresStore } from '../../server/store/postgres'
import type { Store } from '../../server/store/types'
import { HistoryWriter } from '../../server/history/historyWriter'
import { HistoryReader, HISTORY_FORMAT } from '../../server/history/materialiser'
import { fromStored } from '../../server/history/logRows'
import { docAt } from '../../server/history/reconstruct'
import type { BoardState } from '../../server/history/delta'
import { termIdsInOrder } from '../../server/history/pastStates'
import { generateHistory } from '../../bench/lib/history'
import { prng } from '../helpers/prng'
import { createTestSchema, postgresForTests, type TestSchema } from '../helpers/services'

const ROWS = 5000
const SEED = 7
const PARTIES = ['us', 'ru'] as const
const pgUrl = await postgresForTests('materialised history writer: postgres')
const cleanups: Array<() => Promise<void> | void> = []
afterAll(async () => {
  for (const c of cleanups) await c()
})

/** A generated two-delegation history (bench/lib/history.ts) appended to the store as the board's log. */
async function fill(store: Store, id: string): Promise<Map<number, string>> {
  const { edits, final } = generateHistory(ROWS, SEED)
  final.destroy()
  const t0 = Date.UTC(2026, 0, 5)
  for (let i = 0; i < edits.length; i += 500) {
    await store.appendUpdates(
      edits.slice(i, i + 500).map((e, k) => ({
        doc: boardDocName(id),
        at: t0 + (i + k) * 300,
        author: {
          user: `${PARTIES[e.writer]} delegate`,
          party: PARTIES[e.writer],
          role: 'negotiator' as const,
          conn: `c${e.writer}`,
        },
        update: e.update,
      })),
    )
  }
  // generateHistory's two client ids, one per delegation
  return new Map([
    [1000 + SEED, PARTIES[0]],
    [2000 + SEED, PARTIES[1]],
  ])
}

async function feed(store: Store, w: HistoryWriter, id: string, upTo: number): Promise<void> {
  const rows = await store.readUpdates(boardDocName(id), w.position('board'), upTo)
  for (const r of rows) w.add(fromStored('board', r))
  await w.flush(store)
}

/** Merged (text, party) runs: how the materialised board and the log's fold are compared. */
const runs = (list: Array<{ t: string; p: string | null }>) => {
  const out: Array<[string, string | null]> = []
  for (const r of list) {
    const last = out[out.length - 1]
    if (last && last[1] === r.p) last[0] += r.t
    else if (r.t) out.push([r.t, r.p])
  }
  return out
}

async function expectFoldOfLog(store: Store, id: string, state: BoardState, seq: number, partyOf: Map<number, string>) {
  const doc = await docAt(store, boardDocName(id), seq)
  try {
    const terms = termsInOrder(doc)
    expect(termIdsInOrder(state), `order at ${seq}`).toEqual(terms.map((t) => t.id))
    for (const t of terms) {
      const m = boardOf(doc).terms.get(t.id)!
      for (const field of ['title', 'body'] as const) {
        const text = m.get(field)
        const fromLog: Array<{ t: string; p: string | null }> = []
        if (text && typeof text === 'object' && 'toDelta' in text) {
          for (let n = (text as any)._start; n !== null; n = n.right) {
            if (!n.deleted && n.content.str !== undefined) fromLog.push({ t: n.content.str, p: partyOf.get(n.id.client) ?? null })
          }
        }
        expect(runs(state.terms[t.id]![field]), `${t.id}.${field} at ${seq}`).toEqual(runs(fromLog))
      }
      expect([state.terms[t.id]!.x, state.terms[t.id]!.y]).toEqual([t.x, t.y])
    }
  } finally {
    doc.destroy()
  }
}

async function checkResume(store: Store) {
  const id = 'hm4'
  const partyOf = await fill(store, id)
  const rand = prng(SEED)
  // Stops at uneven places: mid level-1 block, mid level-2, past a level-3 boundary.
  const stops = [37, 300, 4111, ROWS]
  for (const stop of stops) {
    const w = await HistoryWriter.open(store, id)
    await feed(store, w, id, stop)
    expect(w.position('board')).toBe(stop)
    w.destroy()
  }
  const reader = new HistoryReader(store)
  const seqs = [
    1,
    16,
    17,
    255,
    256,
    257,
    4096,
    4111,
    4112,
    ROWS,
    ...Array.from({ length: 12 }, () => 1 + Math.floor(rand() * ROWS)),
  ]
  for (const seq of seqs) await expectFoldOfLog(store, id, (await reader.state(id, 'board', seq)) as BoardState, seq, partyOf)
  // A reader without a cache (another request, another instance) reads the same.
  const fresh = new HistoryReader(store)
  expect(await fresh.state(id, 'board', 4111)).toEqual(await reader.state(id, 'board', 4111))
}

async function checkStaleFormat(store: Store) {
  const id = 'hm5'
  await fill(store, id)
  const w = await HistoryWriter.open(store, id)
  await feed(store, w, id, 400)
  w.destroy()
  const stored = (await store.historyState(id))!
  await store.putHistory(id, { blocks: [], snapshots: [] }, { format: HISTORY_FORMAT + 1, state: stored.state })
  const again = await HistoryWriter.open(store, id)
  expect(again.position('board')).toBe(0)
  expect(await store.historyState(id)).toBeNull()
  again.destroy()
}

describe('materialised history writer on SQLite', () => {
  const open = () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-hm-'))
    const store = new SqliteStore(join(dir, 'parley.db'))
    cleanups.push(async () => {
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    })
    return store
  }
  it('[HM4] a writer resumed from what it stored (mid-block, mid-level) materialises the log’s own fold, credited by client', async () => {
    await checkResume(open())
  })
  it('[HM5] a stored state of another format is dropped: the history starts over from the log', async () => {
    await checkStaleFormat(open())
  })
})

describe.skipIf(!pgUrl)('materialised history writer on PostgreSQL', () => {
  const schemas: TestSchema[] = []
  const open = async () => {
    const schema = await createTestSchema(pgUrl!)
    schemas.push(schema)
    const store = await PostgresStore.connect(schema.url)
    cleanups.push(async () => {
      await store.close()
      await schema.drop()
    })
    return store
  }
  it('[HM4] the same on PostgreSQL', async () => {
    await checkResume(await open())
  })
  it('[HM5] the same on PostgreSQL', async () => {
    await checkStaleFormat(await open())
  })
})

/**
 * The store contract (server/store/types.ts) as one suite that any store
 * implementation must pass (STYLE.md, "one storage interface, two
 * implementations, one contract test suite"): `storeContractSuite(name,
 * factory)` registers it for the stores `factory` opens.
 * tests/integration/store.contract.test.ts runs it against SQLite and
 * PostgreSQL. The row, version and chain fixtures are exported for the tests
 * of one store alone.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { ANCHOR_EVERY, checkOf, GENESIS_HASH, updateRowHash } from '../../server/store/chain'
import type {
  AppendResult,
  Author,
  HistoryBlock,
  HistoryDoc,
  HistorySnapshot,
  NewUpdate,
  Store,
  StoredUpdate,
  VersionRecord,
} from '../../server/store/types'

/** How the suite gets a store of the kind under test: a fresh one for every test. */
export interface StoreFactory {
  open(): Promise<Store>
  /** removes what `open` created (after the store is closed) */
  cleanup(): Promise<void>
}

export const ann: Author = { user: 'Ann', party: 'a', role: 'negotiator', conn: 'c-ann' }
export const boris: Author = { user: 'Boris', party: 'b', role: 'negotiator', conn: 'c-boris' }
export const serverAuthor: Author = { user: 'parley', party: null, role: 'server', conn: 'server' }

let clock = 1_700_000_000_000
/** A log row of `doc` by `author`, each one a millisecond after the last. */
export const row = (doc: string, bytes: number[] | Uint8Array, author: Author = ann, meta?: unknown): NewUpdate => ({
  doc,
  at: clock++,
  author,
  update: bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes),
  ...(meta !== undefined ? { meta } : {}),
})

/** Recomputes the chain of a doc from its rows, checking each row's check value; returns the head hash. */
export function verifyChain(doc: string, rows: StoredUpdate[]): string {
  let prev = GENESIS_HASH
  rows.forEach((r, i) => {
    expect(r.seq, `seq of row ${i}`).toBe(i + 1)
    prev = updateRowHash(prev, {
      doc,
      seq: r.seq,
      at: r.at,
      user: r.author.user,
      party: r.author.party,
      role: r.author.role,
      conn: r.author.conn,
      update: r.update,
      meta: r.meta === undefined ? null : JSON.stringify(r.meta),
    })
    expect(r.check, `check of seq ${r.seq}`).toBe(checkOf(prev))
    expect(r).not.toHaveProperty('prevHash')
  })
  return prev
}

export const version = (n: number, over: Partial<VersionRecord> = {}): VersionRecord => ({
  negotiationId: 'neg1',
  n,
  at: 1000 + n,
  lastAt: 1000 + n,
  party: 'a',
  user: 'Ann',
  kind: 'edit',
  termIds: ['t1'],
  summary: `version ${n}`,
  boardSeq: n * 10,
  ledgerSeq: n,
  hash: `h${n}`,
  prevHash: `h${n - 1}`,
  ...over,
})

/** A block of the materialised history whose bytes say which it is (and which write of it). */
const block = (doc: HistoryDoc, level: number, start: number, end: number, write = 0): HistoryBlock => ({
  doc,
  level,
  start,
  end,
  data: new Uint8Array([doc === 'board' ? 1 : 2, level, start & 0xff, start >> 8, end & 0xff, write]),
})
const snapshot = (doc: HistoryDoc, seq: number, write = 0): HistorySnapshot => ({
  doc,
  seq,
  data: new Uint8Array([doc === 'board' ? 1 : 2, seq & 0xff, seq >> 8, write]),
})
const byKey = (blocks: HistoryBlock[]) => [...blocks].sort((x, y) => x.level - y.level || x.start - y.start)

/**
 * Registers the store contract (serverAuthor/store/types.ts) as `store contract: <name>`, run against
 * the stores `factory` opens: every implementation must pass the same suite.
 */
export function storeContractSuite(name: string, factory: StoreFactory): void {
  describe(`store contract: ${name}`, () => {
    let store: Store
    beforeEach(async () => {
      store = await factory.open()
    })
    afterEach(async () => {
      await store.close()
      await factory.cleanup()
    })

    it('[ST1] appends rows and reads them back by range, with author, time and bytes intact', async () => {
      const first = [row('n/board', [1, 2, 3]), row('n/board', [4], boris)]
      const second = [row('n/board', [5, 6]), row('n/board', [7], serverAuthor, { kind: 'ledger' }), row('n/board', [8])]
      const r1 = await store.appendUpdates(first)
      const r2 = await store.appendUpdates(second)
      expect([...r1, ...r2].map((r) => [r.doc, r.seq])).toEqual([1, 2, 3, 4, 5].map((s) => ['n/board', s]))

      const all = await store.readUpdates('n/board', 0)
      expect(all.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5])
      ;[...first, ...second].forEach((sent, i) => {
        const got = all[i]!
        expect(got.doc).toBe('n/board')
        expect(got.at).toBe(sent.at)
        expect(got.author).toEqual(sent.author)
        expect(got.update).toEqual(sent.update)
        expect(got.update).toBeInstanceOf(Uint8Array)
      })
      expect(all[3]!.meta).toEqual({ kind: 'ledger' })
      expect('meta' in all[0]!).toBe(false)

      expect((await store.readUpdates('n/board', 1, 3)).map((r) => r.seq)).toEqual([2, 3])
      expect((await store.readUpdates('n/board', 3)).map((r) => r.seq)).toEqual([4, 5])
      expect(await store.readUpdates('n/board', 5)).toEqual([])
      expect(await store.headSeq('n/board')).toBe(5)
      expect(await store.headSeq('never/written')).toBe(0)
      expect(await store.readUpdates('never/written', 0)).toEqual([])
      expect(await store.appendUpdates([])).toEqual([])
    })

    it('[ST2] sequence numbers are per doc and gap-free, results in batch order', async () => {
      const results = await store.appendUpdates([
        row('x/board', [1]),
        row('x/ledger', [1]),
        row('x/board', [2]),
        row('x/ledger', [2]),
        row('x/board', [3]),
      ])
      expect(results.map((r) => `${r.doc}#${r.seq}`)).toEqual(['x/board#1', 'x/ledger#1', 'x/board#2', 'x/ledger#2', 'x/board#3'])
      const more = await store.appendUpdates([row('x/ledger', [3]), row('x/board', [4])])
      expect(more.map((r) => `${r.doc}#${r.seq}`)).toEqual(['x/ledger#3', 'x/board#4'])
      // one batch at a time, many in flight: still no gap and no duplicate
      await Promise.all(Array.from({ length: 20 }, (_, i) => store.appendUpdates([row('x/board', [10 + i])])))
      expect((await store.readUpdates('x/board', 0)).map((r) => r.seq)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1))
      expect(await store.headSeq('x/ledger')).toBe(3)
    })

    it('[ST3] a failing batch leaves nothing behind — rows, claims or a gap', async () => {
      await store.appendUpdates([row('f/board', [1])])
      const circular: Record<string, unknown> = {}
      circular.self = circular
      // fails in the process (meta cannot be serialised) after two rows of the batch were prepared
      await expect(
        store.appendUpdates(
          [row('f/board', [2]), row('f/other', [1]), row('f/board', [3], ann, circular)],
          [{ doc: 'f/board', clientId: 7, owner: 'ann' }],
        ),
      ).rejects.toThrow()
      // fails in the database (NaN is no valid time) after earlier rows of the batch
      await expect(
        store.appendUpdates(
          [row('f/board', [2]), row('f/other', [1]), { ...row('f/board', [3]), at: Number.NaN }],
          [{ doc: 'f/other', clientId: 8, owner: 'ann' }],
        ),
      ).rejects.toThrow()
      expect(await store.headSeq('f/board')).toBe(1)
      expect(await store.headSeq('f/other')).toBe(0)
      expect(await store.readUpdates('f/other', 0)).toEqual([])
      expect((await store.readUpdates('f/board', 0)).map((r) => r.seq)).toEqual([1])
      expect((await store.clientOwners('f/board')).size).toBe(0)
      expect((await store.clientOwners('f/other')).size).toBe(0)
      // the next batch continues where the last committed one ended
      const next = await store.appendUpdates([row('f/board', [4]), row('f/other', [2])])
      expect(next.map((r) => r.seq)).toEqual([2, 1])
      const rows = await store.readUpdates('f/board', 0)
      expect(rows.map((r) => [...r.update])).toEqual([[1], [4]])
      verifyChain('f/board', rows)
    })

    it('[ST4] every row carries the hash chain: a check of its hash (the first from GENESIS_HASH), the head its full hash', async () => {
      expect(await store.chainHead('c/board')).toEqual({ seq: 0, hash: GENESIS_HASH })
      const results = [
        ...(await store.appendUpdates([
          row('c/board', [1]),
          row('c/ledger', [9], serverAuthor, { move: 'accept', termId: 't1' }),
        ])),
        ...(await store.appendUpdates([row('c/board', [2], boris), row('c/board', [3], ann, null)])),
        ...(await store.appendUpdates([row('c/board', [4]), row('c/ledger', [8], serverAuthor, { move: 'agree' })])),
      ]
      for (const doc of ['c/board', 'c/ledger']) {
        const rows = await store.readUpdates(doc, 0)
        const head = verifyChain(doc, rows)
        // the hash each append reported is the row's, and the last one is the recorded head
        const reported = results.filter((r) => r.doc === doc)
        rows.forEach((r, i) => expect(r.check).toBe(checkOf(reported[i]!.hash)))
        expect(reported[reported.length - 1]!.hash).toBe(head)
        expect(await store.chainHead(doc)).toEqual({ seq: rows.length, hash: head })
        expect(await store.chainAnchors(doc)).toEqual([])
      }
      const board = await store.readUpdates('c/board', 0)
      expect(board[2]!.meta).toBeNull()
    })

    it('[ST4b] the full hash is kept every ANCHOR_EVERY rows, whatever the batches', async () => {
      const results: AppendResult[] = []
      for (let i = 0; i < 2 * ANCHOR_EVERY + 10;) {
        const n = 1 + (i % 7) * 13
        results.push(...(await store.appendUpdates(Array.from({ length: n }, (_, k) => row('an/board', [(i + k) & 0xff])))))
        i += n
      }
      const rows = await store.readUpdates('an/board', 0)
      const head = verifyChain('an/board', rows)
      const anchors = await store.chainAnchors('an/board')
      expect(anchors.map((a) => a.seq)).toEqual([ANCHOR_EVERY, 2 * ANCHOR_EVERY])
      for (const a of anchors) expect(a.hash).toBe(results[a.seq - 1]!.hash)
      expect(await store.chainHead('an/board')).toEqual({ seq: results.length, hash: head })
    })

    it('[ST5] checkpoints: the newest at or before a seq, bytes intact, same seq replaced', async () => {
      await store.appendUpdates(Array.from({ length: 8 }, (_, i) => row('k/board', [i])))
      expect(await store.latestCheckpoint('k/board')).toBeNull()
      await store.saveCheckpoint({ doc: 'k/board', seq: 3, at: 30, state: new Uint8Array([3, 3, 3]) })
      await store.saveCheckpoint({ doc: 'k/board', seq: 6, at: 60, state: new Uint8Array([6, 6]) })
      expect(await store.latestCheckpoint('k/board')).toEqual({ doc: 'k/board', seq: 6, at: 60, state: new Uint8Array([6, 6]) })
      expect((await store.latestCheckpoint('k/board', 6))!.seq).toBe(6)
      expect((await store.latestCheckpoint('k/board', 5))!.seq).toBe(3)
      expect((await store.latestCheckpoint('k/board', 3))!.state).toEqual(new Uint8Array([3, 3, 3]))
      expect(await store.latestCheckpoint('k/board', 2)).toBeNull()
      expect(await store.latestCheckpoint('never/written')).toBeNull()
      await store.saveCheckpoint({ doc: 'k/board', seq: 6, at: 61, state: new Uint8Array([7]) })
      expect(await store.latestCheckpoint('k/board')).toEqual({ doc: 'k/board', seq: 6, at: 61, state: new Uint8Array([7]) })
      // a checkpoint is not a log row
      expect(await store.headSeq('k/board')).toBe(8)
    })

    it('[ST5b] checkpoints are kept compressed, and only the newest two per doc', async () => {
      // a real board state, as rooms checkpoint it: compressible text
      const doc = new Y.Doc()
      const text = doc.getText('body')
      const states: Uint8Array[] = []
      for (let i = 1; i <= 4; i++) {
        text.insert(text.length, 'Requests for extradition are answered within thirty days of receipt. '.repeat(20))
        states.push(Y.encodeStateAsUpdate(doc))
        await store.saveCheckpoint({ doc: 'z/board', seq: i * 10, at: i, state: states[i - 1]! })
      }
      await store.saveCheckpoint({ doc: 'z/ledger', seq: 5, at: 1, state: new Uint8Array([0, 0]) })
      const kept = await store.listCheckpoints('z/board')
      expect(kept.map((c) => c.seq)).toEqual([30, 40])
      for (const [i, c] of kept.entries()) {
        expect(c.stateBytes).toBe(states[i + 2]!.byteLength)
        expect(c.storedBytes).toBeLessThan(c.stateBytes / 4)
      }
      // read back whole and uncompressed, a sync step 2 as it is
      expect((await store.latestCheckpoint('z/board'))!.state).toEqual(states[3])
      expect((await store.latestCheckpoint('z/board', 39))!.state).toEqual(states[2])
      // the older ones are gone: what lies before is rebuilt from the log
      expect(await store.latestCheckpoint('z/board', 29)).toBeNull()
      // a state compression cannot shrink is kept as it is; other docs are not thinned
      expect(await store.listCheckpoints('z/ledger')).toEqual([{ seq: 5, at: 1, storedBytes: 2, stateBytes: 2 }])
      expect((await store.latestCheckpoint('z/ledger'))!.state).toEqual(new Uint8Array([0, 0]))
      // saved out of order (a slow save finishing late): the newest two stay
      await store.saveCheckpoint({ doc: 'z/board', seq: 35, at: 5, state: states[0]! })
      expect((await store.listCheckpoints('z/board')).map((c) => c.seq).slice(-2)).toEqual([35, 40])
      await store.saveCheckpoint({ doc: 'z/board', seq: 50, at: 6, state: states[0]! })
      expect((await store.listCheckpoints('z/board')).map((c) => c.seq)).toEqual([40, 50])
      expect(await store.listCheckpoints('never/written')).toEqual([])
    })

    it('[ST6] scanUpdates visits every row in seq order, in pages, with the total', async () => {
      await store.appendUpdates(Array.from({ length: 12 }, (_, i) => row('s/board', [i])))
      const pages: Array<{ seqs: number[]; total: number }> = []
      await store.scanUpdates('s/board', (rows, total) => void pages.push({ seqs: rows.map((r) => r.seq), total }), 5)
      expect(pages.map((p) => p.seqs.length)).toEqual([5, 5, 2])
      expect(pages.flatMap((p) => p.seqs)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1))
      expect(pages.every((p) => p.total === 12)).toBe(true)
      let visits = 0
      await store.scanUpdates('never/written', () => void visits++)
      expect(visits).toBe(0)
      const all: number[] = []
      await store.scanUpdates('s/board', async (rows) => void all.push(...rows.map((r) => r.seq)))
      expect(all).toHaveLength(12)
    })

    it('[ST7] client ids: the first claim wins, in a batch and across batches, up to uint32', async () => {
      await store.appendUpdates(
        [row('o/board', [1])],
        [
          { doc: 'o/board', clientId: 1, owner: 'ann' },
          { doc: 'o/board', clientId: 2, owner: 'boris' },
          { doc: 'o/board', clientId: 1, owner: 'mallory' },
        ],
      )
      await store.appendUpdates(
        [],
        [
          { doc: 'o/board', clientId: 1, owner: 'eve' },
          { doc: 'o/board', clientId: 0xffffffff, owner: 'max' },
          { doc: 'o/caucus/a', clientId: 1, owner: 'ann' },
        ],
      )
      expect(await store.clientOwners('o/board')).toEqual(
        new Map([
          [1, 'ann'],
          [2, 'boris'],
          [0xffffffff, 'max'],
        ]),
      )
      expect(await store.clientOwners('o/caucus/a')).toEqual(new Map([[1, 'ann']]))
      expect(await store.clientOwners('never/written')).toEqual(new Map())
      // a claims-only batch adds no log row
      expect(await store.headSeq('o/caucus/a')).toBe(0)
    })

    it('[ST8] negotiations: create, get, list (oldest first), soft delete', async () => {
      const parties = [
        { id: 'ru', name: 'Делегация России', color: '#aa0000' },
        { id: 'ae', name: 'وفد الإمارات', color: '#00aa00' },
      ]
      await store.createNegotiation({ id: 'n2', title: 'Second', parties, createdAt: 2000 })
      await store.createNegotiation({ id: 'n1', title: 'Первый раунд', parties, createdAt: 1000 })
      await store.createNegotiation({ id: 'n3', title: 'Third', parties: [], createdAt: 3000 })
      await expect(store.createNegotiation({ id: 'n1', title: 'again', parties, createdAt: 4000 })).rejects.toThrow()
      expect(await store.getNegotiation('n1')).toEqual({ id: 'n1', title: 'Первый раунд', parties, createdAt: 1000 })
      expect(await store.getNegotiation('nope')).toBeNull()
      expect((await store.listNegotiations()).map((n) => n.id)).toEqual(['n1', 'n2', 'n3'])
      expect(await store.deleteNegotiation('n2')).toBe(true)
      expect(await store.deleteNegotiation('n2')).toBe(false)
      expect(await store.deleteNegotiation('nope')).toBe(false)
      expect(await store.getNegotiation('n2')).toBeNull()
      expect((await store.listNegotiations()).map((n) => n.id)).toEqual(['n1', 'n3'])
    })

    it('[ST19] seen: per negotiation and viewer, kept at the highest version seen', async () => {
      expect(await store.lastSeen('neg-seen', 'jti-1:Carter')).toBeNull()
      await store.markSeen('neg-seen', 'jti-1:Carter', 7, 1000)
      await store.markSeen('neg-seen', 'jti-1:Reyes', 3, 1100)
      expect(await store.lastSeen('neg-seen', 'jti-1:Carter')).toEqual({ n: 7, at: 1000 })
      await store.markSeen('neg-seen', 'jti-1:Carter', 5, 1200)
      expect(await store.lastSeen('neg-seen', 'jti-1:Carter')).toEqual({ n: 7, at: 1000 })
      await store.markSeen('neg-seen', 'jti-1:Carter', 9, 1300)
      expect(await store.lastSeen('neg-seen', 'jti-1:Carter')).toEqual({ n: 9, at: 1300 })
      expect(await store.lastSeen('neg-seen', 'jti-1:Reyes')).toEqual({ n: 3, at: 1100 })
      expect(await store.lastSeen('neg-other', 'jti-1:Carter')).toBeNull()
    })

    it('[ST9] tokens: revocation once, isRevoked, revokedSince', async () => {
      const base = { negotiationId: 'n1', createdAt: 100, expiresAt: null }
      await store.recordToken({ ...base, jti: 'j1', role: 'negotiator', party: 'a' })
      await store.recordToken({ ...base, jti: 'j2', role: 'observer', party: null, expiresAt: 9_999_999_999_999 })
      await store.recordToken({ ...base, jti: 'j3', role: 'reviewer', party: null })
      expect(await store.isRevoked('j1')).toBe(false)
      expect(await store.revokeToken('j1', 5000)).toBe(true)
      expect(await store.revokeToken('j1', 6000)).toBe(false)
      expect(await store.revokeToken('unknown', 6000)).toBe(false)
      expect(await store.revokeToken('j2', 7000)).toBe(true)
      expect(await store.isRevoked('j1')).toBe(true)
      expect(await store.isRevoked('j3')).toBe(false)
      expect(await store.isRevoked('unknown')).toBe(false)
      const since = (t: number) => store.revokedSince(t).then((l) => l.sort((x, y) => x.revokedAt - y.revokedAt))
      expect(await since(0)).toEqual([
        { jti: 'j1', revokedAt: 5000 },
        { jti: 'j2', revokedAt: 7000 },
      ])
      expect(await since(5000)).toHaveLength(2)
      expect(await since(5001)).toEqual([{ jti: 'j2', revokedAt: 7000 }])
      expect(await since(7001)).toEqual([])
    })

    it('[ST16] every row gets a gseq: one order of all rows, growing along each batch, with seq in each doc, and read back as reported', async () => {
      const first = await store.appendUpdates([row('g/board', [1]), row('g/ledger', [1]), row('g/board', [2])])
      const second = await store.appendUpdates([row('g/ledger', [2]), row('h/board', [1]), row('g/board', [3])])
      const claimsOnly = await store.appendUpdates([], [{ doc: 'g/board', clientId: 3, owner: 'ann' }])
      expect(claimsOnly).toEqual([])
      const third = await store.appendUpdates([row('h/board', [2])])
      const reported = [...first, ...second, ...third]
      const gseqs = reported.map((r) => r.gseq)
      gseqs.forEach((g, i) => {
        expect(Number.isInteger(g) && g > 0, `gseq ${g}`).toBe(true)
        if (i > 0) expect(g, `gseq of result ${i}`).toBeGreaterThan(gseqs[i - 1]!)
      })
      for (const doc of ['g/board', 'g/ledger', 'h/board']) {
        const rows = await store.readUpdates(doc, 0)
        expect(rows.map((r) => r.gseq)).toEqual(reported.filter((r) => r.doc === doc).map((r) => r.gseq))
      }
    })

    it('[ST17] settleAppend: true for rows an append wrote, false for rows never written (also once others took their seqs)', async () => {
      const done = await store.appendUpdates([row('st/board', [1]), row('st/ledger', [2], serverAuthor, { kind: 'propose' })])
      expect(await store.settleAppend(done)).toBe(true)
      expect(await store.settleAppend(done.slice(1))).toBe(true)
      const never = [{ doc: 'st/board', seq: 2, hash: 'f'.repeat(64), gseq: done[1]!.gseq + 1 }]
      expect(await store.settleAppend(never)).toBe(false)
      await store.appendUpdates([row('st/board', [9])])
      expect(await store.settleAppend(never)).toBe(false)
      expect(await store.settleAppend([{ doc: 'never/written', seq: 1, hash: 'f'.repeat(64), gseq: 1 }])).toBe(false)
      expect(await store.settleAppend([])).toBe(false)
    })

    it('[ST10] versions: put replaces version n, list is ordered by n, name is optional', async () => {
      await store.putVersions([version(2)])
      await store.putVersions([version(1, { kind: 'propose', termIds: [] })])
      await store.putVersions([version(3, { kind: 'checkpoint', name: 'Первое чтение — القراءة الأولى', party: null })])
      await store.putVersions([version(2, { lastAt: 5000, summary: 'grew', termIds: ['t1', 't2'], boardSeq: 99 })])
      await store.putVersions([version(1, { negotiationId: 'other' })])
      const list = await store.listVersions('neg1')
      expect(list.map((v) => v.n)).toEqual([1, 2, 3])
      expect(list[0]).toEqual(version(1, { kind: 'propose', termIds: [] }))
      expect(list[1]).toEqual(version(2, { lastAt: 5000, summary: 'grew', termIds: ['t1', 't2'], boardSeq: 99 }))
      expect(list[2]!.name).toBe('Первое чтение — القراءة الأولى')
      expect('name' in list[0]!).toBe(false)
      expect(await store.getVersion('neg1', 3)).toEqual(list[2])
      expect(await store.getVersion('neg1', 4)).toBeNull()
      expect(await store.listVersions('nobody')).toEqual([])
    })

    it('[ST10d] layoutOnly (an edit that only moved cards) round-trips; absent reads as absent, and a replace can clear it', async () => {
      await store.putVersions([version(1), version(2, { layoutOnly: true })])
      expect(await store.getVersion('neg1', 2)).toEqual(version(2, { layoutOnly: true }))
      expect('layoutOnly' in (await store.getVersion('neg1', 1))!).toBe(false)
      await store.putVersions([version(2)])
      expect(await store.getVersion('neg1', 2)).toEqual(version(2))
    })

    it('[ST10b] putVersions: several in one call, in order (a later n replaces an earlier); riding rows are durable when it resolves', async () => {
      await store.putVersions([version(1), version(2), version(2, { summary: 'grew', lastAt: 3000 })])
      expect((await store.listVersions('neg1')).map((v) => [v.n, v.summary])).toEqual([
        [1, 'version 1'],
        [2, 'grew'],
      ])
      // riding along with the next append, or on their own a moment later: either way there when it resolves
      const riding = store.putVersions([version(3)], { ride: true })
      await store.appendUpdates([row('neg1/board', [7])])
      await riding
      const alone = store.putVersions([version(4)], { ride: true })
      await alone
      expect((await store.listVersions('neg1')).map((v) => v.n)).toEqual([1, 2, 3, 4])
      // someone reading: waiting rows are written at once
      const waiting = store.putVersions([version(5)], { ride: true })
      store.flushPendingVersions?.()
      await waiting
      expect(await store.getVersion('neg1', 5)).toEqual(version(5))
      await store.putVersions([])
    })

    it('[ST10c] versions in pages (after, limit), the last one alone, and their density by party and kind', async () => {
      const parties = ['us', 'ru', null]
      const kinds = ['edit', 'accept', 'checkpoint'] as const
      await store.putVersions(
        Array.from({ length: 10 }, (_, i) => version(i + 1, { party: parties[i % 3]!, kind: kinds[i % 3]!, at: 1000 * (i + 1) })),
      )
      expect((await store.listVersions('neg1', { after: 3, limit: 4 })).map((v) => v.n)).toEqual([4, 5, 6, 7])
      expect((await store.listVersions('neg1', { after: 8 })).map((v) => v.n)).toEqual([9, 10])
      expect((await store.listVersions('neg1', { limit: 2 })).map((v) => v.n)).toEqual([1, 2])
      expect((await store.lastVersion('neg1'))?.n).toBe(10)
      expect(await store.lastVersion('nobody')).toBeNull()
      const d = await store.versionDensity('neg1', 4)
      expect(d.total).toBe(10)
      expect(d.buckets.map((b) => [b.fromN, b.toN, b.count])).toEqual([
        [1, 3, 3],
        [4, 5, 2],
        [6, 8, 3],
        [9, 10, 2],
      ])
      expect(d.buckets[0]!.byParty).toEqual({ us: 1, ru: 1, '': 1 })
      expect(d.buckets[0]!.byKind).toEqual({ edit: 1, accept: 1, checkpoint: 1 })
      expect([d.buckets[0]!.fromAt, d.buckets[3]!.toAt]).toEqual([1000, 10_000])
      expect(await store.versionDensity('nobody', 4)).toEqual({ total: 0, buckets: [] })
    })

    it('[ST18] materialised history: blocks by key, a stored key replaced; the newest snapshot at or before a seq; the state', async () => {
      expect(await store.historyState('h1')).toBeNull()
      expect(await store.historyBlocks('h1', 'board', [{ level: 1, start: 0 }])).toEqual([])
      expect(await store.historySnapshot('h1', 'board', 100)).toBeNull()
      await store.appendUpdates([row('h1/board', [1])])
      expect(await store.historyBlocks('h1', 'board', [{ level: 1, start: 0 }])).toEqual([])

      await store.putHistory(
        'h1',
        {
          blocks: [block('board', 1, 0, 16), block('board', 1, 16, 20), block('board', 2, 0, 256), block('ledger', 1, 0, 3)],
          snapshots: [snapshot('board', 16), snapshot('board', 300), snapshot('ledger', 3)],
        },
        { format: 1, state: '{"board":20,"ledger":3}' },
      )
      const asked = [
        { level: 1, start: 16 },
        { level: 1, start: 0 },
        { level: 1, start: 32 },
        { level: 2, start: 0 },
        { level: 3, start: 0 },
      ]
      const found = await store.historyBlocks('h1', 'board', asked)
      expect(byKey(found)).toEqual([block('board', 1, 0, 16), block('board', 1, 16, 20), block('board', 2, 0, 256)])
      for (const b of found) expect(b.data).toBeInstanceOf(Uint8Array)
      // the other doc's blocks are its own
      expect(await store.historyBlocks('h1', 'ledger', asked)).toEqual([block('ledger', 1, 0, 3)])
      expect(await store.historyBlocks('h1', 'board', [])).toEqual([])
      expect(await store.historyBlocks('other', 'board', asked)).toEqual([])
      expect(await store.historyState('h1')).toEqual({ format: 1, state: '{"board":20,"ledger":3}' })

      // the open level-1 block is written again as it fills: the stored one is replaced
      await store.putHistory(
        'h1',
        { blocks: [block('board', 1, 16, 24, 1)], snapshots: [] },
        { format: 1, state: '{"board":24}' },
      )
      expect(byKey(await store.historyBlocks('h1', 'board', asked))).toEqual([
        block('board', 1, 0, 16),
        block('board', 1, 16, 24, 1),
        block('board', 2, 0, 256),
      ])
      // twice in one call: the later write wins, as written one after the other
      await store.putHistory(
        'h1',
        {
          blocks: [block('board', 1, 32, 33, 1), block('board', 1, 32, 34, 2)],
          snapshots: [snapshot('ledger', 3, 1), snapshot('ledger', 3, 2)],
        },
        { format: 1, state: '{"board":34}' },
      )
      expect(await store.historyBlocks('h1', 'board', [{ level: 1, start: 32 }])).toEqual([block('board', 1, 32, 34, 2)])
      expect(await store.historyState('h1')).toEqual({ format: 1, state: '{"board":34}' })

      // snapshots: the newest with seq ≤ atOrBefore, of that doc
      expect(await store.historySnapshot('h1', 'board', 15)).toBeNull()
      expect(await store.historySnapshot('h1', 'board', 16)).toEqual(snapshot('board', 16))
      expect(await store.historySnapshot('h1', 'board', 299)).toEqual(snapshot('board', 16))
      expect(await store.historySnapshot('h1', 'board', 300)).toEqual(snapshot('board', 300))
      expect(await store.historySnapshot('h1', 'board', Number.MAX_SAFE_INTEGER)).toEqual(snapshot('board', 300))
      expect(await store.historySnapshot('h1', 'ledger', 2)).toBeNull()
      expect(await store.historySnapshot('h1', 'ledger', 1000)).toEqual(snapshot('ledger', 3, 2))
      expect((await store.historySnapshot('h1', 'board', 16))!.data).toBeInstanceOf(Uint8Array)

      // a hundred keys at once (what a long read asks for), large bytes intact, and a format change
      const many = Array.from({ length: 100 }, (_, i) => block('ledger', 1, 16 * i, 16 * i + 16, 3))
      const big = new Uint8Array(512 * 1024)
      for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff
      await store.putHistory(
        'h1',
        { blocks: many, snapshots: [{ doc: 'ledger', seq: 1600, data: big }] },
        { format: 2, state: '{}' },
      )
      const got = await store.historyBlocks('h1', 'ledger', [
        ...many.map((b) => ({ level: 1, start: b.start })),
        { level: 1, start: 1600 },
      ])
      expect(byKey(got)).toEqual(many)
      const bigBack = await store.historySnapshot('h1', 'ledger', 1600)
      expect(Buffer.from(bigBack!.data).equals(Buffer.from(big))).toBe(true)
      expect(await store.historyState('h1')).toEqual({ format: 2, state: '{}' })

      // history rows are no log rows
      expect(await store.headSeq('h1/board')).toBe(1)
      expect(await store.headSeq('h1/ledger')).toBe(0)
      // a doc that keeps no materialised history is refused
      await expect(store.historyBlocks('h1', 'caucus' as HistoryDoc, asked)).rejects.toThrow()
      await expect(store.historySnapshot('h1', 'h1/board' as HistoryDoc, 10)).rejects.toThrow()

      // what a restart sees
      await store.close()
      store = await factory.open()
      expect(await store.historyState('h1')).toEqual({ format: 2, state: '{}' })
      expect(await store.historySnapshot('h1', 'board', 299)).toEqual(snapshot('board', 16))
      expect(byKey(await store.historyBlocks('h1', 'board', asked))).toHaveLength(4)
    })

    it('[ST18b] putHistory is all or nothing: blocks, snapshots and state, also when it fails after writing some', async () => {
      const before = { blocks: [block('board', 1, 0, 16), block('ledger', 1, 0, 5)], snapshots: [snapshot('board', 16)] }
      await store.putHistory('ha', before, { format: 1, state: 'v1' })
      const keys = [
        { level: 1, start: 0 },
        { level: 1, start: 16 },
        { level: 2, start: 0 },
      ]
      const unchanged = async () => {
        expect(await store.historyState('ha')).toEqual({ format: 1, state: 'v1' })
        expect(await store.historyBlocks('ha', 'board', keys)).toEqual([block('board', 1, 0, 16)])
        expect(await store.historyBlocks('ha', 'ledger', keys)).toEqual([block('ledger', 1, 0, 5)])
        expect(await store.historySnapshot('ha', 'board', 1000)).toEqual(snapshot('board', 16))
        expect(await store.historySnapshot('ha', 'ledger', 1000)).toBeNull()
      }
      // refused in the process: a doc without materialised history, after good blocks
      await expect(
        store.putHistory(
          'ha',
          {
            blocks: [block('board', 1, 0, 16, 9), block('board', 1, 16, 18), block('caucus' as HistoryDoc, 1, 0, 2)],
            snapshots: [],
          },
          { format: 1, state: 'v2' },
        ),
      ).rejects.toThrow()
      await unchanged()
      // failing in the database (NaN is no seq) after a replaced block, a new one and a good snapshot
      await expect(
        store.putHistory(
          'ha',
          {
            blocks: [block('board', 1, 0, 16, 9), block('board', 2, 0, 256)],
            snapshots: [snapshot('ledger', 5), { ...snapshot('board', 32), seq: Number.NaN }],
          },
          { format: 1, state: 'v2' },
        ),
      ).rejects.toThrow()
      await unchanged()
      // and a block that fails after the others were written
      await expect(
        store.putHistory(
          'ha',
          { blocks: [block('ledger', 1, 0, 8, 9), { ...block('board', 1, 16, 20), start: Number.NaN }], snapshots: [] },
          { format: 1, state: 'v2' },
        ),
      ).rejects.toThrow()
      await unchanged()
      // the store writes on: the next put lands whole
      await store.putHistory(
        'ha',
        { blocks: [block('board', 1, 16, 18)], snapshots: [snapshot('ledger', 5)] },
        { format: 1, state: 'v2' },
      )
      expect(await store.historyBlocks('ha', 'board', keys)).toEqual([block('board', 1, 0, 16), block('board', 1, 16, 18)])
      expect(await store.historySnapshot('ha', 'ledger', 5)).toEqual(snapshot('ledger', 5))
      expect(await store.historyState('ha')).toEqual({ format: 1, state: 'v2' })
    })

    it("[ST18c] dropHistory and deleteNegotiation remove a negotiation's materialised history, and only its", async () => {
      const parties = [{ id: 'a', name: 'A', color: '#000000' }]
      const keys = [
        { level: 1, start: 0 },
        { level: 2, start: 0 },
      ]
      const fill = async (id: string) => {
        await store.putHistory(
          id,
          {
            blocks: [block('board', 1, 0, 16), block('board', 2, 0, 256), block('ledger', 1, 0, 4)],
            snapshots: [snapshot('board', 256), snapshot('ledger', 4)],
          },
          { format: 1, state: `{"of":"${id}"}` },
        )
      }
      const has = async (id: string) => ({
        state: await store.historyState(id),
        board: (await store.historyBlocks(id, 'board', keys)).length,
        ledger: (await store.historyBlocks(id, 'ledger', keys)).length,
        snapshots: [await store.historySnapshot(id, 'board', 1000), await store.historySnapshot(id, 'ledger', 1000)].filter(
          Boolean,
        ).length,
      })
      const full = (id: string) => ({ state: { format: 1, state: `{"of":"${id}"}` }, board: 2, ledger: 1, snapshots: 2 })
      const none = { state: null, board: 0, ledger: 0, snapshots: 0 }
      for (const id of ['d1', 'd10', 'd2']) {
        await store.createNegotiation({ id, title: id, parties, createdAt: 1000 })
        await store.appendUpdates([row(`${id}/board`, [1]), row(`${id}/ledger`, [2])])
        await fill(id)
      }

      await store.dropHistory('d1')
      expect(await has('d1')).toEqual(none)
      expect(await has('d10')).toEqual(full('d10'))
      expect(await has('d2')).toEqual(full('d2'))
      // the logs it is derived from stay, and it can be built again
      expect(await store.headSeq('d1/board')).toBe(1)
      expect(await store.headSeq('d1/ledger')).toBe(1)
      await fill('d1')
      expect(await has('d1')).toEqual(full('d1'))
      await store.dropHistory('nobody')

      expect(await store.deleteNegotiation('d2')).toBe(true)
      expect(await has('d2')).toEqual(none)
      expect(await has('d1')).toEqual(full('d1'))
      expect(await has('d10')).toEqual(full('d10'))
      expect(await store.headSeq('d2/board')).toBe(1)
      // a negotiation already deleted: nothing left to remove, and false as before
      expect(await store.deleteNegotiation('d2')).toBe(false)
      expect(await has('d1')).toEqual(full('d1'))
    })

    it('[ST11] meta round-trips as JSON: nested values, null, Unicode', async () => {
      const metas = [
        { move: 'accept', termId: 't1', party: 'a', hash: 'ab'.repeat(32), nested: { list: [1, 2.5, -3, true, null, 'x'] } },
        null,
        'a string',
        42,
        [],
        { text: 'Статья 5: выдача — المادة ٥: التسليم 🤝', empty: '' },
      ]
      await store.appendUpdates(metas.map((m) => row('m/ledger', [1], serverAuthor, m)))
      const rows = await store.readUpdates('m/ledger', 0)
      expect(rows.map((r) => r.meta)).toEqual(metas)
      verifyChain('m/ledger', rows)
    })

    it('[ST12] Unicode doc names, users, parties and connections round-trip and chain', async () => {
      const who: Author = { user: 'Сергей Лавров', party: 'делегация', role: 'negotiator', conn: 'соединение-1' }
      const who2: Author = { user: 'عبد الله بن زايد', party: 'الإمارات', role: 'reviewer', conn: 'اتصال-٢' }
      const doc = 'переговоры/доска'
      const doc2 = 'مفاوضات/لوحة'
      await store.appendUpdates(
        [row(doc, [1], who), row(doc2, [2], who2), row(doc, [3], who2)],
        [{ doc, clientId: 5, owner: 'Сергей' }],
      )
      const rows = await store.readUpdates(doc, 0)
      expect(rows.map((r) => r.author)).toEqual([who, who2])
      expect((await store.readUpdates(doc2, 0))[0]!.author).toEqual(who2)
      expect(await store.clientOwners(doc)).toEqual(new Map([[5, 'Сергей']]))
      verifyChain(doc, rows)
      verifyChain(doc2, await store.readUpdates(doc2, 0))
    })

    it('[ST13] a 1 MiB update and an empty one keep every byte', async () => {
      const big = new Uint8Array(1024 * 1024)
      for (let i = 0; i < big.length; i++) big[i] = (i * 7919) & 0xff
      await store.appendUpdates([row('b/board', big), row('b/board', [])])
      const rows = await store.readUpdates('b/board', 0)
      expect(rows[0]!.update.byteLength).toBe(big.byteLength)
      expect(Buffer.from(rows[0]!.update).equals(Buffer.from(big))).toBe(true)
      expect(rows[1]!.update).toEqual(new Uint8Array())
      verifyChain('b/board', rows)
    })

    it('[ST14] ping answers; close is idempotent', async () => {
      await expect(store.ping()).resolves.toBeUndefined()
      await store.close()
      await store.close()
      store = await factory.open()
    })

    it('[ST15] withLock: one holder per key at a time, in arrival order; keys independent; released however fn ends', async () => {
      // A read-decide-write on the log under the lock: each holder sees every earlier holder's row.
      const order: string[] = []
      const decide = (who: string) =>
        store.withLock('neg1', async () => {
          order.push(`${who}+`)
          const head = await store.headSeq('lock/ledger')
          await new Promise((r) => setTimeout(r, 5))
          await store.appendUpdates([row('lock/ledger', new TextEncoder().encode(String(head + 1)))])
          order.push(`${who}-`)
          return head + 1
        })
      const results = await Promise.all(['a', 'b', 'c', 'd'].map(decide))
      expect(results).toEqual([1, 2, 3, 4])
      expect(order).toEqual(['a+', 'a-', 'b+', 'b-', 'c+', 'c-', 'd+', 'd-'])
      const rows = await store.readUpdates('lock/ledger', 0)
      expect(rows.map((r) => new TextDecoder().decode(r.update))).toEqual(['1', '2', '3', '4'])

      // another key does not wait for a held one
      let releaseHeld!: () => void
      const held = store.withLock('slow', () => new Promise<void>((r) => (releaseHeld = r)))
      await new Promise((r) => setTimeout(r, 20))
      expect(await store.withLock('other', async () => 'free')).toBe('free')
      releaseHeld()
      await held

      // a throwing holder releases the lock and its error reaches the caller
      await expect(
        store.withLock('neg1', async () => {
          throw new Error('boom')
        }),
      ).rejects.toThrow('boom')
      expect(await store.withLock('neg1', async () => 'after')).toBe('after')
    })

    it('[ST40] sealed rows: per-doc gap-free seqs from the head, read back in pages with nonce, bytes, time and author intact', async () => {
      expect(await store.sealedHead('n/sealed/a')).toBe(0)
      expect(await store.readSealed('n/sealed/a', 0, 10)).toEqual([])
      const sent = [sealed('n/sealed/a', 1), sealed('n/sealed/b', 2, boris), sealed('n/sealed/a', 3)]
      const first = await store.appendSealed(sent)
      expect(first).toEqual([
        { doc: 'n/sealed/a', seq: 1 },
        { doc: 'n/sealed/b', seq: 1 },
        { doc: 'n/sealed/a', seq: 2 },
      ])
      const big = sealed('n/sealed/a', 4)
      big.ciphertext = new Uint8Array(1024 * 1024 - 64).map((_, i) => i * 7)
      expect(await store.appendSealed([big, sealed('n/sealed/a', 5)])).toEqual([
        { doc: 'n/sealed/a', seq: 3 },
        { doc: 'n/sealed/a', seq: 4 },
      ])
      expect(await store.sealedHead('n/sealed/a')).toBe(4)
      expect(await store.sealedHead('n/sealed/b')).toBe(1)
      const all = await store.readSealed('n/sealed/a', 0, 100)
      expect(all.map((r) => r.seq)).toEqual([1, 2, 3, 4])
      expect(all.map((r) => r.nonce[0])).toEqual([1, 3, 4, 5])
      expect(Buffer.from(all[2]!.ciphertext).equals(Buffer.from(big.ciphertext))).toBe(true)
      expect(all[0]!.author).toEqual(ann)
      expect(all[0]!.at).toBe(sent[0]!.at)
      expect(all[1]!.ciphertext).toEqual(sent[2]!.ciphertext)
      expect((await store.readSealed('n/sealed/b', 0, 100))[0]!.author).toEqual(boris)
      // pages: after a seq, at most `limit`
      expect((await store.readSealed('n/sealed/a', 1, 2)).map((r) => r.seq)).toEqual([2, 3])
      expect((await store.readSealed('n/sealed/a', 3, 2)).map((r) => r.seq)).toEqual([4])
      expect(await store.readSealed('n/sealed/a', 4, 2)).toEqual([])
      // never part of the update log (history, exports and verify read only that)
      expect(await store.headSeq('n/sealed/a')).toBe(0)
      expect(await store.readUpdates('n/sealed/a', 0)).toEqual([])
      expect((await store.chainHead('n/sealed/a')).seq).toBe(0)
    })

    it('[ST41] sealed appends at once keep one gap-free order; the head survives a reopen', async () => {
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => store.appendSealed([sealed('c/sealed/a', i), sealed('c/sealed/a', 100 + i)])),
      )
      const rows = await store.readSealed('c/sealed/a', 0, 1000)
      expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1))
      // each append's two rows are adjacent, in batch order
      for (let i = 0; i < 40; i += 2) expect(rows[i + 1]!.nonce[0]).toBe(rows[i]!.nonce[0]! + 100)
      await store.close()
      store = await factory.open()
      expect(await store.sealedHead('c/sealed/a')).toBe(40)
      expect(await store.appendSealed([sealed('c/sealed/a', 9)])).toEqual([{ doc: 'c/sealed/a', seq: 41 }])
    })
  })
}

let sealedClock = 1_700_100_000_000
/** A sealed row of `doc`: its nonce starts with `tag`, its ciphertext says so too. */
function sealed(doc: string, tag: number, author: Author = ann) {
  return {
    doc,
    at: sealedClock++,
    author,
    nonce: new Uint8Array(12).fill(tag & 0xff, 0, 1),
    ciphertext: new Uint8Array(32).fill(tag & 0xff),
  }
}

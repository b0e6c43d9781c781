/**
 * The version fold (server/history/fold.ts) over hand-made log rows with
 * chosen timestamps: the grouping rule of CONTRACT.md `Version` and the
 * order in which board and ledger rows are folded (the store's gseq, never
 * the timestamps).
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { addAuthors, allStatuses, board, insertTerm, replaceText, writeMeta, writeStatus } from '../../shared/docLayout'
import { applyMove, type TermStatus } from '../../shared/negotiation'
import type { Author, VersionRecord } from '../../server/store/types'
import { HistoryFold, LONG_TEXT, RowQueue, nextRow } from '../../server/history/fold'
import type { LogRow } from '../../server/history/logRows'
import { EDIT_PAUSE_MS } from '../../server/history/grouping'
import { versionRowHash, GENESIS_HASH } from '../../server/store/chain'

const PARTIES = { a: 'Alpha', b: 'Beta' } as Record<string, string>
const who = (party: string | null, user = `${party}-user`, role: Author['role'] = 'negotiator'): Author => ({
  user,
  party,
  role,
  conn: `c-${user}`,
})
const SERVER = who(null, 'Parley', 'server')
const T0 = Date.UTC(2026, 0, 12, 9)

/** A board and a ledger written to like the server does, recording each write as a log row, numbered in commit order. */
class Log {
  readonly board = new Y.Doc()
  readonly ledger = new Y.Doc()
  readonly rows: LogRow[] = []
  private seq = { board: 0, ledger: 0 }
  private gseq = 0
  private statuses = new Map<string, TermStatus>()

  write(docName: 'board' | 'ledger', author: Author, at: number, change: (d: Y.Doc) => void, meta?: unknown) {
    const doc = docName === 'board' ? this.board : this.ledger
    let update: Uint8Array | null = null
    const capture = (u: Uint8Array) => (update = u)
    doc.on('update', capture)
    doc.transact(() => change(doc))
    doc.off('update', capture)
    if (!update) throw new Error('no change')
    this.rows.push({ doc: docName, seq: ++this.seq[docName], gseq: ++this.gseq, at, author, update, ...(meta ? { meta } : {}) })
  }

  open(at = T0): this {
    this.write('ledger', SERVER, at, (d) => writeMeta(d, { title: 'Talks', parties: [], createdAt: at }))
    return this
  }

  /**
   * A term appears on the board and the watcher proposes it: one commit, the board row first
   * (gseq), though the propose was queued while the board update was applied — its `at` may be earlier.
   */
  add(author: Author, at: number, id: string, title: string, body: string, proposeAt = at): this {
    const t = applyMove(undefined, { kind: 'propose', party: author.party }, ['a', 'b'], proposeAt)
    this.statuses.set(id, t.status)
    const meta = { kind: 'propose', termIds: [id], party: author.party, user: author.user, via: 'board' }
    this.write('board', author, at, (d) => insertTerm(d, id, { title, body }))
    this.write('ledger', author, proposeAt, (d) => writeStatus(d, id, t.status), meta)
    return this
  }

  type(author: Author, at: number, id: string, body: string, meta?: unknown): this {
    this.write('board', author, at, (d) => replaceText(board(d).terms.get(id)!.get('body') as Y.Text, body), meta)
    return this
  }

  drag(author: Author, at: number, id: string, x: number): this {
    this.write('board', author, at, (d) => board(d).terms.get(id)!.set('x', x))
    return this
  }

  note(author: Author, at: number, id: string, text: string): this {
    this.write('board', author, at, (d) => {
      const m = new Y.Map<unknown>()
      m.set('text', new Y.Text(text))
      board(d).notes.set(id, m)
    })
    return this
  }

  move(author: Author, at: number, kind: 'accept' | 'reject' | 'withdraw' | 'reopen', id: string, reason?: string): this {
    const text = { title: 'x', body: (board(this.board).terms.get(id)!.get('body') as Y.Text).toString() }
    const move = kind === 'accept' ? { kind, party: author.party!, text } : { kind, party: author.party! }
    const t = applyMove(this.statuses.get(id), move, ['a', 'b'], at)
    this.statuses.set(id, t.status)
    const meta = { kind: t.outcome, termIds: [id], party: author.party, user: author.user, ...(reason ? { reason } : {}) }
    this.write('ledger', author, at, (d) => writeStatus(d, id, t.status), meta)
    return this
  }

  checkpoint(author: Author, at: number, name: string): this {
    const meta = { kind: 'checkpoint', termIds: [], party: author.party, user: author.user, name }
    this.write('ledger', author, at, (d) => d.getMap('meta').set('lastCheckpoint', name), meta)
    return this
  }
}

function freshFold(): HistoryFold {
  return new HistoryFold({
    negotiationId: 'n1',
    partyName: (id) => (id === null ? null : (PARTIES[id] ?? id)),
    board: new Y.Doc(),
    ledger: new Y.Doc(),
    pos: { boardSeq: 0, ledgerSeq: 0 },
    last: null,
  })
}

/** Folds the log's rows in fold order; returns every version in its final form. */
function fold(log: Log, f = freshFold()): VersionRecord[] {
  const boardRows = RowQueue.of(log.rows.filter((r) => r.doc === 'board'))
  const ledgerRows = RowQueue.of(log.rows.filter((r) => r.doc === 'ledger'))
  const byN = new Map<number, VersionRecord>()
  for (let row = nextRow(boardRows, ledgerRows); row; row = nextRow(boardRows, ledgerRows)) {
    for (const ev of f.apply(row)) byN.set(ev.version.n, ev.version)
  }
  for (const v of byN.values()) f.seal(v)
  return [...byN.values()].map((v) => ({ ...v, termIds: [...v.termIds] })).sort((x, y) => x.n - y.n)
}

const kinds = (vs: VersionRecord[]) => vs.map((v) => v.kind)
const A = who('a', 'Ann')
const B = who('b', 'Boris')

describe('grouping of edits (CONTRACT.md Version: one user, no other author or move between, pauses < 5 s)', () => {
  const seeded = () => new Log().open().add(SERVER, T0, 't1', 'Response deadline', 'Requests are answered within 30 days.')

  it('[H1] consecutive edits by one user with pauses under 5 s are one edit version', () => {
    const log = seeded()
      .type(A, T0 + 1000, 't1', 'Requests are answered within 4 days.')
      .type(A, T0 + 1000 + EDIT_PAUSE_MS - 1, 't1', 'Requests are answered within 45 days.')
      .drag(A, T0 + 1000 + 2 * (EDIT_PAUSE_MS - 1), 't1', 120)
    const vs = fold(log)
    // The drag that follows is a version of its own, marked so that lists can leave it out.
    expect(kinds(vs)).toEqual(['propose', 'edit', 'edit'])
    const edit = vs[1]!
    expect(edit).toMatchObject({
      party: 'a',
      user: 'Ann',
      termIds: ['t1'],
      at: T0 + 1000,
      lastAt: T0 + 1000 + EDIT_PAUSE_MS - 1,
    })
    expect(edit.layoutOnly).toBeUndefined()
    expect(edit.boardSeq).toBe(3)
    expect(edit.summary).toBe("Alpha edited 'Response deadline': 30 → 45 days")
    expect(vs[2]).toMatchObject({ layoutOnly: true, boardSeq: 4, summary: "Alpha moved 'Response deadline'" })
  })

  it('[H17] an edit of a long text (an annex past LONG_TEXT characters) names the term without quoting it: no version reads its whole text', () => {
    const annex = 'Each request names the person sought and the offence. '.repeat(400)
    expect(annex.length).toBeGreaterThan(LONG_TEXT)
    const vs = fold(
      seeded()
        .add(A, T0 + 100, 't2', 'Annex', annex)
        .type(A, T0 + 1000, 't2', annex + 'Signed.'),
    )
    expect(vs.at(-1)!.summary).toBe("Alpha edited 'Annex'")
  })

  it('[H18] a drag then a retitle by the same user: the move is summarised with the title as it stood, whether the rows are folded one step at a time (sealed in between, as the live index does) or together (a rebuild)', () => {
    const log = new Log()
      .open()
      .add(A, T0 + 10, 't1', 'Response deadline', 'Requests are answered within 30 days.')
      .drag(A, T0 + 1000, 't1', 300)
    log.write('board', A, T0 + 1001, (d) => replaceText(board(d).terms.get('t1')!.get('title') as Y.Text, 'Deadline'))
    const together = fold(log)
    const stepped = freshFold()
    const byN = new Map<number, VersionRecord>()
    for (const row of [...log.rows].sort((x, y) => x.gseq - y.gseq)) {
      for (const ev of stepped.apply(row)) byN.set(ev.version.n, { ...stepped.seal(ev.version) })
    }
    const moved = together.find((v) => v.layoutOnly)!
    expect(moved.summary).toBe("Alpha moved 'Response deadline'")
    expect(byN.get(moved.n)).toEqual(moved)
  })

  it('[H16] card moves never join a run of text edits: typing, a drag, typing again are three versions, the drag layoutOnly', () => {
    const log = seeded()
      .type(A, T0 + 1000, 't1', 'Requests are answered within 40 days.')
      .drag(A, T0 + 1500, 't1', 200)
      .drag(A, T0 + 1800, 't1', 260)
      .type(A, T0 + 2000, 't1', 'Requests are answered within 45 days.')
    const vs = fold(log)
    expect(kinds(vs)).toEqual(['propose', 'edit', 'edit', 'edit'])
    expect(vs.map((v) => v.layoutOnly === true)).toEqual([false, false, true, false])
    expect(vs.map((v) => v.summary).slice(1)).toEqual([
      "Alpha edited 'Response deadline': 30 → 40 days",
      "Alpha moved 'Response deadline'",
      "Alpha edited 'Response deadline': 40 → 45 days",
    ])
  })

  it('[H2] a pause of 5 s or more starts a new edit version', () => {
    const log = seeded()
      .type(A, T0 + 1000, 't1', 'Requests are answered within 40 days.')
      .type(A, T0 + 1000 + EDIT_PAUSE_MS, 't1', 'Requests are answered within 45 days.')
    const vs = fold(log)
    expect(kinds(vs)).toEqual(['propose', 'edit', 'edit'])
    expect(vs[1]!.summary).toBe("Alpha edited 'Response deadline': 30 → 40 days")
    expect(vs[2]!.summary).toBe("Alpha edited 'Response deadline': 40 → 45 days")
  })

  it('[H3] another author in between splits the run, even within 5 s', () => {
    const log = seeded()
      .type(A, T0 + 1000, 't1', 'Requests are answered within 40 days.')
      .type(B, T0 + 1100, 't1', 'Requests are answered within 40 days!')
      .type(A, T0 + 1200, 't1', 'Requests are answered within 45 days!')
    expect(fold(log).map((v) => v.user)).toEqual(['Parley', 'Ann', 'Boris', 'Ann'])
  })

  it('[H4] the same party but another user is another author', () => {
    const log = seeded()
      .type(A, T0 + 1000, 't1', 'Requests are answered within 40 days.')
      .type(who('a', 'Abe'), T0 + 1100, 't1', 'Requests are answered within 45 days.')
    expect(kinds(fold(log))).toEqual(['propose', 'edit', 'edit'])
  })

  it('[H5] a status move in between closes the run', () => {
    const log = seeded()
      .type(A, T0 + 1000, 't1', 'Requests are answered within 40 days.')
      .move(B, T0 + 1100, 'accept', 't1')
      .type(A, T0 + 1200, 't1', 'Requests are answered within 45 days.')
    expect(kinds(fold(log))).toEqual(['propose', 'edit', 'accept', 'edit'])
  })

  it('[H6] a run touching several terms lists them in first-touched order', () => {
    const log = seeded()
      .add(A, T0 + 100, 't2', 'Evidence', 'A summary.')
      .type(A, T0 + 1000, 't2', 'A summary of the evidence.')
      .type(A, T0 + 1500, 't1', 'Requests are answered within 45 days.')
      .drag(A, T0 + 1600, 't2', 300)
    const vs = fold(log)
    expect(kinds(vs)).toEqual(['propose', 'propose', 'edit', 'edit'])
    expect(vs[2]).toMatchObject({ termIds: ['t2', 't1'], summary: "Alpha edited 'Evidence' and 'Response deadline'" })
    expect(vs[3]).toMatchObject({ termIds: ['t2'], layoutOnly: true })
  })

  it('[H7] moving cards only is summarised as a move; notes as an edit of the board', () => {
    const vs = fold(
      seeded()
        .drag(A, T0 + 1000, 't1', 500)
        .note(B, T0 + 2000, 'n1', 'call at 5'),
    )
    expect(vs.slice(1).map((v) => v.summary)).toEqual(["Alpha moved 'Response deadline'", 'Beta edited the board'])
    expect(vs[2]!.termIds).toEqual([])
  })
})

describe('one version per move', () => {
  it('[H8] propose, accept, agree (with the completing accept), reject, reopen, withdraw and checkpoint', () => {
    const log = new Log()
      .open()
      .add(A, T0 + 10, 't1', 'Equal obligations', 'Obligations are equal and reciprocal.')
      .move(A, T0 + 20, 'accept', 't1')
      .move(B, T0 + 30, 'accept', 't1')
      .add(B, T0 + 40, 't2', 'Political offence', 'May be refused.')
      .move(A, T0 + 50, 'reject', 't2', 'Never political.')
      .move(B, T0 + 60, 'reopen', 't2')
      .move(B, T0 + 70, 'withdraw', 't2')
      .checkpoint(A, T0 + 80, 'End of round one')
    const vs = fold(log)
    expect(vs.map((v) => [v.kind, v.party, v.summary])).toEqual([
      ['propose', 'a', "Alpha proposed 'Equal obligations'"],
      ['accept', 'a', "Alpha accepted 'Equal obligations'"],
      ['accept', 'b', "Beta accepted 'Equal obligations'"],
      ['agree', 'b', "'Equal obligations' agreed by all parties"],
      ['propose', 'b', "Beta proposed 'Political offence'"],
      ['reject', 'a', "Alpha rejected 'Political offence': Never political."],
      ['reopen', 'b', "Beta reopened 'Political offence'"],
      ['withdraw', 'b', "Beta withdrew 'Political offence'"],
      ['checkpoint', 'a', "Alpha marked checkpoint 'End of round one'"],
    ])
    expect(vs[8]!.name).toBe('End of round one')
    expect(vs.map((v) => v.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9])
  })

  it('[H9] terms of the opening draft are proposed by nobody', () => {
    const vs = fold(new Log().open().add(SERVER, T0, 't1', 'Scope', 'Each party extradites.'))
    expect(vs).toMatchObject([{ kind: 'propose', party: null, user: 'Parley', summary: "'Scope' is in the opening draft" }])
  })

  it('[H10] a restore is a version of its own, even right after the same user edited', () => {
    const log = new Log()
      .open()
      .add(SERVER, T0, 't1', 'Deadline', 'Within 30 days.')
      .type(A, T0 + 1000, 't1', 'Within 45 days.')
      .type(A, T0 + 1500, 't1', 'Within 30 days.', { kind: 'restore', termIds: ['t1'], party: 'a', user: 'Ann', restoredFrom: 1 })
    const vs = fold(log)
    expect(kinds(vs)).toEqual(['propose', 'edit', 'restore'])
    expect(vs[2]).toMatchObject({ party: 'a', user: 'Ann', summary: "Alpha restored 'Deadline' to its text at version 1" })
  })
})

describe('rows that are no version', () => {
  it('[AU3] the ledger naming a client id (authors) is no version, does not split an edit run and moves no term', () => {
    const typed = () =>
      new Log()
        .open()
        .add(SERVER, T0, 't1', 'Deadline', 'Within 30 days.')
        .move(A, T0 + 100, 'accept', 't1')
        .type(A, T0 + 1000, 't1', 'Within 45 days.')
    const plain = typed().type(A, T0 + 1500, 't1', 'Within 46 days.')
    const named = typed()
    // As the server writes it: after the board row that introduced the id, by the server, with no meta.
    named.write('ledger', SERVER, T0 + 1001, (d) => addAuthors(d, [[4242, { party: 'a', user: 'Ann' }]]))
    named.type(A, T0 + 1500, 't1', 'Within 46 days.')
    const [without, with_] = [fold(plain), fold(named)]
    expect(kinds(with_)).toEqual(['propose', 'accept', 'edit'])
    // The same versions but for where the ledger stood: the run's last row came after the names.
    const strip = (vs: VersionRecord[]) => vs.map(({ ledgerSeq: _l, hash: _h, prevHash: _p, ...v }) => v)
    expect(strip(with_)).toEqual(strip(without))
    expect(with_[2]!.ledgerSeq).toBe(without[2]!.ledgerSeq + 1)
    expect(allStatuses(named.ledger)).toEqual(allStatuses(plain.ledger))
  })
})

describe('the order of board and ledger rows', () => {
  it('[H11] a propose queued a millisecond before the board row that caused it is folded after that row', () => {
    const log = new Log().open().add(A, T0 + 11, 't1', 'Scope', 'Each party extradites.', T0 + 10)
    const [v] = fold(log)
    // the version's board seq includes the term: its sheet shows it
    expect(v).toMatchObject({ kind: 'propose', boardSeq: 1, ledgerSeq: 2, summary: "Alpha proposed 'Scope'" })
  })

  it('[H12] a command move comes where the store numbered it, between the board rows before and after it', () => {
    const log = new Log()
      .open()
      .add(SERVER, T0, 't1', 'Deadline', 'Within 30 days.')
      .type(A, T0 + 1000, 't1', 'Within 45 days.')
      .move(B, T0 + 1000, 'accept', 't1')
      .type(A, T0 + 1001, 't1', 'Within 46 days.')
    const vs = fold(log)
    expect(kinds(vs)).toEqual(['propose', 'edit', 'accept', 'edit'])
    expect(vs[2]).toMatchObject({ boardSeq: 2, ledgerSeq: 3 })
  })

  it('[H12b] clocks do not order the logs: an accept stamped minutes before the edit it accepted still follows it', () => {
    // Beta's instance runs five minutes slow: its accept of the edited text carries an earlier time.
    const slow = -5 * 60_000
    const log = new Log()
      .open()
      .add(SERVER, T0, 't1', 'Deadline', 'Within 30 days.')
      .type(A, T0 + 60_000, 't1', 'Within 45 days.')
      .move(B, T0 + 61_000 + slow, 'accept', 't1')
      .move(A, T0 + 62_000, 'accept', 't1')
      .type(B, T0 + 63_000 + slow, 't1', 'Within 45 days, or 60.')
    const vs = fold(log)
    expect(vs.map((v) => `${v.kind}:${v.party}`)).toEqual(['propose:null', 'edit:a', 'accept:b', 'accept:a', 'agree:a', 'edit:b'])
    expect(vs[2]).toMatchObject({ boardSeq: 2, ledgerSeq: 3, at: T0 + 61_000 + slow })
  })

  it('[H13] folding in two goes (a restart from the stored newest version) gives the same versions', () => {
    const log = new Log()
      .open()
      .add(SERVER, T0, 't1', 'Deadline', 'Within 30 days.')
      .type(A, T0 + 1000, 't1', 'Within 40 days.')
      .type(A, T0 + 2000, 't1', 'Within 45 days.')
      .move(B, T0 + 3000, 'accept', 't1')
      .type(B, T0 + 4000, 't1', 'Within 45 days, or 60.')
    const whole = fold(log)
    // Stop after the first edit row: the stored newest version is the still-open edit run.
    const cut = 4
    const first = new Log()
    const rowsBefore = log.rows.slice(0, cut)
    const f1 = freshFold()
    const partial = fold(Object.assign(first, { rows: rowsBefore }) as Log, f1)
    const last = partial[partial.length - 1]!
    expect(last.kind).toBe('edit')
    // Rebuild both docs at the stored version's seqs, as the index does after a restart.
    const at = (docName: 'board' | 'ledger', seq: number) => {
      const d = new Y.Doc()
      for (const r of log.rows.filter((x) => x.doc === docName && x.seq <= seq)) Y.applyUpdate(d, r.update)
      return d
    }
    const start = at('board', partial[partial.length - 2]!.boardSeq)
    const f2 = new HistoryFold({
      negotiationId: 'n1',
      partyName: (id) => (id === null ? null : (PARTIES[id] ?? id)),
      board: at('board', last.boardSeq),
      ledger: at('ledger', last.ledgerSeq),
      pos: { boardSeq: last.boardSeq, ledgerSeq: last.ledgerSeq },
      last,
      runBefore: new Map([['t1', { title: 'Deadline', body: (board(start).terms.get('t1')!.get('body') as Y.Text).toString() }]]),
    })
    const rest = new Log()
    const remaining = log.rows.filter((r) => r.seq > (r.doc === 'board' ? last.boardSeq : last.ledgerSeq))
    const resumed = fold(Object.assign(rest, { rows: remaining }) as Log, f2)
    const combined = new Map([...partial, ...resumed].map((v) => [v.n, v]))
    expect([...combined.values()]).toEqual(whole)
  })

  it('[H14] versions are chained by hash', () => {
    const vs = fold(
      new Log()
        .open()
        .add(SERVER, T0, 't1', 'A', 'a')
        .move(A, T0 + 5, 'accept', 't1'),
    )
    let prev = GENESIS_HASH
    for (const v of vs) {
      expect(v.prevHash).toBe(prev)
      expect(v.hash).toBe(versionRowHash(prev, v))
      prev = v.hash
    }
  })
})

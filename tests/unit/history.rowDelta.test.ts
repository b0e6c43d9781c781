/**
 * Issue 12 — each log row folded into the history's copy of a doc comes
 * back as an attributed delta (server/history/rowDelta.ts), found from the
 * transaction and a few position markers per text (textIndex.ts), never by
 * reading whole texts:
 * [RD1] board rows from several clients of two or three parties — typing,
 *       pastes, replaces, texts and terms replaced, removals and put-backs,
 *       notes, links, order, offline edits merged into one row, values that
 *       do not fit the layout: after every row, the previous state with the
 *       row's delta applied is the doc, and every character is credited to
 *       the party of the client that wrote it (read from the doc's items);
 * [RD2] the same when the history starts from a doc already full (state read
 *       from the doc, texts met for the first time);
 * [RD3] ledger rows: statuses and meta round-trip;
 * [RD4] the work per keystroke (items visited) is a small constant, the same
 *       for a 50 000-character fragmented term as for a 500-character one;
 * [RD5] single rows with a known answer, and rows Yjs cannot read.
 *
 * Failing runs print their fast-check seed; rerun with PARLEY_ROWDELTA_SEED.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as Y from 'yjs'
import {
  allStatuses,
  board,
  insertLink,
  insertNote,
  insertTerm,
  ledger,
  setPosition,
  writeMeta,
  writeStatus,
} from '../../shared/docLayout'
import type { TermStatus } from '../../shared/negotiation'
import {
  applyBoard,
  applyLedger,
  composeBoard,
  emptyBoard,
  type AttributedText,
  type BoardDelta,
  type BoardState,
  type LedgerState,
} from '../../server/history/delta'
import { RowDeltas, boardStateOf, ledgerStateOf } from '../../server/history/rowDelta'
import { Peers, type Peer } from '../helpers/boardPeers'
import { prng } from '../helpers/prng'
import { TERM, TypingRig } from '../helpers/typingRig'

const SEED = Number(process.env.PARLEY_ROWDELTA_SEED ?? Date.now() % 2 ** 31)
const RUNS = Number(process.env.PARLEY_FUZZ_RUNS ?? 60)
/** long runs (PARLEY_FUZZ_RUNS) get time to finish */
const TIMEOUT = 30_000 + RUNS * 100
const PARTIES = ['us', 'ru', 'eu']
const plainKey = (k: string) => !(k in Object.prototype)

// ── what the doc's items say ───────────────────────────────────────────────

/** Which row (seq) integrated each client's clock ranges. */
class RowOfItems {
  private ranges = new Map<number, Array<{ from: number; to: number; seq: number }>>()

  /** Call with the doc's state vector before a row and the doc after it. */
  record(before: Map<number, number>, doc: Y.Doc, seq: number): void {
    doc.store.clients.forEach((_structs, client) => {
      const from = before.get(client) ?? 0
      const to = Y.getState(doc.store, client)
      if (to > from) {
        let list = this.ranges.get(client)
        if (!list) this.ranges.set(client, (list = []))
        list.push({ from, to, seq })
      }
    })
  }

  seqOf(client: number, clock: number): number {
    for (const r of this.ranges.get(client) ?? []) if (clock >= r.from && clock < r.to) return r.seq
    return 0
  }
}

const stateVector = (doc: Y.Doc) => Y.decodeStateVector(Y.encodeStateVector(doc))

interface Char {
  c: string
  p: string | null
  seq: number
}

/** A text field's characters as the doc's items hold them: who wrote each (by client id) and in which row. */
function itemChars(map: Y.Map<unknown>, key: string, partyOf: Map<number, string>, rows: RowOfItems): Char[] {
  const v = map.get(key)
  const out: Char[] = []
  if (v instanceof Y.Text) {
    for (let n = v._start; n !== null; n = n.right) {
      if (n.deleted || !(n.content instanceof Y.ContentString)) continue
      const str = n.content.str
      for (let i = 0; i < str.length; i++) {
        out.push({ c: str[i]!, p: partyOf.get(n.id.client) ?? null, seq: rows.seqOf(n.id.client, n.id.clock + i) })
      }
    }
  } else if (typeof v === 'string') {
    const item = map._map.get(key)!
    for (const c of v) out.push({ c, p: partyOf.get(item.id.client) ?? null, seq: rows.seqOf(item.id.client, item.id.clock) })
  }
  return out
}

/** The runs carry exactly these characters and authors; each run's seq is that of a row that wrote into it, at or after its newest character. */
function expectText(runs: AttributedText, chars: Char[], seq: number, where: string): void {
  expect(runs.map((r) => r.t).join(''), where).toBe(chars.map((c) => c.c).join(''))
  expect(
    runs.flatMap((r) => [...r.t].map(() => r.p)),
    `${where}: authors`,
  ).toEqual(chars.map((c) => c.p))
  let at = 0
  for (const r of runs) {
    const newest = Math.max(0, ...chars.slice(at, at + r.t.length).map((c) => c.seq))
    at += r.t.length
    expect(r.s, `${where}: run seq`).toBeGreaterThanOrEqual(newest)
    expect(r.s, `${where}: run seq`).toBeLessThanOrEqual(seq)
  }
}

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0)
const strip = (runs: AttributedText) => runs.map((r) => [r.t, r.p])

/** `state` (folded from deltas) is the history doc, read independently from its items. */
function expectBoard(state: BoardState, doc: Y.Doc, partyOf: Map<number, string>, rows: RowOfItems, seq: number): void {
  const b = board(doc)
  const terms = [...b.terms.entries()].filter(([k, v]) => v instanceof Y.Map && plainKey(k))
  expect(Object.keys(state.terms).sort(), 'terms').toEqual(terms.map(([k]) => k).sort())
  for (const [id, m] of terms) {
    const t = state.terms[id]!
    expectText(t.title, itemChars(m, 'title', partyOf, rows), seq, `${id}.title`)
    expectText(t.body, itemChars(m, 'body', partyOf, rows), seq, `${id}.body`)
    expect([t.x, t.y], `${id} position`).toEqual([num(m.get('x')), num(m.get('y'))])
  }
  expect(state.order, 'order').toEqual(b.order.toArray().filter((x) => typeof x === 'string'))
  const notes = [...b.notes.entries()].filter(([k, v]) => v instanceof Y.Map && plainKey(k))
  expect(Object.keys(state.notes).sort(), 'notes').toEqual(notes.map(([k]) => k).sort())
  for (const [id, m] of notes) {
    const n = state.notes[id]!
    expectText(n.text, itemChars(m, 'text', partyOf, rows), seq, `${id}.text`)
    const color = m.get('color')
    expect([n.x, n.y, n.color], `${id}`).toEqual([num(m.get('x')), num(m.get('y')), typeof color === 'string' ? color : ''])
  }
  const links: Record<string, unknown> = {}
  b.links.forEach((m, id) => {
    if (!(m instanceof Y.Map) || !plainKey(id)) return
    const [from, to, label] = [m.get('from'), m.get('to'), m.get('label')]
    if (typeof from === 'string' && typeof to === 'string')
      links[id] = { from, to, label: typeof label === 'string' ? label : '' }
  })
  expect(state.links, 'links').toEqual(links)
  // The reader for starting a materialisation says the same (runs compared without their seqs).
  const read = boardStateOf(doc, (c) => partyOf.get(c) ?? null)
  const unseq = (s: BoardState) => ({
    ...s,
    terms: Object.fromEntries(Object.entries(s.terms).map(([k, t]) => [k, { ...t, title: strip(t.title), body: strip(t.body) }])),
    notes: Object.fromEntries(Object.entries(s.notes).map(([k, n]) => [k, { ...n, text: strip(n.text) }])),
  })
  expect(unseq(read)).toEqual(unseq(state))
}

// ── random board edits ─────────────────────────────────────────────────────

const WORDS = ['30 ', 'days ', 'shall ', 'not ', 'срок ', 'خلال ', 'x', ' and the victims', '\n']
const peer = fc.nat(5)
const at = fc.double({ min: 0, max: 1, noNaN: true })
const field = fc.constantFrom('title' as const, 'body' as const)
const word = fc.constantFrom(...WORDS)
const paste = fc.tuple(word, fc.integer({ min: 4, max: 40 })).map(([w, k]) => w.repeat(k))
const coordinate = fc.integer({ min: -5000, max: 5000 })

const op = fc.oneof(
  { weight: 12, arbitrary: fc.record({ t: fc.constant('type' as const), peer, n: fc.nat(), field, at, text: word }) },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('erase' as const),
      peer,
      n: fc.nat(),
      field,
      at,
      len: fc.integer({ min: 1, max: 12 }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('paste' as const), peer, n: fc.nat(), field, at, text: paste }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('replace' as const),
      peer,
      n: fc.nat(),
      field,
      at,
      len: fc.integer({ min: 1, max: 15 }),
      text: fc.oneof(word, paste),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('retext' as const), peer, n: fc.nat(), field, text: word }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('add' as const), peer, text: word, x: coordinate }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('remove' as const), peer, n: fc.nat(), fromOrder: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('putBack' as const), peer, n: fc.nat(), text: word }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('recreate' as const), peer, n: fc.nat(), text: word }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('move' as const),
      peer,
      n: fc.nat(),
      note: fc.boolean(),
      x: coordinate,
      y: coordinate,
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reorder' as const), peer, i: fc.nat(), j: fc.nat() }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('note' as const),
      peer,
      kind: fc.constantFrom('add', 'type', 'erase', 'color', 'remove'),
      n: fc.nat(),
      at,
      text: word,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('link' as const),
      peer,
      kind: fc.constantFrom('add', 'add', 'remove', 'label'),
      n: fc.nat(),
      m: fc.nat(),
      text: word,
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('junk' as const), peer, kind: fc.nat(9), n: fc.nat(), at }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('offline' as const), peer }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('online' as const), party: fc.nat(2) }) },
  // A delegation types at one place keystroke by keystroke (a row each) while another types elsewhere in the same text, then backspaces.
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('session' as const),
      peer,
      other: peer,
      n: fc.nat(),
      field,
      at,
      elsewhere: at,
      keys: fc.integer({ min: 1, max: 12 }),
      back: fc.nat(8),
    }),
  },
  // Both clients of a party type at one place offline, then come back as one merged row.
  { weight: 1, arbitrary: fc.record({ t: fc.constant('race' as const), party: fc.nat(2), n: fc.nat(), field, at, text: word }) },
)
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never

const termMap = (d: Y.Doc, id: string) => board(d).terms.get(id) as Y.Map<unknown>
const mapIds = (m: Y.Map<any>) =>
  [...m.entries()]
    .filter(([, v]) => v instanceof Y.Map)
    .map(([k]) => k)
    .sort()
const pick = <T>(xs: T[], n: number): T | undefined => (xs.length ? xs[n % xs.length] : undefined)

/** Runs random board edits; `ids` numbers new entries across the run. */
function play(peers: Peers, o: Op, ids: { n: number; removed: Set<string> }): void {
  if (o.t === 'online') {
    peers.reconnect(PARTIES[o.party % PARTIES.length]!)
    return
  }
  if (o.t === 'race') {
    const party = PARTIES[o.party % PARTIES.length]!
    const own = peers.peers.filter((p) => p.party === party)
    if (own.length === 0) return
    for (const p of own) peers.offline(p)
    for (const p of own) {
      peers.edit(p, (d) => {
        const m = termMap(d, pick(mapIds(board(d).terms), o.n) ?? '')
        const t = m?.get(o.field)
        if (t instanceof Y.Text) t.insert(Math.floor(o.at * (t.length + 1)), `${o.text}${p.client}`)
      })
    }
    peers.reconnect(party)
    return
  }
  const p: Peer = peers.peers[o.peer % peers.peers.length]!
  if (o.t === 'session') {
    const q = peers.peers[o.other % peers.peers.length]!
    const textOf = (d: Y.Doc) => {
      const m = termMap(d, pick(mapIds(board(d).terms), o.n) ?? '')
      const t = m?.get(o.field)
      return t instanceof Y.Text ? t : null
    }
    const t = textOf(p.doc)
    if (!t) return
    let cursor = Math.floor(o.at * (t.length + 1))
    for (let k = 0; k < o.keys; k++) {
      peers.edit(p, () => t.insert(cursor++, 'abcdefghijkl'[k]!))
      // the other delegation's keystroke lands before or after this one's place (if it sees the same text)
      peers.edit(q, (d) => {
        const u = textOf(d)
        if (!u) return
        const at = Math.floor(o.elsewhere * (u.length + 1))
        u.insert(at, 'Z')
        if (q !== p && p.online && q.online && at <= cursor) cursor++
      })
    }
    for (let k = 0; k < o.back && cursor > 0 && cursor <= t.length; k++) peers.edit(p, () => t.delete(--cursor, 1))
    return
  }
  if (o.t === 'offline') {
    peers.offline(p)
    return
  }
  peers.edit(p, (d) => {
    const b = board(d)
    const termId = (n: number) => pick(mapIds(b.terms), n)
    const text = (n: number, f: string) => {
      const id = termId(n)
      const t = id ? termMap(d, id).get(f) : undefined
      return t instanceof Y.Text ? t : null
    }
    switch (o.t) {
      case 'type': {
        const t = text(o.n, o.field)
        if (t) t.insert(Math.floor(o.at * (t.length + 1)), o.text)
        return
      }
      case 'paste': {
        const t = text(o.n, o.field)
        if (t) t.insert(Math.floor(o.at * (t.length + 1)), o.text)
        return
      }
      case 'erase':
      case 'replace': {
        const t = text(o.n, o.field)
        if (!t || t.length === 0) return
        const start = Math.min(Math.floor(o.at * t.length), t.length - 1)
        t.delete(start, Math.min(o.len, t.length - start))
        if (o.t === 'replace') t.insert(start, o.text)
        return
      }
      case 'retext': {
        const id = termId(o.n)
        if (id) termMap(d, id).set(o.field, new Y.Text(o.text))
        return
      }
      case 'add':
        insertTerm(d, `t-${++ids.n}`, { title: `Article ${ids.n}`, body: o.text, x: o.x, y: -o.x })
        return
      case 'remove': {
        const id = termId(o.n)
        if (!id) return
        b.terms.delete(id)
        ids.removed.add(id)
        if (o.fromOrder) {
          const i = b.order.toArray().indexOf(id)
          if (i >= 0) b.order.delete(i, 1)
        }
        return
      }
      case 'putBack': {
        const id = pick([...ids.removed].filter((r) => !b.terms.has(r)).sort(), o.n)
        if (id) insertTerm(d, id, { title: 'Put back', body: o.text })
        return
      }
      case 'recreate': {
        const id = termId(o.n)
        if (id) insertTerm(d, id, { title: 'Again', body: o.text, x: 7, y: 7 })
        return
      }
      case 'move': {
        const id = o.note ? pick(mapIds(b.notes), o.n) : termId(o.n)
        if (id) setPosition(d, o.note ? 'notes' : 'terms', id, o.x, o.y)
        return
      }
      case 'reorder': {
        const len = b.order.length
        if (len < 2) return
        const i = o.i % len
        const id = b.order.get(i)
        b.order.delete(i, 1)
        b.order.insert(o.j % len, [id])
        return
      }
      case 'note': {
        const id = pick(mapIds(b.notes), o.n)
        const note = id ? (b.notes.get(id) as Y.Map<unknown>) : null
        const t = note?.get('text')
        if (o.kind === 'add') insertNote(d, `n-${++ids.n}`, { text: o.text, x: 1, y: 2, color: 'yellow' })
        else if (o.kind === 'type' && t instanceof Y.Text) t.insert(Math.floor(o.at * (t.length + 1)), o.text)
        else if (o.kind === 'erase' && t instanceof Y.Text && t.length > 0) t.delete(Math.floor(o.at * t.length), 1)
        else if (o.kind === 'color' && note) note.set('color', o.text.trim() || 'blue')
        else if (o.kind === 'remove' && id) b.notes.delete(id)
        return
      }
      case 'link': {
        const id = pick(mapIds(b.links), o.n)
        const [from, to] = [termId(o.n), termId(o.m)]
        if (o.kind === 'add' && from && to) insertLink(d, `l-${++ids.n}`, { from, to, label: o.text })
        else if (o.kind === 'remove' && id) b.links.delete(id)
        else if (o.kind === 'label' && id) (b.links.get(id) as Y.Map<unknown>).set('label', o.text)
        return
      }
      case 'junk': {
        // What a store written before the server checked layouts may hold.
        const id = termId(o.n)
        const m = id ? termMap(d, id) : null
        switch (o.kind) {
          case 0:
            b.terms.set(`t-j${o.n % 3}`, 'not a term' as never)
            return
          case 1:
            m?.set('title', 'a plain string title')
            return
          case 2:
            m?.set('x', 'left')
            return
          case 3:
            m?.set('y', Number.POSITIVE_INFINITY)
            return
          case 4:
            b.notes.set(`n-j${o.n % 3}`, 42 as never)
            return
          case 5: {
            const l = new Y.Map<unknown>()
            l.set('from', 7)
            l.set('to', 'x')
            b.links.set(`l-j${o.n % 3}`, l)
            return
          }
          case 6:
            b.order.push([42 as never])
            return
          case 7: {
            const k = o.n % 2 ? '__proto__' : 'constructor'
            const junk = new Y.Map<unknown>()
            junk.set('title', new Y.Text('junk'))
            b.terms.set(k, junk)
            return
          }
          case 8: {
            const t = m?.get('body')
            if (!(t instanceof Y.Text)) return
            t.insertEmbed(Math.floor(o.at * (t.length + 1)), { img: 1 })
            if (t.length > 2) t.format(0, 2, { bold: true })
            t.insert(Math.floor(o.at * (t.length + 1)), 'styled', { italic: true })
            return
          }
          default:
            if (o.n % 2) m?.set('body', new Y.Map())
            else m?.delete('title')
            return
        }
      }
    }
  })
}

interface BoardRun {
  parties: number
  late: number
  ops: Op[]
}

function runBoard({ parties, late, ops }: BoardRun): void {
  const hist = new Y.Doc()
  const rows = new RowOfItems()
  let rd: RowDeltas<'board'> | null = null
  let state: BoardState = emptyBoard()
  let seq = 0
  let peers: Peers
  const partyOf = () => peers.partyOf
  peers = new Peers(PARTIES.slice(0, parties), 2, hist, (update, party) => {
    const before = stateVector(hist)
    seq++
    if (rd) {
      const d: BoardDelta = rd.apply(update, party, seq)
      rows.record(before, hist, seq)
      state = applyBoard(state, d)
      expectBoard(state, hist, partyOf(), rows, seq)
    } else {
      // [RD2]: rows folded before the history was attached, read back from the doc afterwards.
      Y.applyUpdate(hist, update)
      rows.record(before, hist, seq)
    }
  })
  const ids = { n: 0, removed: new Set<string>() }
  const attach = () => {
    rd = new RowDeltas(hist, 'board')
    state = boardStateOf(hist, (c) => peers.partyOf.get(c) ?? null, seq)
  }
  if (late === 0) attach()
  ops.forEach((o, i) => {
    if (i === late && !rd) attach()
    play(peers, o, ids)
  })
  if (!rd) attach()
  peers.reconnectAll()
  expectBoard(state, hist, peers.partyOf, rows, seq)
  rd!.destroy()
  peers.destroy()
}

describe('[RD1]/[RD2] board rows as attributed deltas', () => {
  it(
    '[RD1] after every row, the previous state with the row applied is the doc, every character credited to its writer',
    () => {
      fc.assert(
        fc.property(
          fc.record({ parties: fc.constantFrom(2, 3), late: fc.constant(0), ops: fc.array(op, { maxLength: 60, size: 'max' }) }),
          runBoard,
        ),
        { numRuns: RUNS, seed: SEED },
      )
    },
    TIMEOUT,
  )

  it(
    '[RD2] starting from a doc already full: its state read from the doc, its texts met for the first time',
    () => {
      fc.assert(
        fc.property(
          fc.record({
            parties: fc.constantFrom(2, 3),
            late: fc.integer({ min: 1, max: 40 }),
            ops: fc.array(op, { maxLength: 60, size: 'max' }),
          }),
          runBoard,
        ),
        { numRuns: Math.ceil(RUNS / 2), seed: SEED },
      )
    },
    TIMEOUT,
  )
})

// ── ledger ─────────────────────────────────────────────────────────────────

const STATES = ['proposed', 'accepted', 'agreed', 'rejected', 'withdrawn', 'reopened'] as const
const ledgerOp = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('status' as const),
      peer: fc.nat(1),
      term: fc.nat(4),
      state: fc.constantFrom(...STATES),
      proposedBy: fc.constantFrom('us', 'ru', null),
      accepted: fc.subarray(['us', 'ru', 'eu']),
      hash: fc.constantFrom('h1', 'h2'),
      agreed: fc.boolean(),
      at: fc.nat(1e6),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('drop' as const), peer: fc.nat(1), term: fc.nat(4) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('meta' as const),
      peer: fc.nat(1),
      title: fc.string({ maxLength: 8 }),
      at: fc.nat(1e6),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('metaKey' as const),
      peer: fc.nat(1),
      key: fc.constantFrom('checkpoints', 'extra', '__proto__', 'toString'),
      value: fc.oneof(fc.nat(500), fc.constant(null), fc.string({ maxLength: 4 }), fc.constant(undefined)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('junk' as const), peer: fc.nat(1), term: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('offline' as const), peer: fc.nat(1) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('online' as const) }) },
)
type LedgerOp = typeof ledgerOp extends fc.Arbitrary<infer T> ? T : never

function playLedger(peers: Peers, o: LedgerOp): void {
  if (o.t === 'online') return peers.reconnectAll()
  const p = peers.peers[o.peer % peers.peers.length]!
  if (o.t === 'offline') return peers.offline(p)
  peers.edit(p, (d) => {
    const l = ledger(d)
    const id = `t-${o.t === 'meta' || o.t === 'metaKey' ? 0 : o.term}`
    switch (o.t) {
      case 'status': {
        const s: TermStatus = {
          state: o.state,
          proposedBy: o.proposedBy,
          acceptedBy: Object.fromEntries(o.accepted.map((party) => [party, o.hash])),
          updatedAt: o.at,
          updatedBy: 'Ann',
        }
        if (o.agreed) {
          s.agreedText = `text ${o.hash}`
          s.agreedHash = o.hash
        }
        writeStatus(d, id, s)
        return
      }
      case 'drop':
        l.status.delete(id)
        return
      case 'meta':
        writeMeta(d, { title: o.title, parties: [{ id: 'us', name: 'US', color: '#000' }], createdAt: o.at })
        return
      case 'metaKey':
        if (o.value === undefined) l.meta.delete(o.key)
        else l.meta.set(o.key, o.value)
        return
      case 'junk':
        l.status.set(id, 'not a status' as never)
        return
    }
  })
}

describe('[RD3] ledger rows', () => {
  it(
    '[RD3] statuses and meta round-trip, row after row',
    () => {
      fc.assert(
        fc.property(fc.array(ledgerOp, { maxLength: 50, size: 'max' }), (ops) => {
          const hist = new Y.Doc()
          const rd = new RowDeltas(hist, 'ledger')
          let state: LedgerState = ledgerStateOf(hist)
          let seq = 0
          const expectLedger = () => {
            const status = Object.fromEntries([...allStatuses(hist)].filter(([k]) => plainKey(k)))
            const meta = Object.fromEntries(
              Object.entries(ledger(hist).meta.toJSON()).filter(([k, v]) => plainKey(k) && v !== null && v !== undefined),
            )
            expect(state).toEqual({ status, meta })
            expect(ledgerStateOf(hist)).toEqual(state)
          }
          const peers = new Peers(['server'], 2, hist, (update) => {
            state = applyLedger(state, rd.apply(update, null, ++seq))
            expectLedger()
          })
          for (const o of ops) playLedger(peers, o)
          peers.reconnectAll()
          expectLedger()
          rd.destroy()
          peers.destroy()
        }),
        { numRuns: RUNS, seed: SEED },
      )
    },
    TIMEOUT,
  )
})

// ── work ───────────────────────────────────────────────────────────────────

/** Items visited per keystroke, after a term of `chars` characters was typed in fragments. */
function keystrokeWork(chars: number, seed: number) {
  const rig = new TypingRig()
  const rand = prng(seed)
  rig.fragment(chars, rand)
  const fullWalks = rig.rows.stats().fullWalks
  const len = rig.body(rig.us).length
  const place = Math.floor(rand() * len)
  // one delegation types 200 characters at one place, then takes back 150 of them
  const typing: number[] = []
  for (let k = 0; k < 200; k++) typing.push(rig.visits(() => rig.type(rig.us, place + k, 'q')))
  const erasing: number[] = []
  for (let k = 0; k < 150; k++) erasing.push(rig.visits(() => rig.backspace(rig.us, place + 200 - k)))
  // both delegations at once, each at its own place: `ru` left of `us`, so each of its keystrokes moves `us` on by one
  let u = place + 50
  let r = Math.floor(rand() * place)
  const alternating: number[] = []
  for (let k = 0; k < 200; k++) {
    alternating.push(rig.visits(() => rig.type(rig.us, u++, 'u')))
    alternating.push(rig.visits(() => rig.type(rig.ru, r++, 'r')))
    u++
  }
  const folded = rig.folded().terms[TERM]!
  const body = rig.body(rig.us).toString()
  const index = rig.rows.textIndex(board(rig.hist).terms.get(TERM)!.get('body') as Y.Text)!
  expect(index.size).toBe(body.length)
  expect(index.markerCount).toBeLessThanOrEqual(8)
  rig.destroy()
  return {
    length: len,
    typing,
    erasing,
    alternating,
    fullWalks: rig.rows.stats().fullWalks - fullWalks,
    folded: folded.body.map((r) => r.t).join(''),
    body,
  }
}

describe('[RD4] work per keystroke', () => {
  it('[RD4] items visited per keystroke: a small constant, no larger for a 50 000-character term than for a 500-character one', () => {
    const seed = SEED
    const small = keystrokeWork(500, seed)
    const large = keystrokeWork(50_000, seed)
    const why = `seed ${seed} (PARLEY_ROWDELTA_SEED)`
    for (const w of [small, large]) {
      expect(w.folded, why).toBe(w.body)
      expect(w.fullWalks, why).toBe(0)
      // The first keystroke at a new place is a jump: it walks once (to the nearest marker or end).
      const steady = [...w.typing.slice(1), ...w.erasing, ...w.alternating.slice(2)]
      expect(Math.max(...steady), why).toBeLessThanOrEqual(4)
    }
    expect(large.length).toBeGreaterThanOrEqual(50_000)
    expect(Math.max(...large.typing.slice(1)), why).toBeLessThanOrEqual(Math.max(...small.typing.slice(1)))
    expect(Math.max(...large.erasing), why).toBeLessThanOrEqual(Math.max(...small.erasing))
    expect(Math.max(...large.alternating.slice(2)), why).toBeLessThanOrEqual(Math.max(...small.alternating.slice(2)))
  })
})

// ── single rows ────────────────────────────────────────────────────────────

describe('[RD5] single rows', () => {
  const setup = () => {
    const hist = new Y.Doc()
    const rd = new RowDeltas(hist, 'board')
    const a = new Y.Doc()
    a.clientID = 1
    const out: BoardDelta[] = []
    let seq = 0
    a.on('update', (u: Uint8Array, origin: unknown) => origin !== 'sync' && out.push(rd.apply(u, 'us', ++seq)))
    const body = () => termMap(a, 't-1').get('body') as Y.Text
    a.transact(() => insertTerm(a, 't-1', { title: 'Title', body: 'The parties shall cooperate.', x: 3, y: 4 }))
    return { hist, rd, a, out, body }
  }

  it('[RD5] a created term, a replace, a text replaced, a move, a removal and a put-back', () => {
    const { a, out, body } = setup()
    expect(out[0]).toEqual({
      terms: {
        't-1': {
          present: true,
          title: [{ i: 'Title', p: 'us', s: 1 }],
          body: [{ i: 'The parties shall cooperate.', p: 'us', s: 1 }],
          x: 3,
          y: 4,
        },
      },
      order: ['t-1'],
    })
    a.transact(() => {
      body().delete(12, 5)
      body().insert(12, 'may')
      body().insert(0, '1. ')
    })
    expect(out[1]).toEqual({
      terms: { 't-1': { body: [{ i: '1. ', p: 'us', s: 2 }, 12, { d: 5, p: 'us', s: 2 }, { i: 'may', p: 'us', s: 2 }] } },
    })
    a.transact(() => termMap(a, 't-1').set('title', new Y.Text('New')))
    expect(out[2]).toEqual({
      terms: {
        't-1': {
          title: [
            { d: 5, p: 'us', s: 3 },
            { i: 'New', p: 'us', s: 3 },
          ],
        },
      },
    })
    a.transact(() => setPosition(a, 'terms', 't-1', 10, 4))
    expect(out[3]).toEqual({ terms: { 't-1': { x: 10 } } })
    a.transact(() => board(a).terms.delete('t-1'))
    expect(out[4]).toEqual({ terms: { 't-1': { cut: { p: 'us', s: 5 }, present: false } } })
    a.transact(() => insertTerm(a, 't-1', { title: 'Back', body: '' }))
    expect(out[5]).toEqual({ terms: { 't-1': { present: true, title: [{ i: 'Back', p: 'us', s: 6 }], x: 0, y: 0 } } })
    // the server puts a removed term back within the same row: the map is replaced at its id
    a.transact(() => {
      board(a).terms.delete('t-1')
      insertTerm(a, 't-1', { title: 'Back', body: 'again' })
    })
    expect(out[6]).toEqual({
      terms: {
        't-1': {
          cut: { p: 'us', s: 7 },
          present: true,
          title: [{ i: 'Back', p: 'us', s: 7 }],
          body: [{ i: 'again', p: 'us', s: 7 }],
          x: 0,
          y: 0,
        },
      },
    })
  })

  it('[RD5] a string where a title belongs, set again to the same string by a later row, is credited to that row (seed 404)', () => {
    const add: Op = { t: 'add', peer: 0, text: '30 ', x: 0 }
    const stringTitle: Op = { t: 'junk', peer: 0, kind: 1, n: 0, at: 0 }
    runBoard({ parties: 2, late: 0, ops: [add, stringTitle, stringTitle] })
    runBoard({ parties: 2, late: 0, ops: [add, stringTitle, { ...stringTitle, peer: 2 }] })
  })

  it('[RD5] a term whose formatting is all gone (erased, text replaced) is no longer flagged `suggested`, folded or read (seed 1051029935)', () => {
    // Deleted formatting items are garbage-collected at the end of the row that deleted them: the doc cannot tell they were there.
    const add: Op = { t: 'add', peer: 0, text: '30 ', x: 0 }
    const format: Op = { t: 'junk', peer: 0, kind: 8, n: 0, at: 0 }
    const replace: Op = { t: 'replace', peer: 0, n: 0, field: 'body', at: 0, len: 8, text: '30 30 30 30 ' }
    runBoard({ parties: 2, late: 1, ops: [add, format, replace] })
    runBoard({
      parties: 2,
      late: 0,
      ops: [
        add,
        format,
        { t: 'erase', peer: 0, n: 0, field: 'body', at: 0, len: 3 },
        { t: 'erase', peer: 0, n: 0, field: 'body', at: 0, len: 5 },
      ],
    })
    runBoard({ parties: 2, late: 0, ops: [add, format, { t: 'retext', peer: 0, n: 0, field: 'body', text: '30 ' }] })
    runBoard({ parties: 2, late: 2, ops: [add, format, { t: 'junk', peer: 1, kind: 9, n: 1, at: 0 }] })
    // The row that takes the last formatting out says so (`suggested: false`): the state drops the flag.
    const { a, out, body } = setup()
    body().format(4, 7, { bold: true })
    body().format(4, 7, { bold: null })
    expect(out.slice(1).map((d) => d.terms?.['t-1']?.suggested)).toEqual([true, false])
    const state = out.reduce(applyBoard, emptyBoard())
    expect(state.terms['t-1']).not.toHaveProperty('suggested')
    expect(applyBoard(emptyBoard(), out.reduce(composeBoard)).terms['t-1']).toEqual(state.terms['t-1'])
    expect(boardStateOf(a, () => 'us').terms['t-1']).not.toHaveProperty('suggested')
  })

  it('[RD5] a row Yjs cannot read returns what it changed (nothing) and the next rows still fold', () => {
    const { rd, a, out, body } = setup()
    expect(rd.apply(new Uint8Array([7, 7, 7, 7]), 'ru', 99)).toEqual({})
    body().insert(0, 'A')
    expect(out[1]).toEqual({ terms: { 't-1': { body: [{ i: 'A', p: 'us', s: 2 }] } } })
  })

  it('[RD5] a doc changed outside apply: the indexes start over, the deltas stay right', () => {
    const { hist, rd, a, out, body } = setup()
    body().insert(5, 'XX')
    const t = termMap(hist, 't-1').get('body') as Y.Text
    expect(rd.textIndex(t)).toBeDefined()
    // a row folded without RowDeltas (say, a tool's own fix-up) — the next row must not trust old markers
    const b = new Y.Doc()
    b.clientID = 2
    Y.applyUpdate(b, Y.encodeStateAsUpdate(hist))
    b.on('update', (u: Uint8Array) => Y.applyUpdate(hist, u))
    ;(board(b).terms.get('t-1')!.get('body') as Y.Text).insert(0, 'zzz')
    expect(rd.textIndex(t)).toBeUndefined()
    Y.applyUpdate(a, Y.encodeStateAsUpdate(hist, Y.encodeStateVector(a)), 'sync')
    body().insert(9, '!')
    expect(out[out.length - 1]).toEqual({ terms: { 't-1': { body: [9, { i: '!', p: 'us', s: 3 }] } } })
    expect(rd.stats().fullWalks).toBe(1)
  })
})

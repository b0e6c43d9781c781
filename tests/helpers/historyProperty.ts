/**
 * The history property of issue #5, shared by the SQLite and PostgreSQL
 * suites: random edit and command sequences from 2–3 delegations, run
 * through the real rooms, board watcher, group commit and store; then
 *  - the sheet reconstructed at every version equals the sheet the live rooms
 *    held right after it,
 *  - every redline reads, on each side, as the reconstructed text, and an
 *    edit's (or restore's) changes are all its author's,
 *  - the chains verify, and
 *  - a version index rebuilt from the log after losing any suffix of the
 *    versions table (a crash) derives exactly the same versions.
 */
import { expect } from 'vitest'
import fc from 'fast-check'
import * as Y from 'yjs'
import { board, ledger, termsInOrder } from '../../shared/docLayout'
import type { Seg, Sheet } from '../../shared/schemas'
import { HistoryQueries } from '../../server/history/queries'
import { VersionIndex } from '../../server/history/versionIndex'
import { verifyNegotiation } from '../../server/history/verify'
import { startHistoryStack, type HistoryStack, type StackClient, type StackOptions } from './historyStack'

/**
 * A past sheet as the live one reads: without who wrote what (SheetTerm.authors, which only past
 * sheets carry), checked here to spell out the very title and body it stands beside.
 */
function pastSheet(sheet: Sheet | null): Sheet | null {
  if (!sheet) return sheet
  return {
    ...sheet,
    terms: sheet.terms.map(({ authors, ...t }) => {
      if (authors) {
        expect(authors.title.map((r) => r.text).join(''), `who wrote the title of ${t.id}`).toBe(t.title)
        expect(authors.body.map((r) => r.text).join(''), `who wrote the body of ${t.id}`).toBe(t.body)
      }
      return t
    }),
  }
}

const PARTIES = [
  { id: 'us', name: 'United States', color: '#1f5fbf' },
  { id: 'ru', name: 'Russian Federation', color: '#b3261e' },
  { id: 'eu', name: 'European Union', color: '#1b7f4b' },
]
const WORDS = ['30 ', 'days ', 'shall ', 'not ', 'срок ', 'خلال ', 'x', ' and the victims']

const party = fc.nat(2)
const term = fc.nat(50)
const pos = fc.double({ min: 0, max: 1, noNaN: true })
const op = fc.oneof(
  { weight: 6, arbitrary: fc.record({ t: fc.constant('type' as const), p: party, term, pos, text: fc.constantFrom(...WORDS) }) },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('erase' as const), p: party, term, pos, len: fc.integer({ min: 1, max: 8 }) }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('title' as const), p: party, term, text: fc.constantFrom(...WORDS) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('add' as const), p: party }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('remove' as const), p: party, term }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('drag' as const), p: party, term, x: fc.nat(900) }) },
  {
    weight: 5,
    arbitrary: fc.record({
      t: fc.constant('move' as const),
      p: party,
      term,
      kind: fc.constantFrom('accept' as const, 'accept' as const, 'reject' as const, 'withdraw' as const, 'reopen' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('checkpoint' as const), p: party }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('restore' as const), p: party, term, back: fc.nat(8) }) },
)
type Op = typeof op extends fc.Arbitrary<infer T> ? T : never
// pauses: typing speed, around the 5 s grouping limit, and long breaks
const wait = fc.oneof(
  fc.integer({ min: 1, max: 1500 }),
  fc.integer({ min: 4900, max: 5100 }),
  fc.integer({ min: 6000, max: 60_000 }),
)
const scenario = fc.record({
  parties: fc.constantFrom(2, 3),
  steps: fc.array(fc.record({ op, wait }), { minLength: 3, maxLength: 24 }),
  cut: fc.double({ min: 0, max: 1, noNaN: true }),
})

async function play(s: HistoryStack, clients: StackClient[], o: Op, added: { n: number }): Promise<void> {
  const c = clients[o.p % clients.length]!
  const b = (await s.board()).doc
  const onBoard = termsInOrder(b).map((t) => t.id)
  const known = [...ledger((await s.ledger()).doc).status.keys()]
  const pick = (ids: string[], i: number) => (ids.length ? ids[i % ids.length]! : null)
  const text = (d: Y.Doc, id: string, key: 'title' | 'body') => board(d).terms.get(id)!.get(key) as Y.Text
  switch (o.t) {
    case 'type': {
      const id = pick(onBoard, o.term)
      if (id) c.edit((d) => text(d, id, 'body').insert(Math.floor(o.pos * (text(d, id, 'body').length + 1)), o.text))
      return
    }
    case 'erase': {
      const id = pick(onBoard, o.term)
      if (!id) return
      c.edit((d) => {
        const t = text(d, id, 'body')
        if (t.length === 0) return
        const start = Math.min(Math.floor(o.pos * t.length), t.length - 1)
        t.delete(start, Math.min(o.len, t.length - start))
      })
      return
    }
    case 'title': {
      const id = pick(onBoard, o.term)
      if (id) c.edit((d) => text(d, id, 'title').insert(text(d, id, 'title').length, o.text))
      return
    }
    case 'add': {
      const id = `t-new-${++added.n}`
      c.edit((d) => {
        const m = new Y.Map<unknown>()
        m.set('title', new Y.Text(`Article ${added.n}`))
        m.set('body', new Y.Text(`Each party shall ${added.n}.`))
        m.set('x', 0)
        m.set('y', 0)
        board(d).terms.set(id, m)
        board(d).order.push([id])
      })
      return
    }
    case 'remove': {
      const id = pick(onBoard, o.term)
      if (id) c.edit((d) => board(d).terms.delete(id))
      return
    }
    case 'drag': {
      const id = pick(onBoard, o.term)
      if (id) c.edit((d) => board(d).terms.get(id)!.set('x', o.x))
      return
    }
    case 'move': {
      const id = pick(known, o.term)
      if (id) await s.service.move(s.actor(c.party, c.user), o.kind, id).catch(() => {})
      return
    }
    case 'checkpoint':
      await s.service.checkpoint(s.actor(c.party, c.user), `Checkpoint at ${s.clock.now()}`)
      return
    case 'restore': {
      const id = pick(onBoard, o.term)
      const versions = await s.index.list(s.id)
      const n = Math.max(1, versions.length - o.back)
      if (id) await s.restore(c.party, id, n).catch(() => {})
      return
    }
  }
}

/** Runs the property; `options` gives each run its stack options (e.g. a fresh PostgreSQL schema). */
export async function checkHistoryProperty(
  opts: { runs: number; seed?: number },
  options: () => Promise<Partial<StackOptions>> = async () => ({}),
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(scenario, async ({ parties, steps, cut }) => {
      const s = await startHistoryStack({
        ...(await options()),
        parties: PARTIES.slice(0, parties),
        checkpointEvery: 4,
        terms: [
          { id: 't-deadline', title: 'Response deadline', body: 'Requests are answered within 30 days.' },
          { id: 't-equal', title: 'Equal obligations', body: 'Obligations are equal and reciprocal.' },
        ],
      })
      try {
        const clients: StackClient[] = []
        for (const p of PARTIES.slice(0, parties)) clients.push(await s.client(p.id, `${p.name} delegate`))
        // version n → the live sheet and how far n reached in the logs when it was taken
        const live = new Map<number, { sheet: Sheet; at: string }>()
        const extent = (v?: { boardSeq: number; ledgerSeq: number }) => (v ? `${v.boardSeq}/${v.ledgerSeq}` : '0/0')
        const record = async () => {
          const sheet = await s.liveSheet()
          live.set(sheet.n, { sheet, at: extent((await s.index.list(s.id)).find((v) => v.n === sheet.n)) })
        }
        await record()
        const added = { n: 0 }
        for (const { op: o, wait: w } of steps) {
          s.clock.advance(w)
          await play(s, clients, o, added)
          await s.settle()
          await record()
        }

        const versions = await s.index.list(s.id)
        // A version that went on growing in the step that recorded it (and was then followed) is not comparable.
        const settled = [...live].filter(([n, r]) => extent(versions.find((v) => v.n === n)) === r.at)
        expect(settled.some(([n]) => n === versions.length)).toBe(true)
        for (const [n, r] of settled) expect(pastSheet(await s.history.sheetAt(s.id, n)), `sheet at version ${n}`).toEqual(r.sheet)

        expect(versions.map((v) => v.n)).toEqual(versions.map((_v, i) => i + 1))
        // Redlines read, on each side, as the reconstructed text; an edit's changes are all its editor's.
        const side = (segs: Seg[], op: 'del' | 'ins') =>
          segs
            .filter((g) => g.op === 'eq' || g.op === op)
            .map((g) => g.text)
            .join('')
        const pairs: Array<[number, number]> = versions.map((v) => [v.n - 1, v.n])
        pairs.push([0, versions.length], [Math.floor(versions.length / 2), versions.length])
        for (const [from, to] of pairs) {
          const diff = await s.history.diff(s.id, from, to)
          const [a, b] = [await s.history.sheetAt(s.id, from), await s.history.sheetAt(s.id, to)]
          for (const [sheet, op] of [
            [a!, 'del'],
            [b!, 'ins'],
          ] as const) {
            for (const t of sheet.terms) {
              const d = diff.find((x) => x.id === t.id)
              expect(d, `term ${t.id} in diff ${from}→${to}`).toBeDefined()
              expect(side(d!.body, op), `${op} side of ${t.id}, ${from}→${to}`).toBe(t.body)
              expect(side(d!.title, op)).toBe(t.title)
            }
          }
          const v = versions[to - 1]
          if (to === from + 1 && v && (v.kind === 'edit' || v.kind === 'restore') && v.party) {
            for (const d of diff) for (const g of [...d.title, ...d.body]) if (g.op !== 'eq') expect(g.party).toBe(v.party)
          }
        }

        const report = await verifyNegotiation(s.store, s.id)
        expect(report.break).toBeNull()

        // A crash that lost the newest versions: a fresh index picks up from what is left.
        const keep = Math.floor(cut * versions.length)
        await s.dropVersionsAfter(keep)
        const rebuilt = new VersionIndex({ store: s.store, negotiation: (id) => s.service.get(id), log: () => {} })
        expect(await rebuilt.list(s.id)).toEqual(versions)
        await rebuilt.close()
        expect((await verifyNegotiation(s.store, s.id)).ok).toBe(true)

        // The materialised history is derived data: dropped, it is built again from the log on the
        // next read (a fresh index, as after a restart), and every past sheet reads the same.
        const mid = Math.floor(versions.length / 2)
        const midDiff = await s.history.diff(s.id, mid, versions.length)
        await s.index.close()
        await s.store.dropHistory(s.id)
        const fresh = new VersionIndex({ store: s.store, negotiation: (id) => s.service.get(id), log: () => {} })
        const reread = new HistoryQueries(s.store, fresh, (id) => s.service.get(id))
        for (const [n, r] of settled) expect(pastSheet(await reread.sheetAt(s.id, n)), `rebuilt sheet at version ${n}`).toEqual(r.sheet)
        expect(await reread.diff(s.id, mid, versions.length)).toEqual(midDiff)
        await fresh.close()
      } finally {
        await s.close()
      }
    }),
    { numRuns: opts.runs, ...(opts.seed !== undefined ? { seed: opts.seed } : {}) },
  )
}

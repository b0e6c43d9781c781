/**
 * Redline credit, as a property (issue 11, item 14; DESIGN.md "History"): two
 * delegations type into one term through their own Y.Docs (so their own Yjs
 * client ids) in random interleavings — short strings at random places,
 * inside words and against the other's text, and removals of random ranges —
 * through the real rooms, group commit and SQLite store. The test keeps its
 * own record of every character (who wrote it and at which seq, who removed
 * it and at which seq) and, for pairs of points of the log, checks the
 * redline the `/diff` route computes (HistoryQueries.diffAt) and the one an export
 * draws from a single replay (BoardReplay + wordSegs):
 *  - eq + del reads as the old text and eq + ins as the new one, exactly;
 *  - a character written inside the window and shown inserted is credited to
 *    its writer, one removed inside the window and shown struck to its remover;
 *  - a character the window left alone is shown inserted or struck only as
 *    part of a widened word, one that also holds a character changed in the
 *    window, never whitespace, and with the party of one of those changes.
 * Failing runs print their fast-check seed; replay one with
 * PARLEY_FUZZ_SEED=<seed>, run longer with PARLEY_FUZZ_RUNS=<n>.
 */
import { rmSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as Y from 'yjs'
import { board } from '../../shared/docLayout'
import { boardDocName, ledgerDocName } from '../../shared/docNames'
import type { Seg } from '../../shared/schemas'
import { BoardReplay, wordSegs } from '../../server/history/redline'
import { startHistoryStack, type StackClient } from '../helpers/historyStack'

const RUNS = Number(process.env.PARLEY_FUZZ_RUNS ?? 25)
const SEED = process.env.PARLEY_FUZZ_SEED ? Number(process.env.PARLEY_FUZZ_SEED) : undefined

const TERM = 't-deadline'
const OPENING = 'Requests are answered'
const PARTIES = [
  { id: 'us', name: 'United States', color: '#1f5fbf' },
  { id: 'ru', name: 'Russian Federation', color: '#b3261e' },
]

/** One character of the term as the test saw it written and removed. */
interface Char {
  ch: string
  writer: string | null
  /** board seq of the row that wrote it */
  wrote: number
  remover: string | null
  /** board seq of the row that removed it, if it is gone */
  removed: number | null
}

const piece = fc.oneof(
  fc.constantFrom(' within 60 days.', ' Extensions.', 'days', ' ', '30', 'срок ', ' и ', 'خلال', '.', ','),
  fc.string({
    unit: fc.constantFrom('a', 'e', 'r', 's', ' ', ' ', '.', '0', '5', 'д', 'я', '-', '\n'),
    minLength: 1,
    maxLength: 5,
  }),
)
const step = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('type' as const),
      p: fc.nat(1),
      // where: anywhere, or right against the other delegation's latest character
      at: fc.constantFrom('anywhere' as const, 'anywhere' as const, 'after-other' as const, 'before-other' as const),
      pos: fc.double({ min: 0, max: 1, noNaN: true }),
      text: piece,
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('erase' as const),
      p: fc.nat(1),
      pos: fc.double({ min: 0, max: 1, noNaN: true }),
      len: fc.integer({ min: 1, max: 7 }),
    }),
  },
)
const scenario = fc.record({
  steps: fc.array(step, { minLength: 3, maxLength: 22 }),
  pairs: fc.array(fc.tuple(fc.nat(), fc.nat()), { minLength: 3, maxLength: 3 }),
})

const aliveAt = (c: Char, seq: number) => c.wrote <= seq && (c.removed === null || c.removed > seq)
const isSpace = (ch: string) => /\s/.test(ch)

/** The characters of the non-whitespace run around index i. */
function runAround(chars: Char[], i: number): Char[] {
  let a = i
  let b = i + 1
  while (a > 0 && !isSpace(chars[a - 1]!.ch)) a--
  while (b < chars.length && !isSpace(chars[b]!.ch)) b++
  return chars.slice(a, b)
}

/** Checks one redline of the term between seqs `from` and `to` against the record. */
function checkRedline(record: Char[], from: number, to: number, segs: Seg[], where: string): void {
  const before = record.filter((c) => aliveAt(c, from))
  const after = record.filter((c) => aliveAt(c, to))
  const text = (cs: Char[]) => cs.map((c) => c.ch).join('')
  const side = (op: 'del' | 'ins') =>
    segs
      .filter((g) => g.op === 'eq' || g.op === op)
      .map((g) => g.text)
      .join('')
  const context = `${where}: ${JSON.stringify(text(before))} → ${JSON.stringify(text(after))}\n${JSON.stringify(segs)}`
  expect(side('del'), `old side, ${context}`).toBe(text(before))
  expect(side('ins'), `new side, ${context}`).toBe(text(after))

  const inWindow = (seq: number | null) => seq !== null && seq > from && seq <= to
  const newIndex = new Map(after.map((c, i) => [c, i]))
  /** A character the window left alone, shown changed: it must sit in a word the window changed. */
  const pulledIn = (c: Char, oldAt: number, party: string | null, what: string) => {
    expect(isSpace(c.ch), `whitespace ${JSON.stringify(c.ch)} shown ${what} though unchanged, ${context}`).toBe(false)
    const changers = [
      ...runAround(before, oldAt)
        .filter((x) => inWindow(x.removed))
        .map((x) => x.remover),
      ...runAround(after, newIndex.get(c)!)
        .filter((x) => inWindow(x.wrote))
        .map((x) => x.writer),
    ]
    expect(
      changers.length,
      `unchanged ${JSON.stringify(c.ch)} shown ${what} in a word nobody changed, ${context}`,
    ).toBeGreaterThan(0)
    expect(
      changers,
      `unchanged ${JSON.stringify(c.ch)} shown ${what} with a party that changed nothing in its word, ${context}`,
    ).toContain(party)
  }
  let oi = 0
  let ni = 0
  for (const g of segs) {
    const party = g.party ?? null
    for (let k = 0; k < g.text.length; k++) {
      if (g.op === 'eq') {
        oi++
        ni++
      } else if (g.op === 'del') {
        const c = before[oi]!
        if (inWindow(c.removed)) expect(party, `remover of ${JSON.stringify(c.ch)} at ${oi}, ${context}`).toBe(c.remover)
        else pulledIn(c, oi, party, 'struck')
        oi++
      } else {
        const c = after[ni]!
        if (inWindow(c.wrote)) expect(party, `writer of ${JSON.stringify(c.ch)} at ${ni}, ${context}`).toBe(c.writer)
        else pulledIn(c, before.indexOf(c), party, 'inserted')
        ni++
      }
    }
  }
}

describe('redline credit (property, SQLite)', () => {
  it('[HR13] every character a redline shows changed is credited to the delegation whose client id wrote or removed it', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ steps, pairs }) => {
        const s = await startHistoryStack({
          parties: PARTIES,
          checkpointEvery: 4,
          terms: [{ id: TERM, title: 'Response deadline', body: OPENING }],
        })
        try {
          const clients: StackClient[] = []
          for (const p of PARTIES) clients.push(await s.client(p.id, `${p.name} delegate`))
          expect(clients[0]!.doc.clientID).not.toBe(clients[1]!.doc.clientID)
          const points = async () => ({ boardSeq: (await s.board()).committedSeq, ledgerSeq: (await s.ledger()).committedSeq })
          // point 0: before the opening draft; point 1: right after it
          const at = [{ boardSeq: 0, ledgerSeq: 0 }, await points()]
          const record: Char[] = [...OPENING].map((ch) => ({
            ch,
            writer: null,
            wrote: at[1]!.boardSeq,
            remover: null,
            removed: null,
          }))
          const alive = () => record.filter((c) => c.removed === null)
          const body = (d: Y.Doc) => board(d).terms.get(TERM)!.get('body') as Y.Text

          for (const st of steps) {
            s.clock.advance(1500)
            const c = clients[st.p]!
            const other = PARTIES[1 - st.p]!.id
            const written: Char[] = []
            const removed: Char[] = []
            c.edit((d) => {
              const t = body(d)
              const now = alive()
              expect(t.toString()).toBe(now.map((x) => x.ch).join(''))
              if (st.t === 'type') {
                let index = Math.floor(st.pos * (now.length + 1))
                const theirs = now.findLastIndex((x) => x.writer === other)
                if (st.at !== 'anywhere' && theirs >= 0) index = st.at === 'after-other' ? theirs + 1 : theirs
                t.insert(index, st.text)
                const chars = [...st.text].map((ch) => ({ ch, writer: c.party, wrote: -1, remover: null, removed: null }))
                // before the index-th live character: where the dead ones sit between does not matter to any text
                const before = index < now.length ? record.indexOf(now[index]!) : record.length
                record.splice(before, 0, ...chars)
                written.push(...chars)
              } else if (now.length > 0) {
                const start = Math.min(Math.floor(st.pos * now.length), now.length - 1)
                const len = Math.min(st.len, now.length - start)
                t.delete(start, len)
                removed.push(...now.slice(start, start + len))
              }
            })
            await s.settle()
            const p = await points()
            for (const x of written) x.wrote = p.boardSeq
            for (const x of removed) Object.assign(x, { remover: c.party, removed: p.boardSeq })
            at.push(p)
          }
          expect((await s.board()).doc.getMap('terms').size).toBe(1)
          expect(body((await s.board()).doc).toString()).toBe(
            alive()
              .map((x) => x.ch)
              .join(''),
          )

          // As the `/diff` route answers (HistoryQueries: the materialised history), for a few pairs.
          const docs = { board: boardDocName(s.id), ledger: ledgerDocName(s.id) }
          for (const [i, j] of pairs) {
            const [a, b] = [at[i % at.length]!, at[j % at.length]!].sort((x, y) => x.boardSeq - y.boardSeq)
            const diff = await s.history.diffAt(s.id, a!, b!)
            const d = diff.find((x) => x.id === TERM)
            // at point 0 the term is not yet on the board
            if (b!.boardSeq === 0) {
              expect(d).toBeUndefined()
              continue
            }
            expect(d, `term in diff ${a!.boardSeq}→${b!.boardSeq}`).toBeDefined()
            checkRedline(record, a!.boardSeq, b!.boardSeq, d!.body, `diff ${a!.boardSeq}→${b!.boardSeq}`)
          }
          // As an export draws them: one replay of the whole log answers every pair.
          const last = at[at.length - 1]!.boardSeq
          const replay = await BoardReplay.build(s.store, docs.board, 0, last)
          try {
            const seqs = [...new Set(at.map((x) => x.boardSeq))]
            for (const from of seqs)
              for (const to of seqs)
                if (from <= to)
                  checkRedline(record, from, to, wordSegs(replay.runs(TERM, 'body', from, to)), `replay ${from}→${to}`)
          } finally {
            replay.destroy()
          }
        } finally {
          await s.close()
          rmSync(s.dir, { recursive: true, force: true })
        }
      }),
      { numRuns: RUNS, ...(SEED !== undefined ? { seed: SEED } : {}) },
    )
  }, 120_000)
})

/**
 * Issue #12 — attributed deltas (server/history/delta.ts), the algebra the
 * materialised history rests on: composing deltas is applying them one after
 * the other ([HD1]), composition is associative ([HD2]) so blocks of blocks
 * are exact, redline pieces reproduce both texts with the right authors
 * ([HD3]), and the board-level compose/apply keep those laws with terms
 * removed, replaced and re-created ([HD4]).
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  DeltaBuilder,
  applyBoard,
  applyText,
  composeBoard,
  composeText,
  emptyBoard,
  redlineOf,
  textOf,
  type AttributedText,
  type BoardDelta,
  type BoardState,
  type TextDelta,
} from '../../server/history/delta'

const PARTIES = ['us', 'ru', null] as const
const SEED = Number(process.env.PARLEY_DELTA_SEED ?? Date.now() % 2 ** 31)

/** Characters with their authors, the plain model the runs must equal. */
const chars = (runs: AttributedText) => runs.flatMap((r) => [...r.t].map((c) => [c, r.p] as const))

const text = fc
  .array(fc.tuple(fc.string({ minLength: 1, maxLength: 5 }), fc.constantFrom(...PARTIES), fc.nat(100)), {
    maxLength: 6,
  })
  .map((parts) => {
    const b = new DeltaBuilder()
    for (const [t, p, s] of parts) b.insert(t, p, s)
    return applyText([], b.done())
  })

/** A random delta valid for a text of `length` characters. */
function deltaFor(length: number): fc.Arbitrary<TextDelta> {
  return fc
    .array(
      fc.tuple(
        fc.constantFrom('r', 'i', 'd'),
        fc.nat(6),
        fc.string({ minLength: 1, maxLength: 4 }),
        fc.constantFrom(...PARTIES),
        fc.nat(1000),
      ),
      { maxLength: 8 },
    )
    .map((steps) => {
      const b = new DeltaBuilder()
      let left = length
      for (const [kind, n, t, p, s] of steps) {
        if (kind === 'i') b.insert(t, p, s)
        else if (kind === 'r') {
          const k = Math.min(n, left)
          b.retain(k)
          left -= k
        } else {
          const k = Math.min(n, left)
          b.delete(k, p, s)
          left -= k
        }
      }
      return b.done()
    })
}

const lengthAfter = (runs: AttributedText, d: TextDelta) => textOf(applyText(runs, d)).length

describe('[HD1]/[HD2] text deltas: composing is applying in turn, and associative', () => {
  it('[HD1] apply(apply(x, a), b) = apply(x, compose(a, b)), characters and authors alike', () => {
    fc.assert(
      fc.property(
        text.chain((x) => deltaFor(textOf(x).length).chain((a) => deltaFor(lengthAfter(x, a)).map((b) => [x, a, b] as const))),
        ([x, a, b]) => {
          expect(chars(applyText(x, composeText(a, b)))).toEqual(chars(applyText(applyText(x, a), b)))
        },
      ),
      { numRuns: 2000, seed: SEED },
    )
  })

  it('[HD2] compose(compose(a, b), c) and compose(a, compose(b, c)) do the same', () => {
    fc.assert(
      fc.property(
        text.chain((x) =>
          deltaFor(textOf(x).length).chain((a) =>
            deltaFor(lengthAfter(x, a)).chain((b) => deltaFor(lengthAfter(applyText(x, a), b)).map((c) => [x, a, b, c] as const)),
          ),
        ),
        ([x, a, b, c]) => {
          const left = applyText(x, composeText(composeText(a, b), c))
          const right = applyText(x, composeText(a, composeText(b, c)))
          expect(chars(left)).toEqual(chars(right))
          expect(chars(left)).toEqual(chars(applyText(applyText(applyText(x, a), b), c)))
        },
      ),
      { numRuns: 1500, seed: SEED },
    )
  })

  it('text inserted and deleted later in the same window is gone, as if never written', () => {
    const a: TextDelta = [3, { i: 'XYZ', p: 'us', s: 5 }]
    const b: TextDelta = [3, { d: 3, p: 'ru', s: 6 }]
    expect(composeText(a, b)).toEqual([])
    expect(composeText([{ d: 2, p: 'us', s: 1 }], [{ i: 'ab', p: 'ru', s: 2 }])).toEqual([
      { d: 2, p: 'us', s: 1 },
      { i: 'ab', p: 'ru', s: 2 },
    ])
  })
})

describe('[HD3] redline pieces', () => {
  it('eq+del is the old text, eq+ins the new one; each insert is its writer’s, each delete its deleter’s', () => {
    fc.assert(
      fc.property(
        text.chain((x) => deltaFor(textOf(x).length).chain((a) => deltaFor(lengthAfter(x, a)).map((b) => [x, a, b] as const))),
        ([x, a, b]) => {
          const d = composeText(a, b)
          const pieces = redlineOf(x, d)
          expect(
            pieces
              .filter((p) => p.op !== 'ins')
              .map((p) => p.text)
              .join(''),
          ).toBe(textOf(x))
          expect(
            pieces
              .filter((p) => p.op !== 'del')
              .map((p) => p.text)
              .join(''),
          ).toBe(textOf(applyText(x, d)))
          // inserted characters keep the party the new text credits them with
          const after = chars(applyText(x, d))
          let k = 0
          for (const p of pieces) {
            if (p.op === 'del') continue
            for (const _ of p.text) {
              if (p.op === 'ins') expect(after[k]![1]).toBe(p.party)
              k++
            }
          }
        },
      ),
      { numRuns: 1500, seed: SEED },
    )
  })
})

// ── [HD4] the board ───────────────────────────────────────────────────────

const ids = fc.constantFrom('t-a', 't-b', 't-c')

/** A random board delta valid for `state` (texts retain/delete only what is there). */
function boardDeltaFor(state: BoardState): fc.Arbitrary<BoardDelta> {
  const termDelta = (id: string) => {
    const t = state.terms[id]
    return fc.oneof(
      // typing into a present term, and moving it
      t
        ? fc
            .tuple(
              deltaFor(textOf(t.title).length),
              deltaFor(textOf(t.body).length),
              fc.option(fc.integer({ min: -99, max: 99 })),
            )
            .map(([title, body, x]) => ({ title, body, ...(x !== null ? { x } : {}) }))
        : fc.constant({}),
      // created (or re-created over what stood there) with its text
      fc.tuple(fc.constantFrom(...PARTIES), fc.nat(100), deltaFor(0), deltaFor(0)).map(([p, s, title, body]) => ({
        ...(t ? { cut: { p, s } } : {}),
        present: true,
        title,
        body,
        x: 1,
        y: 2,
      })),
      // removed
      fc.tuple(fc.constantFrom(...PARTIES), fc.nat(100)).map(([p, s]) => (t ? { cut: { p, s }, present: false } : {})),
    )
  }
  return fc
    .tuple(ids, ids, fc.option(fc.array(ids, { maxLength: 3 })), fc.option(fc.constantFrom('l-1', 'l-2')), fc.boolean())
    .chain(([i1, i2, order, link, drop]) =>
      fc.tuple(termDelta(i1), termDelta(i2)).map(([d1, d2]) => {
        const d: BoardDelta = { terms: { [i1]: d1 } }
        if (i2 !== i1) d.terms![i2] = d2
        if (order) d.order = order
        if (link) d.links = { [link]: drop ? null : { from: i1, to: i2, label: link } }
        return d
      }),
    )
}

const plain = (s: BoardState) => ({
  terms: Object.fromEntries(
    Object.entries(s.terms)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, t]) => [id, { title: chars(t.title), body: chars(t.body), x: t.x, y: t.y }]),
  ),
  order: s.order,
  links: Object.fromEntries(Object.entries(s.links).sort(([a], [b]) => a.localeCompare(b))),
})

describe('[HD4] board deltas', () => {
  it('composing a chain of random board deltas (creations, removals, re-creations, typing, moves, links) is applying them in turn', () => {
    fc.assert(
      fc.property(
        fc.nat(5).chain((n) => {
          // a chain of n+1 deltas, each valid for the state the previous ones left
          let arb: fc.Arbitrary<{ state: BoardState; deltas: BoardDelta[] }> = fc.constant({ state: emptyBoard(), deltas: [] })
          for (let k = 0; k <= n; k++) {
            arb = arb.chain(({ state, deltas }) =>
              boardDeltaFor(state).map((d) => ({ state: applyBoard(state, d), deltas: [...deltas, d] })),
            )
          }
          return arb
        }),
        ({ state, deltas }) => {
          const composed = deltas.reduce((a, b) => composeBoard(a, b), {} as BoardDelta)
          expect(plain(applyBoard(emptyBoard(), composed))).toEqual(plain(state))
          // and split anywhere: (first k) then (rest)
          for (let k = 0; k <= deltas.length; k++) {
            const a = deltas.slice(0, k).reduce((x, y) => composeBoard(x, y), {} as BoardDelta)
            const b = deltas.slice(k).reduce((x, y) => composeBoard(x, y), {} as BoardDelta)
            expect(plain(applyBoard(applyBoard(emptyBoard(), a), b))).toEqual(plain(state))
          }
        },
      ),
      { numRuns: 800, seed: SEED },
    )
  })
})

/**
 * Random board edits for the layout suites (issue #11, item 1): edits a real
 * client makes through shared/docLayout.ts, and edits that break the layout
 * of CONTRACT.md at some depth — a value of the wrong kind, a key the layout
 * does not name, an id outside the safe alphabet, formatting or embeds in
 * text. Each edit is a function of a Y.Doc, so it can be made on any replica.
 */
import fc from 'fast-check'
import * as Y from 'yjs'
import { board, insertTerm, setPosition } from '../../shared/docLayout'

export type Edit = { legal: boolean; run: (d: Y.Doc) => void }

const term = (doc: Y.Doc, id: string) => board(doc).terms.get(id) as Y.Map<unknown>

const entryId = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/).map((s) => `t-${s}`)
const badKey = fc.constantFrom('', 'a b', 'x`y', '<img>', 'constructor', 'é', 'k'.repeat(80), '__proto__')
const junk = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.boolean(),
  fc.constant(null),
  fc.constant(Number.NaN),
  fc.constant(1e13),
  fc.array(fc.integer(), { maxLength: 3 }),
  // Yjs accepts plain objects only: fast-check's dictionaries have no prototype
  fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }).map((o) => ({ ...o })),
)
/** a junk value, or a fresh shared type of the wrong kind (made when the edit runs: a type joins one doc only) */
const junkOrType = fc.oneof(
  junk.map((v) => () => v),
  fc.constantFrom<() => unknown>(
    () => new Y.Array(),
    () => new Y.Map(),
    () => new Y.Text('t'),
    () => new Y.XmlFragment(),
  ),
)
/** A shared type that is wrong wherever it is put below. */
const wrongType = fc.constantFrom<() => unknown>(
  () => new Y.Array(),
  () => new Y.Map(),
  () => new Y.Text('t'),
  () => new Y.XmlFragment(),
)

/** One of the board's well-formed terms (a log written before the check may hold others). */
function pickTerm(d: Y.Doc, i: number): string | null {
  const terms = board(d).terms
  const ids = [...terms.keys()].filter((id) => {
    const m = terms.get(id)
    return m instanceof Y.Map && m.get('title') instanceof Y.Text && m.get('body') instanceof Y.Text
  })
  ids.sort()
  return ids.length ? ids[i % ids.length]! : null
}

export /** A well-formed term to break: one of the board's, or a new one. */
function someTerm(d: Y.Doc, i: number): string {
  const id = pickTerm(d, i)
  if (id) return id
  const fresh = `t-fresh-${board(d).terms.size}`
  insertTerm(d, fresh, { title: '', body: '' })
  return fresh
}

export const legalEdit: fc.Arbitrary<Edit> = fc.oneof(
  fc.tuple(entryId, fc.string({ maxLength: 12 }), fc.integer({ min: -5000, max: 5000 })).map(([id, text, x]) => ({
    legal: true,
    run: (d: Y.Doc) => insertTerm(d, id, { title: text, body: text, x, y: x }),
  })),
  fc
    .tuple(fc.nat(), fc.nat(), fc.string({ minLength: 1, maxLength: 6 }), fc.constantFrom('title', 'body'))
    .map(([i, at, s, field]) => ({
      legal: true,
      run: (d: Y.Doc) => {
        const id = pickTerm(d, i)
        if (!id) return
        const t = term(d, id).get(field) as Y.Text
        t.insert(at % (t.length + 1), s)
      },
    })),
  fc.tuple(fc.nat(), fc.nat(), fc.nat({ max: 5 })).map(([i, at, n]) => ({
    legal: true,
    run: (d: Y.Doc) => {
      const id = pickTerm(d, i)
      if (!id) return
      const t = term(d, id).get('body') as Y.Text
      if (t.length === 0) return
      const from = at % t.length
      t.delete(from, Math.min(n + 1, t.length - from))
    },
  })),
  fc.tuple(fc.nat(), fc.integer({ min: -9999, max: 9999 })).map(([i, v]) => ({
    legal: true,
    run: (d: Y.Doc) => {
      const id = pickTerm(d, i)
      if (id) setPosition(d, 'terms', id, v, -v)
    },
  })),
  fc.nat().map((i) => ({
    legal: true,
    run: (d: Y.Doc) => {
      const id = pickTerm(d, i)
      if (id) board(d).terms.delete(id)
    },
  })),
)

export const breakingEdit: fc.Arbitrary<Edit> = fc.oneof(
  fc.tuple(entryId, junk).map(([id, v]) => ({ legal: false, run: (d: Y.Doc) => board(d).terms.set(id, v as never) })),
  fc
    .tuple(
      entryId,
      wrongType.filter((t) => !(t() instanceof Y.Map)),
    )
    .map(([id, t]) => ({
      legal: false,
      run: (d: Y.Doc) => board(d).terms.set(id, t() as never),
    })),
  badKey.map((k) => ({ legal: false, run: (d: Y.Doc) => insertTerm(d, k, { title: 'T', body: 'B' }) })),
  fc
    .tuple(fc.nat(), fc.constantFrom('title', 'body', 'x', 'y', 'z', 'party'), junkOrType)
    .filter(([, key, make]) => {
      const v = make()
      return (
        !(['title', 'body'].includes(key) && v instanceof Y.Text) &&
        !(['x', 'y'].includes(key) && typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= 1e7)
      )
    })
    .map(([i, key, make]) => ({
      legal: false,
      run: (d: Y.Doc) => {
        const id = someTerm(d, i)
        term(d, id).set(key, make() as never)
      },
    })),
  fc.tuple(fc.nat(), fc.nat(), fc.constantFrom('title', 'body'), wrongType).map(([i, at, field, t]) => ({
    legal: false,
    run: (d: Y.Doc) => {
      const id = someTerm(d, i)
      const text = term(d, id).get(field) as Y.Text
      text.insertEmbed(at % (text.length + 1), t() as never)
    },
  })),
  fc
    .tuple(
      fc.nat(),
      fc.dictionary(fc.constantFrom('bold', 'href', 'color', 'suggestion'), fc.string({ maxLength: 4 }), {
        minKeys: 1,
        maxKeys: 2,
      }),
    )
    .map(([i, attrs]) => ({
      legal: false,
      run: (d: Y.Doc) => {
        const id = someTerm(d, i)
        ;(term(d, id).get('body') as Y.Text).insert(0, 'x', attrs)
      },
    })),
  junkOrType
    .filter((make) => {
      const v = make()
      return typeof v !== 'string' || v.length > 64
    })
    .map((make) => ({ legal: false, run: (d: Y.Doc) => board(d).order.push([make() as never]) })),
  fc
    .tuple(
      fc.constantFrom('notes' as const, 'links' as const),
      entryId,
      junkOrType.filter((make) => !(make() instanceof Y.Map)),
    )
    .map(([root, id, make]) => ({ legal: false, run: (d: Y.Doc) => board(d)[root].set(id, make() as never) })),
)

/** Every place of a board that does not fit BOARD_LAYOUT: a walk over the doc, independent of the server's checker. */
export function malformedPlaces(doc: Y.Doc): string[] {
  const out: string[] = []
  const b = board(doc)
  const entry = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/
  const coordinate = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && Math.abs(v) <= 1e7
  const plainText = (t: unknown) =>
    t instanceof Y.Text &&
    t.toDelta().every((op: { insert: unknown; attributes?: unknown }) => typeof op.insert === 'string' && !op.attributes)
  b.terms.forEach((m, id) => {
    if (!entry.test(id) || id === 'constructor' || id === 'prototype') out.push(`terms/${id}: id`)
    if (!(m instanceof Y.Map)) return void out.push(`terms/${id}: not a map`)
    for (const [k, v] of m.entries()) {
      if ((k === 'title' || k === 'body') && !plainText(v)) out.push(`terms/${id}/${k}`)
      else if ((k === 'x' || k === 'y') && !coordinate(v)) out.push(`terms/${id}/${k}`)
      else if (!['title', 'body', 'x', 'y'].includes(k)) out.push(`terms/${id}/${k}: unknown`)
    }
  })
  for (const v of b.order.toArray()) if (typeof v !== 'string' || v.length > 64) out.push(`order: ${String(v)}`)
  b.notes.forEach((m, id) => !(m instanceof Y.Map) && out.push(`notes/${id}`))
  b.links.forEach((m, id) => !(m instanceof Y.Map) && out.push(`links/${id}`))
  for (const root of doc.share.keys()) if (!['terms', 'order', 'notes', 'links'].includes(root)) out.push(`root ${root}`)
  return out
}

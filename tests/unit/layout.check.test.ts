/**
 * Issue #11, item 1 — the layout check on its own (server/sync/layoutCheck.ts
 * over updateScan.ts), against real Yjs docs: every update a real client
 * makes through the layout accessors passes; every update that would put a
 * value of the wrong kind, or under a key the layout does not name, anywhere
 * in a board, is found before Yjs applies it. [LC3] is the property: random
 * boards, random legal edits and random layout-breaking edits at random
 * depths, each judged exactly as the doc would end up.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as Y from 'yjs'
import { BOARD_LAYOUT, board, insertLink, insertNote, insertTerm, replaceText, setPosition } from '../../shared/docLayout'
import { LayoutChecker } from '../../server/sync/layoutCheck'
import { scanUpdate } from '../../server/sync/updateScan'
import { breakingEdit, legalEdit, malformedPlaces } from '../helpers/layoutEdits'

const LIMITS = { maxStructs: 50_000, maxDeleteRanges: 50_000, layout: BOARD_LAYOUT }

/** The server's copy of a board, and a client that edits a replica of it. */
function scene(seed: (doc: Y.Doc) => void = seedBoard) {
  const server = new Y.Doc()
  server.transact(() => seed(server))
  const checker = new LayoutChecker(server, BOARD_LAYOUT)
  return {
    server,
    /** the update `change` makes on a fresh replica, and the checker's verdict on it */
    judge(change: (doc: Y.Doc) => void, clientID = 4242): { update: Uint8Array; verdict: string | null } {
      const client = new Y.Doc()
      client.clientID = clientID
      Y.applyUpdate(client, Y.encodeStateAsUpdate(server))
      const updates: Uint8Array[] = []
      client.on('update', (u: Uint8Array) => updates.push(u))
      client.transact(() => change(client))
      client.destroy()
      const update = updates.length === 1 ? updates[0]! : Y.mergeUpdates(updates)
      const shape = scanUpdate(update, LIMITS)
      return { update, verdict: checker.check(shape.items ?? []) }
    },
    /** applies an accepted update, as the room does */
    apply(update: Uint8Array) {
      Y.applyUpdate(server, update)
    },
  }
}

function seedBoard(doc: Y.Doc): void {
  insertTerm(doc, 't-one', { title: 'Scope', body: 'Each party extradites.', x: 40, y: 40 })
  insertTerm(doc, 't-two', { title: 'Deadline', body: 'Within 30 days.', x: 380, y: 40 })
  insertNote(doc, 'n-one', { text: 'Ask about appeals', x: 40, y: 300, color: '#ffd54f' })
  insertLink(doc, 'l-one', { from: 't-one', to: 't-two', label: 'depends on' })
}

const term = (doc: Y.Doc, id = 't-one') => board(doc).terms.get(id) as Y.Map<unknown>
const textOf = (doc: Y.Doc, field: 'title' | 'body', id = 't-one') => term(doc, id).get(field) as Y.Text

describe('[LC1] what clients do through the layout accessors passes', () => {
  const legal: Record<string, (d: Y.Doc) => void> = {
    'add a term': (d) => insertTerm(d, 't-new', { title: 'New', body: 'Text', x: 1, y: 2 }),
    'type into a body': (d) => textOf(d, 'body').insert(5, 'party '),
    'rewrite a title': (d) => replaceText(textOf(d, 'title'), 'Scope of extradition'),
    'delete text': (d) => textOf(d, 'body').delete(0, 5),
    'move a term': (d) => setPosition(d, 'terms', 't-one', 500, -20),
    'add a note': (d) => insertNote(d, 'n-new', { text: '', x: 0, y: 0, color: '#aabbcc' }),
    'type into a note': (d) => ((board(d).notes.get('n-one') as Y.Map<unknown>).get('text') as Y.Text).insert(0, 'Q: '),
    'add a link': (d) => insertLink(d, 'l-new', { from: 't-two', to: 't-one', label: '' }),
    'relabel a link': (d) => (board(d).links.get('l-one') as Y.Map<unknown>).set('label', 'blocks'),
    'remove a term': (d) => board(d).terms.delete('t-two'),
    'remove a note': (d) => board(d).notes.delete('n-one'),
    reorder: (d) => {
      board(d).order.delete(0, 1)
      board(d).order.push(['t-one'])
    },
    'an empty note map (created first, filled later)': (d) => board(d).notes.set('n-empty', new Y.Map()),
  }
  for (const [name, change] of Object.entries(legal)) {
    it(name, () => {
      expect(scene().judge(change).verdict).toBeNull()
    })
  }

  it('a term added and typed into in one update, and typing after it in the next', () => {
    const s = scene()
    const first = s.judge((d) => {
      insertTerm(d, 't-fresh', { title: '', body: '', x: 0, y: 0 })
      textOf(d, 'body', 't-fresh').insert(0, 'Hello')
    })
    expect(first.verdict).toBeNull()
    s.apply(first.update)
    expect(s.judge((d) => textOf(d, 'body', 't-fresh').insert(5, ', world')).verdict).toBeNull()
  })
})

describe('[LC2] a value of the wrong kind or under an unknown key is found, at every depth', () => {
  const breaking: Record<string, (d: Y.Doc) => void> = {
    'a string where a term map belongs (the reported case)': (d) => board(d).terms.set('bad', 'not a map' as never),
    'a Y.Text as a term': (d) => board(d).terms.set('bad', new Y.Text('x') as never),
    'a Y.Array as a term': (d) => board(d).terms.set('bad', new Y.Array() as never),
    'a term id with a backtick and markup': (d) => insertTerm(d, 'x` <img src=x onerror=alert(1)> `', { title: 'T', body: 'B' }),
    'a term id with a space': (d) => insertTerm(d, 'two words', { title: 'T', body: 'B' }),
    'an unknown key in a term': (d) => term(d).set('party', 'b'),
    'an unknown key in a new term': (d) => {
      const m = new Y.Map<unknown>()
      m.set('title', new Y.Text('T'))
      m.set('proposedBy', 'b')
      board(d).terms.set('t-x', m)
    },
    'a title as a plain string': (d) => term(d).set('title', 'plain'),
    'a title as a nested map': (d) => term(d).set('title', new Y.Map()),
    'a coordinate as a string': (d) => term(d).set('x', '40'),
    'a coordinate that is not finite': (d) => term(d).set('y', Number.POSITIVE_INFINITY),
    'a coordinate far off any canvas': (d) => term(d).set('x', 1e12),
    'an object as a coordinate': (d) => term(d).set('x', { valueOf: 1 }),
    'a shared type inside a body': (d) => textOf(d, 'body').insertEmbed(3, new Y.Map() as never),
    'an embed inside a title': (d) => textOf(d, 'title').insertEmbed(0, { image: 'x' }),
    'a formatting mark in a body': (d) => textOf(d, 'body').format(0, 4, { bold: true }),
    'text inserted with an attribute': (d) => textOf(d, 'body').insert(0, 'Shout', { bold: true }),
    'a number in the order': (d) => board(d).order.push([42 as never]),
    'a map in the order': (d) => board(d).order.push([new Y.Map() as never]),
    'a very long string in the order': (d) => board(d).order.push(['o'.repeat(200)]),
    'the order used as a map': (d) => d.getMap('order').set('k', 'v'),
    'the terms map used as a list': (d) => d.getArray('terms').push(['x']),
    'a note colour as a number': (d) => (board(d).notes.get('n-one') as Y.Map<unknown>).set('color', 7),
    'a note text as a plain string': (d) => (board(d).notes.get('n-one') as Y.Map<unknown>).set('text', 'plain'),
    'a link end as a number': (d) => (board(d).links.get('l-one') as Y.Map<unknown>).set('from', 1),
    'a link end that is not an id': (d) => (board(d).links.get('l-one') as Y.Map<unknown>).set('to', '<b>x</b>'),
    'a link label as a Y.Text': (d) => (board(d).links.get('l-one') as Y.Map<unknown>).set('label', new Y.Text('x')),
    'a link label of 10 000 characters': (d) => (board(d).links.get('l-one') as Y.Map<unknown>).set('label', 'l'.repeat(10_000)),
    'binary content in a term': (d) => term(d).set('x', new Uint8Array([1, 2, 3]) as never),
    'a reserved key as a term id': (d) => insertTerm(d, 'constructor', { title: 'T', body: 'B' }),
    'an unknown key inside a note': (d) => (board(d).notes.get('n-one') as Y.Map<unknown>).set('html', '<b>'),
    'a valid term beside a bad one in the same update': (d) => {
      insertTerm(d, 't-good', { title: 'Good', body: '' })
      board(d).terms.set('bad', 1 as never)
    },
  }
  for (const [name, change] of Object.entries(breaking)) {
    it(name, () => {
      expect(scene().judge(change).verdict).toEqual(expect.any(String))
    })
  }

  it('a bad value inside a term the same update creates (parent found in the update, not the doc)', () => {
    const { verdict } = scene().judge((d) => {
      const m = new Y.Map<unknown>()
      board(d).terms.set('t-new', m)
      m.set('title', new Y.Text('T'))
      m.set('title', 5) // replaces the text in the same update: its neighbour is in the update too
    })
    expect(verdict).toEqual(expect.any(String))
  })

  it('content under a value that already stands where the layout has no place is refused too', () => {
    // A store written before the check may hold `terms.bad` as a Y.Text: typing into it stays refused.
    const s = scene((doc) => {
      seedBoard(doc)
      board(doc).terms.set('bad', new Y.Text('old') as never)
    })
    const { verdict } = s.judge((d) => (board(d).terms.get('bad') as unknown as Y.Text).insert(0, 'more'))
    expect(verdict).toEqual(expect.any(String))
  })
})

// ── [LC3] the property ──────────────────────────────────────────────────

describe('[LC3] property: random boards, legal edits pass, layout-breaking edits are found at any depth', () => {
  it('each edit is judged as what it is, and the accepted ones keep the board well-formed', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof({ weight: 3, arbitrary: legalEdit }, { weight: 2, arbitrary: breakingEdit }), {
          minLength: 1,
          maxLength: 25,
        }),
        (edits) => {
          const s = scene()
          let clientID = 1000
          for (const edit of edits) {
            const { update, verdict } = s.judge(edit.run, clientID++)
            if (edit.legal) {
              expect(verdict, 'a legal edit was refused').toBeNull()
              s.apply(update)
            } else {
              expect(verdict, 'a layout-breaking edit was let through').toEqual(expect.any(String))
            }
            expect(malformedPlaces(s.server)).toEqual([])
          }
        },
      ),
      { numRuns: 300, seed: Number(process.env.PARLEY_LAYOUT_SEED ?? Date.now() % 2 ** 31), verbose: 1 },
    )
  })
})

/**
 * Suggestions (issue 15, item 2, first part): the `suggestion` attribute in a
 * term's text is checked in the update pre-scan — only well-formed, only in
 * the writer's own party and name — on the simulated network (a real Room).
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { BOARD_LAYOUT, board, insertTerm, termText } from '../../shared/docLayout'
import { termHash } from '../../shared/negotiation'
import { PermissionDeniedReason } from '../../shared/protocol'
import { hasPendingSuggestions, isSuggestionFormat, parseSuggestionJson, pendingSuggestionCount } from '../../shared/suggestions'
import { SyncSim } from '../helpers/syncSim'

const suggestion = (party: string, user: string, kind: 'ins' | 'del' = 'ins') => ({ id: 's-1', kind, party, user, at: 1 })
const body = (doc: Y.Doc) => board(doc).terms.get('t1')!.get('body') as Y.Text

describe('[SG1] the suggestion attribute', () => {
  it('counts a text’s suggestions by id (a replacement of two runs is one)', () => {
    const t = new Y.Doc().getText('t')
    t.insert(0, 'within 30 days')
    expect(pendingSuggestionCount(t)).toBe(0)
    const s = (id: string, kind: 'ins' | 'del') => ({ suggestion: { id, kind, party: 'us', user: 'J', at: 1 } })
    t.format(7, 2, s('a', 'del'))
    t.insert(9, '45', s('a', 'ins'))
    expect(pendingSuggestionCount(t)).toBe(1)
    t.insert(t.length, ' (calendar)', s('b', 'ins'))
    expect(pendingSuggestionCount(t)).toBe(2)
  })

  it('parses a suggestion, its end (null), and nothing else', () => {
    expect(parseSuggestionJson(JSON.stringify(suggestion('us', 'Carter')))).toMatchObject({ party: 'us', kind: 'ins' })
    expect(parseSuggestionJson('null')).toBeNull()
    for (const bad of ['{', '"x"', '{"id":"s","kind":"move","party":"us","user":"u","at":1}', '{"id":"","kind":"ins"}'])
      expect(parseSuggestionJson(bad)).toBe('invalid')
    expect(isSuggestionFormat('suggestion', 'null')).toBe(true)
    expect(isSuggestionFormat('bold', 'true')).toBe(false)
  })

  it('the server takes a suggestion in the writer’s own name and refuses one in another’s (forged-suggestion) or any other formatting (bad-layout)', async () => {
    const sim = new SyncSim({ layout: BOARD_LAYOUT })
    const carter = sim.client({ user: 'Carter', party: 'us' })
    carter.edit((d) => insertTerm(d, 't1', { title: 'Deadline', body: 'within 30 days' }))
    await sim.commit()
    carter.read()
    carter.edit((d) => body(d).insert(7, '45 ', { suggestion: suggestion('us', 'Carter') }))
    carter.edit((d) => body(d).format(10, 2, { suggestion: suggestion('us', 'Carter', 'del') }))
    await sim.commit()
    expect(carter.read().filter((m) => m.type === 'permission-denied')).toEqual([])
    expect(body(sim.room.doc).toDelta()).toEqual([
      { insert: 'within ' },
      { insert: '45 ', attributes: { suggestion: suggestion('us', 'Carter') } },
      { insert: '30', attributes: { suggestion: suggestion('us', 'Carter', 'del') } },
      { insert: ' days' },
    ])
    const stored = sim.store.rows.get('sim/board')!.length
    for (const [forged, reason] of [
      [{ suggestion: suggestion('ru', 'Carter') }, PermissionDeniedReason.forgedSuggestion],
      [{ suggestion: suggestion('us', 'Volkova') }, PermissionDeniedReason.forgedSuggestion],
      [{ bold: true }, PermissionDeniedReason.badLayout],
    ] as const) {
      // a fresh connection of Carter's for each (a refused edit leaves the client's doc ahead of the server's)
      const c = sim.client({ user: 'Carter', party: 'us' })
      Y.applyUpdate(c.doc, Y.encodeStateAsUpdate(sim.room.doc))
      c.edit((d) => body(d).insert(0, 'x', forged))
      expect(c.read().filter((m) => m.type === 'permission-denied')).toEqual([{ type: 'permission-denied', reason }])
    }
    await sim.commit()
    expect(sim.store.rows.get('sim/board')!.length).toBe(stored)
    expect(body(sim.room.doc).toString()).toBe('within 45 30 days')
  })
})

describe('[SG2] a term’s text and hash leave pending suggestions out', () => {
  it('suggested insertions are left out, text suggested for removal is kept; decided ones are plain text', () => {
    const doc = new Y.Doc()
    insertTerm(doc, 't1', { title: 'Deadline', body: 'within 30 days' })
    const plain = termText(doc, 't1')!
    const t = body(doc)
    t.insert(7, '45 ', { suggestion: suggestion('us', 'Carter') })
    t.format(10, 2, { suggestion: suggestion('us', 'Carter', 'del') })
    expect(t.toString()).toBe('within 45 30 days')
    expect(termText(doc, 't1')).toEqual(plain)
    expect(termHash(termText(doc, 't1')!)).toBe(termHash(plain))
    expect(hasPendingSuggestions(t)).toBe(true)
    // Accepting both: the insertion loses its mark, the removal is carried out.
    t.format(7, 3, { suggestion: null })
    t.delete(10, 3)
    expect(hasPendingSuggestions(t)).toBe(false)
    expect(termText(doc, 't1')!.body).toBe('within 45 days')
  })
})

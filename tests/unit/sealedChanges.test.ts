/**
 * The sealed caucus's local history reads what each row touched from the row
 * itself (client/src/lib/sealed/sealedChanges.ts): rows a new browser applies
 * newest first, edits, deletions, notes and compactions are each placed on the
 * right term, or the layout, whatever order they were applied in.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { board, insertNote, insertTerm } from '../../shared/docLayout'
import { authorOf, introduce, touchedByUpdate } from '../../client/src/lib/sealed/sealedChanges'
import { COMPACTION_KEY, SEALED_META } from '../../client/src/lib/sealed/sealedProvider'

/** A writer's doc whose every transaction's update is kept, in order. */
function writer(clientID: number) {
  const doc = new Y.Doc()
  doc.clientID = clientID
  const rows: Uint8Array[] = []
  doc.on('update', (u: Uint8Array) => rows.push(u))
  return { doc, rows }
}

const body = (doc: Y.Doc, id: string) => board(doc).terms.get(id)!.get('body') as Y.Text
const summary = (t: ReturnType<typeof touchedByUpdate>) => ({ terms: [...t.terms].sort(), layout: t.layout, compaction: t.compaction })

describe('what a sealed row touched', () => {
  it('[SH1] each row is placed on its term or the layout, also when a new browser applied the rows newest first', () => {
    const a = writer(1)
    introduce(a.doc, { user: 'Uma', party: 'us' }, null)
    // one transaction each, as the board's model writes them
    a.doc.transact(() => insertTerm(a.doc, 't1', { title: 'Scope', body: 'Ransomware operators', x: 0, y: 0 }))
    a.doc.transact(() => insertTerm(a.doc, 't2', { title: 'Nationals', body: 'No extradition', x: 0, y: 300 }))
    body(a.doc, 't1').insert(0, 'All ') // an edit inside t1's text
    body(a.doc, 't2').delete(0, 3) // a deletion only, in t2
    insertNote(a.doc, 'n1', { text: 'fallback: 90 days', x: 400, y: 0, color: '#123456' })
    a.doc.getMap(SEALED_META).set(COMPACTION_KEY, { through: 5 })
    const compaction = Y.encodeStateAsUpdate(a.doc)

    const reader = new Y.Doc()
    board(reader)
    for (const u of [...a.rows].reverse()) Y.applyUpdate(reader, u)
    const placed = a.rows.map((u) => summary(touchedByUpdate(reader, u)))
    expect(placed).toEqual([
      { terms: [], layout: false, compaction: false }, // the authors map: nobody's change of the caucus
      { terms: ['t1'], layout: true, compaction: false }, // a new term (and its place in the order)
      { terms: ['t2'], layout: true, compaction: false },
      { terms: ['t1'], layout: false, compaction: false },
      { terms: ['t2'], layout: false, compaction: false },
      { terms: [], layout: true, compaction: false },
      { terms: [], layout: false, compaction: false }, // the marker alone, not a whole state (never sent alone)
    ])
    expect(summary(touchedByUpdate(reader, compaction)).compaction).toBe(true)
    expect(authorOf(reader, 1)).toEqual({ user: 'Uma', party: 'us' })
    expect(authorOf(reader, 2)).toBeNull()
  })
})

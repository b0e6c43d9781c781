/**
 * Suggest mode in the editor's state, without a view (issue 15, item 1): what
 * a keystroke becomes — the transaction filter of client/src/lib/editor/termSync.ts
 * and the marks of suggestionMarks.ts. The Y.Text side runs in the browser
 * ([SE1], [SE2]); the plans themselves are shared/suggestEdit.ts's ([SG5]).
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { EditorSelection, EditorState } from '@codemirror/state'
import { ySyncFacet, YSyncConfig } from 'y-codemirror.next'
import { setSuggesting, termSync } from '../../client/src/lib/editor/termSync'
import { pendingSuggestions, setSuggestionRuns, spansIn, suggestionField } from '../../client/src/lib/editor/suggestionMarks'

function editor(text: string, opts: { suggesting?: boolean; onBlocked?: () => void } = {}) {
  const doc = new Y.Doc()
  const ytext = doc.getText('t')
  ytext.insert(0, text)
  let state = EditorState.create({
    doc: text,
    extensions: [ySyncFacet.of(new YSyncConfig(ytext, null)), termSync({ party: 'us', user: 'Jane', onBlocked: opts.onBlocked }).before, suggestionField],
  })
  state = state.update({ effects: setSuggesting.of(opts.suggesting ?? true) }).state
  const ed = {
    get state() {
      return state
    },
    type(from: number, to: number, insert: string) {
      state = state.update({ changes: { from, to, insert }, selection: EditorSelection.cursor(from + insert.length), userEvent: 'input.type' }).state
    },
    backspace(at: number) {
      state = state.update({ changes: { from: at - 1, to: at }, userEvent: 'delete.backward' }).state
    },
    /** marks as the other side's suggestion, as a remote update would */
    theirs(from: number, to: number) {
      const s = { id: 'ru1', kind: 'ins' as const, party: 'ru', user: 'Ivan', at: 1 }
      state = state.update({ effects: setSuggestionRuns.of([{ from, to, suggestion: s }]) }).state
    },
    runs: () => spansIn(state, 0, state.doc.length).map((s) => `${s.suggestion ? `${s.suggestion.kind}:${s.suggestion.party}` : 'plain'}:${state.doc.sliceString(s.from, s.to)}`),
  }
  return ed
}

describe('[SG6] Suggest mode in the editor', () => {
  it('replacing words strikes them and inserts after them, as one suggestion that typing continues', () => {
    const ed = editor('within 30 days')
    ed.type(7, 9, '4')
    ed.type(ed.state.selection.main.head, ed.state.selection.main.head, '5')
    expect(ed.state.doc.toString()).toBe('within 3045 days')
    expect(ed.runs()).toEqual(['plain:within ', 'del:us:30', 'ins:us:45', 'plain: days'])
    expect(ed.state.selection.main.head).toBe(11)
    const [one, ...rest] = pendingSuggestions(ed.state)
    expect(rest).toEqual([])
    expect(one).toMatchObject({ party: 'us', user: 'Jane', inserted: '45', removed: '30' })
  })

  it('backspace marks plain text for removal and takes one’s own suggested text out', () => {
    const ed = editor('within 30 days')
    ed.backspace(9)
    ed.backspace(8)
    expect(ed.state.doc.toString()).toBe('within 30 days')
    expect(ed.runs()).toEqual(['plain:within ', 'del:us:30', 'plain: days'])
    expect(ed.state.selection.main.head).toBe(7)
    expect(pendingSuggestions(ed.state)).toHaveLength(1)
    ed.type(14, 14, '!!')
    ed.backspace(16)
    expect(ed.state.doc.toString()).toBe('within 30 days!')
    expect(ed.runs()).toEqual(['plain:within ', 'del:us:30', 'plain: days', 'ins:us:!'])
  })

  it('text cannot go inside the other side’s suggestion; it can after it when plain text follows', () => {
    let blocked = 0
    const ed = editor('within 30 days', { onBlocked: () => blocked++ })
    ed.theirs(7, 9)
    ed.type(8, 8, 'x')
    expect(blocked).toBe(1)
    expect(ed.state.doc.toString()).toBe('within 30 days')
    ed.type(9, 9, 'x')
    expect(blocked).toBe(1)
    expect(ed.runs()).toEqual(['plain:within ', 'ins:ru:30', 'ins:us:x', 'plain: days'])
    // Deleting the other side's suggested text in Suggest mode leaves it for Accept / Reject.
    ed.backspace(9)
    expect(ed.state.doc.toString()).toBe('within 30x days')
  })

  it('plain typing inside one’s own suggestion is plain text', () => {
    const ed = editor('ab', { suggesting: true })
    ed.type(1, 1, 'XYZ')
    const plain = ed.state.update({ effects: setSuggesting.of(false) }).state
    const next = plain.update({ changes: { from: 2, insert: '-' }, userEvent: 'input.type' }).state
    expect(spansIn(next, 0, next.doc.length).map((s) => [next.doc.sliceString(s.from, s.to), s.suggestion?.kind ?? null])).toEqual([
      ['a', null],
      ['X', 'ins'],
      ['-', null],
      ['YZ', 'ins'],
      ['b', null],
    ])
  })
})

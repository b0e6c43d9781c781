/**
 * Open bracket groups in the term editor (issue 17, item 1): the marks of
 * client/src/lib/editor/bracketMarks.ts, in the editor's state without a view.
 * They are mapped through each change and the text is read again only when a
 * change may have moved a group; whatever the edits, they must stand where a
 * fresh reading of the whole text (shared/brackets.ts) puts them.
 */
import { describe, expect, it } from 'vitest'
import { EditorState, type TransactionSpec } from '@codemirror/state'
import type { DecorationSet } from '@codemirror/view'
import { bracketDecorations, bracketField, needsRescan } from '../../client/src/lib/editor/bracketMarks'
import { bracketGroups } from '../../shared/brackets'

function ranges(set: DecorationSet): string[] {
  const out: Array<{ part: string; from: number; to: number }> = []
  const iter = set.iter()
  for (; iter.value; iter.next()) out.push({ part: (iter.value.spec as { part: string }).part, from: iter.from, to: iter.to })
  return out
    .sort((a, b) => a.from - b.from || a.to - b.to || a.part.localeCompare(b.part))
    .map((r) => `${r.part}:${r.from}-${r.to}`)
}

function editor(text: string) {
  let state = EditorState.create({ doc: text, extensions: [bracketField] })
  let rescans = 0
  return {
    get text() {
      return state.doc.toString()
    },
    get rescans() {
      return rescans
    },
    edit(spec: TransactionSpec) {
      const tr = state.update(spec)
      if (needsRescan(tr, state.field(bracketField).map(tr.changes))) rescans++
      state = tr.state
    },
    /** the marks as kept, and as a fresh reading of the whole text puts them */
    marks: () => ({ kept: ranges(state.field(bracketField)), fresh: ranges(bracketDecorations(state.doc)) }),
    groups: () =>
      ranges(state.field(bracketField))
        .filter((r) => r.startsWith('group:'))
        .map((r) => r.slice('group:'.length)),
  }
}

describe('bracket marks in the editor', () => {
  it('[BM1] every open group is marked, with its options and their brackets', () => {
    const ed = editor('Requests are answered within [30][45] days [by post].')
    const groups = bracketGroups(ed.text)
    expect(ed.groups()).toEqual(groups.map((g) => `${g.from}-${g.to}`))
    expect(ed.marks().kept.filter((r) => r.startsWith('option:'))).toHaveLength(3)
    expect(ed.marks().kept.filter((r) => r.startsWith('bracket:'))).toHaveLength(6)
  })

  it('[BM2] typing inside an option’s words or in plain text maps the marks and reads nothing again', () => {
    const ed = editor('Within [30][45] days. ' + 'Plain words follow here. '.repeat(400))
    const at = ed.text.indexOf('30') + 1
    ed.edit({ changes: { from: at, insert: '0' } }) // [300]
    ed.edit({ changes: { from: ed.text.length, insert: ' More.' } })
    ed.edit({ changes: { from: 0, insert: 'Art. 3: ' } })
    ed.edit({ changes: { from: ed.text.length - 3, to: ed.text.length } })
    expect(ed.rescans).toBe(0)
    expect(ed.marks().kept).toEqual(ed.marks().fresh)
    expect(ed.groups()).toEqual(['15-24'])
  })

  it('[BM3] typing or removing a bracket reads the text again', () => {
    const ed = editor('Within 30 days.')
    ed.edit({ changes: { from: 7, insert: '[' } })
    expect(ed.groups()).toEqual([])
    ed.edit({ changes: { from: 10, insert: ']' } })
    expect(ed.groups()).toEqual(['7-11'])
    ed.edit({ changes: { from: 10, to: 11 } })
    expect(ed.groups()).toEqual([])
    expect(ed.rescans).toBe(3)
  })

  it('[BM4] whitespace left alone between two groups joins them; a word typed between alternatives parts them', () => {
    const ed = editor('within [30] or [45] days')
    expect(ed.groups()).toEqual(['7-11', '15-19'])
    // "or " removed: only a space between `]` and `[` — one group of two alternatives
    ed.edit({ changes: { from: 12, to: 15 } })
    expect(ed.text).toBe('within [30] [45] days')
    expect(ed.groups()).toEqual(['7-16'])
    ed.edit({ changes: { from: 12, insert: 'or ' } })
    expect(ed.groups()).toEqual(['7-11', '15-19'])
    expect(ed.rescans).toBe(2)
  })

  it.each([17, 4242, 90001])('[BM5] random edits always leave the marks a fresh reading would draw (seed %i)', (start) => {
    let seed = start
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed % n
    }
    const pieces = ['[', ']', ' ', 'a', 'bc', '\n', '[x]', '] [', '  ']
    const ed = editor('Within [30][45] days [or [nested]] and [one] [two].')
    for (let i = 0; i < 2000; i++) {
      const len = ed.text.length
      const from = rand(len + 1)
      const to = rand(3) === 0 ? Math.min(len, from + rand(4)) : from
      const insert = rand(4) === 0 ? '' : pieces[rand(pieces.length)]!
      if (from === to && insert === '') continue
      ed.edit({ changes: { from, to, insert } })
      const { kept, fresh } = ed.marks()
      expect(kept, `after edit ${i} (seed ${start}): ${JSON.stringify(ed.text)}`).toEqual(fresh)
    }
  })
})

/**
 * Open bracket groups (shared/brackets.ts) drawn in a term's editor: each
 * group marked, each option's `[` and `]` set off, so the questions still open
 * in the text stand out while it is typed into.
 *
 * The marks are read from the whole text once, then mapped through every
 * change (local or remote). A change reads the text again only when it may
 * have changed the groups themselves: it typed or removed a bracket, it falls
 * in a group but outside the inside of an option (between two alternatives,
 * or at a group's edge), or it left only whitespace between a `]` and a `[`
 * (two groups may have become one). Typing anywhere else — inside an option's
 * words or in plain text — maps the marks and looks at the change alone, so a
 * keystroke costs the same in a long term as in a short one; the rescans are
 * the keystrokes that touch a bracket, and those are rare.
 */
import { StateField, type Text, type Transaction } from '@codemirror/state'
import { Decoration, EditorView, type DecorationSet } from '@codemirror/view'
import { bracketGroups } from '../../../../shared/brackets'
import { m } from '../../paraglide/messages'
import { getLocale } from '../../paraglide/runtime'

type Part = 'group' | 'option' | 'bracket'

/** One mark per language: its title is a message (a redraw after a language switch picks the new one). */
const groupMarks = new Map<string, Decoration>()
function groupMark(): Decoration {
  const locale = getLocale()
  let mark = groupMarks.get(locale)
  if (!mark) {
    mark = Decoration.mark({ class: 'cm-bracket-group', attributes: { title: m.editor_bracket_group_title() }, part: 'group' })
    groupMarks.set(locale, mark)
  }
  return mark
}
const optionMark = Decoration.mark({ class: 'cm-bracket-option', part: 'option' })
const bracketMark = Decoration.mark({ class: 'cm-bracket-char', part: 'bracket' })

const partOf = (d: Decoration): Part => (d.spec as { part: Part }).part

/** Every open group of the text, marked (a pass over the whole text). */
export function bracketDecorations(doc: Text): DecorationSet {
  const ranges = []
  for (const g of bracketGroups(doc.toString())) {
    ranges.push(groupMark().range(g.from, g.to))
    for (const o of g.options) {
      ranges.push(optionMark.range(o.from, o.to), bracketMark.range(o.from, o.from + 1), bracketMark.range(o.to - 1, o.to))
    }
  }
  return Decoration.set(ranges, true)
}

const BRACKET = /[[\]]/

/** The first character that is not whitespace from `pos` going back (-1) or on (1); null at the text's end. */
function neighbour(doc: Text, pos: number, dir: -1 | 1): string | null {
  // In windows: a long line is never copied whole to look at the few characters beside a change.
  const WINDOW = 64
  let at = pos
  while (dir < 0 ? at > 0 : at < doc.length) {
    const from = dir < 0 ? Math.max(0, at - WINDOW) : at
    const to = dir < 0 ? at : Math.min(doc.length, at + WINDOW)
    const s = doc.sliceString(from, to)
    for (let i = 0; i < s.length; i++) {
      const c = s[dir < 0 ? s.length - 1 - i : i]!
      if (!/\s/.test(c)) return c
    }
    at = dir < 0 ? from : to
  }
  return null
}

/**
 * Whether a transaction may have changed the open groups, given the marks already mapped
 * through it (see the module comment for the rule). Exported for the unit tests.
 */
export function needsRescan(tr: Transaction, mapped: DecorationSet): boolean {
  if (!tr.docChanged) return false
  let rescan = false
  tr.changes.iterChanges((fromA, toA, fromB, toB, inserted) => {
    if (rescan) return
    if (BRACKET.test(tr.startState.doc.sliceString(fromA, toA)) || BRACKET.test(inserted.toString())) {
      rescan = true
      return
    }
    // Without a single group in the text, and no bracket typed or removed, none can have appeared.
    if (mapped.size === 0) return
    let inGroup = false
    let inOption = false
    mapped.between(fromB, toB, (f, t, d) => {
      const part = partOf(d)
      if (part === 'group') inGroup = true
      else if (part === 'option' && f < fromB && toB < t) inOption = true
    })
    if (inOption) return
    if (inGroup) {
      rescan = true
      return
    }
    const blank = inserted.length === 0 || /^\s*$/.test(inserted.toString())
    if (blank && neighbour(tr.state.doc, fromB, -1) === ']' && neighbour(tr.state.doc, toB, 1) === '[') rescan = true
  })
  return rescan
}

export const bracketField = StateField.define<DecorationSet>({
  create: (state) => bracketDecorations(state.doc),
  update(set, tr) {
    if (!tr.docChanged) return set
    const mapped = set.map(tr.changes)
    return needsRescan(tr, mapped) ? bracketDecorations(tr.state.doc) : mapped
  },
  provide: (f) => EditorView.decorations.from(f),
})

const bracketTheme = EditorView.baseTheme({
  '.cm-bracket-group': {
    backgroundColor: 'var(--warning-bg)',
    borderBottom: '2px dotted var(--gold)',
    borderRadius: '2px',
  },
  '.cm-bracket-char': { color: 'var(--warning)', fontWeight: '700' },
})

export const bracketMarks = [bracketField, bracketTheme]

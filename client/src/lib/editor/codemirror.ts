/**
 * The collaborative text editor: CodeMirror 6 bound to a Y.Text by
 * y-codemirror.next, with remote carets and selections from awareness. This
 * module is the heavy part of the client and is only ever loaded with
 * `import()` (see CollabText.svelte).
 */
import * as Y from 'yjs'
import type { Awareness } from 'y-protocols/awareness'
import {
  Compartment,
  EditorState,
  RangeSetBuilder,
  StateEffect,
  StateField,
  Transaction,
  type Extension,
} from '@codemirror/state'
import { Decoration, EditorView, keymap, placeholder as placeholderExt, type DecorationSet } from '@codemirror/view'
import { defaultKeymap } from '@codemirror/commands'
import { yCollab, ySyncAnnotation, ySyncFacet, yUndoManagerKeymap } from 'y-codemirror.next'
import { spansOf } from '../../../../shared/suggestEdit'
import { pendingSuggestions, setSuggestionRuns, suggestionField, suggestionMarks, suggestionView, type PendingSuggestion, type SuggestionView } from './suggestionMarks'
import { setSuggesting, termSync, type TermAuthor } from './termSync'
import { authorship, authorshipStart, refreshAuthorship, setAuthorship, type AuthorshipView } from './authorship'
import { bracketMarks } from './bracketMarks'
import { caretLabelTheme, caretLabels } from './caretLabels'

export type { PendingSuggestion, SuggestionView } from './suggestionMarks'
export type { TermAuthor } from './termSync'
export type { AuthorshipView } from './authorship'

export interface CollabEditorOptions {
  ytext: Y.Text
  awareness: Awareness | null
  readOnly: boolean
  singleLine: boolean
  label: string
  placeholder: string
  /** Enter in a single-line field, Mod-Enter in a multi-line one */
  onSubmit?: () => void
  onEscape?: () => void
  /** the selected range changed (null: nothing selected) — where a comment on selected words would go */
  onSelection?: (range: TextRange | null) => void
  /** a marked range (a comment thread's words) was clicked */
  onMarkClick?: (id: string) => void
  /** who types here (suggestions carry it); edits that cannot be made are reported to it */
  author: TermAuthor
  /** Suggest mode at the start */
  suggesting?: boolean
  /** how suggestions are named, coloured and decided */
  suggestionView?: SuggestionView
  /** the pending suggestions changed */
  onSuggestions?: (list: PendingSuggestion[]) => void
  /** "Who wrote what" at the start: how to tint the text by delegation (null: off) */
  authorship?: AuthorshipView | null
  /** mark open `[`…`]` groups (a term's title and text; not a note) */
  brackets?: boolean
}

/** Offsets in the editor's text, which are the Y.Text's indices. */
export interface TextRange {
  from: number
  to: number
}

/** A range drawn marked in the text: the words a comment thread is about. */
export interface TextMark extends TextRange {
  id: string
  /** the thread being looked at: drawn stronger */
  active: boolean
}

export interface CollabEditor {
  view: EditorView
  setReadOnly(readOnly: boolean): void
  /** replaces the marked ranges; they then follow the text as it is typed until the next call */
  setMarks(marks: readonly TextMark[]): void
  /** Suggest mode on or off: typing suggests, deleting marks for removal */
  setSuggesting(on: boolean): void
  /** "Who wrote what" on (how to read and tint it) or off */
  setAuthorship(view: AuthorshipView | null): void
  /** the ledger learnt whose more client ids are: tint again */
  refreshAuthorship(): void
  /** the selected range, also in a read-only editor; null when nothing is selected */
  selection(): TextRange | null
  focus(): void
  destroy(): void
}

const readOnlyExt = (readOnly: boolean): Extension =>
  readOnly ? [EditorState.readOnly.of(true), EditorView.editable.of(false)] : []

/** Typed or pasted line breaks become spaces in single-line fields; remote text is never filtered. */
const oneLine = EditorState.transactionFilter.of((tr) => {
  if (!tr.docChanged || !(tr.isUserEvent('input') || tr.isUserEvent('delete'))) return tr
  let multiline = false
  tr.changes.iterChanges((_fa, _ta, _fb, _tb, inserted) => {
    if (inserted.lines > 1) multiline = true
  })
  if (!multiline) return tr
  const changes: Array<{ from: number; to: number; insert: string }> = []
  tr.changes.iterChanges((from, to, _fb, _tb, inserted) =>
    changes.push({ from, to, insert: inserted.toString().replace(/\s*\n\s*/g, ' ') }),
  )
  return { changes, annotations: Transaction.userEvent.of(tr.annotation(Transaction.userEvent) ?? 'input') }
})

const theme = EditorView.theme({
  '&': { fontSize: 'inherit', backgroundColor: 'transparent' },
  '&.cm-focused': { outline: 'none' },
  '.cm-scroller': { fontFamily: 'inherit', lineHeight: 'inherit', overflow: 'visible' },
  '.cm-content': { padding: '0', caretColor: 'var(--gray-900)' },
  '.cm-line': { padding: '0' },
  '.cm-placeholder': { color: 'var(--gray-500)' },
  '.cm-ySelectionCaret': { borderLeftWidth: '2px', borderRightWidth: '0', marginLeft: '-1px', marginRight: '-1px' },
  '.cm-ySelectionInfo': {
    opacity: '1',
    top: '-1.45em',
    left: '-2px',
    padding: '1px 5px',
    borderRadius: '4px 4px 4px 0',
    fontFamily: 'var(--font-ui)',
    fontSize: '11px',
    fontWeight: '600',
    lineHeight: '1.4',
    color: '#fff',
    // a name wider than the panel is cut with an ellipsis (caretLabels.ts sets the width)
    overflow: 'hidden',
    textOverflow: 'ellipsis',
  },
  '.cm-ySelectionCaretDot': { display: 'none' },
  ...caretLabelTheme,
})

const setMarksEffect = StateEffect.define<readonly TextMark[]>()

function markSet(marks: readonly TextMark[], length: number): DecorationSet {
  const builder = new RangeSetBuilder<Decoration>()
  const sorted = marks
    .map((m) => ({ ...m, from: Math.max(0, Math.min(m.from, length)), to: Math.max(0, Math.min(m.to, length)) }))
    .filter((m) => m.to > m.from)
    .sort((a, b) => a.from - b.from || a.to - b.to)
  for (const m of sorted) {
    builder.add(
      m.from,
      m.to,
      Decoration.mark({
        class: m.active ? 'cm-thread-mark cm-thread-active' : 'cm-thread-mark',
        attributes: { 'data-thread-id': m.id },
      }),
    )
  }
  return builder.finish()
}

/** Comment threads' words: set from outside, mapped through every change (local or remote) in between. */
const marksField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(value, tr) {
    let next = value.map(tr.changes)
    for (const e of tr.effects) if (e.is(setMarksEffect)) next = markSet(e.value, tr.state.doc.length)
    return next
  },
  provide: (f) => EditorView.decorations.from(f),
})

const markTheme = EditorView.baseTheme({
  '.cm-thread-mark': {
    backgroundColor: 'rgb(255 200 60 / 0.28)',
    borderBottom: '2px solid rgb(201 138 26 / 0.75)',
    cursor: 'pointer',
  },
  '.cm-thread-active': { backgroundColor: 'rgb(255 190 40 / 0.55)', borderBottomColor: '#8a5300' },
})

/** The selection of a read-only editor lives in the DOM only (no caret): read it from there. */
function domSelection(view: EditorView): TextRange | null {
  const sel = view.dom.ownerDocument.getSelection()
  if (!sel || sel.rangeCount === 0 || sel.isCollapsed) return null
  const { anchorNode, focusNode } = sel
  if (!anchorNode || !focusNode || !view.contentDOM.contains(anchorNode) || !view.contentDOM.contains(focusNode)) return null
  try {
    const a = view.posAtDOM(anchorNode, sel.anchorOffset)
    const b = view.posAtDOM(focusNode, sel.focusOffset)
    return a === b ? null : { from: Math.min(a, b), to: Math.max(a, b) }
  } catch {
    return null
  }
}

export function createCollabEditor(parent: HTMLElement, opts: CollabEditorOptions): CollabEditor {
  const readOnly = new Compartment()
  const submitKeys = opts.singleLine ? ['Enter'] : ['Mod-Enter']
  const sync = termSync(opts.author)
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: opts.ytext.toString(),
      extensions: [
        sync.before,
        yCollab(opts.ytext, opts.awareness, { undoManager: new Y.UndoManager(opts.ytext) }),
        sync.after,
        suggestionMarks,
        opts.suggestionView ? suggestionView.of(opts.suggestionView) : [],
        authorshipStart.of(opts.authorship ?? null),
        authorship,
        keymap.of([
          ...submitKeys.map((key) => ({
            key,
            run: () => {
              opts.onSubmit?.()
              return true
            },
          })),
          {
            key: 'Escape',
            run: () => {
              if (!opts.onEscape) return false
              opts.onEscape()
              return true
            },
          },
          ...yUndoManagerKeymap,
          ...defaultKeymap,
        ]),
        opts.singleLine ? oneLine : EditorView.lineWrapping,
        opts.singleLine ? EditorView.lineWrapping : [],
        placeholderExt(opts.placeholder),
        EditorView.perLineTextDirection.of(true),
        EditorView.contentAttributes.of({
          'aria-label': opts.label,
          'aria-multiline': opts.singleLine ? 'false' : 'true',
          dir: 'auto',
          spellcheck: 'true',
        }),
        readOnly.of(readOnlyExt(opts.readOnly)),
        theme,
        caretLabels,
        marksField,
        markTheme,
        opts.brackets ? bracketMarks : [],
        EditorView.updateListener.of((u) => {
          if (opts.onSuggestions && u.startState.field(suggestionField) !== u.state.field(suggestionField))
            opts.onSuggestions(pendingSuggestions(u.state))
        }),
        EditorView.updateListener.of((u) => {
          if (!u.selectionSet || !opts.onSelection) return
          const r = u.state.selection.main
          opts.onSelection(r.empty ? null : { from: r.from, to: r.to })
        }),
        EditorView.domEventHandlers({
          click: (e) => {
            const mark = (e.target as Element | null)?.closest?.('[data-thread-id]')
            const id = mark?.getAttribute('data-thread-id')
            if (id && opts.onMarkClick) opts.onMarkClick(id)
            return false
          },
        }),
      ],
    }),
  })
  // The suggestions already in the text, and the mode this person left it in.
  const initial = spansOf(opts.ytext).filter((s) => s.suggestion !== null)
  view.dispatch({
    effects: [setSuggestionRuns.of(initial), setSuggesting.of(opts.suggesting ?? false)],
    annotations: ySyncAnnotation.of(view.state.facet(ySyncFacet)),
  })
  if (initial.length === 0) opts.onSuggestions?.([])
  // A read-only editor keeps no selection of its own: follow the page's.
  const onDomSelection = () => {
    if (!opts.onSelection || view.state.facet(EditorView.editable)) return
    opts.onSelection(domSelection(view))
  }
  view.dom.ownerDocument.addEventListener('selectionchange', onDomSelection)
  const selection = (): TextRange | null => {
    const r = view.state.selection.main
    if (!r.empty) return { from: r.from, to: r.to }
    return domSelection(view)
  }
  return {
    view,
    setReadOnly: (ro) => view.dispatch({ effects: readOnly.reconfigure(readOnlyExt(ro)) }),
    setMarks: (marks) => view.dispatch({ effects: setMarksEffect.of(marks) }),
    setSuggesting: (on) => view.dispatch({ effects: setSuggesting.of(on) }),
    setAuthorship: (a) => view.dispatch({ effects: setAuthorship.of(a) }),
    refreshAuthorship: () => view.dispatch({ effects: refreshAuthorship.of(null) }),
    selection,
    focus: () => view.focus(),
    destroy: () => {
      view.dom.ownerDocument.removeEventListener('selectionchange', onDomSelection)
      view.destroy()
    },
  }
}

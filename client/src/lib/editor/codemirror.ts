/**
 * The collaborative text editor: CodeMirror 6 bound to a Y.Text by
 * y-codemirror.next, with remote carets and selections from awareness. This
 * module is the heavy part of the client and is only ever loaded with
 * `import()` (see CollabText.svelte).
 */
import * as Y from 'yjs'
import type { Awareness } from 'y-protocols/awareness'
import { Compartment, EditorState, Transaction, type Extension } from '@codemirror/state'
import { EditorView, keymap, placeholder as placeholderExt } from '@codemirror/view'
import { defaultKeymap } from '@codemirror/commands'
import { yCollab, yUndoManagerKeymap } from 'y-codemirror.next'

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
}

export interface CollabEditor {
  view: EditorView
  setReadOnly(readOnly: boolean): void
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
  },
  '.cm-ySelectionCaretDot': { display: 'none' },
})

export function createCollabEditor(parent: HTMLElement, opts: CollabEditorOptions): CollabEditor {
  const readOnly = new Compartment()
  const submitKeys = opts.singleLine ? ['Enter'] : ['Mod-Enter']
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: opts.ytext.toString(),
      extensions: [
        yCollab(opts.ytext, opts.awareness, { undoManager: new Y.UndoManager(opts.ytext) }),
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
      ],
    }),
  })
  return {
    view,
    setReadOnly: (ro) => view.dispatch({ effects: readOnly.reconfigure(readOnlyExt(ro)) }),
    focus: () => view.focus(),
    destroy: () => view.destroy(),
  }
}

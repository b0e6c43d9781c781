/**
 * "Who wrote what": every character of a term tinted by the delegation that
 * wrote it. Yjs keeps, for each run of text, the client id that inserted it;
 * the ledger's `authors` map (written by the server, CONTRACT.md "Suggestions
 * and authorship") says whose each client id is. Text the server wrote (the
 * opening draft, a restore) has no delegation and stays untinted.
 *
 * The runs are read from the Y.Text's items (no string or delta is built),
 * only while the view is on, and at most once per frame: between two
 * readings the tints are carried along with the edits.
 */
import * as Y from 'yjs'
import { Facet, RangeSetBuilder, StateEffect } from '@codemirror/state'
import { Decoration, EditorView, ViewPlugin, type DecorationSet, type ViewUpdate } from '@codemirror/view'
import { ySyncFacet } from 'y-codemirror.next'
import { m } from '../../paraglide/messages'

export interface AuthorshipView {
  /** the delegation behind a Yjs client id; null when unknown or the server's */
  partyOf(clientId: number): string | null
  partyName(party: string): string
  partyColor(party: string): string
}

/** The view on (with how to read and draw it) or off (null). */
export const setAuthorship = StateEffect.define<AuthorshipView | null>()
/** Who is behind which client id changed (the ledger's `authors` grew): read again. */
export const refreshAuthorship = StateEffect.define<null>()

export const authorshipStart = Facet.define<AuthorshipView | null, AuthorshipView | null>({
  combine: (values) => values[values.length - 1] ?? null,
})

interface AuthorRun {
  from: number
  to: number
  party: string
}

/** Runs of one delegation's text, in positions of the text, merged where the same delegation continues. */
export function authorRuns(ytext: Y.Text, partyOf: (clientId: number) => string | null): AuthorRun[] {
  const runs: AuthorRun[] = []
  let pos = 0
  for (let item = ytext._start; item !== null; item = item.right) {
    if (item.deleted || !item.countable) continue
    const party = partyOf(item.id.client)
    const last = runs[runs.length - 1]
    if (party !== null) {
      if (last && last.party === party && last.to === pos) last.to = pos + item.length
      else runs.push({ from: pos, to: pos + item.length, party })
    }
    pos += item.length
  }
  return runs
}

class AuthorshipPlugin {
  decorations: DecorationSet = Decoration.none
  private view: AuthorshipView | null
  private frame = 0

  constructor(private readonly editor: EditorView) {
    this.view = editor.state.facet(authorshipStart)
    if (this.view) this.decorations = this.read()
  }

  update(u: ViewUpdate): void {
    let reread = false
    for (const tr of u.transactions)
      for (const e of tr.effects) {
        if (e.is(setAuthorship)) {
          this.view = e.value
          reread = true
        } else if (e.is(refreshAuthorship)) reread = true
      }
    if (!this.view) {
      this.decorations = Decoration.none
      return
    }
    if (reread) this.decorations = this.read()
    else if (u.docChanged) {
      this.decorations = this.decorations.map(u.changes)
      this.schedule()
    }
  }

  /** Typing reads the runs again once the frame is drawn, not per keystroke. */
  private schedule(): void {
    if (this.frame) return
    this.frame = requestAnimationFrame(() => {
      this.frame = 0
      if (this.view) this.editor.dispatch({ effects: refreshAuthorship.of(null) })
    })
  }

  private read(): DecorationSet {
    const view = this.view
    if (!view) return Decoration.none
    const ytext = this.editor.state.facet(ySyncFacet).ytext
    const length = this.editor.state.doc.length
    const builder = new RangeSetBuilder<Decoration>()
    for (const run of authorRuns(ytext, view.partyOf)) {
      // The Y.Text and the editor agree except within a transaction still on its way: draw what fits.
      if (run.from >= length) break
      builder.add(
        run.from,
        Math.min(run.to, length),
        Decoration.mark({
          class: 'cm-author',
          attributes: {
            style: `--author: ${view.partyColor(run.party)}`,
            'data-author-party': run.party,
            title: m.editor_written_by({ party: view.partyName(run.party) }),
          },
        }),
      )
    }
    return builder.finish()
  }

  destroy(): void {
    if (this.frame) cancelAnimationFrame(this.frame)
  }
}

const authorshipTheme = EditorView.baseTheme({
  '.cm-author': {
    backgroundColor: 'color-mix(in srgb, var(--author) 16%, transparent)',
    boxShadow: 'inset 0 -2px 0 color-mix(in srgb, var(--author) 55%, transparent)',
  },
})

export const authorship = [ViewPlugin.fromClass(AuthorshipPlugin, { decorations: (p) => p.decorations }), authorshipTheme]

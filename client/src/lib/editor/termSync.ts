/**
 * Typing into a term's Y.Text, in both modes, in place of y-codemirror.next's
 * own CodeMirror → Yjs step (its Yjs → CodeMirror step, remote carets and
 * undo are kept). Two reasons it cannot write the text itself:
 * - it inserts without attributes, and Yjs then carries the neighbouring
 *   suggestion over the new text — in another's name, which the server refuses;
 * - Suggest mode is not the edit that was typed: deleting marks text for
 *   removal instead, and typed text goes in after what it replaces, marked.
 * So every local edit passes a transaction filter that turns it into what it
 * means here (shared/suggestEdit.ts) and marks it ySync's own — ySync leaves
 * it alone — and the plugin below writes it to the Y.Text. Remote changes
 * arrive through ySync's observer; the plugin adds their suggestion runs.
 */
import * as Y from 'yjs'
import { Annotation, ChangeSet, EditorSelection, EditorState, Facet, StateEffect, StateField, Transaction, type ChangeSpec, type Extension, type TransactionSpec } from '@codemirror/state'
import { ViewPlugin, type EditorView, type ViewUpdate } from '@codemirror/view'
import { ySyncAnnotation, ySyncFacet, type YSyncConfig } from 'y-codemirror.next'
import { SUGGESTION_KEY, type Suggestion } from '../../../../shared/suggestions'
import {
  applyPlainEdit,
  applySuggestedEdit,
  insertionAllowed,
  planSuggestedEdit,
  type SuggestedEditPlan,
  type SuggestionAuthor,
  type TextSpan,
} from '../../../../shared/suggestEdit'
import { setSuggestionRuns, spansIn, suggestionField } from './suggestionMarks'

/** Who types here, and what to say when an edit cannot be made. */
export interface TermAuthor extends SuggestionAuthor {
  /** typing inside another's pending suggestion: it is to be accepted or rejected first */
  onBlocked?: () => void
}

export const termAuthor = Facet.define<TermAuthor, TermAuthor | null>({
  combine: (values) => values[values.length - 1] ?? null,
})

/** Suggest mode on or off. */
export const setSuggesting = StateEffect.define<boolean>()
export const suggestingField = StateField.define<boolean>({
  create: () => false,
  update: (on, tr) => tr.effects.reduce((v, e) => (e.is(setSuggesting) ? e.value : v), on),
})

/** A local edit as it is to be written to the Y.Text, in the positions before it. */
type LocalEdit =
  | { kind: 'plain'; changes: Array<{ from: number; to: number; insert: string }> }
  | { kind: 'suggest'; plans: Array<{ plan: SuggestedEditPlan; spans: TextSpan[] }> }

const localEdit = Annotation.define<LocalEdit>()

const newSuggestionId = (): string => `s${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`

function routeLocalEdit(tr: Transaction): TransactionSpec | readonly TransactionSpec[] {
  const conf = tr.startState.facet(ySyncFacet)
  const author = tr.startState.facet(termAuthor)
  if (!tr.docChanged || !author || tr.annotation(ySyncAnnotation) === conf) return tr
  const start = tr.startState
  const length = start.doc.length
  const edits: Array<{ from: number; to: number; insert: string }> = []
  tr.changes.iterChanges((from, to, _fb, _tb, inserted) => edits.push({ from, to, insert: inserted.sliceString(0, inserted.length, '\n') }))
  // Text goes in only where it cannot end up in another's name.
  for (const e of edits) {
    if (e.insert.length > 0 && !insertionAllowed(spansIn(start, e.to - 1, e.to + 1), e.to, length, author)) {
      author.onBlocked?.()
      return []
    }
  }
  const userEvent = tr.annotation(Transaction.userEvent) ?? 'input'
  if (!start.field(suggestingField)) {
    // Plain: the edit as typed; inserted text is plain whatever surrounds it.
    const runs: TextSpan[] = []
    tr.changes.iterChanges((_fa, _ta, fromB, toB) => {
      if (toB > fromB) runs.push({ from: fromB, to: toB, suggestion: null })
    })
    return {
      changes: tr.changes,
      selection: tr.selection,
      effects: [...tr.effects, setSuggestionRuns.of(runs)],
      annotations: [ySyncAnnotation.of(conf), localEdit.of({ kind: 'plain', changes: edits }), Transaction.userEvent.of(userEvent)],
      scrollIntoView: tr.scrollIntoView,
    }
  }
  const plans: Array<{ plan: SuggestedEditPlan; spans: TextSpan[] }> = []
  const specs: ChangeSpec[] = []
  const at = Date.now()
  for (const e of edits) {
    const spans = spansIn(start, e.from - 1, e.to + 1)
    const plan = planSuggestedEdit(spans, e.from, e.to, e.insert, author, () => ({ id: newSuggestionId(), at }))
    if (!plan) continue
    plans.push({ plan, spans })
    for (const r of plan.remove) specs.push({ from: r.from, to: r.to })
    if (plan.insert) specs.push({ from: plan.at, insert: plan.insert })
  }
  const changes = ChangeSet.of(specs, length)
  const runs: TextSpan[] = []
  let cursor = tr.changes.mapPos(tr.startState.selection.main.head, 1)
  for (const { plan } of plans) {
    const del: Suggestion = { ...plan.suggestion, kind: 'del' }
    for (const m of plan.mark) runs.push({ from: changes.mapPos(m.from, 1), to: changes.mapPos(m.to, -1), suggestion: del })
    const insertFrom = changes.mapPos(plan.at, -1)
    if (plan.insert) runs.push({ from: insertFrom, to: insertFrom + plan.insert.length, suggestion: plan.suggestion })
    // Where the caret goes: after what was typed; before text struck backwards, after text struck forwards.
    const first = plan.mark[0]?.from ?? plan.remove[0]?.from ?? plan.at
    if (plan.insert) cursor = insertFrom + plan.insert.length
    else if (userEvent.startsWith('delete.backward')) cursor = changes.mapPos(first, -1)
    else cursor = changes.mapPos(plan.at, 1)
  }
  return {
    changes,
    selection: EditorSelection.cursor(cursor),
    effects: [...tr.effects, setSuggestionRuns.of(runs)],
    annotations: [ySyncAnnotation.of(conf), localEdit.of({ kind: 'suggest', plans }), Transaction.userEvent.of(userEvent)],
    scrollIntoView: true,
  }
}

const suggestionOfAttributes = (attributes: Record<string, unknown> | undefined): Suggestion | null => {
  const s = attributes?.[SUGGESTION_KEY]
  return s && typeof s === 'object' ? (s as Suggestion) : null
}

/** Writes local edits to the Y.Text: before y-codemirror.next's plugins, whose remote carets read the Y.Text. */
class LocalEditWriter {
  private readonly conf: YSyncConfig

  constructor(view: EditorView) {
    this.conf = view.state.facet(ySyncFacet)
  }

  update(update: ViewUpdate): void {
    const ytext = this.conf.ytext
    for (const tr of update.transactions) {
      const edit = tr.annotation(localEdit)
      if (!edit) continue
      Y.transact(
        ytext.doc!,
        () => {
          if (edit.kind === 'plain') {
            // From the end, so earlier positions hold.
            for (const c of [...edit.changes].reverse()) applyPlainEdit(ytext, c.from, c.to, c.insert)
          } else {
            for (const { plan, spans } of [...edit.plans].reverse()) applySuggestedEdit(ytext, plan, spans)
          }
        },
        this.conf,
      )
    }
  }
}

/** Marks remote text by its suggestion: after y-codemirror.next's observer, which has put the text in by then. */
class RemoteSuggestionRuns {
  private readonly conf: YSyncConfig
  private readonly observer: (event: Y.YTextEvent, tr: Y.Transaction) => void

  constructor(view: EditorView) {
    this.conf = view.state.facet(ySyncFacet)
    this.observer = (event, tr) => {
      if (tr.origin === this.conf) return
      const runs: TextSpan[] = []
      let pos = 0
      for (const d of event.delta as Array<{ insert?: unknown; delete?: number; retain?: number; attributes?: Record<string, unknown> }>) {
        if (typeof d.insert === 'string') {
          runs.push({ from: pos, to: pos + d.insert.length, suggestion: suggestionOfAttributes(d.attributes) })
          pos += d.insert.length
        } else if (d.retain !== undefined) {
          if (d.attributes && SUGGESTION_KEY in d.attributes) runs.push({ from: pos, to: pos + d.retain, suggestion: suggestionOfAttributes(d.attributes) })
          pos += d.retain
        }
      }
      // Plain text among no suggestions changes no mark: no transaction for it.
      const marked = view.state.field(suggestionField).size > 0 || runs.some((r) => r.suggestion !== null)
      if (marked) view.dispatch({ effects: setSuggestionRuns.of(runs), annotations: ySyncAnnotation.of(this.conf) })
    }
    this.conf.ytext.observe(this.observer)
  }

  destroy(): void {
    this.conf.ytext.unobserve(this.observer)
  }
}

/**
 * Around yCollab(…): `before` goes ahead of it (local edits reach the Y.Text before its remote carets
 * read it), `after` behind it (its observer puts remote text in before this one marks it).
 */
export const termSync = (author: TermAuthor): { before: Extension; after: Extension } => ({
  before: [termAuthor.of(author), suggestingField, EditorState.transactionFilter.of(routeLocalEdit), ViewPlugin.fromClass(LocalEditWriter)],
  after: ViewPlugin.fromClass(RemoteSuggestionRuns),
})

/**
 * Suggestions as the editor shows them: a decoration per run of suggested
 * text, set from the Y.Text's format attributes and kept in step with every
 * change in between (no pass over the whole text per keystroke). The same set
 * answers Suggest mode's question "what is this stretch of text?"
 * (`spansIn`), feeds the panel's list of suggestions, and shows who and when
 * on hover with Accept / Reject.
 */
import { Facet, StateEffect, StateField, type EditorState } from '@codemirror/state'
import { Decoration, EditorView, hoverTooltip, type DecorationSet } from '@codemirror/view'
import { sameSuggestion, type Suggestion } from '../../../../shared/suggestions'
import type { TextSpan } from '../../../../shared/suggestEdit'
import { formatDateTime } from '../i18n/format'
import { m } from '../../paraglide/messages'

/** How suggestions are drawn and decided here: names and colours of parties, and what this person may do. */
export interface SuggestionView {
  partyName(party: string): string
  partyColor(party: string): string
  /** null when this person decides nothing (observers, reviewers, a locked term) */
  decide: ((id: string, accept: boolean) => void) | null
  /** may this person accept this one (another party's); their own they withdraw */
  mayAccept(s: Suggestion): boolean
}

export const suggestionView = Facet.define<SuggestionView, SuggestionView | null>({
  combine: (values) => values[values.length - 1] ?? null,
})

/** Runs of text whose suggestion is now `suggestion` (null: plain), in the document after the transaction. */
export const setSuggestionRuns = StateEffect.define<readonly TextSpan[]>()

const when = (at: number): string => formatDateTime(at, { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' })

function describe(s: Suggestion, view: SuggestionView | null): string {
  const who = `${view?.partyName(s.party) ?? s.party} (${s.user})`
  return s.kind === 'ins'
    ? m.editor_suggested_insertion({ who, when: when(s.at) })
    : m.editor_suggested_removal({ who, when: when(s.at) })
}

function decorationOf(s: Suggestion, view: SuggestionView | null): Decoration {
  return Decoration.mark({
    class: s.kind === 'ins' ? 'cm-sugg cm-sugg-ins' : 'cm-sugg cm-sugg-del',
    attributes: {
      style: `--sugg: ${view?.partyColor(s.party) ?? '#667080'}`,
      title: describe(s, view),
      'data-suggestion-id': s.id,
      'data-suggestion-kind': s.kind,
      'data-party': s.party,
    },
    suggestion: s,
  })
}

const suggestionOf = (d: Decoration): Suggestion => (d.spec as { suggestion: Suggestion }).suggestion

function applyRuns(set: DecorationSet, runs: readonly TextSpan[], view: SuggestionView | null): DecorationSet {
  for (const run of runs) {
    if (run.to <= run.from) continue
    let from = run.from
    let to = run.to
    // What lies partly outside the run keeps its outside part; the same suggestion right beside it joins it.
    const keep: Array<ReturnType<Decoration['range']>> = []
    set.between(from - 1, to + 1, (f, t, deco) => {
      const s = suggestionOf(deco)
      if (run.suggestion && sameSuggestion(s, run.suggestion) && t >= run.from && f <= run.to) {
        from = Math.min(from, f)
        to = Math.max(to, t)
        return
      }
      if (t <= run.from || f >= run.to) return // touching, not overlapping: kept by the filter below
      if (f < run.from) keep.push(deco.range(f, run.from))
      if (t > run.to) keep.push(deco.range(run.to, t))
    })
    const add = [...keep]
    if (run.suggestion) add.push(decorationOf(run.suggestion, view).range(from, to))
    add.sort((a, b) => a.from - b.from)
    set = set.update({
      filter: (f, t) => t <= from || f >= to,
      filterFrom: from,
      filterTo: to,
      add,
    })
  }
  return set
}

export const suggestionField = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(set, tr) {
    let next = set.map(tr.changes)
    for (const e of tr.effects) if (e.is(setSuggestionRuns)) next = applyRuns(next, e.value, tr.startState.facet(suggestionView))
    return next
  },
  provide: (f) => EditorView.decorations.from(f),
})

/** The suggestion of every character in [from, to) as spans (plain stretches included), clipped to the text. */
export function spansIn(state: EditorState, from: number, to: number): TextSpan[] {
  const a = Math.max(0, from)
  const b = Math.min(state.doc.length, to)
  const spans: TextSpan[] = []
  let pos = a
  state.field(suggestionField).between(a, b, (f, t, deco) => {
    const s = Math.max(f, a)
    const e = Math.min(t, b)
    if (e <= s) return
    if (s > pos) spans.push({ from: pos, to: s, suggestion: null })
    spans.push({ from: s, to: e, suggestion: suggestionOf(deco) })
    pos = e
  })
  if (pos < b) spans.push({ from: pos, to: b, suggestion: null })
  return spans
}

/** One suggestion as the panel lists it: its runs' text gathered. */
export interface PendingSuggestion {
  id: string
  party: string
  user: string
  at: number
  inserted: string
  removed: string
  /** where its first run starts: the list follows the text */
  from: number
}

export function pendingSuggestions(state: EditorState): PendingSuggestion[] {
  const byId = new Map<string, PendingSuggestion>()
  const iter = state.field(suggestionField).iter()
  for (; iter.value; iter.next()) {
    const s = suggestionOf(iter.value)
    let p = byId.get(s.id)
    if (!p) byId.set(s.id, (p = { id: s.id, party: s.party, user: s.user, at: s.at, inserted: '', removed: '', from: iter.from }))
    const text = state.doc.sliceString(iter.from, iter.to)
    if (s.kind === 'ins') p.inserted += text
    else p.removed += text
  }
  return [...byId.values()].sort((a, b) => a.from - b.from)
}

/** Who suggested it and when, with Accept / Reject for whoever may decide it. */
const suggestionTooltip = hoverTooltip((view, pos, side) => {
  let found: { from: number; to: number; s: Suggestion } | null = null
  view.state.field(suggestionField).between(pos, pos, (from, to, deco) => {
    if ((from < pos || (from === pos && side > 0)) && (to > pos || (to === pos && side < 0)))
      found = { from, to, s: suggestionOf(deco) }
  })
  if (!found) return null
  const { from, to, s } = found as { from: number; to: number; s: Suggestion }
  const cfg = view.state.facet(suggestionView)
  return {
    pos: from,
    end: to,
    above: true,
    create: () => {
      const dom = document.createElement('div')
      dom.className = 'cm-sugg-tip'
      const text = document.createElement('p')
      text.textContent = describe(s, cfg)
      dom.append(text)
      if (cfg?.decide) {
        const row = document.createElement('div')
        row.className = 'cm-sugg-actions'
        const button = (label: string, accept: boolean) => {
          const b = document.createElement('button')
          b.type = 'button'
          b.textContent = label
          b.onclick = () => cfg.decide?.(s.id, accept)
          row.append(b)
        }
        const theirs = cfg.mayAccept(s)
        if (theirs) button(m.editor_suggestion_accept(), true)
        button(theirs ? m.editor_suggestion_reject() : m.editor_suggestion_withdraw(), false)
        dom.append(row)
      }
      return { dom }
    },
  }
})

const suggestionTheme = EditorView.baseTheme({
  '.cm-sugg': { borderRadius: '2px' },
  '.cm-sugg-ins': {
    color: 'var(--sugg)',
    textDecoration: 'underline',
    textDecorationThickness: '2px',
    textUnderlineOffset: '3px',
    backgroundColor: 'color-mix(in srgb, var(--sugg) 9%, transparent)',
  },
  '.cm-sugg-del': {
    color: 'color-mix(in srgb, var(--sugg) 80%, black)',
    textDecoration: 'line-through',
    textDecorationThickness: '2px',
    backgroundColor: 'color-mix(in srgb, var(--sugg) 6%, transparent)',
  },
  '.cm-sugg-tip': { padding: '6px 8px', fontFamily: 'var(--font-ui)', fontSize: '12px', maxWidth: '280px' },
  '.cm-sugg-tip p': { margin: '0 0 4px' },
  '.cm-sugg-actions': { display: 'flex', gap: '6px' },
  '.cm-sugg-actions button': {
    font: 'inherit',
    fontWeight: '600',
    padding: '2px 10px',
    borderRadius: '4px',
    border: '1px solid var(--gray-300)',
    background: 'var(--gray-0)',
    cursor: 'pointer',
  },
})

export const suggestionMarks = [suggestionField, suggestionTooltip, suggestionTheme]

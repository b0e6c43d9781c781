/**
 * Suggestions (CONTRACT.md "Suggestions and authorship"): tracked changes
 * inside a term's title or body. Suggested insertions carry the format
 * attribute `suggestion: {id, kind: 'ins', party, user, at}`; text suggested
 * for removal stays in place carrying `suggestion: {id, kind: 'del', …}`. The
 * server checks every such attribute against the writing connection
 * (server/sync/updateChecks.ts): nobody suggests in another's name.
 */
import * as Y from 'yjs'

export const SUGGESTION_KEY = 'suggestion'

export interface Suggestion {
  id: string
  kind: 'ins' | 'del'
  party: string
  user: string
  at: number
}

const SUGGESTION_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/

/**
 * Checked by hand rather than with zod: the board's layout (shared/docLayout.ts) is in the client's
 * first bundle, and zod probes `new Function` when it loads — a violation of the client's
 * Content-Security-Policy (script-src 'self', no eval).
 */
function isSuggestion(v: unknown): v is Suggestion {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false
  const s = v as Record<string, unknown>
  return (
    typeof s.id === 'string' &&
    SUGGESTION_ID.test(s.id) &&
    (s.kind === 'ins' || s.kind === 'del') &&
    typeof s.party === 'string' &&
    s.party.length <= 64 &&
    typeof s.user === 'string' &&
    s.user.length <= 256 &&
    typeof s.at === 'number' &&
    Number.isFinite(s.at)
  )
}

/** A suggestion attribute's JSON value as written in an update: the suggestion, `null` (its end), or invalid. */
export function parseSuggestionJson(json: string): Suggestion | null | 'invalid' {
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    return 'invalid'
  }
  if (value === null) return null
  return isSuggestion(value) ? value : 'invalid'
}

/** The layout check's judgement of a formatting attribute in a term's title or body: only well-formed suggestions. */
export const isSuggestionFormat = (key: string, json: string): boolean =>
  key === SUGGESTION_KEY && parseSuggestionJson(json) !== 'invalid'

/** Yjs marks a Y.Text once any formatting was ever inserted into it; until then its text holds no suggestion. */
export const mayHoldSuggestions = (t: Y.Text): boolean => (t as unknown as { _hasFormatting?: boolean })._hasFormatting !== false

const suggestionOf = (attributes: unknown): Suggestion | null => {
  const s = (attributes as Record<string, unknown> | undefined)?.[SUGGESTION_KEY]
  return s && typeof s === 'object' ? (s as Suggestion) : null
}

/** A stored attribute value as a suggestion, or null for anything else (its end, or a malformed one from an older store). */
export const asSuggestion = (value: unknown): Suggestion | null => (isSuggestion(value) ? value : null)

/** One stretch of a text, in order: its characters and the suggestion they carry (null: plain text). */
export interface SuggestionPiece {
  text: string
  suggestion: Suggestion | null
}

/**
 * A text as stretches of plain and suggested characters, in order (their
 * `text`s joined are `t.toString()`): what a reader needs to draw the
 * suggestions. A text that never held formatting is one plain piece, read
 * without building a delta.
 */
export function suggestionPieces(t: Y.Text): SuggestionPiece[] {
  if (!mayHoldSuggestions(t)) {
    const text = t.toString()
    return text ? [{ text, suggestion: null }] : []
  }
  const out: SuggestionPiece[] = []
  for (const op of t.toDelta() as Array<{ insert?: unknown; attributes?: unknown }>) {
    if (typeof op.insert !== 'string' || op.insert === '') continue
    const suggestion = asSuggestion((op.attributes as Record<string, unknown> | undefined)?.[SUGGESTION_KEY])
    const last = out[out.length - 1]
    if (last && sameSuggestion(last.suggestion, suggestion)) last.text += op.insert
    else out.push({ text: op.insert, suggestion })
  }
  return out
}

/** A term's field as pieces, as the layout's readers see it: a Y.Text with its suggestions, a string (older stores) plain. */
export const fieldPieces = (v: unknown): SuggestionPiece[] =>
  v instanceof Y.Text ? suggestionPieces(v) : typeof v === 'string' && v ? [{ text: v, suggestion: null }] : []

/**
 * Walks stretches of a text (`runs`, read by `textOf`) alongside the pieces of that same text, in order:
 * `each` gets every part of a run that lies within one piece, with that piece's suggestion. Runs that
 * `counts` leaves out stand outside the text (e.g. a redline's removed runs against the text at its end)
 * and go to `each` whole, with no piece. The caller makes sure both spell the same text.
 */
export function alongPieces<R>(
  runs: readonly R[],
  textOf: (run: R) => string,
  pieces: readonly SuggestionPiece[],
  each: (run: R, text: string, piece: SuggestionPiece | null) => void,
  counts: (run: R) => boolean = () => true,
): void {
  let i = 0 // the piece
  let offset = 0 // characters of it already used
  for (const run of runs) {
    const text = textOf(run)
    if (!counts(run)) {
      each(run, text, null)
      continue
    }
    let at = 0
    while (at < text.length) {
      const piece = pieces[i]!
      const take = Math.min(piece.text.length - offset, text.length - at)
      each(run, text.slice(at, at + take), piece)
      at += take
      offset += take
      if (offset === piece.text.length) {
        i++
        offset = 0
      }
    }
  }
}

/** Pieces read as the text with every pending suggestion rejected (as `textWithoutSuggestions` reads a Y.Text). */
export const withoutSuggestions = (pieces: readonly SuggestionPiece[]): string =>
  pieces
    .filter((p) => p.suggestion?.kind !== 'ins')
    .map((p) => p.text)
    .join('')

/** Pieces read as the text with every pending suggestion accepted: what the suggesters propose. */
export const withSuggestionsAccepted = (pieces: readonly SuggestionPiece[]): string =>
  pieces
    .filter((p) => p.suggestion?.kind !== 'del')
    .map((p) => p.text)
    .join('')

/** The same suggestion (or both plain): the same id and kind (one id names one suggestion of one kind). */
export const sameSuggestion = (a: Suggestion | null | undefined, b: Suggestion | null | undefined): boolean =>
  (a ?? null) === (b ?? null) || (!!a && !!b && a.id === b.id && a.kind === b.kind)

/**
 * A term's text with every pending suggestion rejected — suggested insertions
 * left out, text suggested for removal kept: what its hash is over (CONTRACT.md).
 * A text that never held formatting is read as it is (no delta is built).
 */
export function textWithoutSuggestions(t: Y.Text): string {
  if (!mayHoldSuggestions(t)) return t.toString()
  let out = ''
  for (const op of t.toDelta() as Array<{ insert?: unknown; attributes?: unknown }>) {
    if (typeof op.insert !== 'string') continue
    if (suggestionOf(op.attributes)?.kind === 'ins') continue
    out += op.insert
  }
  return out
}

/** True when the text holds a suggestion not yet accepted or rejected. */
export function hasPendingSuggestions(t: Y.Text): boolean {
  if (!mayHoldSuggestions(t)) return false
  return (t.toDelta() as Array<{ attributes?: unknown }>).some((op) => suggestionOf(op.attributes) !== null)
}

/** How many suggestions (distinct ids) a text holds; no delta is built for a text that never held formatting. */
export function pendingSuggestionCount(t: Y.Text): number {
  if (!mayHoldSuggestions(t)) return 0
  const ids = new Set<string>()
  for (const op of t.toDelta() as Array<{ attributes?: unknown }>) {
    const s = suggestionOf(op.attributes)
    if (s) ids.add(s.id)
  }
  return ids.size
}

/** The runs of one suggestion in a text, by position, with the suggestion itself. */
export function suggestionRuns(t: Y.Text, id: string): Array<{ index: number; length: number; suggestion: Suggestion }> {
  const runs: Array<{ index: number; length: number; suggestion: Suggestion }> = []
  if (!mayHoldSuggestions(t)) return runs
  let index = 0
  for (const op of t.toDelta() as Array<{ insert?: unknown; attributes?: unknown }>) {
    const length = typeof op.insert === 'string' ? op.insert.length : 1
    const s = suggestionOf(op.attributes)
    if (s && s.id === id) runs.push({ index, length, suggestion: s })
    index += length
  }
  return runs
}

/**
 * Decides one suggestion in a text (inside the caller's transaction):
 * accepting keeps an insertion (its mark removed) and carries out a removal;
 * rejecting takes an insertion out and keeps the text marked for removal.
 * Returns false when the text holds no such suggestion.
 */
export function decideSuggestion(t: Y.Text, id: string, accept: boolean): boolean {
  const runs = suggestionRuns(t, id)
  // From the end, so earlier positions stay where they are.
  for (const run of [...runs].reverse()) {
    const remove = run.suggestion.kind === 'ins' ? !accept : accept
    if (remove) t.delete(run.index, run.length)
    else t.format(run.index, run.length, { [SUGGESTION_KEY]: null })
  }
  return runs.length > 0
}

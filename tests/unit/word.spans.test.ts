/**
 * [WX11]–[WX12] How the Word export decides what is a tracked change
 * (server/word/redlineSpans.ts) when suggestions come and go within a
 * redline's window, and that the written file resolves to the two ends
 * (Accept all: the sheet at `to`; Reject all: the sheet at `from`) in both
 * ways of showing pending suggestions.
 */
import { describe, expect, it } from 'vitest'
import type { Suggestion, SuggestionPiece } from '../../shared/suggestions'
import type { RowSeg } from '../../server/history/redline'
import { fieldSpans, fromText, sheetText, type Span, type Who } from '../../server/word/redlineSpans'
import { writeDocx, type SuggestionMode } from '../../server/word/docxWriter'
import { readDocx, resolveAll, revisions, termsOf } from '../helpers/docxRevisions'

const AT = Date.UTC(2026, 0, 12, 10)
const S45: Suggestion = { id: 's-45', kind: 'ins', party: 'us', user: 'J. Carter', at: AT }
const S30: Suggestion = { id: 's-30', kind: 'del', party: 'us', user: 'J. Carter', at: AT }
const ROWS: Record<number, Who> = {
  7: { party: 'ru', user: 'A. Volkova', at: AT + 60_000 },
  8: { party: 'us', user: 'J. Carter', at: AT + 120_000 },
}
const authorOf = (seq: number | undefined, party: string | null): Who => ROWS[seq ?? 0] ?? { party, user: '?', at: NaN }
const PENDING: SuggestionPiece[] = [
  { text: 'Requests are answered within ', suggestion: null },
  { text: '45', suggestion: S45 },
  { text: '30', suggestion: S30 },
  { text: ' days.', suggestion: null },
]
const eq = (text: string, suggestion?: Suggestion): RowSeg => (suggestion ? { op: 'eq', text, suggestion } : { op: 'eq', text })

async function resolved(spans: Span[], mode: SuggestionMode) {
  const bytes = await writeDocx({
    title: 'T',
    notes: [],
    parties: new Map([
      ['us', 'United States'],
      ['ru', 'Russian Federation'],
    ]),
    suggestions: mode,
    terms: [{ number: 1, title: [{ kind: 'text', text: 'Deadline' }], body: spans, stateLine: 'Proposed.', threads: [] }],
  })
  const doc = await readDocx(bytes)
  return { doc, accept: termsOf(resolveAll(doc, 'accept'))[0]!.body, reject: termsOf(resolveAll(doc, 'reject'))[0]!.body }
}

describe('suggestions across a redline window', () => {
  it('[WX11] accepted in the window: an insertion by its suggester and a deletion by the accepting row; rejected: nothing; pending at both ends: still pending', () => {
    // RU accepted both: "45" lost its mark (eq in the raw redline), "30" was removed by RU's row 7
    const accepted = fieldSpans(
      [eq('Requests are answered within '), eq('45'), { op: 'del', text: '30', party: 'ru', seq: 7 }, eq(' days.')],
      PENDING,
      authorOf,
    )
    expect(accepted).toEqual([
      { kind: 'text', text: 'Requests are answered within ' },
      { kind: 'ins', text: '45', by: { party: 'us', user: 'J. Carter', at: AT } },
      { kind: 'del', text: '30', by: ROWS[7] },
      { kind: 'text', text: ' days.' },
    ])
    expect([fromText(accepted), sheetText(accepted)]).toEqual([
      'Requests are answered within 30 days.',
      'Requests are answered within 45 days.',
    ])

    // US withdrew both: "45" deleted by row 8, "30" plain again — neither sheet ever held "45"
    const withdrawn = fieldSpans(
      [eq('Requests are answered within '), { op: 'del', text: '45', party: 'us', seq: 8 }, eq('30 days.')],
      PENDING,
      authorOf,
    )
    expect(withdrawn).toEqual([{ kind: 'text', text: 'Requests are answered within 30 days.' }])

    const pending = fieldSpans(
      [eq('Requests are answered within '), eq('45', S45), eq('30', S30), eq(' days.')],
      PENDING,
      authorOf,
    )
    expect(pending.map((s) => s.kind)).toEqual(['text', 'suggested', 'suggested', 'text'])
    expect([fromText(pending), sheetText(pending)]).toEqual([
      'Requests are answered within 30 days.',
      'Requests are answered within 30 days.',
    ])

    // text RU typed in the window that US then suggested removing: an insertion, pending removal
    const removal: Suggestion = { ...S30, id: 's-rm' }
    const typed = fieldSpans(
      [eq('within '), { op: 'ins', text: 'thirty ', party: 'ru', seq: 7, suggestion: removal }, eq('days')],
      undefined,
      authorOf,
    )
    expect(typed[1]).toEqual({ kind: 'ins', text: 'thirty ', by: ROWS[7], pendingRemoval: removal })
  })

  it('[WX12] the written file resolves to both ends: comments mode keeps Accept all to the sheet; tracked mode accepts the suggestions too, nested ins/del included', async () => {
    const removal: Suggestion = { ...S30, id: 's-rm' }
    const spans: Span[] = [
      { kind: 'text', text: 'Requests ' },
      { kind: 'ins', text: 'sent ', by: ROWS[7]!, pendingRemoval: removal },
      { kind: 'text', text: 'are answered within ' },
      { kind: 'suggested', text: '45', suggestion: S45 },
      { kind: 'suggested', text: '30', suggestion: S30 },
      { kind: 'del', text: ' calendar', by: ROWS[8]! },
      { kind: 'text', text: ' days.\nUrgent ones' },
      { kind: 'ins', text: ' within a week.\nOthers', by: ROWS[8]! },
      { kind: 'text', text: ' wait.' },
    ]
    const comments = await resolved(spans, 'comments')
    expect(comments.accept).toBe(sheetText(spans))
    expect(comments.reject).toBe(fromText(spans))
    expect(comments.doc.comments.map((c) => [c.author, c.text.split(':')[0]])).toEqual([
      ['United States (J. Carter)', 'Suggested, not accepted yet'],
      ['United States (J. Carter)', 'Suggested, not accepted yet'],
    ])
    expect(comments.doc.comments[1]!.text).toContain('replace “30” with “45”')

    const tracked = await resolved(spans, 'tracked')
    expect(tracked.accept).toBe('Requests are answered within 45 days.\nUrgent ones within a week.\nOthers wait.')
    expect(tracked.reject).toBe(fromText(spans))
    const nested = revisions(tracked.doc).find((r) => r.kind === 'ins+del')!
    expect([nested.text, nested.ins!.author, nested.del!.author]).toEqual([
      'sent ',
      'Russian Federation (A. Volkova)',
      'United States (J. Carter)',
    ])
    // the inserted line end is a tracked paragraph mark in the name of who typed it
    expect(tracked.doc.paragraphs.filter((p) => p.mark.ins).map((p) => p.mark.ins!.author)).toEqual(['United States (J. Carter)'])
  })
})

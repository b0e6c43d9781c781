/**
 * The parts of Word drafts that need no server (issue 16, item 3): which
 * draft term is which board term (server/word/draftMatch.ts), and a text
 * brought to the draft's wording as one author's suggestions
 * (server/yjs/suggestText.ts).
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { matchDraft, textSimilarity, titleKey } from '../../server/word/draftMatch'
import { changedStretches, suggestText } from '../../server/yjs/suggestText'
import { suggestionPieces, textWithoutSuggestions, withSuggestionsAccepted, withoutSuggestions } from '../../shared/suggestions'

const us = { party: 'us', user: 'J. Carter' }

describe('[WD5] matching a draft’s terms to the board’s', () => {
  it('reads titles without numbering, case, quotes, spacing and trailing punctuation', () => {
    for (const t of [
      '1. Response deadline',
      '§3 Response deadline',
      'Article 2 – Response Deadline',
      '“Response  deadline”:',
      'RESPONSE DEADLINE.',
    ])
      expect(titleKey(t)).toBe('response deadline')
    expect(titleKey('1.')).toBe('1')
    expect(titleKey('Article 5')).toBe('article 5')
  })

  it('pairs by title first, in any order, then by place between matched neighbours when the text is similar', () => {
    const board = [
      { title: 'Scope', body: 'Each party extradites persons charged with ransomware attacks.' },
      { title: 'Deadline', body: 'Requests are answered within 30 days.' },
      { title: 'Evidence', body: 'A request includes the charging document.' },
      { title: 'Costs', body: 'Each party bears its own costs.' },
    ]
    const draft = [
      { title: 'Deadline', body: 'Requests are answered within 45 days.' },
      // retitled, same place (before 'Evidence', after 'Deadline'), text similar
      { title: 'Proof required', body: 'A request includes the charging document and statements.' },
      { title: 'Evidence', body: 'x' },
      // a new clause with a fresh title and a text unlike any
      { title: 'Dual criminality', body: 'The conduct is an offence in both parties.' },
    ]
    // 'Evidence' by title takes board 2; 'Proof required' then has no place left between 'Deadline' (1) and 'Evidence' (2).
    expect(matchDraft(board, draft)).toEqual({
      pairs: [
        { board: 1, draft: 0, by: 'title' },
        { board: 2, draft: 2, by: 'title' },
      ],
      newInDraft: [1, 3],
      notInDraft: [0, 3],
    })
    const retitled = [draft[0]!, draft[1]!, board[3]!]
    expect(matchDraft(board, retitled)).toEqual({
      pairs: [
        { board: 1, draft: 0, by: 'title' },
        { board: 2, draft: 1, by: 'place' },
        { board: 3, draft: 2, by: 'title' },
      ],
      newInDraft: [],
      notInDraft: [0],
    })
    // a rewritten clause in the same place is a new term, not the old one
    const rewritten = [board[0]!, { title: 'Time limits', body: 'Extradition hearings begin promptly.' }, board[2]!]
    expect(matchDraft(board, rewritten)).toMatchObject({ newInDraft: [1], notInDraft: [1, 3] })
  })

  it('takes repeated titles in order, and the same words for the same clause', () => {
    const board = [
      { title: 'Notice', body: 'a' },
      { title: 'Notice', body: 'b' },
    ]
    expect(matchDraft(board, board).pairs.map((p) => [p.board, p.draft])).toEqual([
      [0, 0],
      [1, 1],
    ])
    expect(textSimilarity('Within 30 days.', 'within 30 DAYS')).toBe(1)
    expect(textSimilarity('', '')).toBe(1)
    expect(textSimilarity('a b c d', 'a b x y')).toBe(0.5)
  })
})

const textOf = (s: string) => {
  const doc = new Y.Doc()
  const t = doc.getText('body')
  t.insert(0, s)
  return t
}
let n = 0
const fresh = () => ({ id: `w${++n}`, at: 1 })
const proposed = (t: Y.Text) => withSuggestionsAccepted(suggestionPieces(t))
const ruPieces = (t: Y.Text) => suggestionPieces(t).filter((p) => p.suggestion?.party === 'ru')

describe('[WD6] a text brought to a draft’s wording as suggestions', () => {
  it('suggests each changed stretch once, words that only a space parts as one, and no change of spacing alone', () => {
    expect(changedStretches('within 30 days.', 'within 45 weeks.')).toEqual([{ from: 7, to: 14, insert: '45 weeks' }])
    expect(changedStretches('one\n\ntwo  three', 'one\ntwo three')).toEqual([])
    const t = textOf('Requests are answered within 30 days. A request is written.')
    const next = 'All requests are answered within 45 days. A request is written in English.'
    const out = suggestText(t, next, us, fresh)
    expect(out).toEqual({ made: 3, already: 0, blocked: [] })
    expect(textWithoutSuggestions(t)).toBe('Requests are answered within 30 days. A request is written.')
    expect(proposed(t)).toBe(next)
    expect(
      suggestionPieces(t).every(
        (p) => p.suggestion === null || (p.suggestion.party === 'us' && p.suggestion.user === 'J. Carter'),
      ),
    ).toBe(true)
    // the same wording again: already suggested, nothing new
    const delta = JSON.stringify(t.toDelta())
    expect(suggestText(t, next, us, fresh)).toEqual({ made: 0, already: 3, blocked: [] })
    expect(JSON.stringify(t.toDelta())).toBe(delta)
    // rejecting everything gives the text back; suggesting its removal strikes the rest
    expect(suggestText(t, '', us, fresh).made).toBe(1)
    expect(proposed(t)).toBe('')
    expect(withoutSuggestions(suggestionPieces(t))).toBe('Requests are answered within 30 days. A request is written.')
  })

  it('a word diff that runs out of time is one suggestion from the first difference to the last', () => {
    const words = (n: number, step: number) => Array.from({ length: n }, (_, i) => `w${(i * step) % 997}`).join(' ')
    const [a, b] = [`Head. ${words(3000, 7)} Tail.`, `Head. ${words(3000, 13)} Tail.`]
    const stretches = changedStretches(a, b, 1)
    expect(stretches).toHaveLength(1)
    expect(a.slice(0, stretches[0]!.from)).toMatch(/^Head\. w/)
    const t = textOf(a)
    expect(suggestText(t, b, us, fresh, 1).made).toBe(1)
    expect(proposed(t)).toBe(b)
    expect(textWithoutSuggestions(t)).toBe(a)
  })

  it('leaves a stretch that touches another delegation’s pending suggestion alone, and their suggestion as it was', () => {
    const t = textOf('Requests are answered within 30 days.')
    const ru = (kind: 'ins' | 'del') => ({ suggestion: { id: 'r1', kind, party: 'ru', user: 'A. Volkova', at: 1 } })
    t.format(29, 2, ru('del'))
    t.insert(31, '60', ru('ins'))
    const before = ruPieces(t)
    const out = suggestText(t, 'All requests are answered within 45 days, in writing.', us, fresh)
    expect(out.made).toBe(2)
    expect(out.blocked.map((b) => [b.text, b.by.party])).toEqual([['30', 'ru']])
    expect(ruPieces(t)).toEqual(before)
    // theirs accepted with ours: their 60, our other words
    expect(proposed(t)).toBe('All requests are answered within 60 days, in writing.')
  })
})

/**
 * Redline building blocks (server/history/redline.ts) and one-line summaries
 * (server/history/summary.ts), as pure functions; and a reported case
 * (issue 11, item 14) end to end through the history stack, so the credit a
 * reader sees is the one the log's Yjs client ids give.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { board } from '../../shared/docLayout'
import { RangeMarks, wordSegs, type Run } from '../../server/history/redline'
import { describeChange, summarize } from '../../server/history/summary'
import { startHistoryStack } from '../helpers/historyStack'

const eq = (text: string): Run => ({ op: 'eq', text, party: null, seq: 0 })
const del = (text: string, party: string, seq: number): Run => ({ op: 'del', text, party, seq })
const ins = (text: string, party: string, seq: number): Run => ({ op: 'ins', text, party, seq })

describe('RangeMarks', () => {
  it('[HR1] the first row to cover an id range keeps it; pieces split at every boundary', () => {
    const m = new RangeMarks()
    const a = { seq: 1, party: 'us' }
    const b = { seq: 2, party: 'ru' }
    m.add(7, 10, 5, a) // 10..14
    m.add(7, 12, 6, b) // 12..17: only 15..17 is new
    m.add(7, 0, 3, b) // 0..2
    expect(m.pieces(7, 0, 20)).toEqual([
      { start: 0, end: 3, mark: b },
      { start: 3, end: 10 },
      { start: 10, end: 15, mark: a },
      { start: 15, end: 18, mark: b },
      { start: 18, end: 20 },
    ])
    expect(m.first(7, 16)).toBe(b)
    expect(m.first(7, 5)).toBeUndefined()
    expect(m.first(8, 0)).toBeUndefined()
  })
})

describe('wordSegs: word-level redlines from attributed character runs', () => {
  it('[HR2] whole words, each change with its delegation', () => {
    expect(wordSegs([eq('within '), del('30', 'ru', 5), ins('45', 'ru', 5), eq(' days.')])).toEqual([
      { op: 'eq', text: 'within ' },
      { op: 'del', text: '30', party: 'ru' },
      { op: 'ins', text: '45', party: 'ru' },
      { op: 'eq', text: ' days.' },
    ])
  })

  it('[HR3] a word changed in part is shown whole: the old word removed, the new one written', () => {
    expect(wordSegs([eq('within 3'), del('0', 'us', 3), ins('5', 'us', 3), eq(' days')])).toEqual([
      { op: 'eq', text: 'within ' },
      { op: 'del', text: '30', party: 'us' },
      { op: 'ins', text: '35', party: 'us' },
      { op: 'eq', text: ' days' },
    ])
  })

  it("[HR4] a word two delegations wrote keeps each character's writer; what the widening pulls in takes the word's latest change", () => {
    // ru typed "45", then us replaced the 5 with a 0: the 4 is still ru's
    expect(wordSegs([eq('within '), del('30', 'ru', 4), ins('4', 'ru', 4), ins('0', 'us', 9), eq(' days')])).toEqual([
      { op: 'eq', text: 'within ' },
      { op: 'del', text: '30', party: 'ru' },
      { op: 'ins', text: '4', party: 'ru' },
      { op: 'ins', text: '0', party: 'us' },
      { op: 'eq', text: ' days' },
    ])
    // ru removed the 0, us typed the 5: the untouched 3 goes with the change on its side
    expect(wordSegs([eq('within 3'), del('0', 'ru', 4), ins('5', 'us', 6), eq(' days')])).toEqual([
      { op: 'eq', text: 'within ' },
      { op: 'del', text: '30', party: 'ru' },
      { op: 'ins', text: '35', party: 'us' },
      { op: 'eq', text: ' days' },
    ])
    // a word only written to: the struck old form goes to its writer
    expect(wordSegs([eq('request'), ins('s', 'ru', 4), eq(' are')])).toEqual([
      { op: 'del', text: 'request', party: 'ru' },
      { op: 'ins', text: 'requests', party: 'ru' },
      { op: 'eq', text: ' are' },
    ])
  })

  it('[HR5] text deleted and typed again identically is no change; insertions at word boundaries stay pure', () => {
    expect(wordSegs([eq('equal'), del(' and reciprocal.', 'us', 3), ins(' and reciprocal.', 'ru', 4)])).toEqual([
      { op: 'eq', text: 'equal and reciprocal.' },
    ])
    expect(wordSegs([ins('Urgent ', 'us', 2), eq('requests are answered.')])).toEqual([
      { op: 'ins', text: 'Urgent ', party: 'us' },
      { op: 'eq', text: 'requests are answered.' },
    ])
  })

  it('[HR6] runs of several delegations stay apart; Cyrillic and Arabic words are words', () => {
    expect(wordSegs([eq('Срок '), ins('ответа ', 'ru', 2), ins('خلال 30 يومًا', 'us', 3)])).toEqual([
      { op: 'eq', text: 'Срок ' },
      { op: 'ins', text: 'ответа ', party: 'ru' },
      { op: 'ins', text: 'خلال 30 يومًا', party: 'us' },
    ])
  })

  it('[HR7] the opening draft (no party) is written without one', () => {
    expect(wordSegs([ins('Scope of the treaty', null as unknown as string, 1)])).toEqual([
      { op: 'ins', text: 'Scope of the treaty' },
    ])
    expect(wordSegs([])).toEqual([])
  })

  it('[HR11] credit never crosses whitespace or punctuation: a word is widened only by changes inside it', () => {
    expect(wordSegs([eq('answered'), ins(' within 60 days.', 'a', 3), ins(' Extensions.', 'b', 4)])).toEqual([
      { op: 'eq', text: 'answered' },
      { op: 'ins', text: ' within 60 days.', party: 'a' },
      { op: 'ins', text: ' Extensions.', party: 'b' },
    ])
    // b's word is glued to a's full stop: the stop stays a's, and a's "days" is not b's either
    expect(wordSegs([eq('answered'), ins(' within 60 days.', 'a', 3), ins('Extensions', 'b', 4)])).toEqual([
      { op: 'eq', text: 'answered' },
      { op: 'ins', text: ' within 60 days.', party: 'a' },
      { op: 'ins', text: 'Extensions', party: 'b' },
    ])
    expect(wordSegs([eq('both parties'), ins(' at the time of the request', 'us', 5), eq('.')])).toEqual([
      { op: 'eq', text: 'both parties' },
      { op: 'ins', text: ' at the time of the request', party: 'us' },
      { op: 'eq', text: '.' },
    ])
    // a typed-in part of an untouched word widens that word only
    expect(wordSegs([eq('equal and recip'), ins('XY', 'b', 7), eq('rocal.')])).toEqual([
      { op: 'eq', text: 'equal and ' },
      { op: 'del', text: 'reciprocal', party: 'b' },
      { op: 'ins', text: 'recipXYrocal', party: 'b' },
      { op: 'eq', text: '.' },
    ])
  })

  it('[HR12] text retyped identically within a changed stretch reads as no change, the rest keeps its own credit', () => {
    // us cleared the sentence, ru typed it back with one word changed
    expect(wordSegs([eq('Obligations are '), del('equal and reciprocal.', 'us', 3), ins('equal and binding.', 'ru', 4)])).toEqual(
      [
        { op: 'eq', text: 'Obligations are equal and ' },
        { op: 'del', text: 'reciprocal', party: 'us' },
        { op: 'ins', text: 'binding', party: 'ru' },
        { op: 'eq', text: '.' },
      ],
    )
    // Cyrillic: the shared letters of two different words do not make a half-kept word
    expect(wordSegs([eq('Срок '), del('ответа', 'ru', 3), ins('рассмотрения', 'us', 4)])).toEqual([
      { op: 'eq', text: 'Срок ' },
      { op: 'del', text: 'ответа', party: 'ru' },
      { op: 'ins', text: 'рассмотрения', party: 'us' },
    ])
  })
})

describe('long unchanged stretches', () => {
  it('[HR16] a long term with one word changed: the unchanged text on either side stays whole, the word is widened', () => {
    const head = 'Each party shall extradite persons charged with ransomware offences. '.repeat(300) + 'Within '
    const tail = ' days of a request, unless the requested party refuses in writing. '.repeat(300)
    const segs = wordSegs([
      { op: 'eq', text: head + '3', party: null, seq: 0 },
      { op: 'del', text: '0', party: 'ru', seq: 7 },
      { op: 'ins', text: '5', party: 'us', seq: 8 },
      { op: 'eq', text: tail, party: null, seq: 0 },
    ])
    expect(segs).toEqual([
      { op: 'eq', text: head },
      { op: 'del', text: '30', party: 'ru' },
      { op: 'ins', text: '35', party: 'us' },
      { op: 'eq', text: tail },
    ])
  })
})

describe('summaries', () => {
  const body = (a: string, b: string) => describeChange({ title: 't', body: a }, { title: 't', body: b })

  it('[HR8] "30 → 45 days": the changed words, with the next word for a one-word change', () => {
    expect(body('Requests are answered within 30 days.', 'Requests are answered within 45 days.')).toBe('30 → 45 days')
    expect(body('within 30 days.', 'within 35 days.')).toBe('30 → 35 days')
    expect(body('Obligations are equal.', 'All Obligations are equal.')).toBe('added “All”')
    expect(body('the big fox', 'the fox')).toBe('removed “big”')
    expect(body('a summary of the evidence', 'a summary of the evidence and the victims’ statements')).toBe(
      'added “and the victims’ statements”',
    )
    // punctuation is not part of a word: text added before a full stop is an addition
    expect(body('a summary of the evidence.', 'a summary of the evidence and the victims’ statements.')).toBe(
      'added “and the victims’ statements”',
    )
    expect(body('within thirty days.', 'within thirty-five days.')).toBe('thirty → thirty-five days')
    expect(body('equal and reciprocal.', 'equal, reciprocal and binding.')).toBe(
      'equal and reciprocal → equal, reciprocal and binding',
    )
    expect(describeChange({ title: 'Old', body: 'x' }, { title: 'New', body: 'x' })).toBe('Old → New')
    expect(body('same', 'same')).toBeNull()
  })

  it('[HR15] an edit in several places is counted, not quoted as one span from the first change to the last', () => {
    const before = 'Each party shall extradite persons charged with ransomware offences within 30 days of a request.'
    const after =
      'Each party shall promptly extradite persons charged with ransomware offences within 45 days of a written request.'
    expect(body(before, after)).toBe('added 3 words and removed 1 in 3 places')
    const far = 'Requests are answered within thirty days by the central authority of the requested party.'
    expect(body(far, far.replace('thirty ', '').replace('requested ', ''))).toBe('removed 2 words in 2 places')
    // one place, or two close together, keep the quoted form
    expect(body('within 30 days.', 'within 45 days.')).toBe('30 → 45 days')
    expect(body('equal and reciprocal.', 'equal, reciprocal and binding.')).toBe(
      'equal and reciprocal → equal, reciprocal and binding',
    )
  })

  it('[HR9] one line per kind of version', () => {
    const s = (kind: Parameters<typeof summarize>[0]['kind'], extra = {}) =>
      summarize({ kind, partyName: 'Russian Federation', titles: ['Equal obligations'], ...extra })
    expect(s('accept')).toBe("Russian Federation accepted 'Equal obligations'")
    expect(s('agree')).toBe("'Equal obligations' agreed by all parties")
    expect(s('reject', { reason: 'Too vague.' })).toBe("Russian Federation rejected 'Equal obligations': Too vague.")
    expect(s('withdraw')).toBe("Russian Federation withdrew 'Equal obligations'")
    expect(s('reopen', { byEdit: true })).toBe("Russian Federation reopened 'Equal obligations' by editing its agreed text")
    expect(s('restore', { restoredFrom: 4 })).toBe("Russian Federation restored 'Equal obligations' to its text at version 4")
    expect(s('checkpoint', { titles: [], name: 'Round one' })).toBe("Russian Federation marked checkpoint 'Round one'")
    expect(summarize({ kind: 'propose', partyName: null, titles: ['Scope'] })).toBe("'Scope' is in the opening draft")
    expect(s('edit', { titles: ['A', 'B', 'C', 'D'] })).toBe("Russian Federation edited 'A', 'B' and 2 more")
  })
})

describe('redlines on the history stack: credit follows the Yjs client id that wrote each character', () => {
  it('[HR10] Alpha appends " within 60 days.", Beta appends " Extensions.": "days." stays Alpha\'s in the diff and the export', async () => {
    const s = await startHistoryStack({
      terms: [{ id: 't-deadline', title: 'Response deadline', body: 'Requests are answered' }],
    })
    try {
      const alpha = await s.client('a', 'Alpha delegate')
      const beta = await s.client('b', 'Beta delegate')
      const body = (d: Y.Doc) => board(d).terms.get('t-deadline')!.get('body') as Y.Text
      s.clock.advance(60_000)
      alpha.edit((d) => body(d).insert(body(d).length, ' within 60 days.'))
      await s.settle()
      s.clock.advance(60_000)
      beta.edit((d) => body(d).insert(body(d).length, ' Extensions.'))
      await s.settle()
      const expected = [
        { op: 'eq', text: 'Requests are answered' },
        { op: 'ins', text: ' within 60 days.', party: 'a' },
        { op: 'ins', text: ' Extensions.', party: 'b' },
      ]
      const last = (await s.index.list(s.id)).length
      const diff = await s.history.diff(s.id, 1, last)
      expect(diff.find((d) => d.id === 't-deadline')!.body).toEqual(expected)
      const exported = await s.history.exportDoc(s.id)
      expect(exported!.terms.find((t) => t.id === 't-deadline')!.redline.body).toEqual(expected)
    } finally {
      await s.close()
    }
  })
})

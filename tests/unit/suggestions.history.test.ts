/**
 * Suggestions in the history (issue 15, item 2, last part), as pure
 * functions and on the history stack:
 * [SX5] a text read as plain and suggested pieces (shared/suggestions.ts);
 * [SX6] character runs marked with the suggestions of the text they end at;
 * [SX7] word-level redlines keep a suggestion as it was made (never widened into the text around it);
 * [SX8] the materialised history flags a term whose text a row formatted, and keeps the flag;
 * [SX9] an export's suggestions, placed in the text without them;
 * [SX10] the materialised redline (…/diff) and the export's (a replay of the log) mark the same suggestions;
 * [SX12] the client's redline model: a suggestion is its suggester's, and a restore reads the text without it;
 * [SX13] an edit that only suggested reads "… suggested a change to …"; the fold's text before a row (read from
 *        the row's items) is the text read from the doc before it, both ways (seeded, random, several peers).
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { board, insertTerm } from '../../shared/docLayout'
import { sameSuggestion, suggestionPieces, type Suggestion } from '../../shared/suggestions'
import { markSuggestions, wordSegs, type Run } from '../../server/history/redline'
import { applyBoard, composeBoard, emptyBoard, type BoardDelta } from '../../server/history/delta'
import { RowDeltas, boardStateOf } from '../../server/history/rowDelta'
import { exportSuggestions } from '../../server/history/export'
import type { Seg, TermDiff } from '../../shared/schemas'
import { plainSideText, redlineParties, segEmphasised, sideText, visibleDiffs } from '../../client/src/lib/history/replayModel'
import { summarize } from '../../server/history/summary'
import { runTextOf } from '../../server/history/fold'
import { textViewsBefore, valueBefore } from '../../server/yjs/termBefore'
import { prng } from '../helpers/prng'
import { startHistoryStack } from '../helpers/historyStack'

const sug = (id: string, kind: 'ins' | 'del', party = 'us', user = 'J. Carter'): Suggestion => ({
  id,
  kind,
  party,
  user,
  at: 1000,
})
const S45 = sug('s-45', 'ins')
const S30 = sug('s-30', 'del')
const eq = (text: string, suggestion?: Suggestion): Run => ({
  op: 'eq',
  text,
  party: null,
  seq: 0,
  ...(suggestion ? { suggestion } : {}),
})
const ins = (text: string, party: string, seq: number, suggestion?: Suggestion): Run => ({
  op: 'ins',
  text,
  party,
  seq,
  ...(suggestion ? { suggestion } : {}),
})
const del = (text: string, party: string, seq: number): Run => ({ op: 'del', text, party, seq })

/** "within 45 30 days" with "45 " suggested in and "30" suggested out. */
function suggestedText(): Y.Text {
  const doc = new Y.Doc()
  const t = doc.getText('t')
  t.insert(0, 'within 30 days')
  t.insert(7, '45 ', { suggestion: S45 })
  t.format(10, 2, { suggestion: S30 })
  return t
}

describe('[SX5] a text as plain and suggested pieces', () => {
  it('pieces in order, joined the text; a text never formatted is one plain piece', () => {
    const t = suggestedText()
    expect(suggestionPieces(t)).toEqual([
      { text: 'within ', suggestion: null },
      { text: '45 ', suggestion: S45 },
      { text: '30', suggestion: S30 },
      { text: ' days', suggestion: null },
    ])
    expect(
      suggestionPieces(t)
        .map((p) => p.text)
        .join(''),
    ).toBe(t.toString())
    const plain = new Y.Doc().getText('t')
    plain.insert(0, 'within 30 days')
    expect(suggestionPieces(plain)).toEqual([{ text: 'within 30 days', suggestion: null }])
    expect(suggestionPieces(new Y.Doc().getText('t'))).toEqual([])
  })

  it('a malformed attribute (an older store) reads as plain text; a suggestion is known by id and kind', () => {
    const t = new Y.Doc().getText('t')
    t.insert(0, 'ab', { suggestion: { id: 'x', kind: 'move' } })
    expect(suggestionPieces(t)).toEqual([{ text: 'ab', suggestion: null }])
    expect(sameSuggestion(S45, { ...S45, at: 2 })).toBe(true)
    expect(sameSuggestion(S45, S30)).toBe(false)
    expect(sameSuggestion(null, undefined)).toBe(true)
  })
})

describe('[SX6] runs marked with the suggestions at their end', () => {
  it('eq and ins runs are split where a suggestion begins or ends; del runs stay as they are', () => {
    const runs = [eq('within '), ins('45 ', 'us', 4), eq('3'), del('1', 'ru', 2), eq('0 days')]
    const pieces = suggestionPieces(suggestedText())
    expect(markSuggestions(runs, pieces)).toEqual([
      eq('within '),
      ins('45 ', 'us', 4, S45),
      eq('3', S30),
      del('1', 'ru', 2),
      eq('0', S30),
      eq(' days'),
    ])
  })

  it('runs that end at another text, or pieces without suggestions, are returned as they are', () => {
    const runs = [eq('within 31 days')]
    expect(markSuggestions(runs, suggestionPieces(suggestedText()))).toBe(runs)
    expect(markSuggestions(runs, [{ text: 'within 31 days', suggestion: null }])).toBe(runs)
  })
})

describe('[SX7] word-level redlines with suggestions', () => {
  it('"45" suggested for "30": the insertion and the removal each as made, not widened into one word', () => {
    expect(wordSegs([eq('within '), ins('45', 'us', 4, S45), eq('30', S30), eq(' days')])).toEqual([
      { op: 'eq', text: 'within ' },
      { op: 'ins', text: '45', party: 'us', suggestion: S45 },
      { op: 'eq', text: '30', suggestion: S30 },
      { op: 'eq', text: ' days' },
    ])
  })

  it('a suggestion inside a word keeps to its characters; plain changes widen as before', () => {
    // "non" suggested in front of "binding"; "30" → "35" typed plainly elsewhere
    expect(
      wordSegs([
        eq('is '),
        ins('non', 'ru', 3, sug('s-n', 'ins', 'ru')),
        eq('binding within 3'),
        del('0', 'us', 5),
        ins('5', 'us', 5),
        eq(' days'),
      ]),
    ).toEqual([
      { op: 'eq', text: 'is ' },
      { op: 'ins', text: 'non', party: 'ru', suggestion: sug('s-n', 'ins', 'ru') },
      { op: 'eq', text: 'binding within ' },
      { op: 'del', text: '30', party: 'us' },
      { op: 'ins', text: '35', party: 'us' },
      { op: 'eq', text: ' days' },
    ])
  })

  it('text left alone that is a pending suggestion is marked, in a long text too', () => {
    const long = 'The requesting party bears the costs of the proceedings, '
    expect(wordSegs([eq(long), eq('unless', S30), eq(' agreed otherwise.')])).toEqual([
      { op: 'eq', text: long },
      { op: 'eq', text: 'unless', suggestion: S30 },
      { op: 'eq', text: ' agreed otherwise.' },
    ])
  })
})

describe('[SX8] the materialised history flags terms whose text was formatted', () => {
  it('a suggested insertion and a suggested removal alone each flag the term; the flag stays through composition and states', () => {
    const hist = new Y.Doc()
    const rd = new RowDeltas(hist, 'board')
    const a = new Y.Doc()
    const out: BoardDelta[] = []
    let seq = 0
    a.on('update', (u: Uint8Array) => out.push(rd.apply(u, 'us', ++seq)))
    a.transact(() => insertTerm(a, 't-1', { title: 'Deadline', body: 'within 30 days' }))
    const body = () => board(a).terms.get('t-1')!.get('body') as Y.Text
    body().insert(7, '45 ', { suggestion: S45 })
    body().format(10, 2, { suggestion: S30 })
    body().insert(body().length, '.')
    expect(out[0]!.terms!['t-1']!.suggested).toBeUndefined()
    expect(out[1]).toEqual({ terms: { 't-1': { body: [7, { i: '45 ', p: 'us', s: 2 }], suggested: true } } })
    // formatting only: no text changes, the flag alone
    expect(out[2]).toEqual({ terms: { 't-1': { suggested: true } } })
    expect(out[3]!.terms!['t-1']!.suggested).toBeUndefined()

    let state = emptyBoard()
    for (const d of out) state = applyBoard(state, d)
    expect(state.terms['t-1']!.suggested).toBe(true)
    expect(applyBoard(emptyBoard(), out.reduce(composeBoard)).terms['t-1']).toEqual(state.terms['t-1'])
    expect(boardStateOf(a, () => 'us').terms['t-1']!.suggested).toBe(true)

    // a term replaced at its id starts again unflagged
    a.transact(() => insertTerm(a, 't-1', { title: 'Deadline', body: 'within 30 days' }))
    state = applyBoard(state, out[4]!)
    expect(state.terms['t-1']!.suggested).toBeUndefined()
    rd.destroy()
  })
})

describe('[SX9] an export’s suggestions', () => {
  it('each placed in the text without suggestions: an insertion goes in at its index, a removal starts there', () => {
    const pieces = suggestionPieces(suggestedText())
    expect(exportSuggestions('body', pieces)).toEqual([
      {
        id: 's-45',
        kind: 'ins',
        party: 'us',
        user: 'J. Carter',
        at: '1970-01-01T00:00:01.000Z',
        field: 'body',
        index: 7,
        text: '45 ',
      },
      {
        id: 's-30',
        kind: 'del',
        party: 'us',
        user: 'J. Carter',
        at: '1970-01-01T00:00:01.000Z',
        field: 'body',
        index: 7,
        text: '30',
      },
    ])
    // a time that is no date reads as unknown, not as an error
    expect(exportSuggestions('title', [{ text: 'x', suggestion: { ...S45, at: 1e300 } }])[0]!.at).toBe('')
  })
})

describe('[SX10] the materialised redline and the export mark the same suggestions', () => {
  it('a suggestion made in one run and a removal suggested in the next: …/diff and the export’s redline agree', async () => {
    const s = await startHistoryStack({
      terms: [{ id: 't-d', title: 'Deadline', body: 'Requests are answered within 30 days.' }],
    })
    try {
      const alpha = await s.client('a', 'Alpha delegate')
      const body = (d: Y.Doc) => board(d).terms.get('t-d')!.get('body') as Y.Text
      const mine = (id: string, kind: 'ins' | 'del') => sug(id, kind, 'a', 'Alpha delegate')
      s.clock.advance(60_000)
      alpha.edit((d) => body(d).insert(body(d).toString().indexOf('30'), '45', { suggestion: mine('s-1', 'ins') }))
      await s.settle()
      s.clock.advance(60_000)
      alpha.edit((d) => body(d).format(body(d).toString().indexOf('30'), 2, { suggestion: mine('s-2', 'del') }))
      await s.settle()
      const last = (await s.index.list(s.id)).length
      const expected = [
        { op: 'eq', text: 'Requests are answered within ' },
        { op: 'ins', text: '45', party: 'a', suggestion: mine('s-1', 'ins') },
        { op: 'eq', text: '30', suggestion: mine('s-2', 'del') },
        { op: 'eq', text: ' days.' },
      ]
      const diff = (await s.history.diff(s.id, 1, last)).find((d) => d.id === 't-d')!
      expect(diff.body).toEqual(expected)
      const exported = await s.history.exportDoc(s.id)
      expect(exported!.terms.find((t) => t.id === 't-d')!.redline.body).toEqual(expected)
      // the last run alone: only the removal was suggested in it, and that is a change of the term
      const step = (await s.history.diff(s.id, last - 1, last)).find((d) => d.id === 't-d')!
      expect(step.change).toBe('modified')
      expect(step.body.filter((x) => x.suggestion).map((x) => x.suggestion!.id)).toEqual(['s-1', 's-2'])
    } finally {
      await s.close()
    }
  })
})

describe('[SX12] the client’s redline model with suggestions', () => {
  const body: Seg[] = [
    { op: 'eq', text: 'Requests are answered within ' },
    { op: 'ins', text: '45', party: 'us', suggestion: S45 },
    { op: 'eq', text: '30', suggestion: S30 },
    { op: 'eq', text: ' days.' },
  ]
  const diff: TermDiff = {
    id: 't-1',
    change: 'modified',
    title: [{ op: 'eq', text: 'Deadline' }],
    body,
    state: { from: 'proposed', to: 'proposed' },
  }

  it('the restore preview is the text without pending suggestions; the `to` side keeps them', () => {
    expect(plainSideText(body)).toBe('Requests are answered within 30 days.')
    expect(sideText(body, 'to')).toBe('Requests are answered within 4530 days.')
  })

  it('a suggestion counts as its suggester’s in the legend, the delegation filter and the colours', () => {
    const removal: TermDiff = {
      ...diff,
      body: [{ op: 'eq', text: 'Requests', suggestion: sug('s-r', 'del', 'ru', 'A. Volkova') }],
    }
    expect(redlineParties([removal])).toEqual(['ru'])
    const view = { termId: null, showUnchanged: false, touched: new Set<string>() }
    expect(visibleDiffs([removal], { ...view, parties: ['ru'] })).toEqual([removal])
    expect(visibleDiffs([removal], { ...view, parties: ['us'] })).toEqual([])
    expect(segEmphasised(removal.body[0]!, ['ru'])).toBe(true)
    expect(segEmphasised(removal.body[0]!, ['us'])).toBe(false)
  })
})

describe('[SX13] versions that suggest', () => {
  it('one line: the text is as it was, what is suggested for it is quoted', () => {
    const base = { kind: 'edit' as const, partyName: 'United States', titles: ['Deadline'] }
    const text = { title: 'Deadline', body: 'within 30 days' }
    expect(
      summarize({ ...base, before: text, after: text, proposedBefore: text, proposedAfter: { ...text, body: 'within 45 days' } }),
    ).toBe("United States suggested a change to 'Deadline': 30 → 45 days")
    // an edit of the text itself is an edit, whatever is suggested beside it
    expect(
      summarize({
        ...base,
        before: text,
        after: { ...text, body: 'within 31 days' },
        proposedBefore: text,
        proposedAfter: { ...text, body: 'within 45 days' },
      }),
    ).toBe("United States edited 'Deadline': 30 → 31 days")
    expect(summarize({ ...base, before: text, after: text })).toBe("United States edited 'Deadline'")
  })

  it('the text before a row, read from its items inside the row, is the text read from the doc before it (seeded, random)', () => {
    const failures: string[] = []
    let checked = 0
    for (let seed = 1; seed <= 30; seed++) {
      const rand = prng(seed)
      const server = new Y.Doc()
      server.transact(() => insertTerm(server, 't', { title: 'Deadline', body: 'Requests are answered within 30 days.' }))
      const peers = ['us', 'ru'].map((party, i) => {
        const d = new Y.Doc()
        d.clientID = 10 + i
        Y.applyUpdate(d, Y.encodeStateAsUpdate(server))
        return { d, party }
      })
      const term = () => board(server).terms.get('t') as Y.Map<unknown>
      let expected = runTextOf(term())
      board(server).terms.observeDeep((_e, txn) => {
        const title = textViewsBefore(valueBefore(term(), 'title', txn), txn)
        const body = textViewsBefore(valueBefore(term(), 'body', txn), txn)
        const got = { title: title.plain, body: body.plain, proposed: { title: title.proposed, body: body.proposed } }
        const want = {
          title: expected.title,
          body: expected.body,
          proposed: expected.proposed ?? { title: expected.title, body: expected.body },
        }
        if (JSON.stringify(got) !== JSON.stringify(want))
          failures.push(`seed ${seed}: ${JSON.stringify(got)} ≠ ${JSON.stringify(want)}`)
        checked++
      })
      for (let step = 0; step < 40; step++) {
        const updates: Uint8Array[] = []
        for (const { d, party } of peers) {
          if (updates.length > 0 && rand() < 0.5) continue
          const sv = Y.encodeStateVector(d)
          const t = (board(d).terms.get('t') as Y.Map<unknown>).get(rand() < 0.8 ? 'body' : 'title') as Y.Text
          const at = Math.floor(rand() * (t.length + 1))
          const len = Math.min(t.length - at, 1 + Math.floor(rand() * 4))
          const mark = (kind: 'ins' | 'del') => ({ suggestion: sug(`s-${seed}-${step}-${party}`, kind, party) })
          const r = rand()
          if (r < 0.3) t.insert(at, 'xy'.slice(0, 1 + Math.floor(rand() * 2)), mark('ins'))
          else if (r < 0.5 && len > 0) t.format(at, len, mark('del'))
          else if (r < 0.65 && len > 0) t.format(at, len, { suggestion: null })
          else if (r < 0.8 && len > 0) t.delete(at, len)
          else t.insert(at, 'ab')
          updates.push(Y.encodeStateAsUpdate(d, sv))
        }
        Y.applyUpdate(server, Y.mergeUpdates(updates))
        expected = runTextOf(term())
        for (const { d } of peers) Y.applyUpdate(d, Y.encodeStateAsUpdate(server, Y.encodeStateVector(d)))
      }
    }
    expect(failures.slice(0, 3)).toEqual([])
    expect(checked).toBeGreaterThan(500)
  })
})

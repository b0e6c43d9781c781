/**
 * Drafts from Word through the real server (issue 16, item 3; CONTRACT.md
 * "Word documents", `POST /api/negotiations/:id/drafts`): a .docx the
 * lawyers edited becomes the uploader's suggestions, term by term; new
 * clauses are proposed; who may bring one in; bad files change nothing.
 */
import { HeadingLevel, Paragraph } from 'docx'
import JSZip from 'jszip'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { board as boardOf, readStatus, termText, termsInOrder } from '../../shared/docLayout'
import { termHash } from '../../shared/negotiation'
import type { CreatedNegotiation, Version } from '../../shared/schemas'
import { suggestionPieces, withSuggestionsAccepted, type Suggestion } from '../../shared/suggestions'
import { MAX_WORD_FILE_BYTES } from '../../shared/word'
import type { DraftAnswer } from '../../shared/wordDraft'
import { docxOf } from '../helpers/docx'
import { connected, controlClient, type ControlClient } from '../helpers/control'
import { synced, waitFor, yClient, type YClient } from '../helpers/clients'
import { expectAlive, startServer, type TestServer } from '../helpers/server'

let server: TestServer
const closers: Array<() => void> = []
const track = <T extends { destroy(): void }>(c: T) => (closers.push(() => c.destroy()), c)
const control = async (token: string, name: string): Promise<ControlClient> => {
  const c = controlClient(server.url, token, name)
  closers.push(() => c.close())
  await connected(c)
  return c
}

beforeAll(async () => {
  server = await startServer()
})

afterAll(async () => {
  for (const c of closers) c()
  await server.close({ wipe: true })
})

const PARTIES = [
  { id: 'us', name: 'United States' },
  { id: 'ru', name: 'Russian Federation' },
]

const SHEET = [
  { title: 'Scope', body: 'Each party extradites persons charged with ransomware attacks against the other.' },
  { title: 'Response deadline', body: 'Requests are answered within 30 days.' },
  { title: 'Evidence', body: 'A request includes the charging document and a summary of the evidence.' },
  { title: 'Costs', body: 'Each party bears its own costs.' },
]

/** A Word term sheet as a lawyer keeps one: a title, then a numbered heading and its paragraphs per term. */
const draftDocx = (terms: Array<{ title: string; body: string }>) =>
  docxOf([
    new Paragraph({ text: 'Reciprocal extradition (draft of counsel)', heading: HeadingLevel.TITLE }),
    ...terms.flatMap((t, i) => [
      new Paragraph({ text: `${i + 1}. ${t.title}`, heading: HeadingLevel.HEADING_1 }),
      ...t.body.split('\n').map((line) => new Paragraph(line)),
    ]),
  ])

const bringIn = (id: string, bytes: Uint8Array, token: string | undefined, name = 'J. Carter') =>
  server.api(`/api/negotiations/${id}/drafts?name=${encodeURIComponent(name)}`, { token, body: bytes })

async function watch(neg: CreatedNegotiation): Promise<{ board: YClient; ledger: YClient }> {
  const board = track(yClient(server.wsUrl, `${neg.id}/board`, { token: neg.tokens.observer, name: 'press' }))
  const ledger = track(yClient(server.wsUrl, `${neg.id}/ledger`, { token: neg.tokens.observer, name: 'press' }))
  await Promise.all([synced(board), synced(ledger)])
  await waitFor(() => termsInOrder(board.doc).length > 0 && ledger.doc.getMap('status').size > 0, { what: 'the sheet' })
  return { board, ledger }
}

const field = (c: YClient, termId: string, key: 'title' | 'body') => boardOf(c.doc).terms.get(termId)!.get(key) as Y.Text
const suggestionsIn = (t: Y.Text): Suggestion[] => suggestionPieces(t).flatMap((p) => (p.suggestion ? [p.suggestion] : []))
const proposed = (t: Y.Text) => withSuggestionsAccepted(suggestionPieces(t))
const idByTitle = (c: YClient, title: string) => termsInOrder(c.doc).find((t) => t.title === title)!.id

async function versions(neg: CreatedNegotiation): Promise<Version[]> {
  const res = await server.api(`/api/negotiations/${neg.id}/versions`, { token: neg.tokens.reviewer })
  return ((await res.json()) as { versions: Version[] }).versions
}

/** Every pending suggestion in a term, accepted by `by` (another delegation), one command each. */
async function acceptAll(by: ControlClient, c: YClient, termId: string): Promise<void> {
  const ids = new Set(['title', 'body'].flatMap((k) => suggestionsIn(field(c, termId, k as 'body')).map((s) => s.id)))
  for (const id of ids) expect(await by.command('suggestion:accept', { termId, id })).toEqual({ ok: true })
}

describe('[WD1] a Word draft becomes the uploader’s suggestions', () => {
  it('two edited terms carry suggestions by the uploader that yield the draft’s text, the new clause is proposed, and the hashes and acceptances hold while they are pending', async () => {
    const neg = await server.createNegotiation({ title: 'Extradition', parties: PARTIES, terms: SHEET })
    const { board, ledger } = await watch(neg)
    const ru = await control(neg.tokens.negotiator.ru!, 'A. Volkova')
    const deadline = idByTitle(board, 'Response deadline')
    const evidence = idByTitle(board, 'Evidence')
    expect(await ru.command('term:accept', { termId: deadline })).toEqual({ ok: true })
    await waitFor(() => readStatus(ledger.doc, deadline)?.state === 'accepted', { what: 'the acceptance' })
    const before = new Map(termsInOrder(board.doc).map((t) => [t.id, { title: t.title, body: t.body }]))

    const edited = SHEET.map((t) =>
      t.title === 'Response deadline'
        ? { ...t, body: 'Requests are answered within 45 days.' }
        : t.title === 'Evidence'
          ? { ...t, body: `${t.body} Statements of the victims are attached where they exist.` }
          : t,
    )
    const added = {
      title: 'Dual criminality',
      body: 'Extradition requires the conduct to be an offence under the laws of both parties.',
    }
    const res = await bringIn(neg.id, await draftDocx([...edited, added]), neg.tokens.negotiator.us!)
    expect(res.status).toBe(200)
    const answer = (await res.json()) as DraftAnswer
    expect(answer).toMatchObject({ ok: true, suggested: [deadline, evidence], unmatched: [], removed: [], skipped: [] })
    expect(answer.added).toHaveLength(1)
    const newId = answer.added[0]!
    expect(answer.titles).toMatchObject({ [deadline]: 'Response deadline', [evidence]: 'Evidence', [newId]: 'Dual criminality' })

    await waitFor(() => proposed(field(board, evidence, 'body')) === edited[2]!.body && boardOf(board.doc).terms.has(newId), {
      what: 'the draft on the board',
    })
    // Suggestions only, every one in the uploader's name: the terms' text, hash and acceptances are as they were.
    for (const id of [deadline, evidence]) {
      const marks = suggestionsIn(field(board, id, 'body'))
      expect(marks.length).toBeGreaterThan(0)
      for (const s of marks) expect(s).toMatchObject({ party: 'us', user: 'J. Carter' })
      expect(suggestionsIn(field(board, id, 'title'))).toEqual([])
    }
    expect(proposed(field(board, deadline, 'body'))).toBe('Requests are answered within 45 days.')
    for (const [id, text] of before) expect(termText(board.doc, id)).toEqual(text)
    expect(readStatus(ledger.doc, deadline)).toMatchObject({
      state: 'accepted',
      acceptedBy: { ru: termHash(before.get(deadline)!) },
    })
    // The new clause: on the board after 'Costs', proposed by the United States.
    expect(termsInOrder(board.doc).map((t) => t.title)).toEqual([...SHEET.map((t) => t.title), 'Dual criminality'])
    expect(termText(board.doc, newId)).toEqual(added)
    await waitFor(() => readStatus(ledger.doc, newId)?.proposedBy === 'us', { what: 'the proposal' })

    // The history: an edit by the uploader naming both terms, and the proposal, both the United States'.
    await waitFor(async () => (await versions(neg)).some((v) => v.kind === 'propose' && v.termIds.includes(newId)), {
      what: 'the versions',
    })
    const vs = await versions(neg)
    const edit = vs.find((v) => v.kind === 'edit' && v.termIds.includes(deadline))!
    expect(edit).toMatchObject({ party: 'us', user: 'J. Carter' })
    expect(edit.termIds).toEqual(expect.arrayContaining([deadline, evidence]))
    expect(vs.find((v) => v.kind === 'propose' && v.termIds.includes(newId))).toMatchObject({ party: 'us', user: 'J. Carter' })

    // The other side accepts every suggestion: the terms read as the draft.
    await acceptAll(ru, board, deadline)
    await acceptAll(ru, board, evidence)
    await waitFor(
      () => termText(board.doc, deadline)!.body === edited[1]!.body && termText(board.doc, evidence)!.body === edited[2]!.body,
      { what: 'the accepted text' },
    )
    for (const id of [deadline, evidence]) expect(suggestionsIn(field(board, id, 'body'))).toEqual([])
    expect(termsInOrder(board.doc).map(({ title, body }) => ({ title, body }))).toEqual([...edited, added])
    // The text changed: the Russian acceptance of the deadline no longer holds for it.
    expect(readStatus(ledger.doc, deadline)!.acceptedBy.ru).not.toBe(termHash(termText(board.doc, deadline)!))
  })
})

describe('[WD2] a draft is a negotiator’s to bring in', () => {
  it('observers and reviewers get 403, a token of another negotiation 403, none 401; the board is as it was', async () => {
    const neg = await server.createNegotiation({ title: 'Roles', parties: PARTIES, terms: SHEET })
    const other = await server.createNegotiation({ title: 'Other', parties: PARTIES, terms: SHEET })
    const { board } = await watch(neg)
    const state = Y.encodeStateVector(board.doc)
    const bytes = await draftDocx(SHEET.map((t) => ({ ...t, body: `${t.body} Changed.` })))
    for (const [token, status] of [
      [neg.tokens.observer, 403],
      [neg.tokens.reviewer, 403],
      [other.tokens.negotiator.us!, 403],
      [undefined, 401],
    ] as const) {
      const res = await bringIn(neg.id, bytes, token)
      expect(res.status).toBe(status)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe(status === 401 ? 'unauthorized' : 'forbidden')
    }
    // nothing reached the board (any write would have moved its state vector)
    await new Promise((r) => setTimeout(r, 200))
    expect(Y.encodeStateVector(board.doc)).toEqual(state)
  })
})

describe('[WD3] bad files change nothing', () => {
  it('not a .docx: 400 bad-document; over 10 MiB: 413; a document of another negotiation: 400; the board is as it was', async () => {
    const neg = await server.createNegotiation({ title: 'Bad files', parties: PARTIES, terms: SHEET })
    const { board } = await watch(neg)
    const state = Y.encodeStateVector(board.doc)
    const us = neg.tokens.negotiator.us!

    const pdf = await bringIn(neg.id, new TextEncoder().encode('%PDF-1.7 not a word file'), us)
    expect(pdf.status).toBe(400)
    expect(((await pdf.json()) as { error: { code: string } }).error.code).toBe('bad-document')

    const big = await bringIn(neg.id, new Uint8Array(MAX_WORD_FILE_BYTES + 1), us)
    expect(big.status).toBe(413)

    const unrelated = await bringIn(
      neg.id,
      await draftDocx([{ title: 'Price', body: 'The price of the turbines is 12 million euros, paid on delivery.' }]),
      us,
    )
    expect(unrelated.status).toBe(400)
    expect(((await unrelated.json()) as { error: { message: string } }).error.message).toMatch(/does not read as a draft/)

    await new Promise((r) => setTimeout(r, 200))
    expect(Y.encodeStateVector(board.doc)).toEqual(state)
    await expectAlive(server)
  })
})

describe('[WD4] titles edited, clauses deleted, agreed terms, the other side’s suggestions, a draft brought in twice', () => {
  it('matches a retitled term by place, suggests removing a deleted clause, leaves agreed terms and conflicts alone and says so, and adds nothing the second time', async () => {
    const neg = await server.createNegotiation({ title: 'Rounds', parties: PARTIES, terms: SHEET })
    const { board, ledger } = await watch(neg)
    const us = await control(neg.tokens.negotiator.us!, 'J. Carter')
    const ru = await control(neg.tokens.negotiator.ru!, 'A. Volkova')
    const [scope, deadline, evidence, costs] = SHEET.map((t) => idByTitle(board, t.title))
    // 'Costs' agreed by both; Russia suggests "60" for "30" in the deadline (by hand, as its editor would).
    for (const c of [us, ru]) expect(await c.command('term:accept', { termId: costs })).toEqual({ ok: true })
    await waitFor(() => readStatus(ledger.doc, costs!)?.state === 'agreed', { what: 'the agreement' })
    const volkova = track(yClient(server.wsUrl, `${neg.id}/board`, { token: neg.tokens.negotiator.ru!, name: 'A. Volkova' }))
    await synced(volkova)
    const body = field(volkova, deadline!, 'body')
    const at = body.toString().indexOf('30')
    const ruMark = (kind: 'ins' | 'del') => ({ suggestion: { id: 'ru-60', kind, party: 'ru', user: 'A. Volkova', at: 1 } })
    volkova.doc.transact(() => {
      body.format(at, 2, ruMark('del'))
      body.insert(at + 2, '60', ruMark('ins'))
    })
    await waitFor(() => suggestionsIn(field(board, deadline!, 'body')).length === 2, { what: 'the Russian suggestion' })

    const draft = [
      // retitled, its text lightly edited: matched by place
      {
        title: 'Scope of the obligation',
        body: 'Each party extradites persons charged with ransomware attacks against the other party.',
      },
      // 30 → 45 where Russia suggests 60: left alone
      { title: 'Response deadline', body: 'Requests are answered within 45 days.' },
      // 'Evidence' deleted; 'Costs' (agreed) changed
      { title: 'Costs', body: 'The requesting party bears the costs.' },
    ]
    const res = await bringIn(neg.id, await draftDocx(draft), neg.tokens.negotiator.us!)
    expect(res.status).toBe(200)
    const answer = (await res.json()) as DraftAnswer
    expect(answer).toMatchObject({ suggested: [scope, evidence], added: [], unmatched: [], removed: [evidence] })
    expect(answer.skipped.map((s) => [s.termId, s.reason])).toEqual([
      [costs, 'agreed'],
      [deadline, 'conflict'],
    ])
    expect(answer.skipped[1]!.message).toMatch(/Russian Federation/)

    await waitFor(() => proposed(field(board, evidence!, 'body')) === '', { what: 'the removal' })
    expect(proposed(field(board, scope!, 'title'))).toBe('Scope of the obligation')
    expect(proposed(field(board, scope!, 'body'))).toBe(draft[0]!.body)
    expect(proposed(field(board, evidence!, 'title'))).toBe('')
    expect(termText(board.doc, evidence!)).toEqual({ title: 'Evidence', body: SHEET[2]!.body })
    expect(suggestionsIn(field(board, costs!, 'body'))).toEqual([])
    expect(readStatus(ledger.doc, costs!)!.state).toBe('agreed')
    // Russia's suggestion is as it was, and none of ours joined it.
    expect(suggestionsIn(field(board, deadline!, 'body')).every((s) => s.party === 'ru')).toBe(true)

    // The same draft again: nothing new is suggested.
    const marks = () =>
      [scope, evidence].map((id) => JSON.stringify([field(board, id!, 'title').toDelta(), field(board, id!, 'body').toDelta()]))
    const was = marks()
    const again = (await (await bringIn(neg.id, await draftDocx(draft), neg.tokens.negotiator.us!)).json()) as DraftAnswer
    expect(again).toMatchObject({ suggested: [], added: [], removed: [] })
    await new Promise((r) => setTimeout(r, 200))
    expect(marks()).toEqual(was)
  })
})

describe('[WD8] the round trip: Parley’s own Word file, edited, brought back', () => {
  it('an exported sheet brought back unchanged suggests nothing; with one word changed in Word, only that', async () => {
    const terms = [
      ...SHEET,
      { title: 'Notice “in writing”', body: 'Notices are given in writing.\n\nA notice by e-mail counts as written.' },
    ]
    const neg = await server.createNegotiation({ title: 'Round trip', parties: PARTIES, terms })
    const { board } = await watch(neg)
    // a pending suggestion of Russia's: the export shows the text without it, and the draft leaves it alone
    const volkova = track(yClient(server.wsUrl, `${neg.id}/board`, { token: neg.tokens.negotiator.ru!, name: 'A. Volkova' }))
    await synced(volkova)
    const scope = idByTitle(board, 'Scope')
    field(volkova, scope, 'body').insert(0, 'Subject to this agreement, ', {
      suggestion: { id: 'ru-1', kind: 'ins', party: 'ru', user: 'A. Volkova', at: 1 },
    })
    await waitFor(() => suggestionsIn(field(board, scope, 'body')).length === 1, { what: 'the Russian suggestion' })
    const state = Y.encodeStateVector(board.doc)

    const exported = await server.api(`/api/negotiations/${neg.id}/export?format=docx`, { token: neg.tokens.negotiator.us! })
    expect(exported.status).toBe(200)
    const bytes = new Uint8Array(await exported.arrayBuffer())
    const unchanged = (await (await bringIn(neg.id, bytes, neg.tokens.negotiator.us!)).json()) as DraftAnswer
    expect(unchanged).toMatchObject({ ok: true, suggested: [], added: [], unmatched: [], removed: [], skipped: [] })
    await new Promise((r) => setTimeout(r, 200))
    expect(Y.encodeStateVector(board.doc)).toEqual(state)

    // The lawyer changes one word in Word (the file's own XML, as Word would save it).
    const zip = await JSZip.loadAsync(bytes)
    const xml = await zip.file('word/document.xml')!.async('string')
    expect(xml).toContain('within 30 days')
    zip.file('word/document.xml', xml.replace('within 30 days', 'within 45 days'))
    const edited = await zip.generateAsync({ type: 'uint8array' })
    const deadline = idByTitle(board, 'Response deadline')
    const answer = (await (await bringIn(neg.id, edited, neg.tokens.negotiator.us!)).json()) as DraftAnswer
    expect(answer).toMatchObject({ suggested: [deadline], added: [], unmatched: [], removed: [], skipped: [] })
    await waitFor(() => proposed(field(board, deadline, 'body')) === 'Requests are answered within 45 days.', {
      what: 'the suggestion',
    })
    expect(suggestionsIn(field(board, deadline, 'body')).map((s) => [s.kind, s.party])).toEqual([
      ['del', 'us'],
      ['ins', 'us'],
    ])
    expect(suggestionsIn(field(board, scope, 'body')).map((s) => s.party)).toEqual(['ru'])
  })
})

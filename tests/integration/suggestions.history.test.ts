/**
 * Suggestions in the record (issue 15, item 2, last part): the redline and
 * the exports show a pending suggestion as what it is — a suggested
 * insertion or removal, by a delegation and a person, at a time — and not
 * as an accepted change, and a version that only suggested says so; once
 * decided, the text reads plainly. Through the
 * real server: the stock y-websocket client suggests, socket.io decides,
 * HTTP reads.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { board as boardOf, termsInOrder } from '../../shared/docLayout'
import type { Seg, Sheet, TermDiff, Version } from '../../shared/schemas'
import type { Suggestion } from '../../shared/suggestions'
import type { ExportDoc } from '../../server/history/export'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { startServer, type TestServer } from '../helpers/server'
import { synced, waitFor, yClient, type YClient } from '../helpers/clients'
import { connected, controlClient, type ControlClient } from '../helpers/control'

let server: TestServer
let neg: CreatedNegotiation
const open: Array<YClient | ControlClient> = []
const track = <T extends YClient | ControlClient>(c: T) => (open.push(c), c)

const DEADLINE = 'Requests are answered within 30 days.'
const AT = Date.UTC(2026, 0, 12, 10, 0, 0)
const S45: Suggestion = { id: 's-45', kind: 'ins', party: 'us', user: 'J. Carter', at: AT }
const S30: Suggestion = { id: 's-30', kind: 'del', party: 'us', user: 'J. Carter', at: AT }

beforeAll(async () => {
  server = await startServer()
  neg = await server.createNegotiation({
    title: 'Tracked changes in the record',
    parties: [
      { id: 'us', name: 'United States' },
      { id: 'ru', name: 'Russian Federation' },
    ],
    terms: [{ title: 'Deadline', body: DEADLINE }],
  })
})

afterAll(async () => {
  for (const c of open) 'destroy' in c ? c.destroy() : c.close()
  await server.close({ wipe: true })
})

const get = async <T>(path: string): Promise<T> => {
  const res = await server.api(`/api/negotiations/${neg.id}${path}`, { token: neg.tokens.reviewer })
  expect(res.status, path).toBe(200)
  return ((res.headers.get('content-type') ?? '').includes('json') ? await res.json() : await res.text()) as T
}
const versions = async () => (await get<{ versions: Version[] }>('/versions')).versions
const diff = async (from: number, to: number) => (await get<{ terms: TermDiff[] }>(`/diff?from=${from}&to=${to}`)).terms
const bodyOf = (c: YClient, id: string) => boardOf(c.doc).terms.get(id)!.get('body') as Y.Text
const marked = (segs: Seg[]) => segs.filter((s) => s.suggestion)

describe('suggestions in the redline and the exports', () => {
  let termId = ''
  let before = 0
  let suggested = 0

  it('[SX1] the redline over a suggestion marks it as one (a suggested insertion, text suggested for removal), with party and user', async () => {
    const carter = track(yClient(server.wsUrl, `${neg.id}/board`, { token: neg.tokens.negotiator.us!, name: 'J. Carter' }))
    await synced(carter)
    await waitFor(() => termsInOrder(carter.doc).length === 1)
    termId = termsInOrder(carter.doc)[0]!.id
    await waitFor(async () => (await versions()).length >= 1, { what: 'the opening version' })
    before = (await versions()).length

    // "45" for "30", as the client's Suggest mode writes it: the insertion marked, the old text marked for removal
    const text = bodyOf(carter, termId)
    const at = text.toString().indexOf('30')
    carter.doc.transact(() => {
      text.insert(at, '45', { suggestion: S45 })
      text.format(at + 2, 2, { suggestion: S30 })
    })
    await waitFor(async () => (await versions()).some((v) => v.kind === 'edit' && v.party === 'us'), { what: 'the edit' })
    suggested = (await versions()).length
    const d = (await waitFor(
      async () => {
        const t = (await diff(before, suggested)).find((x) => x.id === termId)!
        return marked(t.body).length === 2 ? t : null
      },
      { what: 'the suggestion in the redline', timeout: 10_000 },
    ))!
    expect(d.change).toBe('modified')
    expect(d.body).toEqual([
      { op: 'eq', text: 'Requests are answered within ' },
      { op: 'ins', text: '45', party: 'us', suggestion: S45 },
      { op: 'eq', text: '30', suggestion: S30 },
      { op: 'eq', text: ' days.' },
    ])
    expect(marked(d.title)).toEqual([])
    // The version reads as what it is.
    await waitFor(
      async () =>
        (await versions()).find((v) => v.n === suggested)!.summary ===
        "United States suggested a change to 'Deadline': 30 → 45 days",
      { what: 'the summary' },
    )
    // A redline that ends before the suggestion knows nothing of it.
    if (before > 1) expect(marked((await diff(before - 1, before)).flatMap((t) => t.body))).toEqual([])
  })

  it('[SX2] the Markdown, HTML and JSON exports show the pending suggestion as a suggestion, naming delegation, person and time', async () => {
    const json = await get<ExportDoc>('/export?format=json')
    const term = json.terms.find((t) => t.id === termId)!
    // The text without pending suggestions (what its hash is over), as before; the suggestions beside it.
    expect(term.body).toBe(DEADLINE)
    const iso = new Date(AT).toISOString()
    expect(term.suggestions).toEqual([
      { id: 's-45', kind: 'ins', party: 'us', user: 'J. Carter', at: iso, field: 'body', index: 29, text: '45' },
      { id: 's-30', kind: 'del', party: 'us', user: 'J. Carter', at: iso, field: 'body', index: 29, text: '30' },
    ])
    expect(marked(term.redline.body).map((s) => [s.text, s.suggestion!.id])).toEqual([
      ['45', 's-45'],
      ['30', 's-30'],
    ])

    const md = await get<string>('/export?format=md')
    const by = '{>>suggested by United States (J. Carter), 2026-01-12 10:00:00 UTC<<}'
    // in the term's text and in its redline
    expect(md).toContain(`> Requests are answered within {++45++}${by}{--30--}${by} days.`)
    expect(md.split(`{++45++}${by}{--30--}${by}`)).toHaveLength(3)
    expect(md).not.toContain('{++45++}{>>US<<}')

    const html = await get<string>('/export?format=html')
    const title = 'suggested by United States (J. Carter), 2026-01-12 10:00:00 UTC'
    expect(html).toContain(`<ins class="suggestion p-us" title="${title}">45</ins>`)
    expect(html).toContain(`<del class="suggestion p-us" title="${title}">30</del>`)
    expect(html).toContain('ins.suggestion')
  })

  it('[SX3] once the other delegation accepts, the redline and the exports read the decided text plainly', async () => {
    const ru = track(controlClient(server.url, neg.tokens.negotiator.ru!, 'A. Volkova'))
    await connected(ru)
    expect(await ru.command('suggestion:accept', { termId, id: 's-45' })).toEqual({ ok: true })
    expect(await ru.command('suggestion:accept', { termId, id: 's-30' })).toEqual({ ok: true })
    await waitFor(async () => (await versions()).filter((v) => v.kind === 'suggestion-accept').length === 2, {
      what: 'the decisions',
    })
    const latest = (await versions()).length

    const whole = (await diff(before, latest)).find((t) => t.id === termId)!
    expect(whole.body).toEqual([
      { op: 'eq', text: 'Requests are answered within ' },
      { op: 'del', text: '30', party: 'ru' },
      { op: 'ins', text: '45', party: 'us' },
      { op: 'eq', text: ' days.' },
    ])
    // the decisions themselves: the marks go, the text removed by the acceptance is struck
    const decided = (await diff(suggested, latest)).find((t) => t.id === termId)!
    expect(decided.change).toBe('modified')
    expect(marked(decided.body)).toEqual([])

    const json = await get<ExportDoc>('/export?format=json')
    const term = json.terms.find((t) => t.id === termId)!
    expect(term.body).toBe('Requests are answered within 45 days.')
    expect(term.suggestions).toBeUndefined()
    expect(marked(term.redline.body)).toEqual([])
    const md = await get<string>('/export?format=md')
    expect(md).not.toContain('suggested by')
    expect(md).toContain('> Requests are answered within 45 days.')
    const html = await get<string>('/export?format=html')
    expect(html).not.toContain('class="suggestion')
  })

  it('[SX11] a past sheet reads a term without its pending suggestions, as the live one does, and restoring that version does not make a suggestion text', async () => {
    const sheet = await get<Sheet>(`/versions/${suggested}`)
    expect(sheet.terms.find((t) => t.id === termId)!.body).toBe(DEADLINE)
    const carter = track(controlClient(server.url, neg.tokens.negotiator.us!, 'J. Carter'))
    await connected(carter)
    // now "…within 45 days." (accepted); back to the text at the version that only suggested 45
    expect(await carter.command('term:restore', { termId, n: suggested })).toEqual({ ok: true })
    const board = track(yClient(server.wsUrl, `${neg.id}/board`, { token: neg.tokens.observer, name: 'obs' }))
    await synced(board)
    await waitFor(() => bodyOf(board, termId).toString() === DEADLINE, { what: 'the restored text' })
    expect(bodyOf(board, termId).toDelta()).toEqual([{ insert: DEADLINE }])
    // and forward again, for the next case
    const latest = (await versions()).length
    expect(await carter.command('term:restore', { termId, n: latest - 1 })).toEqual({ ok: true })
    await waitFor(() => bodyOf(board, termId).toString() === 'Requests are answered within 45 days.', { what: 'the text again' })
  })

  it('[SX4] a suggested removal alone (no text typed) is a change of the term in the redline', async () => {
    const carter = track(yClient(server.wsUrl, `${neg.id}/board`, { token: neg.tokens.negotiator.us!, name: 'J. Carter' }))
    await synced(carter)
    await waitFor(async () => (await versions()).at(-1)!.kind === 'restore', { what: 'the versions so far' })
    const from = (await versions()).length
    const text = bodyOf(carter, termId)
    await waitFor(() => text.toString() === 'Requests are answered within 45 days.', { what: 'the decided text' })
    const removal: Suggestion = { id: 's-req', kind: 'del', party: 'us', user: 'J. Carter', at: AT + 60_000 }
    text.format(0, 'Requests '.length, { suggestion: removal })
    const d = (await waitFor(
      async () => {
        const n = (await versions()).length
        if (n === from) return null
        const t = (await diff(from, n)).find((x) => x.id === termId)!
        return marked(t.body).length === 1 ? t : null
      },
      { what: 'the suggested removal in the redline', timeout: 10_000 },
    ))!
    expect(d.change).toBe('modified')
    await waitFor(
      async () => (await versions()).at(-1)!.summary === "United States suggested a change to 'Deadline': removed “Requests”",
      { what: 'the summary' },
    )
    expect(d.body).toEqual([
      { op: 'eq', text: 'Requests ', suggestion: removal },
      { op: 'eq', text: 'are answered within 45 days.' },
    ])
    // the same window read from the term's side: nothing else changed
    expect((await diff(from, (await versions()).length)).filter((t) => t.change !== 'unchanged').map((t) => t.id)).toEqual([
      termId,
    ])
  })
})

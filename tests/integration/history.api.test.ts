/**
 * The history through the public surface (issue #5): the stock y-websocket
 * client edits, socket.io commands, and the HTTP routes `versions`,
 * `versions/:n`, `diff` and `export` — who may read them, redline
 * attribution, `term:restore`, `version` events, and the demo negotiation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { board, replaceText, termsInOrder } from '../../shared/docLayout'
import type { Sheet, TermDiff, Version } from '../../shared/schemas'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import type { ExportDoc } from '../../server/history/export'
import { createDemo } from '../../server/demo'
import { startServer, type TestServer } from '../helpers/server'
import { synced, waitFor, yClient, type YClient } from '../helpers/clients'
import { connected, controlClient, type ControlClient } from '../helpers/control'

let server: TestServer
let neg: CreatedNegotiation
let other: CreatedNegotiation
const open: Array<YClient | ControlClient> = []
const track = <T extends YClient | ControlClient>(c: T) => (open.push(c), c)

const DEADLINE = 'Requests are answered within 30 days.'

beforeAll(async () => {
  server = await startServer()
  neg = await server.createNegotiation({
    title: 'Extradition talks',
    parties: [
      { id: 'us', name: 'United States' },
      { id: 'ru', name: 'Russian Federation' },
    ],
    terms: [
      { title: 'Response deadline', body: DEADLINE },
      { title: 'Equal obligations', body: 'Obligations are equal and reciprocal.' },
    ],
  })
  other = await server.createNegotiation()
})

afterAll(async () => {
  for (const c of open) 'destroy' in c ? c.destroy() : c.close()
  await server.close({ wipe: true })
})

const get = async <T>(path: string, token: string): Promise<{ status: number; body: T; type: string }> => {
  const res = await server.api(`/api/negotiations/${neg.id}${path}`, { token })
  const type = res.headers.get('content-type') ?? ''
  return { status: res.status, body: (type.includes('json') ? await res.json() : await res.text()) as T, type }
}
const versions = async () => (await get<{ versions: Version[] }>('/versions', neg.tokens.reviewer)).body.versions
const boardClient = (party: 'us' | 'ru', name: string) =>
  track(yClient(server.wsUrl, `${neg.id}/board`, { token: neg.tokens.negotiator[party]!, name }))
const termId = (c: YClient, title: string) => termsInOrder(c.doc).find((t) => t.title === title)!.id
const body = (c: YClient, id: string) => board(c.doc).terms.get(id)!.get('body') as Y.Text

describe('who may read the history (CONTRACT.md: negotiator, reviewer; observers get 403)', () => {
  const routes = [
    '/versions',
    '/versions/1',
    '/diff?from=0&to=1',
    '/export',
    '/export?format=md',
    '/export?format=html',
    '/export?format=json',
  ]

  it('[HA1] observers get 403 on every history route; negotiators and reviewers read them', async () => {
    await waitFor(async () => (await versions()).length >= 2)
    for (const route of routes) {
      const observer = await get<{ error: { code: string } }>(route, neg.tokens.observer)
      expect(observer.status, `observer ${route}`).toBe(403)
      expect(observer.body.error.code).toBe('forbidden')
      expect((await get(route, neg.tokens.reviewer)).status, `reviewer ${route}`).toBe(200)
      expect((await get(route, neg.tokens.negotiator.ru!)).status, `negotiator ${route}`).toBe(200)
      // a token of another negotiation: the same 403, whatever the id
      expect((await get(route, other.tokens.reviewer)).status, `other negotiation ${route}`).toBe(403)
    }
  })

  it('[HA2] bad input is 400 and an unknown version of the own negotiation 404', async () => {
    const n = (await versions()).length
    const reviewer = neg.tokens.reviewer
    expect((await get('/diff?from=1', reviewer)).status).toBe(400)
    expect((await get('/diff?from=x&to=1', reviewer)).status).toBe(400)
    expect((await get('/diff?from=2&to=1', reviewer)).status).toBe(400)
    expect((await get('/export?format=xlsx', reviewer)).status).toBe(400)
    const unknown = await get<{ error: { code: string } }>(`/diff?from=0&to=${n + 5}`, reviewer)
    expect(unknown.status).toBe(404)
    expect(unknown.body.error.code).toBe('unknown-version')
    expect((await get(`/versions/${n + 5}`, reviewer)).status).toBe(404)
  })
})

describe('redlines attributed from the log', () => {
  let before = 0
  let ruEdit = 0
  let deadline = ''

  it('[HA3] each inserted and deleted run names the delegation whose update wrote or removed it', async () => {
    const us = boardClient('us', 'J. Carter')
    const ru = boardClient('ru', 'A. Volkova')
    await Promise.all([synced(us), synced(ru)])
    await waitFor(() => termsInOrder(ru.doc).length === 2)
    deadline = termId(ru, 'Response deadline')
    before = (await versions()).length

    ru.doc.transact(() => replaceText(body(ru, deadline), 'Requests are answered within 45 days.'))
    await waitFor(async () => (await versions()).some((v) => v.kind === 'edit' && v.party === 'ru'))
    ruEdit = (await versions()).length
    await waitFor(() => body(us, deadline).toString().includes('45'))
    us.doc.transact(() => body(us, deadline).insert(body(us, deadline).length, ' Urgent requests within 7 days.'))
    await waitFor(async () => (await versions()).some((v) => v.kind === 'edit' && v.party === 'us'))
    const latest = (await versions()).length

    const { status, body: diff } = await get<{ terms: TermDiff[] }>(`/diff?from=${before}&to=${latest}`, neg.tokens.reviewer)
    expect(status).toBe(200)
    const d = diff.terms.find((t) => t.id === deadline)!
    expect(d.change).toBe('modified')
    expect(d.title).toEqual([{ op: 'eq', text: 'Response deadline' }])
    expect(d.body).toEqual([
      { op: 'eq', text: 'Requests are answered within ' },
      { op: 'del', text: '30', party: 'ru' },
      { op: 'ins', text: '45', party: 'ru' },
      { op: 'eq', text: ' days.' },
      { op: 'ins', text: ' Urgent requests within 7 days.', party: 'us' },
    ])
    expect(d.state).toEqual({ from: 'proposed', to: 'proposed' })
    expect(diff.terms.find((t) => t.id !== deadline)).toMatchObject({ change: 'unchanged' })
  })

  it('[HA4] text written and removed inside the window is not shown; a later removal is the remover’s', async () => {
    const us = boardClient('us', 'J. Carter')
    await synced(us)
    await waitFor(() => body(us, deadline).toString().includes('Urgent'))
    us.doc.transact(() => replaceText(body(us, deadline), body(us, deadline).toString().replace('45 days', '40 days')))
    await waitFor(async () => (await versions()).at(-1)!.summary.includes('45 → 40 days'))
    const latest = (await versions()).length
    const whole = (await get<{ terms: TermDiff[] }>(`/diff?from=${before}&to=${latest}`, neg.tokens.reviewer)).body
    // ru typed the 4, us the 0 (DESIGN.md: credit goes by who wrote each character)
    expect(whole.terms.find((t) => t.id === deadline)!.body.slice(0, 4)).toEqual([
      { op: 'eq', text: 'Requests are answered within ' },
      { op: 'del', text: '30', party: 'ru' },
      { op: 'ins', text: '4', party: 'ru' },
      { op: 'ins', text: '0', party: 'us' },
    ])
    const sinceRu = (await get<{ terms: TermDiff[] }>(`/diff?from=${ruEdit}&to=${latest}`, neg.tokens.negotiator.us!)).body
    expect(sinceRu.terms.find((t) => t.id === deadline)!.body.slice(1, 3)).toEqual([
      { op: 'del', text: '45', party: 'us' },
      { op: 'ins', text: '40', party: 'us' },
    ])
  })

  it('[HA5] the sheet at a version is the board and ledger as they stood then', async () => {
    const sheet = (await get<Sheet>(`/versions/${before}`, neg.tokens.reviewer)).body
    expect(sheet.n).toBe(before)
    expect(sheet.terms.find((t) => t.id === deadline)).toMatchObject({ body: DEADLINE, state: 'proposed', proposedBy: null })
    const empty = (await get<Sheet>('/versions/0', neg.tokens.reviewer)).body
    expect(empty.terms).toEqual([])
  })

  it('[HA6] term:restore puts the text back as a new restore version of the caller’s party', async () => {
    const us = track(controlClient(server.url, neg.tokens.negotiator.us!, 'J. Carter'))
    const reviewer = track(controlClient(server.url, neg.tokens.reviewer, 'Legal review'))
    const observer = track(controlClient(server.url, neg.tokens.observer, 'Press'))
    await Promise.all([connected(us), connected(reviewer), connected(observer)])
    const count = (await versions()).length

    expect(await us.command('term:restore', { termId: deadline, n: before })).toEqual({ ok: true })
    await waitFor(async () => (await versions()).length > count)
    const restore = (await versions()).at(-1)!
    expect(restore).toMatchObject({
      n: count + 1,
      kind: 'restore',
      party: 'us',
      user: 'J. Carter',
      termIds: [deadline],
      summary: `United States restored 'Response deadline' to its text at version ${before}`,
    })
    expect(
      (await get<Sheet>(`/versions/${restore.n}`, neg.tokens.reviewer)).body.terms.find((t) => t.id === deadline)!.body,
    ).toBe(DEADLINE)
    // nothing was rewritten: the versions before are as they were
    expect((await versions()).slice(0, count).map((v) => v.n)).toEqual([...Array(count).keys()].map((i) => i + 1))
    // reviewers hear about it; observers get no history
    await waitFor(() => reviewer.versions.some((v) => v.n === restore.n && v.kind === 'restore'))
    expect(observer.versions).toEqual([])

    expect(await observer.command('term:restore', { termId: deadline, n: before })).toMatchObject({
      ok: false,
      error: { code: 'wrong-role' },
    })
    expect(await us.command('term:restore', { termId: deadline, n: 999 })).toMatchObject({
      ok: false,
      error: { code: 'unknown-version' },
    })
    expect(await us.command('term:restore', { termId: 't-nope', n: before })).toMatchObject({
      ok: false,
      error: { code: 'unknown-term' },
    })
  })

  it('[HA7] the export carries the sheet, the history and the chain heads in md, html and json; never a caucus', async () => {
    const caucus = track(
      yClient(server.wsUrl, `${neg.id}/caucus/us`, { token: neg.tokens.negotiator.us!, name: 'J. Carter', ack: '1' }),
    )
    await synced(caucus)
    const countBefore = (await versions()).length
    caucus.doc.transact(() => {
      const note = new Y.Map<unknown>()
      note.set('text', new Y.Text('Fallback: concede 60 days if pressed'))
      caucus.doc.getMap('notes').set('n-secret', note)
    })
    await waitFor(() => caucus.receipts.length > 0)
    const json = await get<ExportDoc>('/export?format=json', neg.tokens.reviewer)
    for (const format of ['json', 'md', 'html']) {
      const body = (await get<unknown>(`/export?format=${format}`, neg.tokens.negotiator.us!)).body
      expect(JSON.stringify(body)).not.toContain('concede 60 days')
    }
    expect((await versions()).length).toBe(countBefore)
    expect(json.type).toContain('application/json')
    const all = await versions()
    expect(json.body).toMatchObject({
      format: 'parley-export/1',
      negotiation: { id: neg.id, title: 'Extradition talks' },
      asOf: { n: all.length },
      heads: { versions: { n: all.length } },
    })
    expect(json.body.versions.map((v) => v.summary)).toEqual(all.map((v) => v.summary))
    expect(json.body.heads.board.hash).toMatch(/^[0-9a-f]{64}$/)
    const md = await get<string>('/export?format=md', neg.tokens.negotiator.us!)
    expect(md.type).toContain('text/markdown')
    expect(md.body).toContain('# Extradition talks')
    expect(md.body).toContain('## Concession history')
    expect(md.body).toContain(json.body.heads.versions.hash)
    const html = await get<string>('/export?format=html', neg.tokens.reviewer)
    expect(html.type).toContain('text/html')
    expect(html.body.startsWith('<!doctype html>')).toBe(true)
    expect(html.body).toContain('@media print')
    expect(html.body).not.toMatch(/<script|<link|src=/)
  })
})

describe('the demo negotiation', () => {
  it('[HA8] answers who conceded what, when, and what exactly changed', async () => {
    const demo = await createDemo(server.parley.service)
    const res = await server.api(`/api/negotiations/${demo.id}/versions`, { token: demo.tokens.reviewer })
    const { versions: vs } = (await res.json()) as { versions: Version[] }
    const summaries = vs.map((v) => v.summary)
    expect(summaries).toContain("Russian Federation accepted 'Equal obligations'")
    expect(summaries).toContain("'Equal obligations' agreed by all parties")
    expect(summaries).toContain("Russian Federation edited 'Response deadline': 30 → 45 days")
    expect(summaries).toContain("United States rejected 'Political offence exception': Ransomware is never a political offence.")
    expect(summaries).toContain("Russian Federation proposed 'Dual criminality'")
    expect(summaries).toContain("United States marked checkpoint 'End of round one'")
    expect(vs.at(-1)).toMatchObject({ kind: 'checkpoint', name: 'End of round one', party: 'us' })

    const edit = vs.find((v) => v.summary.includes('30 → 45'))!
    const diff = await server.api(`/api/negotiations/${demo.id}/diff?from=${edit.n - 1}&to=${edit.n}`, {
      token: demo.tokens.reviewer,
    })
    const terms = ((await diff.json()) as { terms: TermDiff[] }).terms
    expect(terms.find((t) => t.change === 'modified')!.body).toContainEqual({ op: 'ins', text: '45', party: 'ru' })

    const md = await (await server.api(`/api/negotiations/${demo.id}/export?format=md`, { token: demo.tokens.reviewer })).text()
    expect(md).toMatch(
      /### Equal obligations\n\n\*\*AGREED\*\* — Agreed on .* accepted by United States on .*; Russian Federation on/,
    )
    expect(md).toContain('**REJECTED** — Rejected by United States')
  })
})

describe('a long history in pages, its shape, and the board as it stood (issue #12)', () => {
  it('[HA9] versions come in pages of `limit` after `after`, with `next` until the end; bad paging is 400', async () => {
    const n = await server.createNegotiation({
      title: 'Paged',
      parties: [
        { id: 'a', name: 'Alpha' },
        { id: 'b', name: 'Beta' },
      ],
    })
    const us = controlClient(server.url, n.tokens.negotiator.a!, 'Ann')
    track(us)
    await connected(us)
    for (let i = 0; i < 5; i++) expect((await us.command('checkpoint:create', { name: `round ${i}` })).ok).toBe(true)
    const page = async (q: string) => {
      const res = await server.api(`/api/negotiations/${n.id}/versions${q}`, { token: n.tokens.reviewer })
      return { status: res.status, body: (await res.json()) as { versions: Version[]; next: number | null } }
    }
    const all = (await page('')).body
    expect(all.next).toBeNull()
    expect(all.versions.map((v) => v.n)).toEqual([1, 2, 3, 4, 5])
    const first = (await page('?limit=2')).body
    expect(first.versions.map((v) => v.n)).toEqual([1, 2])
    expect(first.next).toBe(2)
    const second = (await page(`?after=${first.next}&limit=2`)).body
    expect(second.versions.map((v) => v.n)).toEqual([3, 4])
    const last = (await page(`?after=${second.next}&limit=2`)).body
    expect(last.versions.map((v) => v.n)).toEqual([5])
    expect(last.next).toBeNull()
    expect((await page('?after=5')).body).toEqual({ versions: [], next: null })
    for (const bad of ['?limit=0', '?limit=5001', '?after=-1', '?after=x']) expect((await page(bad)).status, bad).toBe(400)
  })

  it('[HA10] the density of the whole history in buckets, by party and kind, without listing it', async () => {
    const res = await server.api(`/api/negotiations/${neg.id}/versions/density?buckets=3`, { token: neg.tokens.reviewer })
    expect(res.status).toBe(200)
    const d = (await res.json()) as {
      total: number
      buckets: Array<{ fromN: number; toN: number; count: number; byParty: Record<string, number> }>
    }
    const list = await versions()
    expect(d.total).toBe(list.length)
    expect(d.buckets.length).toBeLessThanOrEqual(3)
    expect(d.buckets.reduce((a, b) => a + b.count, 0)).toBe(list.length)
    expect(d.buckets[0]!.fromN).toBe(1)
    expect(d.buckets.at(-1)!.toN).toBe(list.length)
    const observer = await server.api(`/api/negotiations/${neg.id}/versions/density`, { token: neg.tokens.observer })
    expect(observer.status).toBe(403)
  })

  it('[HA11] a past sheet carries each card where it stood and the links that existed then', async () => {
    const a = boardClient('us', 'Ann Positions')
    await synced(a)
    const id = termId(a, 'Equal obligations')
    const m = board(a.doc).terms.get(id)!
    a.doc.transact(() => {
      m.set('x', 700)
      m.set('y', 420)
      const link = new Y.Map<unknown>()
      link.set('from', id)
      link.set('to', termId(a, 'Response deadline'))
      link.set('label', 'balances')
      board(a.doc).links.set('l-balance', link)
    })
    await waitFor(async () => {
      const v = await versions()
      const sheet = (await get<Sheet>(`/versions/${v.at(-1)!.n}`, neg.tokens.reviewer)).body
      return sheet.terms.find((t) => t.id === id)?.x === 700 && sheet.links.some((l) => l.id === 'l-balance')
    })
    const v = await versions()
    const sheet = (await get<Sheet>(`/versions/${v.at(-1)!.n}`, neg.tokens.reviewer)).body
    expect(sheet.terms.find((t) => t.id === id)).toMatchObject({ x: 700, y: 420 })
    expect(sheet.links.find((l) => l.id === 'l-balance')).toEqual({
      id: 'l-balance',
      from: id,
      to: termId(a, 'Response deadline'),
      label: 'balances',
    })
    // the first version: no link yet, the card where it was created
    const firstSheet = (await get<Sheet>('/versions/1', neg.tokens.reviewer)).body
    expect(firstSheet.links).toEqual([])
    expect(firstSheet.terms.find((t) => t.id === id)!.x).not.toBe(700)
  })
})

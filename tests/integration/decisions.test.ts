/**
 * Party codes at creation and decisions on the ledger, through the real API and the socket.io channel
 * (issue 18, items 1 and 3):
 *
 * [PC7] POST /api/negotiations with Russian and Arabic names: readable ids, codes suggested from the
 *       names (RU, AE), a code given kept, the same parties in every answer (GET …/:id, /api/session,
 *       the ledger's meta); duplicate or malformed codes are 400;
 * [PC8] a negotiation stored before codes existed keeps its ids and reads with derived codes;
 * [PC9] the Markdown export marks redlines with the code ({>>RU<<}) and names parties in its prose;
 * [DC3] term:reject with a reason writes the decision in the same ledger write as the move, attributed
 *       from the token; an accept clears it;
 * [DC4] term:reopen of an agreed term with a reason, and term:withdraw, write theirs;
 * [DC5] an edit of an agreed term reopens it with a decision `via: 'edit'` by the editor's party.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { boardDocName, ledgerDocName } from '../../shared/docNames'
import { board, readMeta, readStatus, termOrder } from '../../shared/docLayout'
import type { PartyInfo } from '../../shared/negotiation'
import type { CreatedNegotiation } from '../../shared/schemas'
import { synced, waitFor, yClient, type YClient } from '../helpers/clients'
import { connected, controlClient, type ControlClient } from '../helpers/control'
import { startServer, type TestServer } from '../helpers/server'

const RUSSIA = 'Российская Федерация'
const EMIRATES = 'الإمارات العربية المتحدة'

let server: TestServer
const open: Array<YClient | ControlClient> = []
const track = <T extends YClient | ControlClient>(c: T): T => (open.push(c), c)

beforeAll(async () => {
  server = await startServer()
})
afterAll(async () => {
  for (const c of open.splice(0)) 'destroy' in c ? c.destroy() : c.close()
  await server?.close()
})

async function control(token: string, name: string): Promise<ControlClient> {
  const c = track(controlClient(server.url, token, name))
  await connected(c)
  return c
}

async function ok(c: ControlClient, event: string, payload: unknown) {
  const ack = await c.command(event, payload)
  expect(ack, `${event} ${JSON.stringify(payload)}`).toMatchObject({ ok: true })
}

describe('party codes over the API', () => {
  it('[PC7] ids are readable, codes suggested from names (RU, AE) or kept as given, the same everywhere; bad codes are 400', async () => {
    const neg = await server.createNegotiation({
      title: 'Three delegations',
      parties: [{ name: 'United States' }, { name: RUSSIA }, { name: EMIRATES }, { name: 'European Union', code: 'EU27' }],
    })
    const [us, ru, ae, eu] = neg.parties
    expect([us, ru, ae, eu].map((p) => p!.code)).toEqual(['US', 'RU', 'AE', 'EU27'])
    expect(us!.id).toBe('united-states')
    expect(ru!.id).toBe('rossiyskaya-federatsiya')
    expect(ae!.id).toMatch(/^[a-z][a-z0-9-]+$/)
    expect(ae!.id).not.toMatch(/^party/)
    expect(Object.keys(neg.tokens.negotiator)).toEqual(neg.parties.map((p) => p.id))

    const got = (await (
      await server.api(`/api/negotiations/${neg.id}`, { method: 'GET', token: neg.tokens.observer })
    ).json()) as {
      parties: PartyInfo[]
    }
    expect(got.parties).toEqual(neg.parties)
    const session = (await (
      await server.api('/api/session', { method: 'GET', token: neg.tokens.negotiator[ru!.id] })
    ).json()) as {
      negotiation: { parties: PartyInfo[] }
    }
    expect(session.negotiation.parties).toEqual(neg.parties)
    const ledger = track(yClient(server.wsUrl, ledgerDocName(neg.id), { token: neg.tokens.observer, name: 'Press' }))
    await synced(ledger)
    expect(readMeta(ledger.doc)?.parties).toEqual(neg.parties)

    for (const parties of [
      [
        { name: 'A', code: 'AB' },
        { name: 'B', code: 'AB' },
      ],
      [{ name: 'A', code: 'ab' }, { name: 'B' }],
      [{ name: 'A', code: 'ABCDEFG' }, { name: 'B' }],
    ]) {
      const res = await server.api('/api/negotiations', { token: server.adminToken, body: { title: 'Bad', parties } })
      expect(res.status, JSON.stringify(parties)).toBe(400)
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('bad-request')
    }
  })

  it('[PC8] a negotiation stored before codes keeps its ids and reads with codes derived from its names', async () => {
    const id = 'stored-before-codes'
    const parties = [
      { id: 'party', name: RUSSIA, color: '#1f5fbf' },
      { id: 'party-2', name: EMIRATES, color: '#b3261e' },
      { id: 'us', name: 'United States', color: '#1b7f4b' },
    ]
    await server.parley.store.createNegotiation({ id, title: 'Old', parties, createdAt: Date.UTC(2026, 0, 12) })
    const { token } = (await (
      await server.api(`/api/negotiations/${id}/tokens`, { token: server.adminToken, body: { role: 'observer' } })
    ).json()) as { token: string }
    const read = async () =>
      ((await (await server.api(`/api/negotiations/${id}`, { method: 'GET', token })).json()) as { parties: PartyInfo[] }).parties
    const first = await read()
    expect(first.map((p) => [p.id, p.code])).toEqual([
      ['party', 'RU'],
      ['party-2', 'AE'],
      ['us', 'US'],
    ])
    expect(await read()).toEqual(first)
    // the store keeps what it was given
    expect((await server.parley.store.getNegotiation(id))!.parties).toEqual(parties)
  })

  it('[PC9] the Markdown export marks redlines with codes and names the parties in its prose', async () => {
    const neg = await server.createNegotiation({
      title: 'Export',
      parties: [{ name: 'United States' }, { name: RUSSIA }],
      terms: [{ title: 'Scope', body: 'Ransomware operators.' }],
    })
    const ruId = neg.parties[1]!.id
    const b = track(yClient(server.wsUrl, boardDocName(neg.id), { token: neg.tokens.negotiator[ruId]!, name: 'Boris' }))
    await synced(b)
    const termId = termOrder(b.doc)[0]!
    const body = board(b.doc).terms.get(termId)!.get('body') as Y.Text
    body.insert(body.length, ' Named in a request.')
    const exported = async () =>
      (await server.api(`/api/negotiations/${neg.id}/export?format=md`, { method: 'GET', token: neg.tokens.reviewer })).text()
    const md = await waitFor(async () => ((await exported()).includes('Named in a request.++}') ? exported() : null), {
      what: 'the redline in the export',
      timeout: 10_000,
      interval: 200,
    })
    expect(md).toContain('{++ Named in a request.++}{>>RU<<}')
    expect(md).toContain(`between United States (US, \`united-states\`) and ${RUSSIA} (RU, \`${ruId}\`)`)
    expect(md).not.toContain(`{>>${ruId}<<}`)
  })
})

describe('decisions on the ledger', () => {
  let neg: CreatedNegotiation
  let us: ControlClient
  let ru: ControlClient
  let watcher: YClient
  let editor: YClient
  let termIds: string[]
  const status = (termId: string) => readStatus(watcher.doc, termId)

  beforeAll(async () => {
    neg = await server.createNegotiation({
      title: 'Decisions',
      parties: [
        { id: 'us', name: 'United States' },
        { id: 'ru', name: RUSSIA },
      ],
      terms: [
        { title: 'Scope', body: 'Ransomware operators.' },
        { title: 'Deadline', body: 'Within 30 days.' },
        { title: 'Costs', body: 'Each party bears its own.' },
      ],
    })
    ;[us, ru] = await Promise.all([control(neg.tokens.negotiator.us!, 'Ann'), control(neg.tokens.negotiator.ru!, 'Boris')])
    watcher = track(yClient(server.wsUrl, ledgerDocName(neg.id), { token: neg.tokens.observer, name: 'Press' }))
    editor = track(yClient(server.wsUrl, boardDocName(neg.id), { token: neg.tokens.negotiator.us!, name: 'Ann' }))
    await Promise.all([synced(watcher), synced(editor)])
    termIds = termOrder(editor.doc)
  })

  it('[DC3] term:reject with a reason writes who, why and when with the move; an accept clears it', async () => {
    const [scope] = termIds
    const before = Date.now()
    // the payload cannot name another party or user: they come from the token
    await ok(ru, 'term:reject', { termId: scope, reason: 'Too broad', party: 'us', user: 'Mallory' })
    await waitFor(() => status(scope!)?.state === 'rejected', { what: 'the rejection' })
    const s = status(scope!)!
    expect(s.decision).toEqual({ kind: 'reject', party: 'ru', user: 'Boris', reason: 'Too broad', at: s.updatedAt })
    expect(s.decision!.at).toBeGreaterThanOrEqual(before - 1000)
    // in the same ledger write: no state without its decision was ever seen by the watcher
    const states: Array<[string, boolean]> = []
    const seen = () => {
      const t = status(scope!)
      if (t) states.push([t.state, t.decision !== undefined])
    }
    watcher.doc.on('update', seen)
    await ok(us, 'term:accept', { termId: scope })
    await waitFor(() => status(scope!)?.state === 'accepted', { what: 'the acceptance' })
    watcher.doc.off('update', seen)
    expect(status(scope!)).not.toHaveProperty('decision')
    expect(states.filter(([state, decided]) => state === 'accepted' && decided)).toEqual([])
  })

  it('[DC4] term:reopen with a reason and term:withdraw write their decisions', async () => {
    const [, deadline, costs] = termIds
    await ok(us, 'term:accept', { termId: deadline })
    await ok(ru, 'term:accept', { termId: deadline })
    await waitFor(() => status(deadline!)?.state === 'agreed', { what: 'the agreement' })
    expect(status(deadline!)).not.toHaveProperty('decision')
    await ok(ru, 'term:reopen', { termId: deadline, reason: 'Moscow asks for 45 days' })
    await waitFor(() => status(deadline!)?.state === 'reopened', { what: 'the reopening' })
    expect(status(deadline!)!.decision).toMatchObject({
      kind: 'reopen',
      party: 'ru',
      user: 'Boris',
      reason: 'Moscow asks for 45 days',
    })

    // opening terms are proposed by nobody: only a term a delegation proposed can be withdrawn by it
    const proposed = 't-withdrawn-1'
    editor.doc.transact(() => {
      const m = new Y.Map<unknown>()
      m.set('title', new Y.Text('Venue'))
      m.set('body', new Y.Text('Geneva.'))
      m.set('x', 0)
      m.set('y', 900)
      board(editor.doc).terms.set(proposed, m)
      board(editor.doc).order.push([proposed])
    })
    await waitFor(() => status(proposed)?.proposedBy === 'us', { what: 'the proposal' })
    await ok(us, 'term:withdraw', { termId: proposed })
    await waitFor(() => status(proposed)?.state === 'withdrawn', { what: 'the withdrawal' })
    expect(status(proposed)!.decision).toMatchObject({ kind: 'withdraw', party: 'us', user: 'Ann' })
    expect(status(proposed)!.decision).not.toHaveProperty('reason')
    expect(status(costs!)).not.toHaveProperty('decision')
  })

  it('[DC5] an edit of an agreed term reopens it with a decision via the edit, by the editor', async () => {
    const costs = termIds[2]!
    await ok(us, 'term:accept', { termId: costs })
    await ok(ru, 'term:accept', { termId: costs })
    await waitFor(() => status(costs)?.state === 'agreed', { what: 'the agreement' })
    const body = board(editor.doc).terms.get(costs)!.get('body') as Y.Text
    body.insert(body.length, ' Translation costs are shared.')
    await waitFor(() => status(costs)?.state === 'reopened', { what: 'the reopening by edit', timeout: 10_000 })
    expect(status(costs)!.decision).toMatchObject({ kind: 'reopen', party: 'us', user: 'Ann', via: 'edit' })
    expect(status(costs)!.decision).not.toHaveProperty('reason')
  })
})

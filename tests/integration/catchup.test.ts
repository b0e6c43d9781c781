/**
 * Catch-up (issue 14 item 3; CONTRACT.md "Comments and catch-up"): per
 * participant, the last version they saw, and what changed since — the
 * versions, the redline, the comments that mention them — through the real
 * server on SQLite (PostgreSQL runs the same store calls in the store suite).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { setTermText, termText, termsInOrder } from '../../shared/docLayout'
import type { Ack, CatchUp } from '../../shared/schemas'
import { startServer, type TestServer } from '../helpers/server'
import { connected, controlClient, type ControlClient } from '../helpers/control'
import type { CreatedNegotiation } from '../../server/negotiation/service'

let server: TestServer
let neg: CreatedNegotiation
let scopeId: string
const closers: Array<() => void> = []

async function control(token: string, name: string): Promise<ControlClient> {
  const c = controlClient(server.url, token, name)
  closers.push(() => c.close())
  await connected(c)
  return c
}
const must = (a: Ack): { threadId: string } => {
  if (!a.ok) throw new Error(`refused: ${a.error.code}`)
  return a as unknown as { threadId: string }
}
async function catchUp(token: string, name: string): Promise<CatchUp> {
  const res = await server.api(`/api/negotiations/${neg.id}/catchup?name=${encodeURIComponent(name)}`, { token })
  expect(res.status).toBe(200)
  return (await res.json()) as CatchUp
}
async function seen(token: string, name: string, n: number): Promise<number> {
  const res = await server.api(`/api/negotiations/${neg.id}/seen`, { token, method: 'POST', body: { n, name } })
  return res.status
}

beforeAll(async () => {
  server = await startServer()
  neg = await server.createNegotiation({
    title: 'Catching up',
    parties: [
      { id: 'us', name: 'United States' },
      { id: 'ru', name: 'Russian Federation' },
    ],
    terms: [{ title: 'Scope', body: 'Each party extradites persons charged with ransomware attacks.' }],
  })
  const board = await server.parley.service.boardRoom(neg.id)
  scopeId = termsInOrder(board.doc)[0]!.id
  server.parley.service.releaseRoom(board)
})

afterAll(async () => {
  for (const c of closers) c()
  await server.close()
})

describe('[CU1] catch-up per participant', () => {
  it('what the other side changed and said since one last looked: versions, redline, mentions', async () => {
    const usToken = neg.tokens.negotiator.us!
    const carter = await control(usToken, 'J. Carter')
    const { threadId } = must(
      await carter.command('comment:add', { termId: scopeId, scope: 'shared', body: 'Does this cover affiliates?' }),
    )
    // Never marked anything seen: nothing to catch up on yet.
    expect(await catchUp(usToken, 'J. Carter')).toMatchObject({ lastSeen: null, versions: [], terms: [], mentions: [] })
    const before = (await catchUp(usToken, 'J. Carter')).latest
    expect(await seen(usToken, 'J. Carter', before)).toBe(204)

    // Meanwhile the Russian delegation edits the clause, replies with a mention, and says something internal too.
    const ru = { negotiationId: neg.id, role: 'negotiator' as const, party: 'ru', user: 'A. Volkova', session: 's-ru' }
    const board = await server.parley.service.boardRoom(neg.id)
    const text = termText(board.doc, scopeId)!
    await board.serverWrite(server.parley.service.authorOf(ru), (doc) =>
      setTermText(doc, scopeId, {
        ...text,
        body: text.body.replace('ransomware attacks', 'ransomware attacks and their affiliates'),
      }),
    )
    server.parley.service.releaseRoom(board)
    const volkova = await control(neg.tokens.negotiator.ru!, 'A. Volkova')
    must(await volkova.command('comment:reply', { threadId, scope: 'shared', body: '@J. Carter it does now.' }))
    must(await volkova.command('comment:add', { termId: scopeId, scope: 'delegation', body: '@J. Carter must not see this' }))

    const c = await catchUp(usToken, 'J. Carter')
    expect(c.lastSeen).toBe(before)
    expect(c.latest).toBeGreaterThan(before)
    expect(c.versions.map((v) => [v.kind, v.party])).toEqual([
      ['edit', 'ru'],
      ['comment', 'ru'],
    ])
    expect(c.terms).toHaveLength(1)
    expect(c.terms[0]).toMatchObject({ id: scopeId, change: 'modified' })
    expect(c.terms[0]!.body.filter((s) => s.op === 'ins').map((s) => [s.text, s.party])).toEqual([
      [' and their affiliates', 'ru'],
    ])
    // The mention in the shared thread; the Russian delegation's internal thread stays its own.
    expect(c.mentions).toEqual([
      { threadId, commentId: expect.any(String), by: { party: 'ru', user: 'A. Volkova' }, at: expect.any(String) },
    ])

    // Per participant: a colleague with the same link has a catch-up of their own.
    expect((await catchUp(usToken, 'M. Reyes')).lastSeen).toBeNull()
    // Marking seen moves it forward, never back (an old tab saying less).
    expect(await seen(usToken, 'J. Carter', c.latest)).toBe(204)
    expect(await seen(usToken, 'J. Carter', before)).toBe(204)
    expect(await catchUp(usToken, 'J. Carter')).toMatchObject({ lastSeen: c.latest, versions: [], terms: [], mentions: [] })
  })

  it('observers have no catch-up (no history); bad input is refused', async () => {
    const obs = await server.api(`/api/negotiations/${neg.id}/catchup`, { token: neg.tokens.observer })
    expect(obs.status).toBe(403)
    expect(await seen(neg.tokens.reviewer, 'L. Okafor', -1)).toBe(400)
    const wrong = await server.api(`/api/negotiations/${neg.id}/seen`, {
      token: neg.tokens.reviewer,
      method: 'POST',
      body: { n: 'x' },
    })
    expect(wrong.status).toBe(400)
  })
})

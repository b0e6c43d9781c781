/**
 * Comment threads (issue 14; CONTRACT.md "Comments and catch-up") through the
 * real server: the comment:* commands over socket.io, the thread documents
 * over y-websocket. Who may comment where, authors from the token only,
 * internal threads the other side's and observers' frames never carry,
 * anchors that stay on their words while both sides type, tombstones, and
 * shared events as versions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { encodeAnchor, resolveAnchor, threadsOf } from '../../shared/comments'
import { board as boardOf, termsInOrder } from '../../shared/docLayout'
import type { Ack, Version } from '../../shared/schemas'
import { CloseCode } from '../../shared/protocol'
import { startServer, type TestServer } from '../helpers/server'
import { rawClient, synced, waitFor, yClient, type YClient } from '../helpers/clients'
import { connected, controlClient, type ControlClient } from '../helpers/control'
import type { CreatedNegotiation } from '../../server/negotiation/service'

let server: TestServer
let neg: CreatedNegotiation
const closers: Array<() => void> = []
let scopeId: string

async function control(token: string, name: string): Promise<ControlClient> {
  const c = controlClient(server.url, token, name)
  closers.push(() => c.close())
  await connected(c)
  return c
}
function doc(name: string, token: string, user = 'reader'): YClient {
  const c = yClient(server.wsUrl, name, { token, name: user })
  closers.push(() => c.destroy())
  return c
}
/** The answer of a command that succeeded (its ids), or the refusal thrown. */
const ok = (a: Ack): { threadId: string; commentId: string } => {
  if (!a.ok) throw new Error(`refused: ${a.error.code} ${a.error.message}`)
  return a as unknown as { threadId: string; commentId: string }
}

async function versions(): Promise<Version[]> {
  const res = await server.api(`/api/negotiations/${neg.id}/versions`, { token: neg.tokens.reviewer })
  return ((await res.json()) as { versions: Version[] }).versions
}

beforeAll(async () => {
  server = await startServer()
  neg = await server.createNegotiation({
    title: 'Discussed',
    parties: [
      { id: 'us', name: 'United States' },
      { id: 'ru', name: 'Russian Federation' },
    ],
    terms: [{ title: 'Scope', body: 'Each party extradites persons charged with ransomware attacks.' }],
  })
  const b = doc(`${neg.id}/board`, neg.tokens.reviewer)
  await synced(b)
  scopeId = termsInOrder(b.doc)[0]!.id
})

afterAll(async () => {
  for (const c of closers) c()
  await server.close()
})

describe('[CM1] threads', () => {
  it('a negotiator opens a shared thread on words of a term; everyone reads it, authored from the token', async () => {
    const us = await control(neg.tokens.negotiator.us!, 'J. Carter')
    const b = doc(`${neg.id}/board`, neg.tokens.negotiator.us!, 'J. Carter')
    await synced(b)
    const body = boardOf(b.doc).terms.get(scopeId)!.get('body') as Y.Text
    const at = body.toString().indexOf('ransomware')
    const anchor = {
      start: encodeAnchor(Y.createRelativePositionFromTypeIndex(body, at)),
      end: encodeAnchor(Y.createRelativePositionFromTypeIndex(body, at + 'ransomware'.length)),
    }
    const made = ok(
      await us.command('comment:add', {
        termId: scopeId,
        scope: 'shared',
        body: 'Does this cover <b>affiliates</b>?',
        anchor,
        quote: 'ransomware',
      }),
    )
    expect(made.threadId).toMatch(/^th-/)
    for (const token of [neg.tokens.observer, neg.tokens.reviewer, neg.tokens.negotiator.ru!]) {
      const c = doc(`${neg.id}/comments`, token)
      await synced(c)
      await waitFor(() => threadsOf(c.doc).length === 1, { what: 'the thread' })
      const [t] = threadsOf(c.doc)
      expect(t).toMatchObject({
        termId: scopeId,
        quote: 'ransomware',
        resolved: false,
        createdBy: { party: 'us', user: 'J. Carter' },
      })
      // plain text, as written: escaping is every reader's job
      expect(t!.comments[0]).toMatchObject({ body: 'Does this cover <b>affiliates</b>?', party: 'us', user: 'J. Carter' })
    }
    // The anchor stays on its words while the other side types before them.
    const ruBoard = doc(`${neg.id}/board`, neg.tokens.negotiator.ru!, 'A. Volkova')
    await synced(ruBoard)
    const ruBody = boardOf(ruBoard.doc).terms.get(scopeId)!.get('body') as Y.Text
    ruBody.insert(0, 'Subject to Article 2, ')
    body.insert(body.length, ' Both sides agree.')
    await waitFor(() => body.toString().startsWith('Subject to') && ruBody.toString().endsWith('agree.'), { what: 'both edits' })
    const range = resolveAnchor(body, anchor)!
    expect(body.toString().slice(range.index, range.index + range.length)).toBe('ransomware')
    // Deleting the words leaves the thread without a range: it shows its quote instead.
    body.delete(range.index, range.length)
    expect(resolveAnchor(body, anchor)).toBeNull()
  })

  it('observers and reviewers cannot comment; nobody can write the thread documents directly', async () => {
    for (const token of [neg.tokens.observer, neg.tokens.reviewer]) {
      const c = await control(token, 'watcher')
      const a = await c.command('comment:add', { termId: scopeId, scope: 'shared', body: 'hello' })
      expect(a).toMatchObject({ ok: false, error: { code: 'wrong-role' } })
    }
    const c = doc(`${neg.id}/comments`, neg.tokens.negotiator.ru!, 'A. Volkova')
    await synced(c)
    // a forged thread written straight into the doc: refused, never stored
    c.doc.getMap('threads').set('th-forged', new Y.Map())
    await waitFor(() => c.denied.length > 0, { what: 'a refusal' })
    expect(c.denied[0]).toBe('read-only')
    const fresh = doc(`${neg.id}/comments`, neg.tokens.reviewer)
    await synced(fresh)
    expect(fresh.doc.getMap('threads').has('th-forged')).toBe(false)
  })

  it('an internal thread reaches its delegation only: the other side and observers cannot open it, and their frames never carry it', async () => {
    const secret = 'Our fallback is 45 days, do not concede earlier'
    const frames: Uint8Array[] = []
    for (const [name, token] of [
      [`${neg.id}/comments`, neg.tokens.negotiator.ru!],
      [`${neg.id}/comments`, neg.tokens.observer],
      [`${neg.id}/board`, neg.tokens.negotiator.ru!],
      [`${neg.id}/ledger`, neg.tokens.observer],
    ] as const) {
      const raw = rawClient(server.wsUrl, name, { token, name: 'listener' })
      closers.push(() => raw.ws.close())
      await raw.opened
      raw.ws.on('message', (d: Buffer) => frames.push(new Uint8Array(d)))
    }
    for (const token of [neg.tokens.negotiator.ru!, neg.tokens.observer, neg.tokens.reviewer]) {
      const raw = rawClient(server.wsUrl, `${neg.id}/comments/us`, { token, name: 'snoop' })
      expect(await raw.closeCode(5000)).toBe(CloseCode.forbidden)
    }
    const us = await control(neg.tokens.negotiator.us!, 'J. Carter')
    const before = (await versions()).length
    ok(await us.command('comment:add', { termId: scopeId, scope: 'delegation', body: secret }))
    const own = doc(`${neg.id}/comments/us`, neg.tokens.negotiator.us!, 'M. Reyes')
    await synced(own)
    await waitFor(() => threadsOf(own.doc).some((t) => t.comments[0]?.body === secret), { what: 'the internal thread' })
    await new Promise((r) => setTimeout(r, 300))
    const heard = Buffer.concat(frames.map((f) => Buffer.from(f))).toString('latin1')
    expect(heard).not.toContain('fallback')
    // An internal thread is no version: it never leaves the delegation.
    expect((await versions()).length).toBe(before)
  })

  it('replies, edits and deletes of one’s own comments, resolve and reopen; shared events are versions', async () => {
    const us = await control(neg.tokens.negotiator.us!, 'J. Carter')
    const ru = await control(neg.tokens.negotiator.ru!, 'A. Volkova')
    const before = (await versions()).length
    const { threadId, commentId } = ok(
      await us.command('comment:add', { termId: scopeId, scope: 'shared', body: 'Why 30 days?' }),
    )
    const reply = ok(await ru.command('comment:reply', { threadId, scope: 'shared', body: '@J. Carter because of the courts' }))
    // Only its author may change a comment.
    expect(
      await us.command('comment:edit', { threadId, commentId: reply.commentId, scope: 'shared', body: 'forged' }),
    ).toMatchObject({
      ok: false,
      error: { code: 'wrong-party' },
    })
    ok(await us.command('comment:edit', { threadId, commentId, scope: 'shared', body: 'Why only 30 days?' }))
    ok(await ru.command('comment:delete', { threadId, commentId: reply.commentId, scope: 'shared' }))
    ok(await ru.command('comment:resolve', { threadId, scope: 'shared' }))
    ok(await us.command('comment:reopen', { threadId, scope: 'shared' }))
    const c = doc(`${neg.id}/comments`, neg.tokens.reviewer)
    await synced(c)
    await waitFor(() => threadsOf(c.doc).find((t) => t.id === threadId)?.comments.length === 2, { what: 'the thread' })
    const t = threadsOf(c.doc).find((x) => x.id === threadId)!
    expect(t.resolved).toBe(false)
    expect(t.comments[0]).toMatchObject({ body: 'Why only 30 days?', user: 'J. Carter' })
    expect(t.comments[0]!.editedAt).toBeGreaterThan(0)
    // the tombstone: place, author and time kept, words gone
    expect(t.comments[1]).toMatchObject({ deleted: true, body: '', party: 'ru', user: 'A. Volkova', mentions: [] })
    const vs = await waitFor(
      async () => {
        const all = await versions()
        return all.length >= before + 6 ? all.slice(before) : null
      },
      { what: 'six versions' },
    )
    expect(vs!.map((v) => [v.kind, v.party, v.termIds])).toEqual([
      ['comment', 'us', [scopeId]],
      ['comment', 'ru', [scopeId]],
      ['comment', 'us', [scopeId]],
      ['comment', 'ru', [scopeId]],
      ['resolve', 'ru', [scopeId]],
      ['resolve', 'us', [scopeId]],
    ])
    expect(vs!.map((v) => v.summary)).toEqual([
      "United States commented on 'Scope'",
      "Russian Federation replied on 'Scope'",
      "United States edited a comment on 'Scope'",
      "Russian Federation deleted a comment on 'Scope'",
      "Russian Federation resolved a thread on 'Scope'",
      "United States reopened a thread on 'Scope'",
    ])
  })

  it('@mentions name participants; bad input gets a clear error', async () => {
    const us = await control(neg.tokens.negotiator.us!, 'J. Carter')
    await control(neg.tokens.negotiator.ru!, 'A. Volkova')
    const { threadId } = ok(
      await us.command('comment:add', { termId: scopeId, scope: 'shared', body: 'Over to you, @A. Volkova.' }),
    )
    const c = doc(`${neg.id}/comments`, neg.tokens.reviewer)
    await synced(c)
    await waitFor(() => threadsOf(c.doc).some((t) => t.id === threadId), { what: 'the thread' })
    expect(threadsOf(c.doc).find((t) => t.id === threadId)!.comments[0]!.mentions).toEqual(['A. Volkova'])
    expect(await us.command('comment:add', { termId: 'no-such-term', scope: 'shared', body: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'unknown-term' },
    })
    expect(await us.command('comment:add', { termId: scopeId, scope: 'shared', body: '   ' })).toMatchObject({
      ok: false,
      error: { code: 'bad-request' },
    })
    expect(await us.command('comment:reply', { threadId: 'th-nope', scope: 'shared', body: 'x' })).toMatchObject({
      ok: false,
      error: { code: 'not-found' },
    })
  })
})

describe('[CM2] in the record', () => {
  it('the replay shows a thread as it stood at each version; exports carry shared threads, never internal ones', async () => {
    const us = await control(neg.tokens.negotiator.us!, 'J. Carter')
    const ru = await control(neg.tokens.negotiator.ru!, 'A. Volkova')
    const { threadId } = ok(await us.command('comment:add', { termId: scopeId, scope: 'shared', body: 'Record me' }))
    ok(await ru.command('comment:reply', { threadId, scope: 'shared', body: 'Recorded' }))
    ok(await us.command('comment:add', { termId: scopeId, scope: 'delegation', body: 'Internal: never exported' }))
    const vs = await versions()
    const [opened, replied] = vs.slice(-2)
    expect([opened!.kind, replied!.kind]).toEqual(['comment', 'comment'])
    const sheetAt = async (n: number) =>
      (await (await server.api(`/api/negotiations/${neg.id}/versions/${n}`, { token: neg.tokens.reviewer })).json()) as {
        threads: Array<{ id: string; comments: Array<{ body: string }> }>
      }
    const thread = async (n: number) => (await sheetAt(n)).threads.find((t) => t.id === threadId)
    expect(await thread(opened!.n - 1)).toBeUndefined()
    expect((await thread(opened!.n))!.comments.map((c) => c.body)).toEqual(['Record me'])
    expect((await thread(replied!.n))!.comments.map((c) => c.body)).toEqual(['Record me', 'Recorded'])
    const json = (await (
      await server.api(`/api/negotiations/${neg.id}/export?format=json`, { token: neg.tokens.reviewer })
    ).json()) as {
      threads: Array<{ comments: Array<{ body: string }> }>
    }
    const bodies = json.threads.flatMap((t) => t.comments.map((c) => c.body))
    expect(bodies).toContain('Recorded')
    expect(bodies).not.toContain('Internal: never exported')
    const md = await (await server.api(`/api/negotiations/${neg.id}/export?format=md`, { token: neg.tokens.reviewer })).text()
    expect(md).toContain('## Discussion')
    expect(md).not.toContain('Internal')
  })
})

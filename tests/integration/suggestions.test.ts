/**
 * Suggestions through the real server (issue 15, item 2, the rules landed so
 * far): a suggestion in another's name is refused over the stock client, a
 * pending suggestion leaves the term's hash alone, and a term with pending
 * suggestions cannot be accepted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { board as boardOf, readStatus, termText, termsInOrder } from '../../shared/docLayout'
import { termHash } from '../../shared/negotiation'
import { startServer, type TestServer } from '../helpers/server'
import { synced, waitFor, yClient, type YClient } from '../helpers/clients'
import { connected, controlClient } from '../helpers/control'
import type { CreatedNegotiation } from '../../server/negotiation/service'

let server: TestServer
let neg: CreatedNegotiation
const closers: Array<() => void> = []
const track = <T extends { destroy(): void }>(c: T) => (closers.push(() => c.destroy()), c)

beforeAll(async () => {
  server = await startServer()
  neg = await server.createNegotiation({
    title: 'Tracked changes',
    parties: [
      { id: 'us', name: 'United States' },
      { id: 'ru', name: 'Russian Federation' },
    ],
    terms: [{ title: 'Deadline', body: 'Requests are answered within 30 days.' }],
  })
})

afterAll(async () => {
  for (const c of closers) c()
  await server.close()
})

const bodyOf = (c: YClient, id: string) => boardOf(c.doc).terms.get(id)!.get('body') as Y.Text
const mark = (party: string, user: string, kind: 'ins' | 'del') => ({ suggestion: { id: `s-${kind}`, kind, party, user, at: 1 } })

describe('[SG3] suggestions on the server', () => {
  it('a suggestion in another’s name is refused; one’s own is taken, leaves the hash alone and blocks acceptance until decided', async () => {
    const carter = track(yClient(server.wsUrl, `${neg.id}/board`, { token: neg.tokens.negotiator.us!, name: 'J. Carter' }))
    await synced(carter)
    const id = termsInOrder(carter.doc)[0]!.id
    const before = termText(carter.doc, id)!

    // forged: the US writing in the Russian delegation's name
    bodyOf(carter, id).insert(0, 'Not ', mark('ru', 'A. Volkova', 'ins'))
    await waitFor(() => carter.denied.includes('forged-suggestion'), { what: 'the refusal' })
    carter.destroy()

    const carter2 = track(yClient(server.wsUrl, `${neg.id}/board`, { token: neg.tokens.negotiator.us!, name: 'J. Carter' }))
    await synced(carter2)
    const text = bodyOf(carter2, id)
    expect(text.toString()).toBe(before.body)
    const at = text.toString().indexOf('30')
    text.insert(at, '45 ', mark('us', 'J. Carter', 'ins'))
    text.format(at + 3, 2, mark('us', 'J. Carter', 'del'))
    const watcher = track(yClient(server.wsUrl, `${neg.id}/board`, { token: neg.tokens.observer, name: 'obs' }))
    await synced(watcher)
    await waitFor(() => bodyOf(watcher, id).toString().includes('45 30'), { what: 'the suggestion on the server' })
    expect(carter2.denied).toEqual([])
    // The term's text and hash are as before: the suggestion is pending.
    expect(termText(watcher.doc, id)).toEqual(before)

    const ru = controlClient(server.url, neg.tokens.negotiator.ru!, 'A. Volkova')
    closers.push(() => ru.close())
    await connected(ru)
    expect(await ru.command('term:accept', { termId: id })).toMatchObject({ ok: false, error: { code: 'pending-suggestions' } })

    // Decided (here by hand, as the suggester withdrawing both): the term can be accepted, by the hash of its text.
    text.format(at, 3, { suggestion: null })
    text.delete(at, 3)
    text.format(at, 2, { suggestion: null })
    await waitFor(() => bodyOf(watcher, id).toString() === before.body && termText(watcher.doc, id)!.body === before.body, {
      what: 'the suggestion withdrawn',
    })
    expect(await ru.command('term:accept', { termId: id })).toEqual({ ok: true })
    const ledger = track(yClient(server.wsUrl, `${neg.id}/ledger`, { token: neg.tokens.observer, name: 'obs' }))
    await synced(ledger)
    await waitFor(() => readStatus(ledger.doc, id)?.acceptedBy.ru !== undefined, { what: 'the acceptance' })
    expect(readStatus(ledger.doc, id)!.acceptedBy.ru).toBe(termHash(before))
  })
})

describe('[SG4] deciding suggestions', () => {
  it('the other delegation accepts, the suggester rejects; each is a version of the deciding party, and the text is what the decisions make it', async () => {
    const n2 = await server.createNegotiation({
      title: 'Decided',
      parties: [
        { id: 'us', name: 'United States' },
        { id: 'ru', name: 'Russian Federation' },
      ],
      terms: [{ title: 'Deadline', body: 'Requests are answered within 30 days.' }],
    })
    const carter = track(yClient(server.wsUrl, `${n2.id}/board`, { token: n2.tokens.negotiator.us!, name: 'J. Carter' }))
    await synced(carter)
    const id = termsInOrder(carter.doc)[0]!.id
    const text = bodyOf(carter, id)
    const at = text.toString().indexOf('30')
    // "45" for "30" (two suggestions), and " in writing" at the end (a third)
    text.insert(at, '45', { suggestion: { id: 's-45', kind: 'ins', party: 'us', user: 'J. Carter', at: 1 } })
    text.format(at + 2, 2, { suggestion: { id: 's-30', kind: 'del', party: 'us', user: 'J. Carter', at: 1 } })
    const end = text.toString().length - 1
    text.insert(end, ' in writing', { suggestion: { id: 's-w', kind: 'ins', party: 'us', user: 'J. Carter', at: 1 } })
    const us = controlClient(server.url, n2.tokens.negotiator.us!, 'J. Carter')
    const ru = controlClient(server.url, n2.tokens.negotiator.ru!, 'A. Volkova')
    closers.push(
      () => us.close(),
      () => ru.close(),
    )
    await Promise.all([connected(us), connected(ru)])
    await waitFor(async () => (await server.parley.service.boardRoom(n2.id)).doc.getMap('terms').size > 0, { what: 'the board' })
    const pending = async (sid: string) => {
      const b = await server.parley.service.boardRoom(n2.id)
      server.parley.service.releaseRoom(b)
      return (boardOf(b.doc).terms.get(id)!.get('body') as Y.Text)
        .toDelta()
        .some((op: { attributes?: { suggestion?: { id: string } } }) => op.attributes?.suggestion?.id === sid)
    }
    await waitFor(() => pending('s-w'), { what: 'the suggestions on the server' })

    expect(await us.command('suggestion:accept', { termId: id, id: 's-45' })).toMatchObject({
      ok: false,
      error: { code: 'wrong-party' },
    })
    expect(await ru.command('suggestion:accept', { termId: id, id: 'nope' })).toMatchObject({
      ok: false,
      error: { code: 'not-found' },
    })
    expect(await ru.command('suggestion:accept', { termId: id, id: 's-45' })).toEqual({ ok: true })
    expect(await ru.command('suggestion:accept', { termId: id, id: 's-30' })).toEqual({ ok: true })
    expect(await us.command('suggestion:reject', { termId: id, id: 's-w' })).toEqual({ ok: true })
    await waitFor(() => bodyOf(carter, id).toString() === 'Requests are answered within 45 days.', { what: 'the decided text' })
    expect(bodyOf(carter, id).toDelta()).toEqual([{ insert: 'Requests are answered within 45 days.' }])
    // Decided: the term can be accepted again, by the hash of the text the decisions made.
    expect(await us.command('term:accept', { termId: id })).toEqual({ ok: true })

    const res = await server.api(`/api/negotiations/${n2.id}/versions`, { token: n2.tokens.reviewer })
    const vs = ((await res.json()) as { versions: Array<{ kind: string; party: string | null; summary: string }> }).versions
    expect(vs.filter((v) => v.kind.startsWith('suggestion-')).map((v) => [v.kind, v.party, v.summary])).toEqual([
      ['suggestion-accept', 'ru', "Russian Federation accepted a suggestion in 'Deadline'"],
      ['suggestion-accept', 'ru', "Russian Federation accepted a suggestion in 'Deadline'"],
      ['suggestion-reject', 'us', "United States rejected a suggestion in 'Deadline'"],
    ])
  })
})

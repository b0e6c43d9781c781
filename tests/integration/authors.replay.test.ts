/**
 * Who wrote what in the replay (issue 15, item 3): a past sheet
 * (`GET …/versions/:n`) carries each term's title and body as runs of one
 * delegation's characters — the opening draft the server's, each typed word
 * its writer's, a pending suggested insertion left out as the sheet's text
 * leaves it out — and their texts joined are the sheet's text.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type * as Y from 'yjs'
import { board as boardOf, termsInOrder } from '../../shared/docLayout'
import type { Sheet, VersionList } from '../../shared/schemas'
import { authorRunsOf } from '../../server/history/pastStates'
import { startServer, type TestServer } from '../helpers/server'
import { synced, waitFor, yClient, type YClient } from '../helpers/clients'
import type { CreatedNegotiation } from '../../server/negotiation/service'

let server: TestServer
let neg: CreatedNegotiation
const closers: Array<() => void> = []

beforeAll(async () => {
  server = await startServer()
  neg = await server.createNegotiation({
    title: 'Authors',
    parties: [
      { id: 'us', name: 'United States' },
      { id: 'ru', name: 'Russian Federation' },
    ],
    terms: [{ title: 'Deadline', body: 'Answered within 30 days.' }],
  })
})

afterAll(async () => {
  for (const c of closers) c()
  await server.close()
})

const bodyOf = (c: YClient, id: string) => boardOf(c.doc).terms.get(id)!.get('body') as Y.Text

async function latest(): Promise<Sheet> {
  let after = 0
  let last = 0
  for (;;) {
    const page = (await (await server.api(`/api/negotiations/${neg.id}/versions?after=${after}`, { token: neg.tokens.reviewer })).json()) as VersionList
    if (page.versions.length > 0) last = page.versions[page.versions.length - 1]!.n
    if (page.next === null) break
    after = page.next
  }
  return (await (await server.api(`/api/negotiations/${neg.id}/versions/${last}`, { token: neg.tokens.reviewer })).json()) as Sheet
}

describe('[AU5] who wrote what at a version', () => {
  it('runs per delegation, the opening draft the server’s, a pending suggested insertion left out', async () => {
    const us = yClient(server.wsUrl, `${neg.id}/board`, { token: neg.tokens.negotiator.us!, name: 'J. Carter' })
    const ru = yClient(server.wsUrl, `${neg.id}/board`, { token: neg.tokens.negotiator.ru!, name: 'A. Volkova' })
    closers.push(() => us.destroy(), () => ru.destroy())
    await Promise.all([synced(us), synced(ru)])
    const id = termsInOrder(us.doc)[0]!.id
    bodyOf(us, id).insert(0, 'All requests ')
    await waitFor(() => bodyOf(ru, id).toString().startsWith('All requests '), { what: 'the US words at RU' })
    const end = bodyOf(ru, id).length
    bodyOf(ru, id).insert(end, ' Urgent ones in 7.')
    await waitFor(() => bodyOf(us, id).toString().endsWith('in 7.'), { what: 'the RU words at the US' })
    bodyOf(us, id).insert(0, 'Note: ', { suggestion: { id: 's-1', kind: 'ins', party: 'us', user: 'J. Carter', at: 1 } })
    await waitFor(async () => (await latest()).terms[0]!.authors?.body.length === 3, { what: 'the version with the suggestion', timeout: 15_000 })

    const term = (await latest()).terms[0]!
    expect(term.body).toBe('All requests Answered within 30 days. Urgent ones in 7.')
    expect(term.authors!.body).toEqual([
      { text: 'All requests ', party: 'us' },
      { text: 'Answered within 30 days.', party: null },
      { text: ' Urgent ones in 7.', party: 'ru' },
    ])
    expect(term.authors!.title).toEqual([{ text: 'Deadline', party: null }])
  })

  it('the runs skip suggested insertions character by character, and give up when the readings disagree', () => {
    const runs = [
      { t: 'abc', p: 'us', s: 1 },
      { t: 'def', p: 'ru', s: 2 },
    ]
    const ins = { id: 'x', kind: 'ins' as const, party: 'ru', user: 'u', at: 1 }
    expect(authorRunsOf(runs, [{ text: 'ab', suggestion: null }, { text: 'cde', suggestion: ins }, { text: 'f', suggestion: null }])).toEqual([
      { text: 'ab', party: 'us' },
      { text: 'f', party: 'ru' },
    ])
    expect(authorRunsOf(runs, [{ text: 'abcdefg', suggestion: null }])).toBeNull()
    expect(authorRunsOf(runs, [{ text: 'abc', suggestion: null }])).toBeNull()
  })
})

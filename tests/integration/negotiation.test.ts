/**
 * A negotiation played through the public contract only — the stock
 * y-websocket client for the docs and socket.io-client for commands — from
 * proposal to agreement and reopening, with every command refusal (issue #3).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { board, insertTerm, readStatus, replaceText, termText, termsInOrder } from '../../shared/docLayout'
import { termHash } from '../../shared/negotiation'
import type { Presence, Sheet, Version } from '../../shared/schemas'
import { startServer, type TestServer } from '../helpers/server'
import { openSession } from '../helpers/session'
import { synced, waitFor, yClient, type YClient } from '../helpers/clients'
import type { ControlClient } from '../helpers/control'
import type { CreatedNegotiation } from '../../server/negotiation/service'

let server: TestServer
let neg: CreatedNegotiation
const open: Array<YClient | ControlClient> = []

beforeAll(async () => {
  server = await startServer()
  neg = await server.createNegotiation({
    title: 'Переговоры · مفاوضات',
    parties: [
      { id: 'us', name: 'United States' },
      { id: 'ru', name: 'Russian Federation' },
    ],
  })
})

afterAll(async () => {
  for (const c of open) 'destroy' in c ? c.destroy() : c.close()
  await server.close()
})

const session = (role: 'us' | 'ru' | 'observer' | 'reviewer', name: string) => openSession(server, neg, role, name, open)

const status = (s: { ledger: YClient }, termId: string) => readStatus(s.ledger.doc, termId)

describe('a negotiation from proposal to agreement and reopening', () => {
  let us: Awaited<ReturnType<typeof session>>
  let ru: Awaited<ReturnType<typeof session>>
  let observer: Awaited<ReturnType<typeof session>>
  let reviewer: Awaited<ReturnType<typeof session>>
  const termId = 't-deadline'
  const text = { title: 'Срок ответа', body: 'Requests are answered within 30 days — يتم الرد على الطلبات بسرعة.' }

  beforeAll(async () => {
    us = await session('us', 'Ann (US)')
    ru = await session('ru', 'Boris (RU)')
    observer = await session('observer', 'Press')
    reviewer = await session('reviewer', 'Counsel')
  })

  it('[N1] a term that appears on the board is proposed by the party whose update created it', async () => {
    us.board.doc.transact(() => insertTerm(us.board.doc, termId, text))
    await waitFor(() => status(observer, termId)?.state === 'proposed')
    expect(status(observer, termId)).toMatchObject({ state: 'proposed', proposedBy: 'us', acceptedBy: {} })
    await waitFor(() => termText(observer.board.doc, termId)?.body === text.body)
  })

  it('[N2] accept stores the accepting party’s hash of the current text, attributed from the token', async () => {
    // The payload claims another party: ignored; the token decides.
    expect(await ru.control.command('term:accept', { termId, party: 'us' })).toEqual({ ok: true })
    await waitFor(() => status(us, termId)?.state === 'accepted')
    expect(status(us, termId)!.acceptedBy).toEqual({ ru: termHash(text) })
    expect(status(us, termId)!.updatedBy).toBe('ru')
  })

  it('[N3] all parties on the same hash → agreed, with the agreed text (Unicode intact)', async () => {
    expect(await us.control.command('term:accept', { termId })).toEqual({ ok: true })
    await waitFor(() => status(observer, termId)?.state === 'agreed')
    expect(status(observer, termId)).toMatchObject({ agreedText: `${text.title}\n${text.body}`, agreedHash: termHash(text) })
  })

  it('[N4] a later change to an agreed term reopens it, attributed to the editing party, acceptances cleared', async () => {
    const body = (ru.board.doc.getMap('terms').get(termId) as Y.Map<Y.Text>).get('body')!
    ru.board.doc.transact(() => replaceText(body, text.body.replaceAll('30', '45')))
    await waitFor(() => status(observer, termId)?.state === 'reopened')
    expect(status(observer, termId)).toMatchObject({ acceptedBy: {}, updatedBy: 'ru' })
    expect(status(observer, termId)!.agreedText).toBeUndefined()
  })

  it('[N5] agreed again after both accept the new text; version events reach history readers only', async () => {
    expect(await ru.control.command('term:accept', { termId })).toEqual({ ok: true })
    expect(await us.control.command('term:accept', { termId })).toEqual({ ok: true })
    await waitFor(() => status(reviewer, termId)?.state === 'agreed')
    await waitFor(() => reviewer.control.versions.some((v) => v.kind === 'agree' && v.n > 4))
    expect(observer.control.versions).toEqual([])
    const res = await server.api(`/api/negotiations/${neg.id}/versions`, { token: reviewer.token })
    const { versions } = (await res.json()) as { versions: Version[] }
    const kinds = versions.map((v) => `${v.kind}:${v.party}`)
    expect(kinds).toEqual([
      'propose:us',
      'accept:ru',
      'accept:us',
      'agree:us',
      'edit:ru',
      'reopen:ru',
      'accept:ru',
      'accept:us',
      'agree:us',
    ])
    expect(versions.map((v) => v.n)).toEqual(versions.map((_, i) => i + 1))
    expect(versions[1]!.summary).toBe(`Russian Federation accepted '${text.title}'`)
    expect(versions[4]!.summary).toMatch(new RegExp(`^Russian Federation edited '${text.title}': 30 → 45`))
  })

  it('[N6] the sheet at a version shows the text and states as they stood then', async () => {
    const sheet = async (n: number) =>
      (await (await server.api(`/api/negotiations/${neg.id}/versions/${n}`, { token: us.token })).json()) as Sheet
    const atAgree = await sheet(4)
    expect(atAgree.terms[0]).toMatchObject({ id: termId, state: 'agreed', body: text.body })
    const atReopen = await sheet(6)
    expect(atReopen.terms[0]).toMatchObject({ state: 'reopened', body: text.body.replaceAll('30', '45') })
    expect(atReopen.title).toBe('Переговоры · مفاوضات')
  })

  it('[N7] checkpoint:create is a named version of its own', async () => {
    expect(await us.control.command('checkpoint:create', { name: 'Раунд 1' })).toEqual({ ok: true })
    await waitFor(() => us.control.versions.some((v) => v.kind === 'checkpoint'))
    expect(us.control.versions.find((v) => v.kind === 'checkpoint')).toMatchObject({ name: 'Раунд 1', party: 'us' })
  })

  it('[N8] term:restore puts the text of a past version back as a restore version of the caller', async () => {
    expect(await us.control.command('term:restore', { termId, n: 3 })).toEqual({ ok: true })
    await waitFor(() => termText(observer.board.doc, termId)?.body === text.body)
    await waitFor(() => us.control.versions.some((v) => v.kind === 'restore'))
    expect(us.control.versions.find((v) => v.kind === 'restore')).toMatchObject({ party: 'us', termIds: [termId] })
    // the restore changed an agreed text: the term is reopened by the restoring party
    await waitFor(() => status(observer, termId)?.state === 'reopened')
    expect(status(observer, termId)!.updatedBy).toBe('us')
  })

  it('[N9] presence lists everyone online with role and party', async () => {
    await waitFor(() => {
      const last = observer.control.presence.at(-1) as Presence | undefined
      return last && last.online.length >= 4
    })
    const online = observer.control.presence.at(-1)!.online
    expect(online).toEqual(
      expect.arrayContaining([
        { user: 'Ann (US)', role: 'negotiator', party: 'us' },
        { user: 'Boris (RU)', role: 'negotiator', party: 'ru' },
        { user: 'Press', role: 'observer' },
        { user: 'Counsel', role: 'reviewer' },
      ]),
    )
  })

  describe('refusals', () => {
    const refusal = async (c: ControlClient, event: string, payload: unknown) => {
      const ack = await c.command(event, payload)
      expect(ack.ok).toBe(false)
      return (ack as { error: { code: string; message: string } }).error
    }

    it('[N10] unknown term', async () => {
      expect((await refusal(us.control, 'term:accept', { termId: 'nope' })).code).toBe('unknown-term')
    })

    it('[N11] wrong role: observers and reviewers cannot command', async () => {
      for (const who of [observer, reviewer]) {
        for (const [event, payload] of [
          ['term:accept', { termId }],
          ['term:reject', { termId }],
          ['term:withdraw', { termId }],
          ['term:reopen', { termId }],
          ['checkpoint:create', { name: 'x' }],
          ['term:restore', { termId, n: 1 }],
        ] as const) {
          expect((await refusal(who.control, event, payload)).code).toBe('wrong-role')
        }
      }
      await waitFor(() => status(us, termId)?.state === 'reopened')
    })

    it('[N12] wrong party: only the proposing delegation withdraws', async () => {
      expect((await refusal(ru.control, 'term:withdraw', { termId })).code).toBe('wrong-party')
      expect(await us.control.command('term:withdraw', { termId })).toEqual({ ok: true })
      await waitFor(() => status(observer, termId)?.state === 'withdrawn')
      expect((await refusal(ru.control, 'term:accept', { termId })).code).toBe('term-closed')
      expect(await ru.control.command('term:reopen', { termId, reason: 'back to the table' })).toEqual({ ok: true })
    })

    it('[N13] bad payloads are refused with bad-request', async () => {
      expect((await refusal(us.control, 'term:accept', {})).code).toBe('bad-request')
      expect((await refusal(us.control, 'term:accept', 'x')).code).toBe('bad-request')
      expect((await refusal(us.control, 'term:reject', { termId, reason: 'x'.repeat(5000) })).code).toBe('bad-request')
      expect((await refusal(us.control, 'checkpoint:create', { name: '' })).code).toBe('bad-request')
      expect((await refusal(us.control, 'term:restore', { termId, n: -1 })).code).toBe('bad-request')
      expect((await refusal(us.control, 'term:restore', { termId, n: 9999 })).code).toBe('unknown-version')
    })

    it('[N14] reopening an open term is refused', async () => {
      expect((await refusal(us.control, 'term:reopen', { termId })).code).toBe('term-open')
    })
  })

  it('[N15] a term removed by another delegation is put back; its proposer removing it withdraws it', async () => {
    const other = 't-other'
    us.board.doc.transact(() => insertTerm(us.board.doc, other, { title: 'Costs', body: 'Each party bears its own costs.' }))
    await waitFor(() => status(ru, other)?.state === 'proposed')
    ru.board.doc.transact(() => board(ru.board.doc).terms.delete(other))
    await waitFor(() => termText(observer.board.doc, other)?.body === 'Each party bears its own costs.', {
      what: 'term put back',
    })
    await waitFor(() => board(ru.board.doc).terms.has(other))
    us.board.doc.transact(() => board(us.board.doc).terms.delete(other))
    await waitFor(() => status(observer, other)?.state === 'withdrawn')
    expect(termsInOrder(observer.board.doc).some((t) => t.id === other)).toBe(false)
  })
})

describe('a negotiation created with terms', () => {
  it('[N16] initial terms are on the board and in the ledger as the opening draft', async () => {
    const created = await server.createNegotiation({
      title: 'Seeded',
      parties: [{ name: 'Alpha' }, { name: 'Beta' }],
      terms: [
        { title: 'One', body: 'First' },
        { title: 'Два', body: 'Второй' },
      ],
    })
    expect(created.parties.map((p) => p.id)).toEqual(['alpha', 'beta'])
    const token = created.tokens.observer
    const b = yClient(server.wsUrl, `${created.id}/board`, { token })
    const l = yClient(server.wsUrl, `${created.id}/ledger`, { token })
    open.push(b, l)
    await Promise.all([synced(b), synced(l)])
    await waitFor(() => termsInOrder(b.doc).length === 2)
    const terms = termsInOrder(b.doc)
    expect(terms.map((t) => t.title)).toEqual(['One', 'Два'])
    await waitFor(() => terms.every((t) => readStatus(l.doc, t.id)?.state === 'proposed'))
    expect(readStatus(l.doc, terms[0]!.id)!.proposedBy).toBeNull()
    expect(l.doc.getMap('meta').get('title')).toBe('Seeded')
  })
})

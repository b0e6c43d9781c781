/**
 * Concluding a negotiation through the public contract only (issue 17): brackets refuse an
 * accept and `term:choose` settles them; an acceptance ad referendum does not count until
 * confirmed; the package appears once every term is closed, an edit voids its acceptances;
 * initialling before every delegation accepted is refused; the last initial concludes, after
 * which the board refuses every write (permission-denied `concluded`) while the caucus stays
 * writable, and every step is a version.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { bracketsOf, insertTerm, readConclusion, readStatus, replaceText, termText } from '../../shared/docLayout'
import { termHash } from '../../shared/negotiation'
import { packageHashOf } from '../../shared/conclusion'
import type { Version } from '../../shared/schemas'
import { startServer, type TestServer } from '../helpers/server'
import { openSession } from '../helpers/session'
import { synced, waitFor, yClient, type YClient } from '../helpers/clients'
import type { ControlClient } from '../helpers/control'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { board } from '../../shared/docLayout'

let server: TestServer
let neg: CreatedNegotiation
const open: Array<YClient | ControlClient> = []

beforeAll(async () => {
  server = await startServer()
  neg = await server.createNegotiation({
    title: 'Extradition of ransomware operators',
    parties: [
      { id: 'us', name: 'United States' },
      { id: 'ru', name: 'Russian Federation' },
    ],
    terms: [
      { title: 'Response deadline', body: 'Requests are answered within [30][45] days.' },
      { title: 'Scope', body: 'Ransomware operators named in a request.' },
    ],
  })
})

afterAll(async () => {
  for (const c of open) 'destroy' in c ? c.destroy() : c.close()
  await server.close()
})

const session = (role: 'us' | 'ru' | 'observer', name: string) => openSession(server, neg, role, name, open)

function termIds(doc: Y.Doc): string[] {
  return board(doc).order.toArray() as string[]
}

async function exportOf(format: 'md' | 'json', query = ''): Promise<string> {
  const res = await fetch(`${server.url}/api/negotiations/${neg.id}/export?format=${format}${query}`, {
    headers: { authorization: `Bearer ${neg.tokens.reviewer}` },
  })
  expect(res.status).toBe(200)
  return res.text()
}

async function versions(token: string): Promise<Version[]> {
  const res = await fetch(`${server.url}/api/negotiations/${neg.id}/versions?limit=5000`, {
    headers: { authorization: `Bearer ${token}` },
  })
  return ((await res.json()) as { versions: Version[] }).versions
}

describe('concluding a negotiation', () => {
  let us: Awaited<ReturnType<typeof session>>
  let ru: Awaited<ReturnType<typeof session>>
  let observer: Awaited<ReturnType<typeof session>>
  let deadline: string
  let scope: string

  beforeAll(async () => {
    us = await session('us', 'Ann (US)')
    ru = await session('ru', 'Boris (RU)')
    observer = await session('observer', 'Press')
    ;[deadline, scope] = termIds(us.board.doc) as [string, string]
  })

  it('[CN1] the ledger counts a term’s open bracket groups, and a bracketed term cannot be accepted', async () => {
    await waitFor(() => bracketsOf(observer.ledger.doc, deadline) === 1)
    expect(bracketsOf(observer.ledger.doc, scope)).toBe(0)
    const refused = await us.control.command('term:accept', { termId: deadline })
    expect(refused).toMatchObject({ ok: false, error: { code: 'bracketed' } })
    // A bracket typed into the other term is counted too, and taken out again.
    const body = board(us.board.doc).terms.get(scope)!.get('body') as Y.Text
    body.insert(0, '[All] ')
    await waitFor(() => bracketsOf(observer.ledger.doc, scope) === 1)
    body.delete(0, 6)
    await waitFor(() => bracketsOf(observer.ledger.doc, scope) === 0)
  })

  it('[CN2] term:choose settles a group on one option, as an edit of the caller’s party (a choose version)', async () => {
    expect(await ru.control.command('term:choose', { termId: deadline, group: 0, option: 5 })).toMatchObject({
      ok: false,
      error: { code: 'bad-request' },
    })
    expect(await ru.control.command('term:choose', { termId: deadline, group: 0, option: 1 })).toEqual({ ok: true })
    await waitFor(() => termText(us.board.doc, deadline)?.body === 'Requests are answered within 45 days.')
    await waitFor(() => bracketsOf(observer.ledger.doc, deadline) === 0)
    const v = (await versions(us.token)).filter((x) => x.kind === 'choose')
    expect(v).toHaveLength(1)
    expect(v[0]).toMatchObject({ party: 'ru', user: 'Boris (RU)', termIds: [deadline] })
    expect(v[0]!.summary).toContain("'45'")
  })

  it('[CN3] an acceptance ad referendum does not count until the same party confirms it', async () => {
    expect(await us.control.command('term:accept', { termId: deadline })).toEqual({ ok: true })
    const adRef = { principal: 'Moscow', until: '2027-01-15' }
    expect(await ru.control.command('term:accept', { termId: deadline, adReferendum: adRef })).toEqual({ ok: true })
    await waitFor(() => readStatus(observer.ledger.doc, deadline)?.adReferendum?.ru !== undefined)
    const s = readStatus(observer.ledger.doc, deadline)!
    expect(s.state).toBe('accepted')
    expect(s.acceptedBy).toEqual({ us: termHash(termText(us.board.doc, deadline)!) })
    expect(s.adReferendum!.ru).toMatchObject({ principal: 'Moscow', until: '2027-01-15', user: 'Boris (RU)' })
    // The export says the acceptance awaits Moscow.
    const md = await exportOf('md')
    expect(md).toContain('Accepted ad referendum, not yet confirmed: Russian Federation (Boris (RU)')
    expect(md).toContain('subject to confirmation by Moscow by 2027-01-15')
    // Only the party that accepted ad referendum confirms.
    expect(await us.control.command('term:confirm', { termId: deadline })).toMatchObject({
      ok: false,
      error: { code: 'nothing-to-confirm' },
    })
    expect(await ru.control.command('term:confirm', { termId: deadline })).toEqual({ ok: true })
    await waitFor(() => readStatus(observer.ledger.doc, deadline)?.state === 'agreed')
    expect(readStatus(observer.ledger.doc, deadline)!.adReferendum).toBeUndefined()
    const kinds = (await versions(us.token)).map((v) => v.kind)
    expect(kinds.slice(-3)).toEqual(['accept', 'confirm', 'agree'])
    const adRefVersion = (await versions(us.token)).filter((v) => v.kind === 'accept').at(-1)!

    expect(adRefVersion.summary).toContain('ad referendum, subject to Moscow by 2027-01-15')
  })

  it('[CN4] no package while a term is open; once every term is closed the package and its hash appear', async () => {
    expect(readConclusion(observer.ledger.doc).package).toBeNull()
    expect(await us.control.command('package:accept', {})).toMatchObject({ ok: false, error: { code: 'package-open' } })
    expect(await us.control.command('term:accept', { termId: scope })).toEqual({ ok: true })
    expect(await ru.control.command('term:accept', { termId: scope })).toEqual({ ok: true })
    await waitFor(() => readConclusion(observer.ledger.doc).package !== null)
    const pkg = readConclusion(observer.ledger.doc).package!
    const statuses = new Map([deadline, scope].map((id) => [id, readStatus(observer.ledger.doc, id)!]))
    expect(pkg).toEqual({ hash: packageHashOf([deadline, scope], statuses), acceptedBy: {} })
  })

  it('[CN5] initialling before every delegation accepted the package is refused', async () => {
    expect(await us.control.command('negotiation:initial', {})).toMatchObject({ ok: false, error: { code: 'package-open' } })
  })

  it('[CN6] an edit voids every package acceptance, visibly, and a reopen takes the package away', async () => {
    const hash = readConclusion(observer.ledger.doc).package!.hash
    expect(await us.control.command('package:accept', { hash: '0'.repeat(64) })).toMatchObject({
      ok: false,
      error: { code: 'text-changed' },
    })
    expect(await us.control.command('package:accept', { hash })).toEqual({ ok: true, hash })
    await waitFor(() => readConclusion(observer.ledger.doc).package?.acceptedBy.us === hash)
    // RU edits an agreed term: its agreement ends (reopen), and so does the package.
    const body = board(ru.board.doc).terms.get(scope)!.get('body') as Y.Text
    body.insert(body.length - 1, ' or their accomplices')
    await waitFor(() => readStatus(observer.ledger.doc, scope)?.state === 'reopened')
    await waitFor(() => readConclusion(observer.ledger.doc).package === null)
    // Put back and agreed again: a fresh package without acceptances.
    replaceText(body, 'Ransomware operators named in a request.')
    await waitFor(() => termText(us.board.doc, scope)?.body === 'Ransomware operators named in a request.')
    expect(await us.control.command('term:accept', { termId: scope })).toEqual({ ok: true })
    expect(await ru.control.command('term:accept', { termId: scope })).toEqual({ ok: true })
    await waitFor(() => readConclusion(observer.ledger.doc).package !== null)
    expect(readConclusion(observer.ledger.doc).package!.acceptedBy).toEqual({})
    expect(readConclusion(observer.ledger.doc).voided).toMatchObject({ party: 'ru', user: 'Boris (RU)' })
  })

  it('[CN10] the board order is part of the package: a reorder makes a new package and voids its acceptances', async () => {
    const first = readConclusion(observer.ledger.doc).package!.hash
    expect(await ru.control.command('package:accept', { hash: first })).toEqual({ ok: true, hash: first })
    const order = board(us.board.doc).order
    us.board.doc.transact(() => {
      order.delete(0, 1)
      order.push([deadline])
    })
    await waitFor(() => readConclusion(observer.ledger.doc).package?.hash !== first)
    const swapped = readConclusion(observer.ledger.doc)
    expect(swapped.package!.acceptedBy).toEqual({})
    expect(swapped.voided).toMatchObject({ party: 'us', reason: 'Ann (US) reordered the terms' })
    us.board.doc.transact(() => {
      order.delete(0, 1)
      order.push([scope])
    })
    await waitFor(() => readConclusion(observer.ledger.doc).package?.hash === first)
  })

  it('[CN7] every party accepts and initials; the last initial concludes, and the board refuses writes', async () => {
    const hash = readConclusion(observer.ledger.doc).package!.hash
    expect(await us.control.command('package:accept', { hash })).toEqual({ ok: true, hash })
    expect(await ru.control.command('package:accept', { hash })).toEqual({ ok: true, hash })
    expect(await us.control.command('negotiation:initial', {})).toEqual({ ok: true, concluded: null })
    expect(await us.control.command('negotiation:initial', {})).toMatchObject({ ok: false, error: { code: 'term-closed' } })
    const last = await ru.control.command('negotiation:initial', {})
    expect(last).toMatchObject({ ok: true, concluded: { hash } })
    await waitFor(() => readConclusion(observer.ledger.doc).concluded !== null)
    const kinds = (await versions(us.token)).map((v) => v.kind)
    expect(kinds.slice(-5)).toEqual(['package-accept', 'package-accept', 'initial', 'initial', 'conclude'])

    // A keystroke on the board is refused with `concluded`, and nobody else sees it.
    const before = termText(observer.board.doc, deadline)!.body
    const t = board(us.board.doc).terms.get(deadline)!.get('body') as Y.Text
    t.insert(0, 'NOT ')
    await waitFor(() => us.board.denied.includes('concluded'))
    await new Promise((r) => setTimeout(r, 300))
    expect(termText(observer.board.doc, deadline)!.body).toBe(before)
    // …and no command moves anything.
    for (const [cmd, payload] of [
      ['term:reopen', { termId: deadline }],
      ['checkpoint:create', { name: 'after' }],
      ['package:accept', {}],
    ] as const) {
      expect(await ru.control.command(cmd, payload)).toMatchObject({ ok: false, error: { code: 'concluded' } })
    }
  })

  it('[CN9] the exports say the negotiation is concluded, with the package hash and who initialled', async () => {
    const hash = readConclusion(observer.ledger.doc).concluded!.hash
    const md = await exportOf('md')
    expect(md).toContain(`CONCLUDED on`)
    expect(md).toContain(`package ${hash}, initialled by United States (Ann (US)`)
    const json = JSON.parse(await exportOf('json')) as { conclusion: { concluded: { hash: string }; initials: unknown[] } }
    expect(json.conclusion.concluded.hash).toBe(hash)
    expect(json.conclusion.initials).toHaveLength(2)
    const kinds = JSON.parse(await exportOf('json')).versions.map((v: Version) => v.kind) as string[]
    for (const k of ['choose', 'confirm', 'package-accept', 'initial', 'conclude']) expect(kinds).toContain(k)
  })

  it('[CN11] md, html and json export the sheet and history as of a version (n): before the conclusion, no conclusion', async () => {
    const all = (await versions(us.token)).length
    const before = (await versions(us.token)).find((v) => v.kind === 'initial')!.n
    const json = JSON.parse(await exportOf('json', `&n=${before}`)) as {
      asOf: { n: number }
      versions: Version[]
      conclusion?: { concluded: unknown; initials: unknown[] }
    }
    expect(json.asOf.n).toBe(before)
    expect(json.versions).toHaveLength(before)
    expect(json.conclusion!.concluded).toBeNull()
    expect(json.conclusion!.initials).toHaveLength(1)
    expect(await exportOf('md', `&n=${before}`)).not.toContain('CONCLUDED')
    expect(JSON.parse(await exportOf('json', `&n=${all}`)).asOf.n).toBe(all)
  })

  it('[CN8] the caucus stays the delegation’s to write after conclusion', async () => {
    const a = yClient(server.wsUrl, `${neg.id}/caucus/us`, { token: us.token, name: 'Ann (US)' })
    const b = yClient(server.wsUrl, `${neg.id}/caucus/us`, { token: us.token, name: 'Ann 2 (US)' })
    open.push(a, b)
    await Promise.all([synced(a), synced(b)])
    a.doc.transact(() => insertTerm(a.doc, 'fallback', { title: 'Fallback', body: 'We could live with 60 days.' }))
    await waitFor(() => termText(b.doc, 'fallback')?.body === 'We could live with 60 days.')
  })
})

/**
 * The demo one step from conclusion (`npm run demo`, server/demo.ts createConcludingDemo): every
 * term closed — one settled from brackets, one accepted ad referendum and confirmed, one rejected
 * and so outside the package — the package accepted by both delegations and initialled by the
 * United States; the replay has each of those steps; the Russian Federation's one
 * `negotiation:initial` concludes it.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { allStatuses, readConclusion, termOrder, termsInOrder } from '../../shared/docLayout'
import type { CreatedNegotiation, Version } from '../../shared/schemas'
import { createConcludingDemo, CONCLUDING_DEMO } from '../../server/demo'
import { synced, waitFor, yClient, type YClient } from '../helpers/clients'
import { connected, controlClient, type ControlClient } from '../helpers/control'
import { startServer, type TestServer } from '../helpers/server'

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex')

let server: TestServer
let demo: CreatedNegotiation
let board: YClient
let ledger: YClient
const open: Array<YClient | ControlClient> = []

beforeAll(async () => {
  server = await startServer()
  demo = await createConcludingDemo(server.parley.service)
  board = yClient(server.wsUrl, `${demo.id}/board`, { token: demo.tokens.reviewer, name: 'L. Okafor' })
  ledger = yClient(server.wsUrl, `${demo.id}/ledger`, { token: demo.tokens.reviewer, name: 'L. Okafor' })
  open.push(board, ledger)
  await Promise.all([synced(board), synced(ledger)])
})

afterAll(async () => {
  for (const c of open) 'destroy' in c ? c.destroy() : c.close()
  await server.close()
})

async function versions(): Promise<Version[]> {
  const res = await server.api(`/api/negotiations/${demo.id}/versions?limit=5000`, { token: demo.tokens.reviewer })
  return ((await res.json()) as { versions: Version[] }).versions
}

describe('the demo one step from conclusion', () => {
  it('[DM1] every term is closed, the package accepted by both and initialled by the United States only', () => {
    const terms = termsInOrder(board.doc)
    expect(terms.map((t) => t.title)).toEqual(CONCLUDING_DEMO.terms.map((t) => t.title))
    const statuses = allStatuses(ledger.doc)
    const state = (title: string) => statuses.get(terms.find((t) => t.title === title)!.id)?.state
    expect(CONCLUDING_DEMO.terms.map((t) => state(t.title))).toEqual(['agreed', 'agreed', 'agreed', 'rejected', 'agreed'])
    expect(terms.find((t) => t.title === 'Response deadline')!.body).toBe('Requests are answered within 45 days.')

    // The package: the agreed terms' texts as they stand on the board, in board order.
    const agreed = termOrder(board.doc).filter((id) => statuses.get(id)?.state === 'agreed')
    const hashes = agreed.map((id) => {
      const t = terms.find((x) => x.id === id)!
      expect(statuses.get(id)!.agreedHash).toBe(sha256(`${t.title}\n${t.body}`))
      return statuses.get(id)!.agreedHash!
    })
    const hash = sha256(hashes.join('\n'))
    const c = readConclusion(ledger.doc)
    expect(c.package).toEqual({ hash, acceptedBy: { us: hash, ru: hash } })
    expect(c.initials).toEqual({ us: { user: 'J. Carter (US)', at: expect.any(Number), hash } })
    expect(c.concluded).toBeNull()
    expect([...statuses.values()].every((s) => s.adReferendum === undefined)).toBe(true)
  })

  it('[DM2] the replay shows the bracket choice, the acceptance ad referendum and its confirmation, and the package steps', async () => {
    const v = await versions()
    const deadline = termsInOrder(board.doc).find((t) => t.title === 'Response deadline')!.id
    const evidence = termsInOrder(board.doc).find((t) => t.title === 'Evidence')!.id
    expect(v.find((x) => x.kind === 'choose')).toMatchObject({ party: 'ru', termIds: [deadline] })
    // Evidence: the US accepts, Russia accepts subject to Moscow, Moscow confirms, and only then is it agreed.
    const onEvidence = v.filter((x) => x.termIds[0] === evidence && x.kind !== 'propose')
    expect(onEvidence.map((x) => [x.kind, x.party])).toEqual([
      ['accept', 'us'],
      ['accept', 'ru'],
      ['confirm', 'ru'],
      ['agree', 'ru'],
    ])
    expect(onEvidence[1]!.summary).toMatch(/ad referendum, subject to Moscow by \d{4}-\d{2}-\d{2}$/)
    expect(v.slice(-3).map((x) => [x.kind, x.party])).toEqual([
      ['package-accept', 'us'],
      ['package-accept', 'ru'],
      ['initial', 'us'],
    ])
  })

  it('[DM3] the Russian Federation’s initial concludes it', async () => {
    const hash = readConclusion(ledger.doc).package!.hash
    const ru = controlClient(server.url, demo.tokens.negotiator.ru!, 'A. Volkova (RU)')
    open.push(ru)
    await connected(ru)
    expect(await ru.command('negotiation:initial', {})).toMatchObject({ ok: true, concluded: { hash } })
    await waitFor(() => readConclusion(ledger.doc).concluded?.hash === hash, { what: 'the conclusion' })
    expect((await versions()).at(-1)!.kind).toBe('conclude')
  })
})

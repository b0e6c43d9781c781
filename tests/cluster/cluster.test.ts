/**
 * Several Parley instances on one PostgreSQL and one Redis (issue #8):
 * clients of one negotiation spread over the instances see each other live.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { board, insertTerm, readStatus, replaceText, termText } from '../../shared/docLayout'
import { postgresForTests, redisForTests } from '../helpers/services'
import { startCluster, SYNC_MS, waitFor, type Cluster } from '../helpers/cluster'
import { synced, yClient, type YClient } from '../helpers/clients'
import { connected, controlClient, type ControlClient } from '../helpers/control'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import type { ServerProcess } from '../helpers/server'
import * as Y from 'yjs'

const pgUrl = await postgresForTests('cluster')
const redisUrl = await redisForTests('cluster')

describe.skipIf(!pgUrl || !redisUrl)('three instances on PostgreSQL and Redis', () => {
  let cluster: Cluster
  let instances: Array<ServerProcess | null>
  const open: Array<YClient | ControlClient> = []
  let neg: CreatedNegotiation
  const ws = (i: number) => cluster.ws(i)

  beforeAll(async () => {
    cluster = await startCluster({ size: 3, pgUrl: pgUrl!, redisUrl: redisUrl! })
    instances = cluster.instances
    neg = await cluster.createNegotiation(cluster.http(0), {
      title: 'Cluster',
      parties: [
        { id: 'a', name: 'A' },
        { id: 'b', name: 'B' },
      ],
    })
  })

  afterAll(async () => {
    for (const c of open) 'destroy' in c ? c.destroy() : c.close()
    await cluster?.close()
  })

  it('[C1] edits on one instance reach clients of the others, and commands work on any instance', async () => {
    const a = yClient(ws(0), `${neg.id}/board`, { token: neg.tokens.negotiator.a!, name: 'A on 0' })
    const b = yClient(ws(1), `${neg.id}/board`, { token: neg.tokens.negotiator.b!, name: 'B on 1' })
    const obs = yClient(ws(2), `${neg.id}/board`, { token: neg.tokens.observer, name: 'obs on 2' })
    const ledger = yClient(ws(2), `${neg.id}/ledger`, { token: neg.tokens.observer, name: 'obs on 2' })
    open.push(a, b, obs, ledger)
    await Promise.all([a, b, obs, ledger].map((c) => synced(c, SYNC_MS)))
    a.doc.transact(() => insertTerm(a.doc, 't1', { title: 'Quota', body: 'Forty percent.' }))
    await waitFor(() => termText(b.doc, 't1')?.body === 'Forty percent.', { what: 'A → B across instances' })
    const body = board(b.doc).terms.get('t1')!.get('body') as Y.Text
    b.doc.transact(() => replaceText(body, 'Thirty-five percent.'))
    await waitFor(
      () => termText(obs.doc, 't1')?.body === 'Thirty-five percent.' && termText(a.doc, 't1')?.body === 'Thirty-five percent.',
    )
    await waitFor(() => readStatus(ledger.doc, 't1')?.state === 'proposed', { what: 'ledger proposal seen on instance 2' })

    const ca = controlClient(instances[2]!.url, neg.tokens.negotiator.a!, 'A')
    const cb = controlClient(instances[0]!.url, neg.tokens.negotiator.b!, 'B')
    const rev = controlClient(instances[1]!.url, neg.tokens.reviewer, 'R')
    open.push(ca, cb, rev)
    await Promise.all([connected(ca), connected(cb), connected(rev)])
    expect(await ca.command('term:accept', { termId: 't1' })).toEqual({ ok: true })
    await waitFor(() => readStatus(ledger.doc, 't1')?.state === 'accepted')
    expect(await cb.command('term:accept', { termId: 't1' })).toEqual({ ok: true })
    await waitFor(() => readStatus(ledger.doc, 't1')?.state === 'agreed', { what: 'agreement across instances' })
    await waitFor(() => rev.versions.some((v) => v.kind === 'agree'), { what: 'version event on another instance' })
    await waitFor(() => (rev.presence.at(-1)?.online.length ?? 0) >= 3, { what: 'presence across instances' })
  })

  it('[C3] both parties accept at the same moment on different instances: the second sees the first, and the term is agreed', async () => {
    const race = await instances[1]!.createNegotiation({
      title: 'Race',
      parties: [
        { id: 'a', name: 'A' },
        { id: 'b', name: 'B' },
      ],
      terms: Array.from({ length: 8 }, (_, i) => ({ title: `Term ${i}`, body: `Text ${i}.` })),
    })
    const ledger = yClient(ws(2), `${race.id}/ledger`, { token: race.tokens.observer, name: 'obs' })
    const boardView = yClient(ws(2), `${race.id}/board`, { token: race.tokens.observer, name: 'obs' })
    const ca = controlClient(instances[0]!.url, race.tokens.negotiator.a!, 'A')
    const cb = controlClient(instances[1]!.url, race.tokens.negotiator.b!, 'B')
    open.push(ledger, boardView, ca, cb)
    await Promise.all([synced(ledger, SYNC_MS), synced(boardView, SYNC_MS), connected(ca), connected(cb)])
    const termIds = [...board(boardView.doc).terms.keys()]
    expect(termIds).toHaveLength(8)
    // Warm both instances up (rooms loaded), then fire every pair of accepts at once.
    await waitFor(() => termIds.every((id) => readStatus(ledger.doc, id)?.state === 'proposed'))
    const acks = await Promise.all(
      termIds.flatMap((termId) => [ca.command('term:accept', { termId }), cb.command('term:accept', { termId })]),
    )
    expect(acks.every((a) => a.ok)).toBe(true)
    await waitFor(() => termIds.every((id) => readStatus(ledger.doc, id)?.state === 'agreed'), {
      timeout: 10_000,
      what: 'every term agreed',
    })
    for (const id of termIds) expect(Object.keys(readStatus(ledger.doc, id)!.acceptedBy).sort()).toEqual(['a', 'b'])
  })

  it('[C2] awareness crosses instances', async () => {
    const a = yClient(ws(0), `${neg.id}/board`, { token: neg.tokens.negotiator.a!, name: 'A' })
    const b = yClient(ws(2), `${neg.id}/board`, { token: neg.tokens.negotiator.b!, name: 'B' })
    open.push(a, b)
    await Promise.all([synced(a, SYNC_MS), synced(b, SYNC_MS)])
    // (Not `user`: the server stamps that field from the token.)
    a.provider.awareness.setLocalStateField('cursor', { at: 'A-cursor' })
    await waitFor(
      () =>
        (b.provider.awareness.getStates().get(a.doc.clientID) as { cursor?: { at: string } } | undefined)?.cursor?.at ===
        'A-cursor',
    )
  })
})

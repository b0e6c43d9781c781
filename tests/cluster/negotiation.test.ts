/**
 * Issue #8, "done means": three instances on different ports, the clients of
 * one negotiation spread over them (through a round-robin balancer), a whole
 * negotiation played through — proposals, counter-edits, accepts, agreement,
 * rejection, reopening by command and by edit, a restore, a withdrawal, named
 * checkpoints — with one instance SIGKILLed midway; afterwards the history API
 * of every instance shows one consistent, complete history, and the store's
 * chains verify.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { board, insertTerm, readStatus, termText } from '../../shared/docLayout'
import type { Sheet, Version } from '../../shared/schemas'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { PostgresStore } from '../../server/store/postgres'
import { verifyNegotiation } from '../../server/history/verify'
import { synced, yClient, type YClient } from '../helpers/clients'
import { controlClient, commandSurely, type ControlClient } from '../helpers/control'
import { startTcpProxy, type TcpProxy } from '../helpers/tcpProxy'
import { startCluster, SYNC_MS, waitFor, type Cluster } from '../helpers/cluster'
import { postgresForTests, redisForTests } from '../helpers/services'

const pgUrl = await postgresForTests('cluster negotiation')
const redisUrl = await redisForTests('cluster negotiation')

const append = (c: YClient, termId: string, text: string) => {
  const body = board(c.doc).terms.get(termId)!.get('body') as Y.Text
  body.insert(body.length, text)
}

describe.skipIf(!pgUrl || !redisUrl)('a whole negotiation over three instances, one killed midway', () => {
  let cluster: Cluster
  let lb: TcpProxy
  let neg: CreatedNegotiation
  const open: Array<YClient | ControlClient> = []

  beforeAll(async () => {
    cluster = await startCluster({ size: 3, pgUrl: pgUrl!, redisUrl: redisUrl! })
    const ports = cluster.instances.map((p) => p!.port)
    lb = await startTcpProxy(() => ports)
    neg = await cluster.createNegotiation(lb.url, {
      title: 'Reciprocal extradition',
      parties: [
        { id: 'a', name: 'Alpha' },
        { id: 'b', name: 'Beta' },
      ],
    })
  })

  afterAll(async () => {
    for (const c of open) 'destroy' in c ? c.destroy() : c.close()
    await lb?.close()
    await cluster?.close()
  })

  const viaLb = (doc: string, token: string, name: string) => {
    const c = yClient(lb.url.replace(/^http/, 'ws') + '/yjs', `${neg.id}/${doc}`, { token, name })
    open.push(c)
    return c
  }
  const cmd = (token: string, name: string) => {
    const c = controlClient(lb.url, token, name, { reconnect: true })
    open.push(c)
    return c
  }
  const versionsOn = async (base: string): Promise<Version[]> => {
    const res = await fetch(`${base}/api/negotiations/${neg.id}/versions`, {
      headers: { authorization: `Bearer ${neg.tokens.reviewer}` },
    })
    expect(res.status).toBe(200)
    return ((await res.json()) as { versions: Version[] }).versions
  }
  const ok = async (c: ControlClient, event: string, payload: unknown) =>
    expect(await commandSurely(c, event, payload)).toEqual({ ok: true })

  it('[C8] every instance shows one consistent, complete history', async () => {
    const a = viaLb('board', neg.tokens.negotiator.a!, 'Ana')
    await synced(a, SYNC_MS)
    const b = viaLb('board', neg.tokens.negotiator.b!, 'Ben')
    await synced(b, SYNC_MS)
    const watcher = viaLb('board', neg.tokens.observer, 'press')
    await synced(watcher, SYNC_MS)
    const ledger = viaLb('ledger', neg.tokens.observer, 'press')
    await synced(ledger, SYNC_MS)
    const ca = cmd(neg.tokens.negotiator.a!, 'Ana')
    const cb = cmd(neg.tokens.negotiator.b!, 'Ben')
    const reviewer = cmd(neg.tokens.reviewer, 'Rita')
    await waitFor(() => ca.socket.connected && cb.socket.connected && reviewer.socket.connected)
    const state = (id: string) => readStatus(ledger.doc, id)?.state
    const seen = (id: string, body: string) => termText(watcher.doc, id)?.body === body

    // ── round 1, all three instances up ──
    a.doc.transact(() => insertTerm(a.doc, 't1', { title: 'Jurisdiction', body: 'Offences on either territory.' }))
    await waitFor(() => state('t1') === 'proposed')
    b.doc.transact(() => insertTerm(b.doc, 't2', { title: 'Extradition', body: 'Within 60 days.' }))
    await waitFor(() => state('t1') === 'proposed' && state('t2') === 'proposed', { what: 'both proposals' })
    await waitFor(() => termText(a.doc, 't2') && termText(b.doc, 't1'), { what: "each side has the other's term" })
    append(b, 't1', ' Including servers hosted there.')
    await waitFor(() => seen('t1', 'Offences on either territory. Including servers hosted there.'))
    await ok(ca, 'term:accept', { termId: 't1' })
    await ok(cb, 'term:accept', { termId: 't1' })
    await waitFor(() => state('t1') === 'agreed', { what: 't1 agreed' })
    await ok(ca, 'term:reject', { termId: 't2', reason: 'too slow' })
    await ok(cb, 'checkpoint:create', { name: 'round 1' })
    await waitFor(() => state('t2') === 'rejected')

    // ── one instance dies, with clients and commanders on it ──
    const live = lb.live()
    const victim = live.indexOf(Math.max(...live))
    expect(live[victim]).toBeGreaterThan(0)
    await cluster.kill(victim)

    // ── round 2, on the two that are left ──
    append(b, 't2', ' Or 30 days for minors.')
    await waitFor(() => seen('t2', 'Within 60 days. Or 30 days for minors.'), { what: 'edit after the kill' })
    await ok(cb, 'term:reopen', { termId: 't2', reason: 'new text' })
    await ok(ca, 'term:accept', { termId: 't2' })
    await ok(cb, 'term:accept', { termId: 't2' })
    await waitFor(() => state('t2') === 'agreed', { what: 't2 agreed' })
    append(a, 't1', ' Except diplomatic premises.')
    await waitFor(() => state('t1') === 'reopened', { what: 't1 reopened by the edit' })
    const agreedT1 = (await versionsOn(lb.url)).filter((v) => v.kind === 'agree' && v.termIds.includes('t1')).at(-1)!
    expect(agreedT1).toBeDefined()
    await ok(cb, 'term:restore', { termId: 't1', n: agreedT1.n })
    await waitFor(() => seen('t1', 'Offences on either territory. Including servers hosted there.'), { what: 'restore' })
    await ok(ca, 'term:accept', { termId: 't1' })
    await ok(cb, 'term:accept', { termId: 't1' })
    await waitFor(() => state('t1') === 'agreed', { what: 't1 agreed again' })
    a.doc.transact(() => insertTerm(a.doc, 't3', { title: 'Costs', body: 'Each side bears its own.' }))
    await waitFor(() => state('t3') === 'proposed')
    await ok(ca, 'term:withdraw', { termId: 't3' })
    await ok(cb, 'checkpoint:create', { name: 'final' })
    await waitFor(() => state('t3') === 'withdrawn')

    // ── the killed instance comes back; every instance answers the same history ──
    await cluster.start(victim)
    const lists = await Promise.all([0, 1, 2].map((i) => versionsOn(cluster.http(i))))
    expect(lists[1]).toEqual(lists[0])
    expect(lists[2]).toEqual(lists[0])
    const versions = lists[0]!
    expect(versions.map((v) => v.n)).toEqual(versions.map((_, i) => i + 1))
    const count = (kind: string) => versions.filter((v) => v.kind === kind).length
    expect(count('propose')).toBe(3)
    expect(count('agree')).toBe(3)
    expect(count('accept')).toBe(6) // each agreement: one accept, then the accept that completes it
    expect(count('reject')).toBe(1)
    expect(count('reopen')).toBe(2) // t2 by command, t1 by an edit
    expect(count('restore')).toBe(1)
    expect(count('withdraw')).toBe(1)
    expect(versions.filter((v) => v.kind === 'checkpoint').map((v) => v.name)).toEqual(['round 1', 'final'])
    expect(count('edit')).toBeGreaterThanOrEqual(2)
    // in the order it happened
    const moves = versions.filter((v) => v.kind !== 'edit').map((v) => `${v.kind}:${v.termIds.join(',')}`)
    expect(moves).toEqual([
      'propose:t1',
      'propose:t2',
      'accept:t1',
      'accept:t1',
      'agree:t1',
      'reject:t2',
      'checkpoint:',
      'reopen:t2',
      'accept:t2',
      'accept:t2',
      'agree:t2',
      'reopen:t1',
      'restore:t1',
      'accept:t1',
      'accept:t1',
      'agree:t1',
      'propose:t3',
      'withdraw:t3',
      'checkpoint:',
    ])

    // The sheet after the last version is the same everywhere, and it is the end of the story.
    const last = versions.at(-1)!.n
    const sheets = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const res = await fetch(`${cluster.http(i)}/api/negotiations/${neg.id}/versions/${last}`, {
          headers: { authorization: `Bearer ${neg.tokens.reviewer}` },
        })
        return (await res.json()) as Sheet
      }),
    )
    expect(sheets[1]).toEqual(sheets[0])
    expect(sheets[2]).toEqual(sheets[0])
    expect(Object.fromEntries(sheets[0]!.terms.map((t) => [t.id, t.state]))).toEqual({
      t1: 'agreed',
      t2: 'agreed',
      t3: 'withdrawn',
    })

    // Live `version` events came from one writer: no number was ever announced as two different versions.
    const byN = new Map(versions.map((v) => [v.n, v]))
    for (const ev of reviewer.versions) {
      expect(byN.get(ev.n)?.kind, `event for version ${ev.n}`).toBe(ev.kind)
      if (ev.kind !== 'edit') expect(ev).toEqual(byN.get(ev.n))
    }
    expect(reviewer.versions.some((v) => v.kind === 'withdraw')).toBe(true)

    // The logs and the version chain verify from the store.
    const store = await PostgresStore.connect(cluster.schema.url)
    try {
      const report = await verifyNegotiation(store, neg.id)
      expect(report.break).toBeNull()
      expect(report.ok).toBe(true)
    } finally {
      await store.close()
    }
  })
})

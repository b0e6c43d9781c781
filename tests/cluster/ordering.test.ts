/**
 * Issue 11, integrity gaps, on two real instances of one PostgreSQL and one
 * Redis — instance 1's clock running seven minutes fast (a preload that
 * shifts Date.now in that process alone, tests/cluster/skewClock.mjs):
 *
 * [C9]  the history's order comes from the store (gseq), not from clocks: a
 *       term written on the fast instance and accepted, agreed and reopened
 *       through the other appears in /versions in the order it happened;
 * [C10] a reopen caused by an edit is decided under the negotiation's lock:
 *       two instances taking edits of one agreed term at the same moment
 *       write exactly one `reopen`, to the ledger and to the history.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import * as Y from 'yjs'
import { board, insertTerm, readStatus, termText } from '../../shared/docLayout'
import type { Version } from '../../shared/schemas'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { PostgresStore } from '../../server/store/postgres'
import { moveMeta } from '../../server/history/logRows'
import { verifyNegotiation } from '../../server/history/verify'
import { synced, yClient, type YClient } from '../helpers/clients'
import { controlClient, type ControlClient } from '../helpers/control'
import { startCluster, SYNC_MS, waitFor, type Cluster } from '../helpers/cluster'
import { postgresForTests, redisForTests } from '../helpers/services'

const pgUrl = await postgresForTests('cluster ordering')
const redisUrl = await redisForTests('cluster ordering')

const SKEW_MS = 7 * 60_000
const SKEW_PRELOAD = fileURLToPath(new URL('./skewClock.mjs', import.meta.url))

const bodyOf = (doc: Y.Doc, termId: string) => termText(doc, termId)?.body
const append = (c: YClient, termId: string, text: string) => {
  const body = board(c.doc).terms.get(termId)!.get('body') as Y.Text
  body.insert(body.length, text)
}

describe.skipIf(!pgUrl || !redisUrl)('two instances, one with its clock seven minutes fast', () => {
  let cluster: Cluster
  let neg: CreatedNegotiation
  const open: Array<YClient | ControlClient> = []

  beforeAll(async () => {
    cluster = await startCluster({
      size: 2,
      pgUrl: pgUrl!,
      redisUrl: redisUrl!,
      envFor: (i): Record<string, string> =>
        i === 1
          ? {
              NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${SKEW_PRELOAD}`.trim(),
              PARLEY_TEST_CLOCK_SKEW_MS: String(SKEW_MS),
            }
          : {},
    })
    neg = await cluster.createNegotiation(cluster.http(0))
  })

  afterAll(async () => {
    for (const c of open) 'destroy' in c ? c.destroy() : c.close()
    await cluster?.close()
  })

  const y = (i: number, doc: string, token: string, name: string) => {
    const c = yClient(cluster.ws(i), `${neg.id}/${doc}`, { token, name })
    open.push(c)
    return c
  }
  const cmd = (i: number, token: string, name: string) => {
    const c = controlClient(cluster.http(i), token, name, { reconnect: true })
    open.push(c)
    return c
  }
  const versionsOn = async (i: number): Promise<Version[]> => {
    const res = await fetch(`${cluster.http(i)}/api/negotiations/${neg.id}/versions`, {
      headers: { authorization: `Bearer ${neg.tokens.reviewer}` },
    })
    expect(res.status).toBe(200)
    return ((await res.json()) as { versions: Version[] }).versions
  }
  const ok = async (c: ControlClient, event: string, payload: unknown) =>
    expect(await c.command(event, payload)).toEqual({ ok: true })

  it('[C9] a term written on the fast instance, accepted, agreed and reopened through the other: /versions in the true order', async () => {
    const ann = y(1, 'board', neg.tokens.negotiator.a!, 'Ann')
    const ledger = y(0, 'ledger', neg.tokens.observer, 'press')
    await Promise.all([synced(ann, SYNC_MS), synced(ledger, SYNC_MS)])
    const ca = cmd(0, neg.tokens.negotiator.a!, 'Ann')
    const cb = cmd(0, neg.tokens.negotiator.b!, 'Ben')
    await waitFor(() => ca.socket.connected && cb.socket.connected)
    const state = () => readStatus(ledger.doc, 't1')?.state

    ann.doc.transact(() => insertTerm(ann.doc, 't1', { title: 'Deadline', body: 'Within 30 days.' }))
    await waitFor(() => state() === 'proposed', { what: 'proposed' })
    append(ann, 't1', ' Or 45.')
    // the command instance must have the edit before it accepts the text
    const seen = y(0, 'board', neg.tokens.observer, 'press')
    await synced(seen, SYNC_MS)
    await waitFor(() => bodyOf(seen.doc, 't1') === 'Within 30 days. Or 45.', { what: 'the edit on instance 0' })
    await ok(cb, 'term:accept', { termId: 't1' })
    await ok(ca, 'term:accept', { termId: 't1' })
    await waitFor(() => state() === 'agreed', { what: 'agreed' })
    // The edit's instance must know the term is agreed before the edit, or it is another instance's
    // reopen to make (unattributed, after a grace period): its own ledger copy says so once a client there sees it.
    const ledgerOn1 = y(1, 'ledger', neg.tokens.observer, 'press')
    await synced(ledgerOn1, SYNC_MS)
    await waitFor(() => readStatus(ledgerOn1.doc, 't1')?.state === 'agreed', { what: 'agreed on the edit’s instance' })
    append(ann, 't1', ' Or 60.')
    await waitFor(() => state() === 'reopened', { what: 'reopened by the edit' })
    await waitFor(() => bodyOf(seen.doc, 't1') === 'Within 30 days. Or 45. Or 60.')
    await ok(cb, 'term:accept', { termId: 't1' })
    await ok(ca, 'term:accept', { termId: 't1' })
    await waitFor(() => state() === 'agreed', { what: 'agreed again' })
    await ok(cb, 'term:reopen', { termId: 't1', reason: 'one more look' })
    await waitFor(() => state() === 'reopened', { what: 'reopened by command' })
    append(ann, 't1', ' Or 90.')
    await waitFor(() => bodyOf(seen.doc, 't1') === 'Within 30 days. Or 45. Or 60. Or 90.')

    const expected = [
      'propose:a',
      'edit:a',
      'accept:b',
      'accept:a',
      'agree:a',
      'edit:a',
      'reopen:a',
      'accept:b',
      'accept:a',
      'agree:a',
      'reopen:b',
      'edit:a',
    ]
    const order = (vs: Version[]) => vs.filter((v) => v.termIds.includes('t1')).map((v) => `${v.kind}:${v.party}`)
    await waitFor(async () => order(await versionsOn(0)).length >= expected.length, { what: 'every version indexed' })
    const [on0, on1] = await Promise.all([versionsOn(0), versionsOn(1)])
    expect(order(on0)).toEqual(expected)
    expect(on1).toEqual(on0)
    // the clocks did disagree: the fast instance's rows carry times minutes after the others'
    const t1 = on0.filter((v) => v.termIds.includes('t1'))
    const firstAccept = Date.parse(t1.find((v) => v.kind === 'accept')!.at)
    const propose = Date.parse(t1.find((v) => v.kind === 'propose')!.at)
    expect(propose - firstAccept).toBeGreaterThan(SKEW_MS / 2)
  })

  it('[C10] edits of one agreed term taken by both instances at the same moment: exactly one reopen, in the ledger and in the history', async () => {
    const ann = y(1, 'board', neg.tokens.negotiator.a!, 'Ann')
    const ben = y(0, 'board', neg.tokens.negotiator.b!, 'Ben')
    const ledger = y(0, 'ledger', neg.tokens.observer, 'press')
    const ledgerOn1 = y(1, 'ledger', neg.tokens.observer, 'press')
    await Promise.all([ann, ben, ledger, ledgerOn1].map((c) => synced(c, SYNC_MS)))
    const ca = cmd(1, neg.tokens.negotiator.a!, 'Ann')
    const cb = cmd(0, neg.tokens.negotiator.b!, 'Ben')
    await waitFor(() => ca.socket.connected && cb.socket.connected)
    // Several terms, each raced once: a single race could go either way by luck.
    const terms = ['r1', 'r2', 'r3']
    for (const id of terms) ann.doc.transact(() => insertTerm(ann.doc, id, { title: `Race ${id}`, body: 'Agreed text.' }))
    await waitFor(() => terms.every((id) => readStatus(ledger.doc, id)?.state === 'proposed' && bodyOf(ben.doc, id)))
    for (const id of terms) {
      await ok(ca, 'term:accept', { termId: id })
      await ok(cb, 'term:accept', { termId: id })
    }
    // both instances hold the agreement (the clients read each instance's ledger room)
    await waitFor(() => terms.every((id) => [ledger, ledgerOn1].every((l) => readStatus(l.doc, id)?.state === 'agreed')), {
      what: 'all agreed on both instances',
    })

    for (const id of terms) {
      // both in the same tick of this process: each instance takes its own edit before it sees the other's
      append(ann, id, ' Ann was here.')
      append(ben, id, ' Ben was here.')
    }
    await waitFor(() => terms.every((id) => readStatus(ledger.doc, id)?.state === 'reopened'), { what: 'reopened' })
    await waitFor(() =>
      terms.every(
        (id) =>
          bodyOf(ann.doc, id)?.includes('Ann') &&
          bodyOf(ann.doc, id)?.includes('Ben') &&
          bodyOf(ann.doc, id) === bodyOf(ben.doc, id),
      ),
    )
    // time for a second reopen, were one coming (each instance decides within a commit and a lock round)
    await new Promise((r) => setTimeout(r, 1500))

    const store = await PostgresStore.connect(cluster.schema.url)
    try {
      const rows = await store.readUpdates(`${neg.id}/ledger`, 0)
      for (const id of terms) {
        const reopens = rows.filter((r) => {
          const m = moveMeta(r.meta)
          return m?.kind === 'reopen' && m.termIds.includes(id)
        })
        expect(reopens.length, `reopen rows of ${id}`).toBe(1)
        expect(moveMeta(reopens[0]!.meta)).toMatchObject({ via: 'board', party: expect.stringMatching(/^[ab]$/) })
      }
      const versions = await versionsOn(0)
      for (const id of terms) {
        expect(versions.filter((v) => v.kind === 'reopen' && v.termIds.includes(id)).length, `reopen versions of ${id}`).toBe(1)
      }
      expect(await versionsOn(1)).toEqual(versions)
      const report = await verifyNegotiation(store, neg.id)
      expect(report.break).toBeNull()
    } finally {
      await store.close()
    }
  })
})

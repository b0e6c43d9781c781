/**
 * Issue #8, failure behaviour: an instance killed with SIGKILL. Three
 * instances behind a round-robin TCP balancer (the test's nginx); clients of
 * one negotiation spread over them. When one instance dies, its clients'
 * connections drop, they reconnect through the balancer to a live instance,
 * and everyone converges — with nothing that was ever broadcast lost, because
 * an update is committed to the store before any client receives it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { board, insertTerm, termText } from '../../shared/docLayout'
import { PostgresStore } from '../../server/store/postgres'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { synced, yClient, type YClient } from '../helpers/clients'
import { startTcpProxy, type TcpProxy } from '../helpers/tcpProxy'
import { startCluster, SYNC_MS, waitFor, type Cluster } from '../helpers/cluster'
import { postgresForTests, redisForTests } from '../helpers/services'

const pgUrl = await postgresForTests('cluster failover')
const redisUrl = await redisForTests('cluster failover')

const bodyOf = (doc: Y.Doc, termId: string) => termText(doc, termId)?.body ?? ''

describe.skipIf(!pgUrl || !redisUrl)('an instance killed with SIGKILL', () => {
  let cluster: Cluster
  let lb: TcpProxy
  let neg: CreatedNegotiation
  const open: YClient[] = []

  beforeAll(async () => {
    cluster = await startCluster({ size: 3, pgUrl: pgUrl!, redisUrl: redisUrl! })
    const ports = cluster.instances.map((p) => p!.port)
    lb = await startTcpProxy(() => ports)
    neg = await cluster.createNegotiation(cluster.http(0))
  })

  afterAll(async () => {
    for (const c of open) c.destroy()
    await lb?.close()
    await cluster?.close()
  })

  const client = (doc: string, token: string, name: string, extra: Record<string, string> = {}) => {
    const c = yClient(lb.url.replace(/^http/, 'ws') + '/yjs', `${neg.id}/${doc}`, { token, name, ...extra })
    open.push(c)
    return c
  }

  it('[C5] its clients reconnect to another instance and converge; nothing broadcast is lost', async () => {
    // One at a time, so the balancer spreads them: 6 connections over 3 instances.
    const writerA = client('board', neg.tokens.negotiator.a!, 'A', { ack: '1' })
    await synced(writerA, SYNC_MS)
    const writerB = client('board', neg.tokens.negotiator.b!, 'B', { ack: '1' })
    await synced(writerB, SYNC_MS)
    const observers: YClient[] = []
    for (let i = 0; i < 4; i++) {
      observers.push(client('board', neg.tokens.observer, `obs${i}`))
      await synced(observers[i]!, SYNC_MS)
    }
    expect(lb.live().every((n) => n >= 2)).toBe(true)

    writerA.doc.transact(() => insertTerm(writerA.doc, 'ta', { title: 'Quota A', body: '' }))
    writerB.doc.transact(() => insertTerm(writerB.doc, 'tb', { title: 'Quota B', body: '' }))
    const everyone = [writerA, writerB, ...observers]
    await waitFor(() => everyone.every((c) => termText(c.doc, 'ta') && termText(c.doc, 'tb')), { what: 'both terms everywhere' })

    // Both writers type steadily; one instance is killed in the middle of it.
    let typing = true
    let n = 0
    const type = () => {
      for (const [w, id] of [
        [writerA, 'ta'],
        [writerB, 'tb'],
      ] as const) {
        const body = board(w.doc).terms.get(id)!.get('body') as Y.Text
        body.insert(body.length, `${n},`)
      }
      n++
      if (typing) setTimeout(type, 10)
    }
    type()
    await new Promise((r) => setTimeout(r, 1500))

    const victim = lb.live().indexOf(Math.max(...lb.live()))
    const seenBefore = everyone.map((c) => ({ a: bodyOf(c.doc, 'ta'), b: bodyOf(c.doc, 'tb') }))
    const receiptsBefore = [writerA.receipts.length, writerB.receipts.length]
    await cluster.kill(victim)
    await new Promise((r) => setTimeout(r, 1500))
    typing = false

    // Everyone converges on the writers' own text, through the instances still alive.
    const finalA = () => bodyOf(writerA.doc, 'ta')
    const finalB = () => bodyOf(writerB.doc, 'tb')
    await waitFor(() => everyone.every((c) => bodyOf(c.doc, 'ta') === finalA() && bodyOf(c.doc, 'tb') === finalB()), {
      timeout: 20_000,
      what: 'convergence after the kill',
    })
    expect(lb.live()[victim]).toBe(0)
    expect(finalA().split(',').length).toBeGreaterThan(20) // typing went on across the kill (slower on a busy machine)
    // Nothing any client had received (or a writer had typed) before the kill went missing.
    for (const seen of seenBefore) {
      expect(finalA().startsWith(seen.a)).toBe(true)
      expect(finalB().startsWith(seen.b)).toBe(true)
    }
    // Writers go on receiving save receipts from their new instance.
    await waitFor(() => writerA.receipts.length > receiptsBefore[0]! && writerB.receipts.length > receiptsBefore[1]!)

    // And it is all in the store, in one log: replaying it gives the same board.
    const store = await PostgresStore.connect(cluster.schema.url)
    try {
      const replay = new Y.Doc()
      for (const r of await store.readUpdates(`${neg.id}/board`, 0)) Y.applyUpdate(replay, r.update)
      expect(bodyOf(replay, 'ta')).toBe(finalA())
      expect(bodyOf(replay, 'tb')).toBe(finalB())
      replay.destroy()
    } finally {
      await store.close()
    }

    // The killed instance comes back on its port and serves the same board from the store.
    await cluster.start(victim)
    const late = yClient(cluster.ws(victim), `${neg.id}/board`, { token: neg.tokens.observer, name: 'late' })
    open.push(late)
    await synced(late, SYNC_MS)
    expect(bodyOf(late.doc, 'ta')).toBe(finalA())
    expect(bodyOf(late.doc, 'tb')).toBe(finalB())
  })
})

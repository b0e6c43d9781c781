/**
 * Issue 11, item 12 — a COMMIT whose answer is lost. A real Parley on
 * PostgreSQL through the TCP proxy of tests/helpers/tcpProxy.ts, stock
 * y-websocket clients of two delegations typing; the proxy cuts the
 * connection that carries the next COMMIT:
 *
 * [CM1] right after the server got it, the database still reachable: the
 *       store reads back what committed, and nobody notices;
 * [CM2] right after the server got it, the database then out of reach for
 *       longer than the store looks (2 s): the flush waits until the store can
 *       tell, new writes are refused meanwhile, and the batch is delivered as
 *       committed once it is back;
 * [CM3] before the server got it: a plain failure; the writers are asked to
 *       resend, and do.
 * Each time every update the clients sent is stored exactly once — no two
 * rows carry the same Yjs item ids, nothing any client holds is missing from
 * the log — and every client converges.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { board, insertTerm, termText } from '../../shared/docLayout'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { PostgresStore } from '../../server/store/postgres'
import { synced, waitFor, yClient, type YClient } from '../helpers/clients'
import { startServer, TWO_PARTIES, type ServerProcess } from '../helpers/server'
import { createTestSchema, postgresForTests, type TestSchema } from '../helpers/services'
import { startTcpProxy, type TcpProxy } from '../helpers/tcpProxy'

const pgUrl = await postgresForTests('lost COMMIT answers')

/** Yjs item ids (client, clock range) a stored row carries. */
function itemRanges(update: Uint8Array): Array<{ client: number; from: number; to: number }> {
  return Y.decodeUpdate(update)
    .structs.filter((s) => !(s instanceof Y.Skip))
    .map((s) => ({ client: s.id.client, from: s.id.clock, to: s.id.clock + s.length }))
}

describe.skipIf(!pgUrl)('a COMMIT whose answer is lost', () => {
  let schema: TestSchema
  let proxy: TcpProxy
  let server: ServerProcess
  let neg: CreatedNegotiation
  const open: YClient[] = []

  beforeAll(async () => {
    schema = await createTestSchema(pgUrl!)
    proxy = await startTcpProxy(schema.url)
    server = await startServer({
      spawn: true,
      env: { DATABASE_URL: proxy.via(schema.url), PARLEY_LOG_LEVEL: 'warn' },
      readyMs: 60_000,
    })
    neg = await server.createNegotiation({ ...TWO_PARTIES, title: 'Lost answers' })
  })

  afterAll(async () => {
    for (const c of open) c.destroy()
    await server?.kill('SIGKILL')
    await proxy?.close()
    await schema?.drop()
  })

  const client = (token: string, name: string) => {
    const c = yClient(server.wsUrl, `${neg.id}/board`, { token, name, ack: '1' })
    open.push(c)
    return c
  }
  const append = (c: YClient, termId: string, text: string) => {
    const body = board(c.doc).terms.get(termId)!.get('body') as Y.Text
    body.insert(body.length, text)
  }

  /**
   * Two writers type into term `id` around a lost COMMIT answer (`cut` arms the proxy); then
   * every client must converge, and the log hold each of their items exactly once.
   */
  async function typeAcross(id: string, cut: () => Promise<void>, duringOutage?: (a: YClient) => Promise<void>) {
    const a = client(neg.tokens.negotiator.a!, 'Ann')
    const b = client(neg.tokens.negotiator.b!, 'Ben')
    const watcher = client(neg.tokens.observer, 'press')
    await Promise.all([a, b, watcher].map((c) => synced(c, 15_000)))
    a.doc.transact(() => insertTerm(a.doc, id, { title: `Term ${id}`, body: 'Start.' }))
    await waitFor(() => termText(b.doc, id)?.body === 'Start.' && termText(watcher.doc, id)?.body === 'Start.', {
      timeout: 15_000,
    })
    const cutDone = cut()
    append(a, id, ' a1')
    append(b, id, ' b1')
    await cutDone
    await duringOutage?.(a)
    for (let i = 2; i <= 4; i++) {
      append(a, id, ` a${i}`)
      append(b, id, ` b${i}`)
      await new Promise((r) => setTimeout(r, 30))
    }
    const words = ['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'b3', 'b4']
    const done = (c: YClient) => words.every((w) => termText(c.doc, id)?.body.includes(w))
    await waitFor(() => [a, b, watcher].every(done), { timeout: 30_000, what: 'every edit everywhere' })
    await waitFor(
      () =>
        termText(a.doc, id)?.body === termText(watcher.doc, id)?.body &&
        termText(b.doc, id)?.body === termText(watcher.doc, id)?.body,
      {
        timeout: 15_000,
      },
    )
    const store = await PostgresStore.connect(schema.url)
    try {
      const rows = await store.readUpdates(`${neg.id}/board`, 0)
      // no Yjs item stored twice
      const seen = new Map<number, Array<{ from: number; to: number; seq: number }>>()
      for (const r of rows) {
        for (const range of itemRanges(r.update)) {
          const ranges = seen.get(range.client) ?? []
          const clash = ranges.find((x) => x.from < range.to && range.from < x.to)
          expect(
            clash,
            `items ${range.client}:${range.from}-${range.to} of row ${r.seq} also in row ${clash?.seq}`,
          ).toBeUndefined()
          ranges.push({ ...range, seq: r.seq })
          seen.set(range.client, ranges)
        }
      }
      // and nothing a client holds is missing from the log
      const rebuilt = new Y.Doc()
      for (const r of rows) Y.applyUpdate(rebuilt, r.update)
      for (const c of [a, b, watcher]) {
        expect(termText(rebuilt, id)).toEqual(termText(c.doc, id))
        expect(Y.encodeStateVector(rebuilt)).toEqual(Y.encodeStateVector(c.doc))
      }
      rebuilt.destroy()
    } finally {
      await store.close()
    }
    return { a, b, watcher }
  }

  it('[CM1] the answer lost, the database still there: the store finds the rows committed; nobody is refused', async () => {
    const { a, b } = await typeAcross('cm1', () => proxy.cutAtNextCommit({ deliver: true }))
    expect([...a.denied, ...b.denied]).not.toContain('store-unavailable')
  })

  it('[CM2] the answer lost and the database away for a while: held until the store can tell, then committed once', async () => {
    let back: NodeJS.Timeout | undefined
    await typeAcross(
      'cm2',
      () =>
        proxy.cutAtNextCommit({
          deliver: true,
          then: () => {
            proxy.mode('refuse')
            back = setTimeout(() => proxy.mode('forward'), 4000)
          },
        }),
      async () => {
        // while the store cannot tell, the server refuses new writes visibly (health says so too)
        await waitFor(async () => (await fetch(`${server.url}/healthz`)).status === 503, { timeout: 10_000 })
      },
    )
    clearTimeout(back)
  })

  it('[CM3] the COMMIT never reached the server: refused, asked again, stored once', async () => {
    await typeAcross('cm3', () => proxy.cutAtNextCommit({ deliver: false }))
  })
})

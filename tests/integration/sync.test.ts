/**
 * The y-websocket endpoint driven by the stock WebsocketProvider and by raw
 * sockets, against a real server on a random port (issue #2).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { CloseCode, MessageType, SyncMessageType } from '../../shared/protocol'
import { startServer, type TestServer } from '../helpers/server'
import { encodeMessage, rawClient, synced, waitFor, yClient, type YClient } from '../helpers/clients'
import type { CreatedNegotiation } from '../../server/negotiation/service'

let server: TestServer
let neg: CreatedNegotiation
const clients: YClient[] = []
const track = (c: YClient) => (clients.push(c), c)

beforeAll(async () => {
  server = await startServer()
  neg = await server.createNegotiation()
})

afterAll(async () => {
  for (const c of clients) c.destroy()
  await server.close()
})

const board = () => `${neg.id}/board`
const asA = () => ({ token: neg.tokens.negotiator.a!, name: 'Ann' })
const asB = () => ({ token: neg.tokens.negotiator.b!, name: 'Boris' })
const text = (c: YClient, key = 'shared') => c.doc.getText(key).toString()

describe('sync with the stock y-websocket client', () => {
  it('[S1] two clients converge', async () => {
    const a = track(yClient(server.wsUrl, board(), asA()))
    const b = track(yClient(server.wsUrl, board(), asB()))
    await Promise.all([synced(a), synced(b)])
    a.doc.getMap('notes').set('n1', new Y.Map())
    a.doc.transact(() => (a.doc.getMap('notes').get('n1') as Y.Map<unknown>).set('text', new Y.Text('from A')))
    b.doc.getArray('order').push(['x'])
    await waitFor(() => b.doc.getMap('notes').has('n1') && a.doc.getArray('order').length === 1)
    expect(Y.encodeStateVector(a.doc)).toEqual(Y.encodeStateVector(b.doc))
    expect((b.doc.getMap('notes').get('n1') as Y.Map<Y.Text>).get('text')!.toString()).toBe('from A')
  })

  it('[S2] a client joining late gets everything', async () => {
    const late = track(yClient(server.wsUrl, board(), { ...asB(), name: 'Late' }))
    await synced(late)
    await waitFor(() => late.doc.getMap('notes').has('n1'))
    expect(late.doc.getArray('order').toArray()).toEqual(['x'])
  })

  it('[S3] awareness is relayed and removed on disconnect', async () => {
    const a = track(yClient(server.wsUrl, board(), asA()))
    const b = track(yClient(server.wsUrl, board(), asB()))
    await Promise.all([synced(a), synced(b)])
    a.provider.awareness.setLocalStateField('user', { name: 'Ann' })
    await waitFor(
      () => (b.provider.awareness.getStates().get(a.doc.clientID) as { user?: { name: string } })?.user?.name === 'Ann',
    )
    a.provider.disconnect()
    await waitFor(() => !b.provider.awareness.getStates().has(a.doc.clientID), { what: 'awareness removal' })
  })

  it('[S4] save receipts arrive after commit with increasing sequence numbers', async () => {
    const a = track(yClient(server.wsUrl, board(), { ...asA(), ack: '1' }))
    await synced(a)
    a.doc.getArray('order').push(['r1'])
    a.doc.getArray('order').push(['r2'])
    await waitFor(() => a.receipts.length >= 1)
    const head = await server.parley.store.headSeq(board())
    expect(a.receipts[a.receipts.length - 1]).toBeLessThanOrEqual(head)
    await waitFor(() => a.receipts[a.receipts.length - 1] === head)
  })

  it('[S5] 50 rooms at once stay isolated', async () => {
    const negs = await Promise.all(Array.from({ length: 50 }, () => server.createNegotiation()))
    const pairs = negs.map((n) => {
      const params = { token: n.tokens.negotiator.a!, name: 'w' }
      return [
        track(yClient(server.wsUrl, `${n.id}/board`, params)),
        track(yClient(server.wsUrl, `${n.id}/board`, params)),
      ] as const
    })
    await Promise.all(pairs.flatMap(([x, y]) => [synced(x, 15000), synced(y, 15000)]))
    pairs.forEach(([x], i) => x.doc.getArray('order').push([`room-${i}`]))
    await waitFor(() => pairs.every(([, y], i) => y.doc.getArray('order').toArray().join() === `room-${i}`), { timeout: 15000 })
    for (const [x, y] of pairs) {
      x.destroy()
      y.destroy()
    }
  })
})

describe('malformed input closes only its own connection', () => {
  const syncUpdate = (update: Uint8Array) =>
    encodeMessage((e) => {
      encoding.writeVarUint(e, MessageType.sync)
      encoding.writeVarUint(e, SyncMessageType.update)
      encoding.writeVarUint8Array(e, update)
    })

  async function expectClose(send: Uint8Array | string, code: number) {
    const watcher = track(yClient(server.wsUrl, board(), asB()))
    await synced(watcher)
    const raw = rawClient(server.wsUrl, board(), asA())
    await raw.opened
    raw.send(send)
    expect((await raw.closed).code).toBe(code)
    // everyone else keeps being served
    const writer = track(yClient(server.wsUrl, board(), asA()))
    await synced(writer)
    const marker = `alive-${Math.random()}`
    writer.doc.getArray('order').push([marker])
    await waitFor(() => watcher.doc.getArray('order').toArray().includes(marker))
    expect(watcher.closes).toEqual([])
  }

  it('[S6] a truncated message gets 4400', async () => {
    const full = syncUpdate(new Uint8Array([1, 1, 200, 1, 0, 4, 1, 5, 104, 101]))
    await expectClose(full.slice(0, full.length - 3), CloseCode.malformed)
  })

  it('[S7] garbage gets 4400', async () => {
    await expectClose(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1, 2, 3]), CloseCode.malformed)
  })

  it('[S8] a message over 1 MiB gets 4413', async () => {
    await expectClose(new Uint8Array(1024 * 1024 + 10), CloseCode.tooLarge)
  })

  it('[S9] a text frame gets 4400', async () => {
    await expectClose('hello', CloseCode.malformed)
  })
})

describe('tokens on the websocket', () => {
  it('[S10] a connection without a token gets 4401 unless PARLEY_DEV_OPEN=1', async () => {
    const raw = rawClient(server.wsUrl, board())
    expect((await raw.closed).code).toBe(CloseCode.unauthorized)
    const open = await startServer({ env: { PARLEY_DEV_OPEN: '1' } })
    try {
      const a = yClient(open.wsUrl, 'scratch/board', { name: 'dev' })
      const b = yClient(open.wsUrl, 'scratch/board', { name: 'dev2' })
      await Promise.all([synced(a), synced(b)])
      a.doc.getArray('order').push(['dev'])
      await waitFor(() => b.doc.getArray('order').length === 1)
      a.destroy()
      b.destroy()
    } finally {
      await open.close()
    }
  })
})

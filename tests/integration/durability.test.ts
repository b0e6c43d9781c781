/**
 * Nothing broadcast is lost: across a SIGKILL and a graceful restart, and
 * through a room's unload and reload from checkpoint + tail (issue #2).
 */
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { board, insertTerm } from '../../shared/docLayout'
import { startServer, type ServerProcess } from '../helpers/server'
import { synced, waitFor, yClient, type YClient } from '../helpers/clients'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const DURABILITY = {
  title: 'Durability',
  parties: [
    { id: 'a', name: 'A' },
    { id: 'b', name: 'B' },
  ],
}

const client = (wsUrl: string, doc: string, params: Record<string, string>) => {
  const c = yClient(wsUrl, doc, params)
  cleanup.push(() => c.destroy())
  return c
}

describe('durability across restarts', () => {
  it('[P1] after SIGKILL everything an observer had received is still there', async () => {
    let server: ServerProcess = await startServer({ spawn: true })
    cleanup.push(() => server.kill())
    const neg = await server.createNegotiation(DURABILITY)
    const doc = `${neg.id}/board`
    const writer = client(server.wsUrl, doc, { token: neg.tokens.negotiator.a!, name: 'writer' })
    const observer = client(server.wsUrl, doc, { token: neg.tokens.observer, name: 'observer' })
    await Promise.all([synced(writer), synced(observer)])

    // The writer types continuously into a term; the server dies in the middle of it.
    writer.doc.transact(() => insertTerm(writer.doc, 't1', { title: 'Typing', body: '' }))
    const body = (d: Y.Doc) => (board(d).terms.get('t1')?.get('body') as Y.Text | undefined) ?? new Y.Text()
    let i = 0
    const typing = setInterval(() => body(writer.doc).insert(body(writer.doc).length, `${i++} `), 4)
    await waitFor(() => body(observer.doc).length > 400, { timeout: 10_000 })
    await server.kill('SIGKILL')
    clearInterval(typing)
    const seenByObserver = body(observer.doc).toString()
    expect(seenByObserver.length).toBeGreaterThan(400)

    server = await startServer({ spawn: true, port: server.port, dataDir: server.dataDir })
    const fresh = client(server.wsUrl, doc, { token: neg.tokens.observer, name: 'after' })
    await synced(fresh)
    // everything broadcast before the crash was committed first
    expect(body(fresh.doc).toString().startsWith(seenByObserver)).toBe(true)
    // and the writer, reconnecting, resends what never reached the store: all converge
    await waitFor(() => writer.provider.synced && body(fresh.doc).toString() === body(writer.doc).toString(), {
      timeout: 15_000,
      what: 'writer resync after restart',
    })
  })

  it('[P2] a graceful stop (SIGTERM) flushes everything and closes with 1001', async () => {
    let server = await startServer({ spawn: true })
    cleanup.push(() => server.kill())
    const neg = await server.createNegotiation(DURABILITY)
    const doc = `${neg.id}/board`
    const writer = client(server.wsUrl, doc, { token: neg.tokens.negotiator.a!, name: 'writer', ack: '1' })
    await synced(writer)
    for (let n = 0; n < 50; n++) writer.doc.getArray('order').push([`x${n}`])
    await waitFor(() => writer.receipts.length > 0 && writer.receipts.at(-1)! >= 1)
    const closed = waitFor(() => writer.closes.find((c) => c.code === 1001), { timeout: 10_000 })
    await server.kill('SIGTERM')
    expect((await server.exited).code).toBe(0)
    await closed
    writer.provider.disconnect()
    server = await startServer({ spawn: true, port: server.port, dataDir: server.dataDir })
    const after = client(server.wsUrl, doc, { token: neg.tokens.observer })
    await synced(after)
    expect(after.doc.getArray('order').length).toBe(50)
  })
})

describe('room lifecycle', () => {
  it('[P3] an idle room unloads after the grace period and reloads from checkpoint + tail, not from all history', async () => {
    const server = await startServer({ env: { PARLEY_ROOM_GRACE_MS: '100', PARLEY_CHECKPOINT_EVERY: '50' } })
    cleanup.push(() => server.close())
    const neg = await server.createNegotiation()
    const doc = `${neg.id}/board`
    const writer = yClient(server.wsUrl, doc, { token: neg.tokens.negotiator.a!, name: 'w', ack: '1' })
    cleanup.push(() => writer.destroy())
    await synced(writer)
    for (let n = 0; n < 230; n++) writer.doc.getArray('order').push([`n${n}`])
    await waitFor(
      async () =>
        (await server.parley.store.headSeq(doc)) >= 230 - 5 &&
        writer.receipts.at(-1) === (await server.parley.store.headSeq(doc)),
    )
    const head = await server.parley.store.headSeq(doc)
    writer.destroy()
    await waitFor(() => server.parley.registry.peek(doc) === undefined, { what: 'room unloaded' })
    // Unloading writes a final checkpoint at the head (stored off the event loop: it may land just after).
    await waitFor(async () => (await server.parley.store.latestCheckpoint(doc))?.seq === head, { what: 'final checkpoint' })

    const reads: Array<[string, number]> = []
    const readUpdates = server.parley.store.readUpdates.bind(server.parley.store)
    server.parley.store.readUpdates = (d, after, upto) => (reads.push([d, after]), readUpdates(d, after, upto))
    const reader = yClient(server.wsUrl, doc, { token: neg.tokens.observer })
    cleanup.push(() => reader.destroy())
    await synced(reader)
    expect(reader.doc.getArray('order').length).toBe(230)
    expect(reads.filter(([d]) => d === doc)).toEqual([[doc, head]])
  })

  it('[P4] a stored update that adds nothing is acknowledged, not stored again', async () => {
    const server = await startServer()
    cleanup.push(() => server.close())
    const neg = await server.createNegotiation()
    const doc = `${neg.id}/board`
    const a = yClient(server.wsUrl, doc, { token: neg.tokens.negotiator.a!, name: 'a', ack: '1' })
    cleanup.push(() => a.destroy())
    await synced(a)
    a.doc.getArray('order').push(['once'])
    await waitFor(() => a.receipts.length === 1)
    const head = await server.parley.store.headSeq(doc)
    // Reconnecting makes the stock client send its whole state again (sync step 2).
    const copy = new Y.Doc()
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(a.doc))
    a.provider.disconnect()
    a.provider.connect()
    await synced(a)
    const b: YClient = yClient(server.wsUrl, doc, { token: neg.tokens.negotiator.b!, name: 'b', ack: '1' }, { doc: copy })
    cleanup.push(() => b.destroy())
    await synced(b)
    await new Promise((r) => setTimeout(r, 200))
    expect(await server.parley.store.headSeq(doc)).toBe(head)
  })
})

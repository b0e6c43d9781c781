/**
 * Checkpoints are derived data, sized to grow linearly with the log (DESIGN.md,
 * "History"; issue 12, "Linear storage"):
 *
 * [CK1] rooms space them by bytes: a new one once the updates since the last
 *       add up to its state's size (and number at least checkpointEvery), so
 *       all the checkpoints ever written add up to less than the log; the
 *       store keeps the newest two, compressed;
 * [CK2] a graceful stop (SIGTERM) still checkpoints every loaded doc at its
 *       head, also while the version index has an edit run to write — so the
 *       next cold load is the checkpoint alone;
 * [CK3] a stored checkpoint that is damaged (its checksum fails) is derived
 *       data: the room loads from its log instead, and says so.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as Y from 'yjs'
import { board, insertTerm } from '../../shared/docLayout'
import { SqliteStore } from '../../server/store/sqlite'
import type { Author, Checkpoint } from '../../server/store/types'
import { CommitQueue } from '../../server/sync/commitQueue'
import { RoomRegistry } from '../../server/sync/roomRegistry'
import { StoreBreaker } from '../../server/sync/storeBreaker'
import { startServer } from '../helpers/server'
import { synced, waitFor, yClient } from '../helpers/clients'

const cleanup: Array<() => unknown> = []
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn()
})

const SERVER: Author = { user: 'Parley', party: null, role: 'server', conn: 'server' }

/** Rooms, group commit and the real SQLite store, without sockets; every checkpoint the rooms hand to the store is recorded. */
function roomStack(dir: string, checkpointEvery: number) {
  const store = new SqliteStore(join(dir, 'parley.db'))
  const saved: Checkpoint[] = []
  const save = store.saveCheckpoint.bind(store)
  store.saveCheckpoint = (cp) => (saved.push(cp), save(cp))
  const breaker = new StoreBreaker()
  const commits = new CommitQueue(store, breaker)
  const logged: string[] = []
  const log = (level: 'warn' | 'error', msg: string) => void logged.push(`${level}: ${msg}`)
  const registry = new RoomRegistry(
    store,
    {
      limits: { maxStructs: 50_000, maxDeleteRanges: 50_000 },
      checkpointEvery,
      now: () => 1_700_000_000_000,
      schedule: (room) => commits.schedule(room),
      storeWritable: () => breaker.writable(),
      log,
    },
    { graceMs: 60_000, log },
  )
  return {
    store,
    registry,
    saved,
    logged,
    async close() {
      await commits.drain()
      await registry.closeAll()
      await store.close()
    },
  }
}

describe('checkpoints', () => {
  it('[CK1] rooms space checkpoints by bytes: together they stay below the log; the store keeps the newest two, compressed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-ck-'))
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
    const EVERY = 20
    const s = roomStack(dir, EVERY)
    const doc = 'ck/board'
    const room = await s.registry.get(doc)
    // A term typed into keystroke by keystroke, as two delegations do: the state grows with the log.
    await room.serverWrite(SERVER, (d) => insertTerm(d, 't1', { title: 'Deadline', body: '' }))
    const words = 'requests are answered within thirty days of receipt '
    for (let i = 0; i < 3000; i++) {
      await room.serverWrite(SERVER, (d) => {
        const body = board(d).terms.get('t1')!.get('body') as Y.Text
        body.insert(body.length, words[i % words.length]!)
      })
    }
    await s.registry.closeAll()

    const rows = await s.store.readUpdates(doc, 0)
    const logBytes = rows.reduce((n, r) => n + r.update.byteLength, 0)
    const bytesUpTo = (seq: number) => rows.slice(0, seq).reduce((n, r) => n + r.update.byteLength, 0)
    const during = s.saved.filter((c) => c.doc === doc).slice(0, -1) // the last: the unload's, at the head
    expect(during.length).toBeGreaterThan(2)
    // The rule of "every EVERY updates" wrote 150 of them, adding up to several times the log.
    expect(during.length).toBeLessThan(3000 / EVERY / 2)
    let prev: Checkpoint | null = null
    for (const cp of during) {
      const since = prev ? cp.seq - prev.seq : cp.seq
      expect(since, `updates before the checkpoint at ${cp.seq}`).toBeGreaterThanOrEqual(EVERY)
      if (prev) {
        const bytesSince = bytesUpTo(cp.seq) - bytesUpTo(prev.seq)
        expect(bytesSince, `bytes before the checkpoint at ${cp.seq}`).toBeGreaterThanOrEqual(prev.state.byteLength)
      }
      prev = cp
    }
    // Each checkpoint is paid for by the bytes that follow it before the next one: all but the last
    // add up to at most the log up to that last one (whatever the commit timing made the seqs).
    const written = during.reduce((n, c) => n + c.state.byteLength, 0)
    const lastDuring = during[during.length - 1]!
    expect(written - lastDuring.state.byteLength).toBeLessThanOrEqual(bytesUpTo(lastDuring.seq))
    expect(written).toBeLessThan(2 * logBytes)

    // what is kept: the newest two, compressed, the newest at the head
    const kept = await s.store.listCheckpoints(doc)
    expect(kept.map((c) => c.seq)).toEqual([during[during.length - 1]!.seq, rows.length])
    for (const c of kept) expect(c.storedBytes).toBeLessThan(c.stateBytes / 2)
    await s.store.close()
  })

  it('[CK2] a graceful stop checkpoints every loaded doc at its head, also with an edit run still open', async () => {
    let server = await startServer({ spawn: true, env: { PARLEY_LOG_LEVEL: 'warn' } })
    cleanup.push(() => server.kill())
    const neg = await server.createNegotiation({
      title: 'Shutdown',
      parties: [
        { id: 'a', name: 'A' },
        { id: 'b', name: 'B' },
      ],
      terms: [{ title: 'Deadline', body: 'Within 30 days.' }],
    })
    const doc = `${neg.id}/board`
    const ws = server.wsUrl
    const writer = yClient(ws, doc, { token: neg.tokens.negotiator.a!, name: 'writer', ack: '1' })
    cleanup.push(() => writer.destroy())
    await synced(writer)
    await waitFor(() => board(writer.doc).terms.size === 1)
    const body = board(writer.doc).terms.values().next().value!.get('body') as Y.Text
    // An edit, stopped right after its receipt: the version index has not written its run yet
    // (it does 50 ms after a commit), so the stop writes it, then checkpoints.
    writer.doc.transact(() => {
      for (let i = 0; i < 40; i++) body.insert(body.length, ' x')
    })
    await waitFor(() => writer.receipts.length > 0)
    await server.kill('SIGTERM')
    expect((await server.exited).code).toBe(0)
    writer.provider.disconnect()

    const store = new SqliteStore(join(server.dataDir, 'parley.db'))
    try {
      for (const name of [doc, `${neg.id}/ledger`]) {
        const head = await store.headSeq(name)
        expect(head, name).toBeGreaterThan(0)
        expect((await store.latestCheckpoint(name))?.seq, `${name}: checkpoint at the head`).toBe(head)
      }
      // and the version index wrote its open run before the store closed
      expect((await store.lastVersion(neg.id))?.boardSeq).toBe(await store.headSeq(doc))
    } finally {
      await store.close()
    }

    server = await startServer({ spawn: true, port: server.port, dataDir: server.dataDir })
    const reader = yClient(ws, doc, { token: neg.tokens.observer })
    cleanup.push(() => reader.destroy())
    await synced(reader)
    expect((board(reader.doc).terms.values().next().value!.get('body') as Y.Text).toString()).toBe(body.toString())
  })

  it('[CK3] a damaged checkpoint: the room loads from its log, and logs why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-ck-'))
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }))
    const doc = 'dmg/board'
    const first = roomStack(dir, 5)
    const room = await first.registry.get(doc)
    await room.serverWrite(SERVER, (d) => insertTerm(d, 't1', { title: 'Costs', body: '' }))
    for (let i = 0; i < 60; i++) {
      await room.serverWrite(SERVER, (d) => (board(d).terms.get('t1')!.get('body') as Y.Text).insert(0, `${i} `))
    }
    const expected = Y.encodeStateAsUpdate(room.doc)
    await first.close()

    // one byte of the newest checkpoint's compressed state flipped behind the server's back
    const db = new SqliteStore(join(dir, 'parley.db')).db
    const cp = db.prepare('SELECT doc_id, seq, state FROM doc_checkpoints ORDER BY seq DESC LIMIT 1').get() as {
      doc_id: number
      seq: number
      state: Buffer
    }
    const state = Buffer.from(cp.state)
    state[state.length >> 1]! ^= 0x40
    db.prepare('UPDATE doc_checkpoints SET state = ? WHERE doc_id = ? AND seq = ?').run(state, cp.doc_id, cp.seq)
    db.close()

    const second = roomStack(dir, 5)
    cleanup.push(() => second.close())
    const reloaded = await second.registry.get(doc)
    const fromLog = new Y.Doc()
    Y.applyUpdate(fromLog, expected)
    expect(board(reloaded.doc).terms.get('t1')!.get('body')!.toString()).toBe(
      board(fromLog).terms.get('t1')!.get('body')!.toString(),
    )
    expect(Y.encodeStateVector(reloaded.doc)).toEqual(Y.encodeStateVector(fromLog))
    expect(second.logged.join('\n')).toMatch(/the checkpoint of dmg\/board cannot be read; loading it from its log/)
  })
})

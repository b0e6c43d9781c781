/**
 * The history's stack without sockets: the real SQLite store, rooms, group
 * commit, board watcher, negotiation service and version index, wired like
 * server/app.ts but on an injected clock and with fixed ids, so histories
 * are reproducible (snapshots, property tests). "Clients" are Y.Docs with
 * their own client ids whose updates enter the room exactly as a
 * connection's would (Room.receive).
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as Y from 'yjs'
import type { WebSocket } from 'ws'
import { boardDocName, ledgerDocName } from '../../shared/docNames'
import { insertTerm, writeMeta } from '../../shared/docLayout'
import type { PartyInfo } from '../../shared/negotiation'
import type { Sheet } from '../../shared/schemas'
import { SqliteStore } from '../../server/store/sqlite'
import type { Author, Store } from '../../server/store/types'
import { StoreBreaker } from '../../server/sync/storeBreaker'
import { CommitQueue } from '../../server/sync/commitQueue'
import { RoomRegistry } from '../../server/sync/roomRegistry'
import { Connection } from '../../server/sync/connection'
import type { Room } from '../../server/sync/room'
import { TokenService } from '../../server/auth/tokens'
import { Revocations } from '../../server/auth/revocations'
import { NegotiationService, type Actor } from '../../server/negotiation/service'
import { VersionIndex } from '../../server/history/versionIndex'
import { HistoryQueries } from '../../server/history/queries'
import { sheetOf } from '../../server/history/sheet'
import type { Version } from '../../shared/schemas'

export const SERVER_AUTHOR: Author = { user: 'Parley', party: null, role: 'server', conn: 'server' }

export class FakeClock {
  constructor(public t: number) {}
  now = (): number => this.t
  advance(ms: number): void {
    this.t += ms
  }
}

export interface StackOptions {
  dir?: string
  checkpointEvery?: number
  start?: number
  negotiationId?: string
  title?: string
  parties?: PartyInfo[]
  /** seeded terms (the opening draft), with fixed ids */
  terms?: Array<{ id: string; title: string; body: string }>
  /** open an existing data dir: create nothing */
  reopen?: boolean
  /** another store (e.g. PostgreSQL) instead of SQLite in `dir`, with a way to drop versions behind its back */
  store?: { store: Store; dropVersionsAfter(negotiationId: string, n: number): Promise<void> }
}

export interface StackClient {
  party: string
  user: string
  doc: Y.Doc
  /** Changes the client's copy (brought up to date first) and sends the update as its connection would. */
  edit(change: (doc: Y.Doc) => void): void
  sync(): void
}

export interface HistoryStack {
  dir: string
  store: Store
  registry: RoomRegistry
  service: NegotiationService
  index: VersionIndex
  history: HistoryQueries
  clock: FakeClock
  id: string
  emitted: Version[]
  board(): Promise<Room>
  ledger(): Promise<Room>
  client(party: string, user?: string): Promise<StackClient>
  actor(party: string, user?: string): Actor
  /** Waits until every write (and whatever it caused) is committed and indexed. */
  settle(): Promise<void>
  /** The sheet as the live rooms hold it now, numbered as the newest version. */
  liveSheet(): Promise<Sheet>
  restore(party: string, termId: string, n: number, user?: string): Promise<void>
  /** A crash that lost versions: deletes those after n from the store directly. */
  dropVersionsAfter(n: number): Promise<void>
  close(): Promise<void>
}

const fakeSocket = () => ({ bufferedAmount: 0, send() {}, close() {}, terminate() {} }) as unknown as WebSocket

export async function startHistoryStack(opts: StackOptions = {}): Promise<HistoryStack> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'parley-history-'))
  const clock = new FakeClock(opts.start ?? Date.UTC(2026, 0, 12, 9, 0, 0))
  const store: Store = opts.store?.store ?? new SqliteStore(join(dir, 'parley.db'))
  const breaker = new StoreBreaker()
  const commits = new CommitQueue(store, breaker)
  const log = (level: 'warn' | 'error', msg: string, err?: unknown) => {
    if (level === 'error') console.error(msg, err)
  }
  const emitted: Version[] = []
  let service: NegotiationService
  let index: VersionIndex
  const registry: RoomRegistry = new RoomRegistry(
    store,
    {
      limits: { maxStructs: 50_000, maxDeleteRanges: 50_000 },
      checkpointEvery: opts.checkpointEvery ?? 5,
      now: clock.now,
      schedule: (room) => commits.schedule(room),
      storeWritable: () => breaker.writable(),
      log,
    },
    {
      graceMs: 60 * 60_000,
      log,
      onCreate: async (room) => {
        await service.onRoomCreated(room)
        index.attach(room)
      },
      onUnload: (room) => service.onRoomUnloaded(room),
    },
  )
  const tokens = new TokenService('x'.repeat(48))
  service = new NegotiationService(store, registry, tokens, new Revocations(store), () => 'http://test', clock.now)
  index = new VersionIndex({ store, negotiation: (id) => service.get(id), emit: (_id, v) => emitted.push(v), log })
  const history = new HistoryQueries(store, index, (id) => service.get(id))

  const id = opts.negotiationId ?? 'hist-test'
  const parties = opts.parties ?? [
    { id: 'a', name: 'Alpha', color: '#1f5fbf' },
    { id: 'b', name: 'Beta', color: '#b3261e' },
  ]
  const stack: HistoryStack = {
    dir,
    store,
    registry,
    service,
    index,
    history,
    clock,
    id,
    emitted,
    board: () => registry.get(boardDocName(id)),
    ledger: () => registry.get(ledgerDocName(id)),
    async client(party, user = `${party}-user`) {
      const room = await stack.board()
      const doc = new Y.Doc()
      const conn = new Connection(
        fakeSocket(),
        room.name,
        {
          user,
          party,
          role: 'negotiator',
          ownerKey: `${party}:${user}`,
          relayAwareness: true,
          structBudgeted: true,
          tokenId: null,
          expiresAt: null,
          scope: id,
        },
        'write',
        false,
        { messagesPerSecond: 1e9, bytesPerSecond: 1e12, maxBufferedBytes: 1e12 },
      )
      room.join(conn)
      const current = () => registry.peek(boardDocName(id)) ?? room
      const c: StackClient = {
        party,
        user,
        doc,
        sync() {
          Y.applyUpdate(doc, Y.encodeStateAsUpdate(current().doc, Y.encodeStateVector(doc)))
        },
        edit(change) {
          // Bring the copy up to date only when someone else wrote since (a full sync re-encodes the delete set).
          const room = current()
          if (room.doc !== seenDoc || room.committedSeq > seen + own) c.sync()
          const updates: Uint8Array[] = []
          const capture = (u: Uint8Array) => updates.push(u)
          doc.on('update', capture)
          doc.transact(() => change(doc))
          doc.off('update', capture)
          for (const update of updates) room.receive(conn, { type: 'sync-update', update })
          own += updates.length
        },
      }
      // rows committed when this copy was last brought up to date, and this client's own rows since
      let seen = -1
      let own = 0
      let seenDoc: Y.Doc | null = null
      const sync = c.sync
      c.sync = () => {
        sync()
        seen = current().committedSeq
        own = 0
        seenDoc = current().doc
      }
      return c
    },
    actor: (party, user = `${party}-user`) => ({ negotiationId: id, role: 'negotiator', party, user, session: `s-${party}` }),
    async settle() {
      for (let i = 0; i < 5; i++) {
        await commits.drain()
        await new Promise((r) => setImmediate(r))
        // a reopen caused by an edit is decided once the edit is committed, under the command lock
        await service.reopensSettled()
      }
      await commits.drain()
      await index.settled(id)
    },
    async liveSheet() {
      const record = (await service.get(id))!
      const versions = await index.list(id)
      const [b, l] = [await stack.board(), await stack.ledger()]
      return sheetOf(record, versions[versions.length - 1]?.n ?? 0, b.doc, l.doc)
    },
    async restore(party, termId, n, user) {
      // The same steps as the `term:restore` handler in server/app.ts.
      const text = await history.termTextAt(id, n, termId)
      if (!text) throw new Error(`term ${termId} did not exist at version ${n}`)
      await service.restore(stack.actor(party, user), termId, text, n)
    },
    async dropVersionsAfter(n) {
      if (opts.store) return opts.store.dropVersionsAfter(id, n)
      ;(store as SqliteStore).db.prepare('DELETE FROM versions WHERE negotiation_id = ? AND n > ?').run(id, n)
    },
    async close() {
      await stack.settle()
      await index.close()
      await registry.closeAll()
      await commits.drain()
      await store.close()
    },
  }

  if (!opts.reopen) {
    const record = { id, title: opts.title ?? 'History test talks', parties, createdAt: clock.now() }
    await store.createNegotiation(record)
    const ledger = await stack.ledger()
    await ledger.serverWrite(SERVER_AUTHOR, (doc) => writeMeta(doc, record))
    if (opts.terms?.length) {
      const board = await stack.board()
      await board.serverWrite(SERVER_AUTHOR, (doc) =>
        opts.terms!.forEach((t, i) => insertTerm(doc, t.id, { title: t.title, body: t.body, x: 40 + i * 340, y: 40 })),
      )
    }
    await stack.settle()
  }
  return stack
}

/**
 * An in-process simulated network for the sync layer: a real Room, the real
 * CommitQueue and Connection, over a fake socket and an in-memory store whose
 * commits can be made to fail. No ports, no timers to wait out: a test drives
 * the message flow step by step (`client.send…`, `sim.commit()`, `client.read()`)
 * and sees exactly what each connection was sent — so gaps, commit failures,
 * rebuilds and receipts are tested without sockets. After yjs's TestConnector
 * (tests/testHelper.js) and tldraw's TestSocketPair.
 */
import * as Y from 'yjs'
import * as decoding from 'lib0/decoding'
import { MessageType } from '../../shared/protocol'
import type { Role } from '../../shared/roles'
import type { DocLayout } from '../../shared/docLayout'
import type { AppendResult, ClientClaim, NewUpdate, Store } from '../../server/store/types'
import { CommitQueue } from '../../server/sync/commitQueue'
import { Connection } from '../../server/sync/connection'
import { decodeMessage, encodeSyncStep1, encodeSyncStep2, encodeSyncUpdate } from '../../server/sync/messages'
import type { Access, Peer } from '../../server/sync/peer'
import { Room, type StoredRow } from '../../server/sync/room'
import { StoreBreaker } from '../../server/sync/storeBreaker'
import type { UpdateLimits } from '../../server/sync/updateScan'

/** The part of `ws.WebSocket` a Connection uses; records what was sent and how it was closed. */
export class SimSocket {
  readonly sent: Uint8Array[] = []
  bufferedAmount = 0
  readyState = 1
  closedWith: number | null = null

  send(data: Uint8Array, cb?: () => void): void {
    this.sent.push(new Uint8Array(data))
    cb?.()
  }
  close(code: number): void {
    this.closedWith ??= code
    this.readyState = 3
  }
  terminate(): void {
    this.close(1006)
  }
}

/** The store's write path in memory: per-doc seqs, one global order, and commits that fail on demand. */
export class SimStore {
  readonly rows = new Map<string, Uint8Array[]>()
  readonly claims: ClientClaim[] = []
  /** the next appendUpdates throws this (once) */
  failNext: Error | null = null
  private gseq = 0

  async appendUpdates(rows: NewUpdate[], claims: ClientClaim[] = []): Promise<AppendResult[]> {
    if (this.failNext) {
      const err = this.failNext
      this.failNext = null
      throw err
    }
    this.claims.push(...claims)
    return rows.map((r) => {
      const log = this.rows.get(r.doc) ?? []
      this.rows.set(r.doc, log)
      log.push(r.update)
      return { doc: r.doc, seq: log.length, hash: '', gseq: ++this.gseq }
    })
  }

  async settleAppend(): Promise<boolean> {
    return false
  }

  /** The doc as the store holds it. */
  docOf(name: string): Y.Doc {
    const doc = new Y.Doc()
    for (const u of this.rows.get(name) ?? []) Y.applyUpdate(doc, u)
    return doc
  }
}

const LIMITS: UpdateLimits = { maxStructs: 50_000, maxDeleteRanges: 50_000 }

export interface SimOptions {
  name?: string
  /** updates between checkpoints at least (RoomDeps.checkpointEvery) */
  checkpointEvery?: number
  /** the doc's layout, judged for every client update (none: any content) */
  layout?: DocLayout
}

/** One room on a simulated network. */
export class SyncSim {
  readonly store = new SimStore()
  readonly breaker = new StoreBreaker(0, 0)
  readonly queue: CommitQueue
  readonly room: Room
  readonly checkpoints: Array<{ seq: number; state: Uint8Array }> = []
  /** rooms' requests to read what they lack from the store (another instance's rows past a gap) */
  catchUps = 0
  clock = 1_000_000

  constructor(opts: SimOptions = {}) {
    this.queue = new CommitQueue(this.store as unknown as Store, this.breaker)
    const doc = new Y.Doc()
    this.room = new Room(
      opts.name ?? 'sim/board',
      { doc, seq: 0, baseState: Y.encodeStateAsUpdate(doc), tail: [], checkpointSeq: 0, owners: new Map() },
      {
        limits: opts.layout ? { ...LIMITS, layout: opts.layout } : LIMITS,
        checkpointEvery: opts.checkpointEvery ?? 1_000_000,
        now: () => this.clock,
        schedule: (room) => this.queue.schedule(room),
        storeWritable: () => this.breaker.writable(),
        saveCheckpoint: (_room, seq, state) => this.checkpoints.push({ seq, state }),
        log: () => {},
        catchUp: () => void this.catchUps++,
      },
    )
  }

  /** A client connected to the room; `connect()` runs the handshake the endpoint would. */
  client(who: { user: string; party?: string | null; role?: Role; access?: Access; receipts?: boolean }): SimClient {
    const c = new SimClient(this, who)
    this.room.join(c.conn)
    return c
  }

  /** Lets the commit queue store everything queued and send what waited for it. */
  async commit(): Promise<void> {
    await this.queue.drain()
  }

  /** Rows another instance committed, arriving here (Redis, or a read back from the store). */
  fromOtherInstance(rows: StoredRow[]): void {
    this.room.applyStored(rows)
  }
}

export type Received =
  | { type: 'sync-step1' | 'sync-step2' | 'sync-update'; payload: Uint8Array }
  | { type: 'awareness' }
  | { type: 'permission-denied'; reason: string }
  | { type: 'receipt'; seq: number }

export class SimClient {
  readonly doc = new Y.Doc()
  readonly socket = new SimSocket()
  readonly conn: Connection
  private readCount = 0

  constructor(
    private readonly sim: SyncSim,
    who: { user: string; party?: string | null; role?: Role; access?: Access; receipts?: boolean },
  ) {
    const role = who.role ?? 'negotiator'
    const peer: Peer = {
      user: who.user,
      party: who.party ?? null,
      role,
      ownerKey: `${who.user}/${who.party ?? ''}`,
      relayAwareness: role === 'negotiator',
      structBudgeted: role === 'negotiator',
      tokenId: null,
      expiresAt: null,
      scope: null,
    }
    const limits = { messagesPerSecond: 1e6, bytesPerSecond: 1e9, maxBufferedBytes: 1e9 }
    this.conn = new Connection(this.socket as never, sim.room.name, peer, who.access ?? 'write', who.receipts ?? false, limits)
  }

  /** Sends one y-protocols message as the endpoint would hand it to the room. */
  private deliver(message: Uint8Array): void {
    this.sim.room.receive(this.conn, decodeMessage(message))
  }

  /** The sync handshake's first half: this client's state vector. */
  sendStep1(): void {
    this.deliver(encodeSyncStep1(Y.encodeStateVector(this.doc)))
  }

  /** Changes this client's doc and sends the update, as a provider does. */
  edit(change: (doc: Y.Doc) => void): Uint8Array {
    let update: Uint8Array | null = null
    const capture = (u: Uint8Array) => (update = u)
    this.doc.on('update', capture)
    this.doc.transact(() => change(this.doc))
    this.doc.off('update', capture)
    if (!update) throw new Error('the change changed nothing')
    this.sendUpdate(update)
    return update
  }

  sendUpdate(update: Uint8Array): void {
    this.deliver(encodeSyncUpdate(update))
  }

  sendStep2(update: Uint8Array): void {
    this.deliver(encodeSyncStep2(update))
  }

  /** Everything sent to this client since the last read, decoded; sync payloads applied to its doc, a step 1 answered. */
  read(): Received[] {
    const out: Received[] = []
    for (const raw of this.socket.sent.slice(this.readCount)) {
      const msg = parse(raw)
      out.push(msg)
      if (msg.type === 'sync-step2' || msg.type === 'sync-update') Y.applyUpdate(this.doc, msg.payload, 'server')
      if (msg.type === 'sync-step1') this.sendStep2(Y.encodeStateAsUpdate(this.doc, msg.payload))
    }
    this.readCount = this.socket.sent.length
    return out
  }

  text(name = 't'): string {
    return this.doc.getText(name).toString()
  }

  get closedWith(): number | null {
    return this.socket.closedWith
  }
}

/** Decodes one message the server sent (y-protocols sync/awareness/auth, and Parley's receipts). */
function parse(raw: Uint8Array): Received {
  const d = decoding.createDecoder(raw)
  const type = decoding.readVarUint(d)
  if (type === MessageType.sync) {
    const sub = decoding.readVarUint(d)
    const payload = decoding.readVarUint8Array(d)
    return { type: sub === 0 ? 'sync-step1' : sub === 1 ? 'sync-step2' : 'sync-update', payload }
  }
  if (type === MessageType.awareness) return { type: 'awareness' }
  if (type === MessageType.auth) {
    decoding.readVarUint(d)
    return { type: 'permission-denied', reason: decoding.readVarString(d) }
  }
  if (type === MessageType.saveReceipt) return { type: 'receipt', seq: decoding.readVarUint(d) }
  throw new Error(`unknown message type ${type}`)
}

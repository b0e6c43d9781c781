/**
 * One document held in memory with the connections that edit or watch it.
 *
 * The data path of an edit: decode → checks (may write? adds anything? whose
 * client ids?) → apply to the doc → queue in the room's batch → the
 * CommitQueue appends every room's batch in one store transaction → only then
 * is anything of that batch sent to anyone: broadcasts, sync replies,
 * awareness, save receipts. While a commit is in flight, inbound messages wait
 * in the room's inbox, so the doc never runs ahead of the store by more than
 * the batch being committed, and a failed commit can be undone by rebuilding
 * the doc from the last checkpoint plus the committed tail held in memory.
 */
import * as Y from 'yjs'
import { CloseCode, PermissionDeniedReason, MAX_REFUSED_WRITES } from '../../shared/protocol'
import type { AppendResult, Author, ClientClaim, NewUpdate } from '../store/types'
import { Outgoing, type Connection } from './connection'
import { addsToDoc, MAX_TYPE_NESTING, nestsDeeperThan, newClientIds, newDeleteRanges, startsPastState } from './docState'
import {
  encodeAwareness,
  encodePermissionDenied,
  encodeSaveReceipt,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  decodeStateVector,
  checkAwarenessState,
  stampAwarenessUser,
  ProtocolError,
  type AwarenessEntry,
  type InboundMessage,
} from './messages'
import { QuietDoc } from './quietDoc'
import { scanUpdate, type UpdateLimits } from './updateScan'
import { LayoutChecker } from './layoutCheck'

/** Where a change to a room's doc came from (the transaction origin). */
export type UpdateOrigin =
  | { source: 'connection'; conn: Connection; author: Author }
  /** `meta` travels with the write to the room's listeners (e.g. which ledger move it was) */
  | { source: 'server'; author: Author; meta?: unknown }

/** Updates another server instance committed (via Redis or read back from the store): already durable. */
export const STORED_ORIGIN = { source: 'stored' } as const

/** Fan-out to other server instances (server/cluster); absent on a single instance. */
export interface ClusterLink {
  publishUpdates(room: Room, updates: Array<{ seq: number; update: Uint8Array }>): void
  publishAwareness(room: Room, entries: AwarenessEntry[]): void
}

/** A row of the doc's log, as another instance committed it. */
export interface StoredRow {
  seq: number
  update: Uint8Array
}

/** A committed update, as the room's listeners see it. */
export interface CommittedUpdate {
  update: Uint8Array
  seq: number
  at: number
  author: Author
  origin: UpdateOrigin
}

/**
 * Listeners observe `room.doc` with Yjs events (the transaction origin is an
 * UpdateOrigin) to react before commit — server writes they queue join the
 * same group commit — and get the durable updates here afterwards.
 */
export interface RoomListener {
  /** Called once updates are durable, in commit order. */
  onCommitted?(room: Room, updates: CommittedUpdate[]): void
  /** The doc object was replaced after a failed commit: re-attach observers to `room.doc`. */
  onDocReplaced?(room: Room, old: Y.Doc): void
}

export interface RoomDeps {
  limits: UpdateLimits
  /** at least this many updates between two checkpoints (PARLEY_CHECKPOINT_EVERY); see Room.maybeCheckpoint */
  checkpointEvery: number
  now: () => number
  schedule: (room: Room) => void
  /** false while the store is failing: writes are refused instead of applied */
  storeWritable: () => boolean
  saveCheckpoint: (room: Room, seq: number, state: Uint8Array) => void
  log: (level: 'warn' | 'error', msg: string, err?: unknown) => void
  /** refusals of single updates: at debug level, so that nobody can flood the log with them */
  debug?: (msg: string) => void
  cluster?: ClusterLink
  /** reads the rows this room lacks below its highest seq from the store and applies them */
  catchUp?: (room: Room) => void
}

interface AwarenessState {
  clock: number
  json: string
  /** null: a client of another server instance */
  conn: Connection | null
  /** ms; remote states that stop being renewed are dropped like the clients drop them (30 s) */
  seenAt: number
}

const REMOTE_AWARENESS_TIMEOUT_MS = 30_000

interface Durability {
  resolve: (seq: number) => void
  reject: (err: unknown) => void
}

type BatchItem =
  | { kind: 'update'; update: Uint8Array; origin: UpdateOrigin; at: number; seq?: number; durable?: Durability }
  | { kind: 'sync-reply'; conn: Connection; stateVector: Uint8Array }
  | { kind: 'send'; conn: Connection; message: Uint8Array }
  | { kind: 'broadcast'; except: Connection | null; message: Uint8Array }
  | { kind: 'receipt'; conn: Connection }

export interface Batch {
  items: BatchItem[]
  claims: ClientClaim[]
}

/** One outbound message of a batch: to everyone (but one), or to one connection. */
type Segment =
  { kind: 'broadcast'; except: Connection | null; message: Uint8Array } | { kind: 'direct'; to: Connection; message: Uint8Array }

/** A batch's sends, framed: `common` for every connection not in `individual`. */
export interface Outbox {
  common: Outgoing | null
  individual: Map<Connection, Outgoing>
}

const emptyBatch = (): Batch => ({ items: [], claims: [] })

export class Room {
  doc: Y.Doc
  readonly connections = new Set<Connection>()
  /** every update with seq ≤ this is in the doc (and durable in the store) */
  committedSeq: number
  /** seqs in the doc beyond a gap: rows of other instances not seen yet lie below them */
  private ahead = new Set<number>()
  /** Yjs client id → identity that introduced it */
  readonly owners: Map<number, string>
  private listeners: RoomListener[] = []
  private awareness = new Map<number, AwarenessState>()
  private batch: Batch = emptyBatch()
  private committing = false
  private inbox: Array<[Connection, InboundMessage]> = []
  /** encoded full state for newcomers' sync step 2; dropped on every change */
  private stateCache: Uint8Array | null = null
  /** judges client updates against the doc's layout (when the limits name one); tied to `doc` */
  private layoutChecker: LayoutChecker | null = null
  /** last checkpoint (or load state) and the committed updates since: enough to rebuild the doc */
  private baseState: Uint8Array
  private tail: Uint8Array[] = []
  private checkpointSeq: number
  /** bytes of the first `tailCounted` updates of `tail` (counted as checkpoints are considered) */
  private tailBytes = 0
  private tailCounted = 0
  private serverClaims = new Set<number>()
  unloadTimer: NodeJS.Timeout | null = null
  /** other rooms that need this one loaded (a board pins its ledger) */
  pins = 0

  constructor(
    readonly name: string,
    loaded: {
      doc: Y.Doc
      seq: number
      baseState: Uint8Array
      tail: Uint8Array[]
      checkpointSeq: number
      owners: Map<number, string>
    },
    private readonly deps: RoomDeps,
  ) {
    this.doc = loaded.doc
    this.doc.on('beforeObserverCalls', this.guard)
    this.committedSeq = loaded.seq
    this.baseState = loaded.baseState
    this.tail = loaded.tail
    this.checkpointSeq = loaded.checkpointSeq
    this.owners = loaded.owners
  }

  addListener(listener: RoomListener): void {
    this.listeners.push(listener)
  }

  get pendingWork(): boolean {
    return this.committing || this.batch.items.length > 0 || this.inbox.length > 0
  }

  // ── connections ─────────────────────────────────────────────────────────

  join(conn: Connection): void {
    this.connections.add(conn)
    if (this.unloadTimer) {
      clearTimeout(this.unloadTimer)
      this.unloadTimer = null
    }
    // Sent through the batch so a newcomer never sees state that is not yet durable.
    this.push({ kind: 'send', conn, message: encodeSyncStep1(Y.encodeStateVector(this.doc)) })
    if (this.awareness.size > 0) {
      this.push({ kind: 'send', conn, message: encodeAwareness(this.awarenessEntries()) })
    }
  }

  leave(conn: Connection): void {
    if (!this.connections.delete(conn)) return
    this.inbox = this.inbox.filter(([c]) => c !== conn)
    const id = conn.awarenessClientId
    const state = id === null ? undefined : this.awareness.get(id)
    if (id !== null && state && state.conn === conn) {
      this.awareness.delete(id)
      this.push({
        kind: 'broadcast',
        except: conn,
        message: encodeAwareness([{ clientId: id, clock: state.clock + 1, json: 'null' }]),
      })
    }
  }

  /** Handles one decoded message; throws ProtocolError for input that must close the connection. */
  receive(conn: Connection, msg: InboundMessage): void {
    if (this.committing) {
      // Awareness never touches the doc, and what it queues goes into the next batch anyway: handle
      // it now, unless this connection has earlier input waiting (its messages keep their order).
      if (msg.type === 'awareness' && conn.queued === 0) return this.handle(conn, msg)
      conn.queued++
      this.inbox.push([conn, msg])
      return
    }
    this.handle(conn, msg)
  }

  private handle(conn: Connection, msg: InboundMessage): void {
    switch (msg.type) {
      case 'sync-step1':
        decodeStateVector(msg.stateVector)
        this.push({ kind: 'sync-reply', conn, stateVector: msg.stateVector })
        return
      case 'sync-step2':
      case 'sync-update':
        if (msg.type === 'sync-step2') conn.awaitingStep2 = false
        this.receiveUpdate(conn, msg.update)
        return
      case 'awareness':
        this.receiveAwareness(conn, msg.entries)
        return
      case 'query-awareness':
        this.push({ kind: 'send', conn, message: encodeAwareness(this.awarenessEntries()) })
        return
      case 'auth':
        return
    }
  }

  private receiveUpdate(conn: Connection, update: Uint8Array): void {
    const shape = scanUpdate(update, this.deps.limits)
    if (shape.empty) return
    if (!addsToDoc(this.doc, shape)) {
      // A resend after a reconnect: nothing to store, but the sender may wait for its receipt.
      if (conn.wantsReceipts) this.push({ kind: 'receipt', conn })
      return
    }
    if (conn.access !== 'write') return this.refuse(conn, PermissionDeniedReason.readOnly)
    // Yjs spends ~5–25 µs on each struct or delete range it applies: a per-token budget
    // (PARLEY_RATE_STRUCTS, shared by the token's connections) keeps struct-heavy updates from
    // monopolising the event loop. Deletions the doc already has are free (a reconnect resends them all).
    if (!conn.admitStructs(shape.structCount + newDeleteRanges(this.doc, shape))) return conn.close(CloseCode.rateLimited)
    if (!this.deps.storeWritable()) {
      conn.needsResync = true
      conn.send(encodePermissionDenied(PermissionDeniedReason.storeUnavailable))
      return
    }
    // Structs that start past what the doc has of their client would sit pending, invisible, yet be
    // stored and receipted (a client whose earlier edits died with a crash sends these). Store nothing
    // and ask the sender what the doc lacks: its sync step 2 brings the gap and this update together.
    if (startsPastState(this.doc, shape)) return this.askForMissing(conn)
    const claims: number[] = []
    for (const client of newClientIds(this.doc, shape)) {
      const owner = this.owners.get(client)
      if (owner === undefined) claims.push(client)
      else if (owner !== conn.peer.ownerKey) return this.refuse(conn, PermissionDeniedReason.forgedClientId)
    }
    if (shape.items) {
      this.layoutChecker ??= new LayoutChecker(this.doc, this.deps.limits.layout!)
      const violation = this.layoutChecker.check(shape.items)
      if (violation !== null) {
        this.deps.debug?.(`refused an update to ${this.name} from ${conn.id}: ${violation}`)
        return this.refuse(conn, PermissionDeniedReason.badLayout)
      }
    }
    for (const client of claims) {
      this.owners.set(client, conn.peer.ownerKey)
      this.batch.claims.push({ doc: this.name, clientId: client, owner: conn.peer.ownerKey })
    }
    const { user, party, role } = conn.peer
    this.applyAndQueue(update, { source: 'connection', conn, author: { user, party, role, conn: conn.id } })
  }

  /**
   * A write made by the server itself (ledger moves, restores, initial terms).
   * `change` runs in a transaction on the room's doc; the resulting update goes
   * through the same commit-before-broadcast path as a client's.
   */
  serverWrite(author: Author, change: (doc: Y.Doc) => void, meta?: unknown): Promise<number> | null {
    const origin: UpdateOrigin = { source: 'server', author, meta }
    let captured: Uint8Array | null = null
    const capture = (update: Uint8Array, o: unknown) => {
      if (o === origin) captured = update
    }
    this.doc.on('update', capture)
    this.deps.schedule(this)
    try {
      Y.transact(this.doc, () => change(this.doc), origin)
    } finally {
      this.doc.off('update', capture)
    }
    if (!captured) return null
    this.claimServerClientId()
    this.stateCache = null
    const update: Uint8Array = captured
    return new Promise<number>((resolve, reject) => {
      this.push({ kind: 'update', update, origin, at: this.deps.now(), durable: { resolve, reject } })
    })
  }

  /** The server writes under the doc's own client id; record it so no client can write under it. */
  private claimServerClientId(): void {
    const id = this.doc.clientID
    if (this.serverClaims.has(id) || this.owners.has(id)) return
    this.serverClaims.add(id)
    this.owners.set(id, 'server')
    this.batch.claims.push({ doc: this.name, clientId: id, owner: 'server' })
  }

  /** The client update applyAndQueue is applying, for `guard`; null otherwise. */
  private applying: { origin: UpdateOrigin; hadPending: boolean; missing: boolean } | null = null

  /**
   * Runs once Yjs has integrated a client update but before any observer (the board watcher) acts
   * on it; throwing here lands in applyAndQueue's catch. An update whose dependencies the doc lacks
   * would be held pending yet stored; types nested past MAX_TYPE_NESTING would overflow the stack
   * of the next delete (see docState.ts). Registered once per doc: adding and removing a listener
   * per update allocated lib0's listener set every time.
   */
  private readonly guard = (tr: Y.Transaction): void => {
    const a = this.applying
    if (a === null || tr.origin !== a.origin) return
    const store = tr.doc.store
    if (!a.hadPending && (store.pendingStructs !== null || store.pendingDs !== null)) {
      a.missing = true
      throw new ProtocolError('update depends on content the doc does not have')
    }
    if (nestsDeeperThan(tr, MAX_TYPE_NESTING)) throw new ProtocolError(`types nested deeper than ${MAX_TYPE_NESTING} levels`)
  }

  private applyAndQueue(update: Uint8Array, origin: UpdateOrigin): void {
    // Queue this room before applying: listeners' follow-up writes to other rooms (the
    // ledger move an edit causes) then commit and are delivered after their cause.
    this.deps.schedule(this)
    const doc = this.doc
    const applying = { origin, hadPending: doc.store.pendingStructs !== null || doc.store.pendingDs !== null, missing: false }
    this.applying = applying
    try {
      Y.applyUpdate(doc, update, origin)
    } catch (err) {
      this.applying = null
      // Yjs may have integrated part of it; put the doc back to what is known good.
      this.rebuild(this.batch.items.flatMap((i) => (i.kind === 'update' ? [i.update] : [])))
      // Each of these costs a rebuild: a connection that keeps sending them is not a client catching up.
      if (applying.missing && origin.source === 'connection' && ++origin.conn.refusedWrites < MAX_REFUSED_WRITES) {
        return this.askForMissing(origin.conn)
      }
      throw new ProtocolError(`update could not be applied: ${(err as Error).message}`)
    } finally {
      this.applying = null
    }
    this.stateCache = null
    this.push({ kind: 'update', update, origin, at: this.deps.now() })
  }

  /** Sends one sync step 1 per gap; the step 2 it answers with carries everything sent until then. */
  private askForMissing(conn: Connection): void {
    if (conn.awaitingStep2) return
    conn.awaitingStep2 = true
    this.push({ kind: 'send', conn, message: encodeSyncStep1(Y.encodeStateVector(this.doc)) })
  }

  private refuse(conn: Connection, reason: string): void {
    conn.send(encodePermissionDenied(reason))
    if (++conn.refusedWrites >= MAX_REFUSED_WRITES) conn.close(CloseCode.forbidden)
  }

  private receiveAwareness(conn: Connection, entries: AwarenessEntry[]): void {
    // Only an entry that can change what is held needs its JSON checked. The stock client re-sends
    // every remote awareness update it gets — with 500 watchers, 500 copies of each cursor move, by
    // then often already outdated — and those are dropped below without a look at their JSON.
    const states = new Map<AwarenessEntry, Record<string, unknown> | null>()
    for (const entry of entries) {
      const current = this.awareness.get(entry.clientId)
      if (current && (entry.clock < current.clock || (entry.clock === current.clock && entry.json !== 'null'))) continue
      states.set(entry, checkAwarenessState(entry.json))
    }
    if (states.size === 0) return
    const accepted: AwarenessEntry[] = []
    const identity = conn.peer.awarenessUser
    for (const entry of entries) {
      if (!this.speaksFor(conn, entry.clientId)) continue
      const current = this.awareness.get(entry.clientId)
      const removal = entry.json === 'null'
      // The stock client echoes every remote awareness update it gets: only newer clocks count.
      if (current && (entry.clock < current.clock || (entry.clock === current.clock && !removal))) continue
      conn.awarenessClientId = entry.clientId
      if (!conn.peer.relayAwareness) continue
      const state = states.has(entry) ? states.get(entry) : checkAwarenessState(entry.json)
      // Who the state says it is comes from the token, whatever the client wrote.
      const stamped = state && identity ? { ...entry, json: stampAwarenessUser(state, identity) } : entry
      if (removal) this.awareness.delete(entry.clientId)
      else this.awareness.set(entry.clientId, { clock: entry.clock, json: stamped.json, conn, seenAt: this.deps.now() })
      accepted.push(stamped)
    }
    if (accepted.length > 0) {
      this.push({ kind: 'broadcast', except: conn, message: encodeAwareness(accepted) })
      this.deps.cluster?.publishAwareness(this, accepted)
    }
  }

  /** Awareness of clients connected to another instance: kept for newcomers here, and relayed. */
  receiveRemoteAwareness(entries: AwarenessEntry[]): void {
    const now = this.deps.now()
    const fresh = entries.filter((e) => {
      const current = this.awareness.get(e.clientId)
      if (current?.conn) return false // a client of this instance: its own connection speaks for it
      if (current && e.clock <= current.clock && e.json !== 'null') return false
      if (e.json === 'null') this.awareness.delete(e.clientId)
      else this.awareness.set(e.clientId, { clock: e.clock, json: e.json, conn: null, seenAt: now })
      return true
    })
    if (fresh.length > 0) this.push({ kind: 'broadcast', except: null, message: encodeAwareness(fresh) })
  }

  /** A connection speaks for one awareness client id: its own, not one another identity introduced. */
  private speaksFor(conn: Connection, clientId: number): boolean {
    if (conn.awarenessClientId !== null) return conn.awarenessClientId === clientId
    const owner = this.owners.get(clientId)
    if (owner !== undefined && owner !== conn.peer.ownerKey) return false
    const holder = this.awareness.get(clientId)?.conn
    return !holder || holder === conn || holder.closed
  }

  /** Awareness of this instance's own clients (for republishing after a Redis reconnect). */
  localAwarenessEntries(): AwarenessEntry[] {
    const entries: AwarenessEntry[] = []
    for (const [clientId, s] of this.awareness) if (s.conn) entries.push({ clientId, clock: s.clock, json: s.json })
    return entries
  }

  private awarenessEntries(): AwarenessEntry[] {
    const now = this.deps.now()
    const entries: AwarenessEntry[] = []
    for (const [clientId, s] of this.awareness) {
      if (!s.conn && now - s.seenAt > REMOTE_AWARENESS_TIMEOUT_MS) this.awareness.delete(clientId)
      else entries.push({ clientId, clock: s.clock, json: s.json })
    }
    return entries
  }

  private push(item: BatchItem): void {
    this.batch.items.push(item)
    this.deps.schedule(this)
  }

  // ── commit protocol, driven by the CommitQueue ─────────────────────────

  /** Hands the current batch to the committer; inbound messages wait until it settles. */
  takeBatch(): { batch: Batch; rows: NewUpdate[] } {
    const batch = this.batch
    this.batch = emptyBatch()
    this.committing = true
    const rows: NewUpdate[] = []
    for (const item of batch.items) {
      if (item.kind !== 'update') continue
      const meta = item.origin.source === 'server' ? item.origin.meta : undefined
      rows.push({
        doc: this.name,
        at: item.at,
        author: item.origin.author,
        update: item.update,
        ...(meta !== undefined ? { meta } : {}),
      })
    }
    return { batch, rows }
  }

  /**
   * Phase 1 of a successful commit: record sequence numbers. The CommitQueue
   * runs this for every room of the flush before any room delivers, so
   * listeners of one room see the other rooms' seqs of the same flush.
   */
  markCommitted(batch: Batch, results: AppendResult[]): void {
    let r = 0
    for (const item of batch.items) {
      if (item.kind !== 'update') continue
      const result = results[r++]!
      item.seq = result.seq
      this.advance(result.seq)
      this.tail.push(item.update)
    }
  }

  /** Records that the doc holds `seq`; beyond a gap it is held aside until the gap is filled. */
  private advance(seq: number): void {
    if (seq === this.committedSeq + 1) {
      this.committedSeq = seq
      while (this.ahead.delete(this.committedSeq + 1)) this.committedSeq++
    } else if (seq > this.committedSeq) {
      this.ahead.add(seq)
    }
  }

  /** The highest seq in the doc (above committedSeq while a gap is open). */
  get highestSeq(): number {
    let max = this.committedSeq
    for (const s of this.ahead) if (s > max) max = s
    return max
  }

  get hasGap(): boolean {
    return this.ahead.size > 0
  }

  /**
   * Applies rows other instances committed (from Redis, or read back from the
   * store to fill a gap) and relays them to this instance's clients. Rows the
   * doc already holds are skipped; order does not matter to Yjs.
   */
  applyStored(rows: StoredRow[]): void {
    const fresh: Uint8Array[] = []
    for (const row of rows) {
      if (row.seq <= this.committedSeq || this.ahead.has(row.seq)) continue
      try {
        Y.applyUpdate(this.doc, row.update, STORED_ORIGIN)
      } catch (err) {
        this.deps.log('error', `stored update ${row.seq} of ${this.name} could not be applied`, err)
      }
      this.advance(row.seq)
      this.tail.push(row.update)
      fresh.push(row.update)
    }
    if (fresh.length === 0) return
    this.stateCache = null
    this.push({
      kind: 'broadcast',
      except: null,
      message: encodeSyncUpdate(fresh.length === 1 ? fresh[0]! : Y.mergeUpdates(fresh)),
    })
    if (this.ahead.size > 0) this.deps.catchUp?.(this)
  }

  /**
   * Phase 2: encode what the batch sends (from the doc as committed), tell
   * listeners, take new input — and hand the sends back. The CommitQueue
   * starts the next commit before it sends them, so the next disk sync runs
   * while this batch goes out.
   */
  deliverCommitted(batch: Batch): Outbox {
    const committed: CommittedUpdate[] = []
    for (const item of batch.items) {
      if (item.kind === 'update') {
        committed.push({ update: item.update, seq: item.seq!, at: item.at, author: item.origin.author, origin: item.origin })
        item.durable?.resolve(item.seq!)
      }
    }
    const outbox = this.prepare(batch)
    this.committing = false
    if (committed.length > 0) {
      this.deps.cluster?.publishUpdates(this, committed)
      for (const l of this.listeners) l.onCommitted?.(this, committed)
      if (this.ahead.size > 0) this.deps.catchUp?.(this)
      else this.maybeCheckpoint()
    }
    this.drainInbox()
    return outbox
  }

  commitFailed(batch: Batch, err: unknown): void {
    this.deps.log('error', `commit failed for ${this.name}; rebuilding the doc from the store's state`, err)
    for (const c of batch.claims) {
      if (this.owners.get(c.clientId) === c.owner) this.owners.delete(c.clientId)
      this.serverClaims.delete(c.clientId)
    }
    this.rebuild([])
    // Only what was not an update still goes out: replies now come from the rebuilt doc.
    const failedWriters = new Set<Connection>()
    for (const item of batch.items) {
      if (item.kind !== 'update') continue
      if (item.origin.source === 'connection') failedWriters.add(item.origin.conn)
      item.durable?.reject(err)
    }
    this.send(this.prepare({ items: batch.items.filter((i) => i.kind !== 'update' && i.kind !== 'receipt'), claims: [] }))
    for (const conn of failedWriters) {
      conn.needsResync = true
      conn.send(encodePermissionDenied(PermissionDeniedReason.storeUnavailable))
    }
    this.committing = false
    this.drainInbox()
  }

  /** Store is writable again: ask every connection that lost writes for what the doc lacks. */
  resync(): void {
    for (const conn of this.connections) {
      if (!conn.needsResync) continue
      conn.needsResync = false
      this.push({ kind: 'send', conn, message: encodeSyncStep1(Y.encodeStateVector(this.doc)) })
    }
  }

  /**
   * Encodes a batch's sends once: each update as its sender sent it (DESIGN.md:
   * forward the bytes, never re-encode), to everyone but its sender. Each
   * recipient then gets every message of the batch meant for it — updates,
   * awareness, receipts, sync replies — in one socket write, and every
   * recipient that neither sent nor is addressed alone gets the very same bytes.
   */
  private prepare(batch: Batch): Outbox {
    const items = batch.items
    const segments: Segment[] = []
    const special = new Set<Connection>()
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!
      switch (item.kind) {
        case 'update': {
          const sender = item.origin.source === 'connection' ? item.origin.conn : null
          segments.push({ kind: 'broadcast', except: sender, message: encodeSyncUpdate(item.update) })
          if (sender) {
            special.add(sender)
            // One receipt per update (CONTRACT.md: "after each of its updates"), so a client can count what is unsaved.
            if (sender.wantsReceipts)
              segments.push({ kind: 'direct', to: sender, message: encodeSaveReceipt(this.committedSeqAt(items, i)) })
          }
          break
        }
        case 'sync-reply':
          segments.push({ kind: 'direct', to: item.conn, message: encodeSyncStep2(this.encodeStateFor(item.stateVector)) })
          special.add(item.conn)
          break
        case 'send':
          segments.push({ kind: 'direct', to: item.conn, message: item.message })
          special.add(item.conn)
          break
        case 'broadcast':
          segments.push({ kind: 'broadcast', except: item.except, message: item.message })
          if (item.except) special.add(item.except)
          break
        case 'receipt':
          segments.push({ kind: 'direct', to: item.conn, message: encodeSaveReceipt(this.highestSeq) })
          special.add(item.conn)
          break
      }
    }
    const common: Uint8Array[] = []
    for (const seg of segments) if (seg.kind === 'broadcast') common.push(seg.message)
    const individual = new Map<Connection, Outgoing>()
    for (const conn of special) {
      const own: Uint8Array[] = []
      for (const seg of segments) if (seg.kind === 'broadcast' ? seg.except !== conn : seg.to === conn) own.push(seg.message)
      individual.set(conn, new Outgoing(own))
    }
    return { common: common.length > 0 ? new Outgoing(common) : null, individual }
  }

  /** Writes a prepared batch to the room's connections: one write each. */
  send(outbox: Outbox): void {
    const now = Date.now()
    for (const conn of this.connections) {
      const out = outbox.individual.get(conn) ?? outbox.common
      if (out) conn.sendOutgoing(out, now)
    }
  }

  private committedSeqAt(items: BatchItem[], index: number): number {
    const item = items[index]
    return item?.kind === 'update' && item.seq !== undefined ? item.seq : this.highestSeq
  }

  private encodeStateFor(stateVector: Uint8Array): Uint8Array {
    if (stateVector.length === 1 && stateVector[0] === 0) {
      this.stateCache ??= Y.encodeStateAsUpdate(this.doc)
      return this.stateCache
    }
    return Y.encodeStateAsUpdate(this.doc, stateVector)
  }

  private drainInbox(): void {
    while (this.inbox.length > 0 && !this.committing) {
      const [conn, msg] = this.inbox.shift()!
      conn.queued--
      if (conn.closed) continue
      try {
        this.handle(conn, msg)
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err
        conn.close(CloseCode.malformed)
      }
    }
  }

  /** Replaces the doc with last checkpoint + committed tail (+ `extra` still-pending updates). */
  private rebuild(extra: Uint8Array[]): void {
    const fresh = new QuietDoc()
    // One transaction: the tail since a checkpoint may be thousands of updates (see maybeCheckpoint).
    Y.transact(fresh, () => {
      Y.applyUpdate(fresh, this.baseState)
      for (const u of this.tail) Y.applyUpdate(fresh, u)
      for (const u of extra) Y.applyUpdate(fresh, u)
    })
    const old = this.doc
    this.doc = fresh
    this.layoutChecker = null
    fresh.on('beforeObserverCalls', this.guard)
    this.stateCache = null
    for (const l of this.listeners) l.onDocReplaced?.(this, old)
    old.destroy()
  }

  /**
   * Checkpoints are spaced by bytes: a new one once the updates since the
   * last add up to at least that checkpoint's state (and number at least
   * `checkpointEvery`, so a small doc is not checkpointed every few
   * keystrokes). Encoding and storing a state costs about its size, so
   * checkpoints cost at most as much as the log they summarise — the total
   * written stays below the log's, however long the history — and a load
   * or a rebuild applies a tail of about the state's size at most.
   */
  maybeCheckpoint(): void {
    if (this.committedSeq - this.checkpointSeq < this.deps.checkpointEvery) return
    for (; this.tailCounted < this.tail.length; this.tailCounted++) this.tailBytes += this.tail[this.tailCounted]!.byteLength
    if (this.tailBytes < this.baseState.byteLength) return
    this.checkpointNow()
  }

  /** Encodes the committed state and hands it to the store; resets the rebuild tail. */
  checkpointNow(): void {
    // A checkpoint must hold exactly the updates up to its seq: not while a gap is open.
    if (this.committedSeq === this.checkpointSeq || this.committing || this.batch.items.length > 0 || this.ahead.size > 0) return
    const state = Y.encodeStateAsUpdate(this.doc)
    this.baseState = state
    this.tail = []
    this.tailBytes = 0
    this.tailCounted = 0
    this.checkpointSeq = this.committedSeq
    this.stateCache = state
    this.deps.saveCheckpoint(this, this.committedSeq, state)
  }

  destroy(): void {
    if (this.unloadTimer) clearTimeout(this.unloadTimer)
    this.doc.destroy()
  }
}

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
import type { AppendResult, Author, NewUpdate } from '../store/types'
import type { Connection } from './connection'
import { MAX_TYPE_NESTING, nestsDeeperThan } from './docState'
import {
  encodeAwareness,
  encodePermissionDenied,
  encodeSyncStep1,
  encodeSyncUpdate,
  decodeStateVector,
  ProtocolError,
  type AwarenessEntry,
  type InboundMessage,
} from './messages'
import { emptyBatch, type Batch, type BatchItem, type ClaimedClientId } from './batch'
import { prepareOutbox, sendOutbox, type Outbox } from './outbox'
import { RebuildLog } from './rebuildLog'
import { RoomAwareness } from './roomAwareness'
import { STORED_ORIGIN, type UpdateOrigin } from './updateOrigin'
import { UpdateChecks } from './updateChecks'
import type { UpdateLimits } from './updateScan'

export { STORED_ORIGIN, type UpdateOrigin } from './updateOrigin'
export type { Batch, ClaimedClientId } from './batch'
export type { Outbox } from './outbox'

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
  /**
   * Called after onCommitted when the batch stored new Yjs client ids that
   * connections introduced (never the server's own), each with the party and
   * user of the connection that did; not called for a batch whose commit failed.
   */
  onClaimsCommitted?(room: Room, claims: ClaimedClientId[]): void
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
  private readonly awareness: RoomAwareness
  private readonly checks: UpdateChecks
  private batch: Batch = emptyBatch()
  private committing = false
  private inbox: Array<[Connection, InboundMessage]> = []
  /** encoded full state for newcomers' sync step 2; dropped on every change */
  private stateCache: Uint8Array | null = null
  /** enough to rebuild the doc after a failed commit; says when a checkpoint is due */
  private readonly recovery: RebuildLog
  private serverClaims = new Set<number>()
  unloadTimer: NodeJS.Timeout | null = null
  /** other rooms that need this one loaded (a board pins its ledger): RoomRegistry.pin/unpin */
  pins = 0
  /**
   * Why the doc takes no client write at all any more (a permission-denied reason), or null: set by
   * the negotiation layer (a concluded negotiation's board). Asked on every client update, so O(1).
   */
  writeRefusal: () => string | null = () => null

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
    this.recovery = new RebuildLog(loaded)
    this.owners = loaded.owners
    this.awareness = new RoomAwareness(deps.now, (clientId) => this.owners.get(clientId))
    this.checks = new UpdateChecks(deps.limits, deps.storeWritable)
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
      this.push({ kind: 'send', conn, message: encodeAwareness(this.awareness.entries()) })
    }
  }

  leave(conn: Connection): void {
    if (!this.connections.delete(conn)) return
    this.inbox = this.inbox.filter(([c]) => c !== conn)
    const removal = this.awareness.leave(conn)
    if (removal) this.push({ kind: 'broadcast', except: conn, message: encodeAwareness([removal]) })
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
        this.push({ kind: 'send', conn, message: encodeAwareness(this.awareness.entries()) })
        return
      case 'auth':
        return
    }
  }

  private receiveUpdate(conn: Connection, update: Uint8Array): void {
    const verdict = this.checks.judge(this.doc, this.owners, conn, update, this.writeRefusal())
    switch (verdict.kind) {
      case 'empty':
        return
      case 'known':
        if (conn.wantsReceipts) this.push({ kind: 'receipt', conn })
        return
      case 'refuse':
        if (verdict.detail) this.deps.debug?.(`refused an update to ${this.name} from ${conn.id}: ${verdict.detail}`)
        return this.refuse(conn, verdict.reason)
      case 'rate-limited':
        return conn.close(CloseCode.rateLimited)
      case 'store-unavailable':
        conn.needsResync = true
        conn.send(encodePermissionDenied(PermissionDeniedReason.storeUnavailable))
        return
      case 'ask-missing':
        return this.askForMissing(conn)
      case 'accept':
        break
    }
    const { user, party, role } = conn.peer
    for (const client of verdict.claims) {
      this.owners.set(client, conn.peer.ownerKey)
      this.batch.claims.push({ doc: this.name, clientId: client, owner: conn.peer.ownerKey })
      this.batch.claimedBy.push({ clientId: client, party, user })
    }
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
   * Runs once Yjs has integrated a client update but before any observer (the ledger writer) acts
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
    const accepted = this.awareness.receive(conn, entries)
    if (accepted.length > 0) {
      this.push({ kind: 'broadcast', except: conn, message: encodeAwareness(accepted) })
      this.deps.cluster?.publishAwareness(this, accepted)
    }
  }

  /** Awareness of clients connected to another instance: kept for newcomers here, and relayed. */
  receiveRemoteAwareness(entries: AwarenessEntry[]): void {
    const fresh = this.awareness.receiveRemote(entries)
    if (fresh.length > 0) this.push({ kind: 'broadcast', except: null, message: encodeAwareness(fresh) })
  }

  /** Awareness of this instance's own clients (for republishing after a Redis reconnect). */
  localAwarenessEntries(): AwarenessEntry[] {
    return this.awareness.localEntries()
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
      this.recovery.append(item.update)
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
      this.recovery.append(row.update)
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
    const outbox = prepareOutbox(batch.items, this)
    this.committing = false
    if (committed.length > 0) {
      this.deps.cluster?.publishUpdates(this, committed)
      for (const l of this.listeners) l.onCommitted?.(this, committed)
      if (this.ahead.size > 0) this.deps.catchUp?.(this)
      else this.maybeCheckpoint()
    }
    // The claims are stored with the batch even when its update could not be applied (so the id stays
    // its claimant's): listeners hear of them whenever they were committed.
    if (batch.claimedBy.length > 0) for (const l of this.listeners) l.onClaimsCommitted?.(this, batch.claimedBy)
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
    this.send(
      prepareOutbox(
        batch.items.filter((i) => i.kind !== 'update' && i.kind !== 'receipt'),
        this,
      ),
    )
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

  /** Writes a prepared batch to the room's connections: one write each (outbox.ts). */
  send(outbox: Outbox): void {
    sendOutbox(this.connections, outbox)
  }

  /** For a sync reply: the full state (cached for newcomers), or what a client with this state vector lacks. */
  stateFor(stateVector: Uint8Array): Uint8Array {
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
    const fresh = this.recovery.rebuild(extra)
    const old = this.doc
    this.doc = fresh
    this.checks.docReplaced()
    fresh.on('beforeObserverCalls', this.guard)
    this.stateCache = null
    for (const l of this.listeners) l.onDocReplaced?.(this, old)
    old.destroy()
  }

  /** Takes a checkpoint when one is due (RebuildLog.due: spaced by bytes). */
  maybeCheckpoint(): void {
    if (this.recovery.due(this.committedSeq, this.deps.checkpointEvery)) this.checkpointNow()
  }

  /** Encodes the committed state and hands it to the store; resets the rebuild tail. */
  checkpointNow(): void {
    // A checkpoint must hold exactly the updates up to its seq: not while a gap is open.
    if (this.committedSeq === this.recovery.seq || this.committing || this.batch.items.length > 0 || this.ahead.size > 0) return
    const state = Y.encodeStateAsUpdate(this.doc)
    this.recovery.checkpointed(state, this.committedSeq)
    this.stateCache = state
    this.deps.saveCheckpoint(this, this.committedSeq, state)
  }

  destroy(): void {
    if (this.unloadTimer) clearTimeout(this.unloadTimer)
    this.doc.destroy()
  }
}

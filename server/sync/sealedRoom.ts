/**
 * One sealed caucus held open (CONTRACT.md "Sealed caucus"): its connections,
 * and the order in which its sealed updates reach them. There is no Y.Doc —
 * the server cannot read what it relays — so a room is small: the highest seq
 * relayed here (`head`) and what waits to be.
 *
 * The data path of a sealed update: the frame is checked (shared/sealed.ts),
 * then rights and the token's budget here; it joins the group commit
 * (sealedRooms.ts), which stores it and hands back its seq; only then is it
 * relayed — as 201 to every other connection, as a save receipt (100, the
 * seq) to its sender — and published to the other instances. Every
 * connection sees the doc's seqs in order, each once, as a 201 or as its own
 * receipt: rows arrive here in any order (this instance's commits, other
 * instances' over Redis, a read of the store to fill a gap) and wait in
 * `pending` until every seq below theirs has been relayed.
 *
 * A catch-up (202) is served from the store in pages, up to `head`, while
 * what is relayed meanwhile waits for that connection (`Session.buffer`) and
 * its own later messages wait too (`Session.inbox`): the 201s, the 203 and
 * what follows stay in seq order for it. Paging reads a bounded number of
 * bytes at a time and waits for the socket to drain between pages, so a long
 * log costs memory independent of its length.
 */
import { CloseCode } from '../../shared/protocol'
import { encodeSealedHead, encodeSealedRelay, type SealedClientMessage } from '../../shared/sealed'
import type { Author, StoredSealed } from '../store/types'
import { Outgoing, type Connection } from './connection'
import { encodeSaveReceipt } from './messages'

/** A sealed update as it travels between instances and rooms. */
export interface SealedRow {
  seq: number
  nonce: Uint8Array
  ciphertext: Uint8Array
}

/** A sealed update accepted from a connection of `room`, waiting for the group commit. */
export interface SealedWrite {
  room: SealedRoom
  conn: Connection
  at: number
  author: Author
  nonce: Uint8Array
  ciphertext: Uint8Array
}

export interface SealedRoomDeps {
  readSealed(doc: string, afterSeq: number, limit: number): Promise<StoredSealed[]>
  /** hands a write to the group commit, which calls back `committed` or `commitFailed` */
  commit(write: SealedWrite): void
  /** false while the store is failing: writes are refused (4503) instead of queued */
  storeWritable(): boolean
  now(): number
  log(level: 'warn' | 'error', msg: string, err?: unknown): void
}

/**
 * What a sealed update costs against the token's struct budget (PARLEY_RATE_STRUCTS, shared by all
 * of the token's connections): one per started 64 bytes of ciphertext. The server cannot count the
 * structs inside; by size, a keystroke costs 1 and a 1 MiB compaction 16 384, within the burst.
 */
export const sealedCost = (ciphertextBytes: number): number => Math.max(1, Math.ceil(ciphertextBytes / 64))

/** A catch-up reads about this many bytes of ciphertext per page (the first page: FIRST_PAGE_ROWS rows). */
const PAGE_BYTES = 2 * 1024 * 1024
const FIRST_PAGE_ROWS = 64
const MAX_PAGE_ROWS = 1024
/** Between pages, a catch-up waits until the socket holds less than this unsent. */
const DRAIN_BELOW_BYTES = 1024 * 1024
/** Messages a connection may send while its catch-up runs; past it, 4429. */
const MAX_INBOX = 1024
/** Rows per read when the room fills a gap from the store. */
const GAP_PAGE_ROWS = 256
/** After a failed read of the store, the room tries to fill its gap again this much later. */
const GAP_RETRY_MS = 1000

/** One connection's place in the room. */
interface Session {
  /** a catch-up (202) is being answered: relays wait in `buffer`, its messages in `inbox` */
  replaying: boolean
  inbox: SealedClientMessage[]
  buffer: Array<{ seq: number; message: Uint8Array; own: boolean }>
}

/** A row waiting to be relayed, with its sender when it is one of this instance's connections. */
interface Pending extends SealedRow {
  sender: Connection | null
  /** the author's connection id, for rows read back from the store (see `emit`) */
  authorConn: string | null
}

export class SealedRoom {
  readonly connections = new Set<Connection>()
  /** every row with seq ≤ head has been relayed to this room's connections; -1 until `start` */
  head = -1
  private pending = new Map<number, Pending>()
  private sessions = new Map<Connection, Session>()
  /**
   * This instance's writes not relayed yet, by author connection and nonce: a read of the store
   * may bring one back before its commit answers (another instance's row behind it opened a gap),
   * and it must still reach its sender as a receipt, not as a 201.
   */
  private inFlight = new Map<string, Connection>()
  private writes = 0
  private catchingUp = false
  private gapRetry: NodeJS.Timeout | null = null
  private destroyed = false
  unloadTimer: NodeJS.Timeout | null = null

  constructor(
    readonly name: string,
    private readonly deps: SealedRoomDeps,
  ) {}

  /** The store's head is known: relay what arrived meanwhile. */
  start(head: number): void {
    this.head = head
    this.flush()
  }

  /** Writes in flight, catch-ups or rows waiting: not to be unloaded yet. */
  get pendingWork(): boolean {
    return this.writes > 0 || this.catchingUp || this.pending.size > 0 || [...this.sessions.values()].some((s) => s.replaying)
  }

  join(conn: Connection): void {
    this.connections.add(conn)
    this.sessions.set(conn, { replaying: false, inbox: [], buffer: [] })
    if (this.unloadTimer) {
      clearTimeout(this.unloadTimer)
      this.unloadTimer = null
    }
  }

  leave(conn: Connection): void {
    this.connections.delete(conn)
    this.sessions.delete(conn)
  }

  /** One decoded client message (the endpoint checked the frame and the connection's rate). */
  receive(conn: Connection, msg: SealedClientMessage): void {
    const session = this.sessions.get(conn)
    if (!session || conn.closed) return
    if (session.replaying) {
      if (session.inbox.length >= MAX_INBOX) return conn.close(CloseCode.rateLimited)
      session.inbox.push(msg)
      return
    }
    this.handle(conn, session, msg)
  }

  private handle(conn: Connection, session: Session, msg: SealedClientMessage): void {
    if (msg.type === 'catch-up') return void this.replay(conn, session, msg.afterSeq)
    if (conn.access !== 'write') return conn.close(CloseCode.forbidden)
    if (!conn.admitStructs(sealedCost(msg.ciphertext.byteLength))) return conn.close(CloseCode.rateLimited)
    if (!this.deps.storeWritable()) return conn.close(CloseCode.storeUnavailable)
    const { user, party, role } = conn.peer
    this.inFlight.set(ownKey(conn.id, msg.nonce), conn)
    this.writes++
    this.deps.commit({
      room: this,
      conn,
      at: this.deps.now(),
      author: { user, party, role, conn: conn.id },
      nonce: msg.nonce,
      ciphertext: msg.ciphertext,
    })
  }

  // ── commits (driven by SealedCommits) ──────────────────────────────────

  /** The write is durable as `seq`: relayed in its turn. */
  committed(write: SealedWrite, seq: number): void {
    this.writes--
    this.accept([{ seq, nonce: write.nonce, ciphertext: write.ciphertext, sender: write.conn, authorConn: null }])
  }

  /**
   * The write may not be stored: its sender is closed with 4503 and resends, after its catch-up,
   * whatever that does not show (a lost COMMIT may have landed: the store is read for it).
   */
  commitFailed(write: SealedWrite): void {
    this.writes--
    this.inFlight.delete(ownKey(write.conn.id, write.nonce))
    write.conn.close(CloseCode.storeUnavailable)
    this.catchUp()
  }

  // ── ordering ───────────────────────────────────────────────────────────

  /** Rows of another instance (Redis), as stored: relayed in seq order, once each. */
  receiveStored(rows: SealedRow[]): void {
    this.accept(rows.map((r) => ({ ...r, sender: null, authorConn: null })))
  }

  private accept(rows: Pending[]): void {
    for (const row of rows) {
      if (this.head >= 0 && row.seq <= this.head) continue
      const had = this.pending.get(row.seq)
      if (!had || (!had.sender && row.sender)) this.pending.set(row.seq, row)
    }
    this.flush()
  }

  private flush(): void {
    if (this.head < 0) return
    for (const seq of this.pending.keys()) if (seq <= this.head) this.pending.delete(seq)
    for (let next = this.pending.get(this.head + 1); next; next = this.pending.get(this.head + 1)) {
      this.pending.delete(next.seq)
      this.head = next.seq
      this.emit(next)
    }
    // A row above a gap: the rows below it are in the store (seqs are taken in commit order).
    if (this.pending.size > 0) this.catchUp()
  }

  private emit(row: Pending): void {
    let sender = row.sender
    if (this.inFlight.size > 0) {
      const key = ownKey(sender?.id ?? row.authorConn ?? '', row.nonce)
      sender ??= this.inFlight.get(key) ?? null
      if (sender) this.inFlight.delete(key)
    }
    let relay: Outgoing | null = null
    const now = Date.now()
    for (const conn of this.connections) {
      if (conn.closed) continue
      const own = conn === sender
      const session = this.sessions.get(conn)!
      if (own) {
        const receipt = encodeSaveReceipt(row.seq)
        if (session.replaying) session.buffer.push({ seq: row.seq, message: receipt, own })
        else conn.send(receipt)
        continue
      }
      relay ??= new Outgoing([encodeSealedRelay(row.seq, row.nonce, row.ciphertext)])
      if (session.replaying) session.buffer.push({ seq: row.seq, message: relay.messages[0]!, own })
      else conn.sendOutgoing(relay, now)
    }
  }

  /**
   * Reads the rows this room lacks (a gap under a row another instance relayed, a commit whose
   * outcome is unknown) from the store and relays them; tries again later if the store fails.
   */
  catchUp(): void {
    if (this.catchingUp || this.destroyed || this.head < 0) return
    this.catchingUp = true
    void (async () => {
      let failed = false
      try {
        for (;;) {
          const rows = await this.deps.readSealed(this.name, this.head, GAP_PAGE_ROWS)
          if (this.destroyed) return
          this.accept(
            rows.map((r) => ({ seq: r.seq, nonce: r.nonce, ciphertext: r.ciphertext, sender: null, authorConn: r.author.conn })),
          )
          if (rows.length < GAP_PAGE_ROWS) break
        }
      } catch (err) {
        failed = true
        this.deps.log('warn', `catch-up of sealed ${this.name} failed`, err)
      } finally {
        this.catchingUp = false
      }
      // Still a gap (rows arrived during the read), or the store failed: once more, a little later.
      if ((failed || this.pending.size > 0) && !this.destroyed && !this.gapRetry) {
        this.gapRetry = setTimeout(
          () => {
            this.gapRetry = null
            this.catchUp()
          },
          failed ? GAP_RETRY_MS : 50,
        )
        this.gapRetry.unref()
      }
    })()
  }

  // ── catch-up of one connection (202) ────────────────────────────────────

  private async replay(conn: Connection, session: Session, afterSeq: number): Promise<void> {
    session.replaying = true
    let last = afterSeq
    let limit = FIRST_PAGE_ROWS
    try {
      while (last < this.head && !conn.closed) {
        const rows = await this.deps.readSealed(this.name, last, limit)
        if (conn.closed) return
        // Its own rows relayed meanwhile go to it as the receipts they are, in their place.
        const receipts = new Map<number, Uint8Array>()
        for (const b of session.buffer) if (b.own) receipts.set(b.seq, b.message)
        let bytes = 0
        let sent = 0
        for (const r of rows) {
          // Not relayed on this instance yet: it follows live, in order.
          if (r.seq > this.head) break
          conn.send(receipts.get(r.seq) ?? encodeSealedRelay(r.seq, r.nonce, r.ciphertext))
          last = r.seq
          bytes += r.ciphertext.byteLength
          sent++
        }
        if (sent === 0) break
        limit = Math.min(MAX_PAGE_ROWS, Math.max(1, Math.floor(PAGE_BYTES / Math.max(1, bytes / sent))))
        await drained(conn)
      }
      if (conn.closed) return
      conn.send(encodeSealedHead(this.head))
      for (const b of session.buffer) if (b.seq > last) conn.send(b.message)
    } catch (err) {
      this.deps.log('warn', `catch-up of ${conn.id} on sealed ${this.name} failed`, err)
      conn.close(CloseCode.storeUnavailable)
      return
    } finally {
      session.buffer = []
      session.replaying = false
    }
    while (!session.replaying && session.inbox.length > 0 && !conn.closed) this.handle(conn, session, session.inbox.shift()!)
  }

  destroy(): void {
    this.destroyed = true
    if (this.unloadTimer) clearTimeout(this.unloadTimer)
    if (this.gapRetry) clearTimeout(this.gapRetry)
  }
}

/** This instance's own write, by its author connection and its nonce (unique per message). */
const ownKey = (connId: string, nonce: Uint8Array): string => {
  let hex = ''
  for (const b of nonce) hex += (b < 16 ? '0' : '') + b.toString(16)
  return `${connId}/${hex}`
}

/** Resolves once the connection's socket holds less than DRAIN_BELOW_BYTES unsent (or it closed). */
async function drained(conn: Connection): Promise<void> {
  while (!conn.closed && conn.ws.bufferedAmount > DRAIN_BELOW_BYTES) await new Promise((r) => setTimeout(r, 10))
}

/**
 * The embedded store: one SQLite file (better-sqlite3, WAL). Statements run
 * synchronously underneath; the async `Store` surface lets the PostgreSQL
 * store share every caller. A batch append is one transaction with prepared
 * statements — the group commit of one event-loop turn. The schema lives in
 * ./sqlite/migrations.ts and is brought up to date at open.
 *
 * Durability without blocking the event loop: `synchronous=FULL` would fsync
 * the WAL inside every commit, on the main thread, stalling every socket for
 * the length of a disk flush. Instead commits run with `synchronous=NORMAL`
 * (no sync inside the commit; SQLite still syncs around its checkpoints) and
 * the store itself fdatasyncs the WAL file on libuv's thread pool after each
 * write — what FULL does, moved off the loop. A write's promise resolves only
 * once that sync is done, and a read's only once every write before it is
 * synced, so nothing the store hands out can be lost to a power cut.
 *
 * WAL checkpoints (copying the WAL back into the database file, two fsyncs)
 * would also run inside a commit on the main thread, stalling it tens of ms
 * every few thousand pages; a worker thread with its own connection runs them
 * instead (see Checkpointer).
 */
import Database from 'better-sqlite3'
import type { Database as Db, Statement } from 'better-sqlite3'
import { closeSync, fdatasync, fsyncSync, mkdirSync, openSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { Worker } from 'node:worker_threads'
import {
  ANCHOR_EVERY,
  checkOf,
  GENESIS_HASH,
  hashBytes,
  hashFromBytes,
  hashHex,
  hashToBytes,
  logRowHash,
  storedMeta,
} from './chain'
import { decodeCheckpointSync, encodeCheckpoint } from './checkpointCodec'
import { historyDocName, historyDocNames } from './historyDocs'
import { KeyedLock } from './keyedLock'
import { checkSqliteSchema, migrateSqlite } from './sqlite/migrations'
import {
  bytesOf,
  negotiationFromColumns,
  scanUpdatesInPages,
  updateFromColumns,
  versionFromColumns,
  type NegotiationColumns,
  type UpdateColumns,
  type VersionColumns,
} from './rowMappers'
import {
  CommitOutcomeUnknownError,
  densityFromRows,
  StoreUnavailableError,
  CHECKPOINTS_KEPT,
  type AppendResult,
  type Author,
  type ChainAnchor,
  type ClientClaim,
  type Checkpoint,
  type CheckpointInfo,
  type HistoryBlock,
  type HistoryBlockKey,
  type HistoryDoc,
  type HistorySnapshot,
  type HistoryState,
  type LogHead,
  type NegotiationRecord,
  type NewSealed,
  type NewUpdate,
  type PutVersionsOptions,
  type Store,
  type VersionDensity,
  type VersionPage,
  type StoredSealed,
  type StoredUpdate,
  type TokenRecord,
  type VersionRecord,
} from './types'
import type { Role } from '../../shared/roles'

interface DocHead {
  id: number
  seq: number
  hash: string
}

/** A sealed doc's row in `sealed_docs`: its id and the last seq given. */
interface SealedHead {
  id: number
  seq: number
}

/** A sealed row as SQLite returns it. */
type SealedRow = { seq: number; at: number; author_id: number; nonce: Buffer; data: Buffer }

/** An update row as SQLite returns it: its author is a row of the authors table. */
type UpdateRow = Omit<UpdateColumns, 'data' | 'prev_hash'> & { data: Buffer; author_id: number }

/** SQLite result codes that mean "cannot write now", not "bad input". */
const UNAVAILABLE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|READONLY|CORRUPT|NOTADB|PROTOCOL)/

/** WAL size above which the worker checkpoints (SQLite's own default: 1000 pages). */
const CHECKPOINT_AT_BYTES = 4 * 1024 * 1024
/** WAL size above which the main thread checkpoints itself, should the worker fall behind. */
const CHECKPOINT_FORCE_BYTES = 256 * 1024 * 1024
const CHECKPOINT_POLL_MS = 500

const CHECKPOINTER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const Database = require(workerData.driver)
const db = new Database(workerData.file)
db.pragma('synchronous = NORMAL')
db.pragma('busy_timeout = 1000')
parentPort.on('message', (m) => {
  if (m === 'close') {
    db.close()
    return parentPort.close()
  }
  try {
    // PASSIVE: copies what it can without waiting for or blocking anyone.
    db.pragma('wal_checkpoint(PASSIVE)')
  } catch (err) {
    parentPort.postMessage(String(err && err.message))
  }
})
`

/**
 * Checkpoints the WAL from a worker thread's own connection, off the event
 * loop; the main connection's automatic checkpoints are turned off. SQLite
 * lets any connection checkpoint, and a PASSIVE checkpoint never blocks the
 * writer; the writer restarts the WAL from its start once all of it is
 * copied back. Should the worker ever fall far behind, the main thread
 * checkpoints itself.
 */
class Checkpointer {
  private readonly worker: Worker
  private readonly timer: NodeJS.Timeout
  private closed = false

  constructor(
    private readonly db: Db,
    file: string,
  ) {
    this.worker = new Worker(CHECKPOINTER_SOURCE, {
      eval: true,
      execArgv: [],
      workerData: { file, driver: createRequire(import.meta.url).resolve('better-sqlite3') },
    })
    this.worker.unref()
    this.worker.on('error', () => this.fallBack())
    this.db.pragma('wal_autocheckpoint = 0')
    const wal = `${file}-wal`
    this.timer = setInterval(() => {
      const size = statSync(wal, { throwIfNoEntry: false })?.size ?? 0
      if (size >= CHECKPOINT_FORCE_BYTES) this.db.pragma('wal_checkpoint(PASSIVE)')
      else if (size >= CHECKPOINT_AT_BYTES) this.worker.postMessage('check')
    }, CHECKPOINT_POLL_MS)
    this.timer.unref()
  }

  /** Without a worker, SQLite checkpoints inside commits again, as it does by default. */
  private fallBack(): void {
    if (this.closed || !this.db.open) return
    clearInterval(this.timer)
    this.db.pragma('wal_autocheckpoint = 1000')
  }

  async close(): Promise<void> {
    this.closed = true
    clearInterval(this.timer)
    // Referenced again while it finishes, or an otherwise idle process would exit mid-close.
    this.worker.ref()
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()))
    this.worker.postMessage('close')
    let timer: NodeJS.Timeout | undefined
    await Promise.race([exited, new Promise<void>((r) => (timer = setTimeout(r, 2000)))])
    clearTimeout(timer)
    await this.worker.terminate()
  }
}

function storeError(err: unknown): unknown {
  const code = (err as { code?: string }).code ?? ''
  return UNAVAILABLE.test(code) ? new StoreUnavailableError(err) : err
}

const RESOLVED = Promise.resolve()

/** A version row waiting for its transaction (see SqliteStore.putVersions). */
interface QueuedVersion {
  rows: Array<Record<string, unknown>>
  resolve: () => void
  reject: (err: unknown) => void
}

/**
 * How long version rows that may wait (PutVersionsOptions.ride) wait for the next group commit of
 * updates to ride along with, before they are written in a transaction of their own.
 */
const VERSION_RIDE_MS = 100

function settleAll(durable: Promise<void>, queued: QueuedVersion[]): void {
  durable.then(
    () => {
      for (const q of queued) q.resolve()
    },
    (err: unknown) => {
      for (const q of queued) q.reject(err)
    },
  )
}

/**
 * fdatasync of the WAL file on the thread pool, coalesced: one sync runs at a
 * time, and every write made while it runs shares the one that follows it.
 */
class WalSync {
  private fd: number | null = null
  private running: Promise<void> | null = null
  private next: Promise<void> | null = null

  constructor(private readonly walPath: string | null) {}

  /** Resolves once every transaction committed before this call is on disk. */
  afterWrite(): Promise<void> {
    if (this.walPath === null) return RESOLVED
    if (this.running === null) return (this.running = this.run())
    // The running sync may have started before this commit; the next one covers it.
    this.next ??= this.running
      .catch(() => {})
      .then(() => {
        this.next = null
        return (this.running ??= this.run())
      })
    return this.next
  }

  /** Resolves once every write made so far is on disk. */
  settled(): Promise<void> {
    return this.next ?? this.running ?? RESOLVED
  }

  private run(): Promise<void> {
    const p: Promise<void> = new Promise<void>((resolve, reject) => {
      let fd: number
      try {
        fd = this.open()
      } catch (err) {
        return reject(new StoreUnavailableError(err))
      }
      fdatasync(fd, (err) => (err ? reject(new StoreUnavailableError(err)) : resolve()))
    }).finally(() => {
      if (this.running === p) this.running = null
    })
    return p
  }

  /** The WAL lives as long as the connection; SQLite syncs a new WAL's directory once, and so does this. */
  private open(): number {
    if (this.fd === null) {
      this.fd = openSync(this.walPath!, 'r')
      const dir = openSync(dirname(this.walPath!), 'r')
      try {
        fsyncSync(dir)
      } finally {
        closeSync(dir)
      }
    }
    return this.fd
  }

  async close(): Promise<void> {
    await this.settled().catch(() => {})
    if (this.fd !== null) closeSync(this.fd)
    this.fd = null
  }
}

export interface SqliteStoreOptions {
  /** ms a statement waits for a lock before failing; kept short because waiting blocks the event loop */
  busyTimeoutMs?: number
  /** ms `withLock` waits for a key before failing with StoreUnavailableError (default 10000) */
  lockWaitMs?: number
  /**
   * Open an existing file to read it (the CLIs): never created, never migrated (a schema other
   * than this build's is an error naming the fix), no WAL checkpoints; a write fails.
   */
  readOnly?: boolean
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const
  readonly db: Db
  private heads = new Map<string, DocHead>()
  /** sealed doc → its head; this process is the file's only writer, so a cached head stays true */
  private sealedHeads = new Map<string, SealedHead>()
  private authorIds = new Map<string, number>()
  /**
   * author row id → the author, for reads. Rows read are committed, and an
   * author row never changes: resolving them here instead of joining spares
   * each row four strings and an object (reading 50 000 rows: ~300 → ~230 ms).
   */
  private authorsById = new Map<number, Author>()
  /** the last gseq given (table log_order); null: read it again (a failed transaction may have advanced it) */
  private lastGseq: number | null = null
  private s: ReturnType<typeof prepareStatements>
  /** one process owns the file, so an in-process mutex is the whole lock */
  private locks = new KeyedLock()
  private readonly lockWaitMs: number
  private readonly sync: WalSync
  private readonly checkpointer: Checkpointer | null
  private pendingVersions: QueuedVersion[] = []
  /** a flush of pendingVersions is scheduled: 'now' (next turn) or a ride timer */
  private versionFlush: { kind: 'now' } | { kind: 'ride'; timer: NodeJS.Timeout } | null = null
  private readonly appendTxn: (rows: NewUpdate[], claims: ClientClaim[], versions: QueuedVersion[]) => AppendResult[]
  private readonly appendSealedTxn: (rows: NewSealed[]) => Array<{ doc: string; seq: number }>
  private readonly versionTxn: (versions: QueuedVersion[]) => void
  private readonly checkpointTxn: (docId: number, cp: Checkpoint, codec: number, bytes: Uint8Array) => void
  private readonly historyTxn: (
    docIds: Map<HistoryDoc, number>,
    negotiationId: string,
    writes: { blocks: HistoryBlock[]; snapshots: HistorySnapshot[] },
    state: HistoryState,
  ) => void
  private readonly dropHistoryTxn: (negotiationId: string) => void
  private readonly deleteNegotiationTxn: (id: string, at: number) => boolean

  constructor(file: string, opts: SqliteStoreOptions = {}) {
    this.lockWaitMs = opts.lockWaitMs ?? 10_000
    const readOnly = opts.readOnly === true
    if (file !== ':memory:' && !readOnly) mkdirSync(dirname(file), { recursive: true })
    this.db = new Database(file, readOnly ? { readonly: true, fileMustExist: true } : {})
    // The file is in WAL mode since the server first opened it; a reader cannot (and need not) set it.
    if (!readOnly) this.db.pragma('journal_mode = WAL')
    // NORMAL: no fsync inside a commit; WalSync syncs the WAL after it, off the event loop (see top).
    this.db.pragma('synchronous = NORMAL')
    this.sync = new WalSync(file === ':memory:' || readOnly ? null : `${file}-wal`)
    this.db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 250}`)
    if (readOnly) {
      try {
        checkSqliteSchema(this.db)
      } catch (err) {
        this.db.close()
        throw err
      }
    } else migrateSqlite(this.db)
    this.checkpointer = file === ':memory:' || readOnly ? null : new Checkpointer(this.db, file)
    this.s = prepareStatements(this.db)
    this.appendTxn = this.db.transaction((rows: NewUpdate[], claims: ClientClaim[], versions: QueuedVersion[]) =>
      this.appendRows(rows, claims, versions),
    )
    this.appendSealedTxn = this.db.transaction((rows: NewSealed[]) => this.appendSealedRows(rows))
    this.versionTxn = this.db.transaction((versions: QueuedVersion[]) => {
      for (const v of versions) for (const row of v.rows) this.s.putVersion.run(row)
    })
    this.checkpointTxn = this.db.transaction((docId: number, cp: Checkpoint, codec: number, bytes: Uint8Array) => {
      this.s.insertCheckpoint.run(docId, cp.seq, cp.at, codec, cp.state.byteLength, bytes)
      this.s.thinCheckpoints.run({ doc: docId, kept: CHECKPOINTS_KEPT })
    })
    this.historyTxn = this.db.transaction(
      (
        docIds: Map<HistoryDoc, number>,
        negotiationId: string,
        writes: { blocks: HistoryBlock[]; snapshots: HistorySnapshot[] },
        state: HistoryState,
      ) => {
        // INSERT OR REPLACE: the open level-1 block is written again as it fills
        for (const b of writes.blocks) this.s.putHistoryBlock.run(docIds.get(b.doc), b.level, b.start, b.end, b.data)
        for (const sn of writes.snapshots) this.s.putHistorySnapshot.run(docIds.get(sn.doc), sn.seq, sn.data)
        this.s.putHistoryState.run(negotiationId, state.format, state.state)
      },
    )
    this.dropHistoryTxn = this.db.transaction((negotiationId: string) => {
      const [board, ledger] = historyDocNames(negotiationId)
      this.s.dropHistoryBlocks.run(board, ledger)
      this.s.dropHistorySnapshots.run(board, ledger)
      this.s.dropHistoryState.run(negotiationId)
    })
    this.deleteNegotiationTxn = this.db.transaction((id: string, at: number) => {
      this.dropHistoryTxn(id)
      return this.s.deleteNegotiation.run(at, id).changes > 0
    })
  }

  /** Runs a write; resolves once it is on disk. */
  private write<T>(fn: () => T): Promise<T> {
    let result: T
    try {
      result = fn()
    } catch (err) {
      return Promise.reject(storeError(err))
    }
    return this.sync.afterWrite().then(() => result)
  }

  /** Runs a read; resolves once every write it may have seen is on disk. */
  private read<T>(fn: () => T): Promise<T> {
    let result: T
    try {
      result = fn()
    } catch (err) {
      return Promise.reject(storeError(err))
    }
    const pending = this.sync.settled()
    return pending === RESOLVED ? Promise.resolve(result) : pending.then(() => result)
  }

  private head(doc: string, create: boolean): DocHead | undefined {
    let head = this.heads.get(doc)
    if (head) return head
    head = this.s.docByName.get(doc) as DocHead | undefined
    if (!head && create) {
      const id = Number(this.s.insertDoc.run(doc, GENESIS_HASH).lastInsertRowid)
      head = { id, seq: 0, hash: GENESIS_HASH }
    }
    if (head) this.heads.set(doc, head)
    return head
  }

  private authorId(author: Author): number {
    const { user, party, role, conn } = author
    const key = `${conn}\u0000${user}\u0000${party ?? ''}\u0000${role}`
    let id = this.authorIds.get(key)
    if (id === undefined) {
      const row = this.s.authorId.get(conn, user, party, role) as { id: number } | undefined
      id = row ? row.id : Number(this.s.insertAuthor.run(user, party, role, conn).lastInsertRowid)
      this.authorIds.set(key, id)
    }
    return id
  }

  appendUpdates(batch: NewUpdate[], claims: ClientClaim[] = []): Promise<AppendResult[]> {
    if (batch.length === 0 && claims.length === 0) return Promise.resolve([])
    // Version rows queued meanwhile ride along in the same transaction (one WAL sync for both).
    const versions = this.takeVersions()
    let results: AppendResult[]
    try {
      results = this.appendTxn(batch, claims, versions)
    } catch (err) {
      // The in-memory heads, author ids and gseq advanced inside the transaction: re-read the truth next time.
      this.heads.clear()
      this.authorIds.clear()
      this.lastGseq = null
      const e = storeError(err)
      for (const v of versions) v.reject(e)
      return Promise.reject(e)
    }
    const durable = this.sync.afterWrite()
    if (versions.length > 0) settleAll(durable, versions)
    // Committed, but the WAL sync failed: the rows are in the file and may or may not survive a
    // crash. Writers must not be asked to resend them (settleAppend finds them once a sync works).
    return durable.then(
      () => results,
      (err: unknown) => {
        throw results.length > 0 ? new CommitOutcomeUnknownError(err, results) : err
      },
    )
  }

  private appendRows(rows: NewUpdate[], claims: ClientClaim[], versions: QueuedVersion[]): AppendResult[] {
    for (const v of versions) for (const row of v.rows) this.s.putVersion.run(row)
    for (const c of claims) this.s.claim.run(this.head(c.doc, true)!.id, c.clientId, c.owner)
    const results: AppendResult[] = []
    const touched = new Map<string, DocHead>()
    // One writer (this process) and one transaction at a time: a counter is the whole of gseq here.
    let gseq = (this.lastGseq ??= this.s.lastGseq.get() as number)
    for (const row of rows) {
      const head = this.head(row.doc, true)!
      const seq = head.seq + 1
      const meta = storedMeta(row.meta)
      const hash = logRowHash(head.hash, row, seq, meta)
      this.s.insertUpdate.run(head.id, seq, ++gseq, row.at, this.authorId(row.author), checkOf(hash), meta, row.update)
      if (seq % ANCHOR_EVERY === 0) this.s.insertAnchor.run(head.id, seq, hashBytes(hash))
      head.seq = seq
      head.hash = hash
      touched.set(row.doc, head)
      results.push({ doc: row.doc, seq, hash, gseq })
    }
    for (const head of touched.values()) this.s.setHead.run(head.seq, head.hash, head.id)
    if (rows.length > 0) {
      this.s.setLastGseq.run(gseq)
      this.lastGseq = gseq
    }
    return results
  }

  readUpdates(doc: string, afterSeq: number, uptoSeq = Number.MAX_SAFE_INTEGER): Promise<StoredUpdate[]> {
    return this.read(() => {
      const head = this.head(doc, false)
      if (!head) return []
      return (this.s.readRange.all(head.id, afterSeq, uptoSeq) as UpdateRow[]).map((r) =>
        toStoredUpdate(doc, r, this.authorOf(r.author_id)),
      )
    })
  }

  headSeq(doc: string): Promise<number> {
    return this.read(() => this.head(doc, false)?.seq ?? 0)
  }

  // ── sealed caucus logs ─────────────────────────────────────────────

  appendSealed(rows: NewSealed[]): Promise<Array<{ doc: string; seq: number }>> {
    if (rows.length === 0) return Promise.resolve([])
    return this.write(() => {
      try {
        return this.appendSealedTxn(rows)
      } catch (err) {
        // The cached heads and author ids moved inside the transaction that rolled back.
        this.sealedHeads.clear()
        this.authorIds.clear()
        throw err
      }
    })
  }

  private sealedHeadRow(doc: string, create: boolean): SealedHead | undefined {
    let head = this.sealedHeads.get(doc)
    if (head) return head
    head = this.s.sealedDocByName.get(doc) as SealedHead | undefined
    if (!head && create) head = { id: Number(this.s.insertSealedDoc.run(doc).lastInsertRowid), seq: 0 }
    if (head) this.sealedHeads.set(doc, head)
    return head
  }

  private appendSealedRows(rows: NewSealed[]): Array<{ doc: string; seq: number }> {
    const touched = new Set<SealedHead>()
    const results = rows.map((row) => {
      const head = this.sealedHeadRow(row.doc, true)!
      const seq = ++head.seq
      this.s.insertSealed.run(head.id, seq, row.at, this.authorId(row.author), row.nonce, row.ciphertext)
      touched.add(head)
      return { doc: row.doc, seq }
    })
    for (const head of touched) this.s.setSealedHead.run(head.seq, head.id)
    return results
  }

  readSealed(doc: string, afterSeq: number, limit: number): Promise<StoredSealed[]> {
    return this.read(() => {
      const head = this.sealedHeadRow(doc, false)
      if (!head) return []
      return (this.s.readSealed.all(head.id, afterSeq, Math.max(0, limit)) as SealedRow[]).map((r) => ({
        doc,
        seq: r.seq,
        at: r.at,
        author: this.authorOf(r.author_id),
        nonce: bytesOf(r.nonce),
        ciphertext: bytesOf(r.data),
      }))
    })
  }

  sealedHead(doc: string): Promise<number> {
    return this.read(() => this.sealedHeadRow(doc, false)?.seq ?? 0)
  }

  /** Frozen: rows share it. */
  private authorOf(id: number): Author {
    let author = this.authorsById.get(id)
    if (!author) {
      const r = this.s.authorById.get(id) as { user: string; party: string | null; role: string; conn: string } | undefined
      // a row whose author row is gone (behind the server's back): read, and verify reports it
      author = Object.freeze({
        user: r?.user ?? '',
        party: r?.party ?? null,
        role: (r?.role ?? '') as Role | 'server',
        conn: r?.conn ?? '',
      })
      if (r) this.authorsById.set(id, author)
    }
    return author
  }

  /**
   * Here an append's outcome is unknown only when its transaction committed and the WAL sync
   * after it failed: the rows are in the file. They count as stored once a sync succeeds (it
   * covers everything written before it); until then this throws, like the sync.
   */
  async settleAppend(planned: AppendResult[]): Promise<boolean> {
    const first = planned[0]
    if (!first) return false
    await this.sync.afterWrite()
    const [row] = await this.readUpdates(first.doc, first.seq - 1, first.seq)
    // gseq is this store's own counter, never given twice; the check covers the row's content and place
    return !!row && row.gseq === first.gseq && row.check === checkOf(first.hash)
  }

  scanUpdates(doc: string, visit: (rows: StoredUpdate[], total: number) => void | Promise<void>, pageSize = 5000): Promise<void> {
    return scanUpdatesInPages(this, doc, visit, pageSize)
  }

  chainHead(doc: string): Promise<LogHead> {
    return this.read(() => {
      const head = this.head(doc, false)
      return head ? { seq: head.seq, hash: head.hash } : { seq: 0, hash: GENESIS_HASH }
    })
  }

  chainAnchors(doc: string): Promise<ChainAnchor[]> {
    return this.read(() => {
      const head = this.head(doc, false)
      if (!head) return []
      return (this.s.anchors.all(head.id) as Array<{ seq: number; hash: Buffer }>).map((r) => ({
        seq: r.seq,
        hash: hashHex(r.hash),
      }))
    })
  }

  /** Compressed on the thread pool first; then one transaction writes it and drops what is older than the kept ones. */
  async saveCheckpoint(cp: Checkpoint): Promise<void> {
    const { codec, bytes } = await encodeCheckpoint(cp.state)
    return this.write(() => {
      const head = this.head(cp.doc, true)!
      this.checkpointTxn(head.id, cp, codec, bytes)
    })
  }

  async latestCheckpoint(doc: string, atOrBefore = Number.MAX_SAFE_INTEGER): Promise<Checkpoint | null> {
    const row = await this.read(() => {
      const head = this.head(doc, false)
      if (!head) return undefined
      return this.s.latestCheckpoint.get(head.id, atOrBefore) as
        { seq: number; at: number; codec: number; state: Buffer } | undefined
    })
    if (!row) return null
    return { doc, seq: row.seq, at: row.at, state: decodeCheckpointSync(row.codec, new Uint8Array(row.state)) }
  }

  listCheckpoints(doc: string): Promise<CheckpointInfo[]> {
    return this.read(() => {
      const head = this.head(doc, false)
      if (!head) return []
      return this.s.listCheckpoints.all(head.id) as CheckpointInfo[]
    })
  }

  clientOwners(doc: string): Promise<Map<number, string>> {
    return this.read(() => {
      const head = this.head(doc, false)
      const owners = new Map<number, string>()
      if (!head) return owners
      for (const r of this.s.owners.all(head.id) as Array<{ client_id: number; owner: string }>) owners.set(r.client_id, r.owner)
      return owners
    })
  }

  createNegotiation(n: NegotiationRecord): Promise<void> {
    return this.write(() => void this.s.insertNegotiation.run(n.id, n.title, JSON.stringify(n.parties), n.createdAt))
  }

  getNegotiation(id: string): Promise<NegotiationRecord | null> {
    return this.read(() => {
      const row = this.s.getNegotiation.get(id) as NegotiationRow | undefined
      return row ? toNegotiation(row) : null
    })
  }

  /** The negotiation's rows stay (soft delete); its materialised history, derived from them, goes in the same transaction. */
  deleteNegotiation(id: string): Promise<boolean> {
    return this.write(() => this.deleteNegotiationTxn(id, Date.now()))
  }

  listNegotiations(): Promise<NegotiationRecord[]> {
    return this.read(() => (this.s.listNegotiations.all() as NegotiationRow[]).map(toNegotiation))
  }

  recordToken(t: TokenRecord): Promise<void> {
    return this.write(() => void this.s.insertToken.run(t.jti, t.negotiationId, t.role, t.party, t.createdAt, t.expiresAt))
  }

  revokeToken(jti: string, at: number): Promise<boolean> {
    return this.write(() => this.s.revoke.run(at, jti).changes > 0)
  }

  revokedSince(since: number): Promise<Array<{ jti: string; revokedAt: number }>> {
    return this.read(() =>
      (this.s.revokedSince.all(since) as Array<{ jti: string; revoked_at: number }>).map((r) => ({
        jti: r.jti,
        revokedAt: r.revoked_at,
      })),
    )
  }

  isRevoked(jti: string): Promise<boolean> {
    return this.read(() => this.s.isRevoked.get(jti) !== undefined)
  }

  /**
   * Queued and written with the other version rows of this turn in one
   * transaction — or, with `ride`, inside the next group commit of updates
   * (at most VERSION_RIDE_MS later): the version index puts a row for every
   * new version, and two delegations typing at once make a version per
   * keystroke, which would otherwise cost a second transaction and WAL sync
   * per keystroke. Resolves once the rows are durable.
   */
  putVersions(versions: VersionRecord[], opts: PutVersionsOptions = {}): Promise<void> {
    if (versions.length === 0) return Promise.resolve()
    const rows = versions.map((v) => ({
      ...v,
      termIds: JSON.stringify(v.termIds),
      name: v.name ?? null,
      // 32 bytes each rather than 64 hex characters: two thirds of a row are its hashes otherwise
      hash: hashToBytes(v.hash),
      prevHash: hashToBytes(v.prevHash),
      layoutOnly: v.layoutOnly === true ? 1 : 0,
    }))
    return new Promise<void>((resolve, reject) => {
      this.pendingVersions.push({ rows, resolve, reject })
      this.scheduleVersionFlush(opts.ride === true)
    })
  }

  /** Version rows waiting to ride along with the next append are written at once (someone reads them). */
  flushPendingVersions(): void {
    if (this.versionFlush?.kind === 'ride') this.scheduleVersionFlush(false)
  }

  private scheduleVersionFlush(ride: boolean): void {
    const current = this.versionFlush
    if (current?.kind === 'now' || (current && ride)) return
    if (current?.kind === 'ride') clearTimeout(current.timer)
    if (ride) {
      // Not unref'd: rows waiting for it are writes someone awaits. A closing server awaits the
      // version index's last rows; with nothing else left to run, an unref'd timer let the process
      // exit in the middle of its shutdown, before the rooms' final checkpoints were written.
      const timer = setTimeout(() => this.flushVersions(), VERSION_RIDE_MS)
      this.versionFlush = { kind: 'ride', timer }
    } else {
      this.versionFlush = { kind: 'now' }
      setImmediate(() => {
        if (this.versionFlush?.kind === 'now') this.flushVersions()
      })
    }
  }

  /** Takes every queued version row (for a transaction about to run) and cancels the scheduled flush. */
  private takeVersions(): QueuedVersion[] {
    if (this.versionFlush?.kind === 'ride') clearTimeout(this.versionFlush.timer)
    this.versionFlush = null
    return this.pendingVersions.splice(0)
  }

  /** Writes the queued version rows now (a read of versions must see them). */
  private flushVersions(): void {
    const versions = this.takeVersions()
    if (versions.length === 0) return
    try {
      this.versionTxn(versions)
    } catch (err) {
      const e = storeError(err)
      for (const v of versions) v.reject(e)
      return
    }
    settleAll(this.sync.afterWrite(), versions)
  }

  listVersions(negotiationId: string, page: VersionPage = {}): Promise<VersionRecord[]> {
    this.flushVersions()
    const limit = page.limit ?? -1 // SQLite: a negative LIMIT is no limit
    return this.read(() => (this.s.listVersions.all(negotiationId, page.after ?? 0, limit) as VersionRow[]).map(toVersion))
  }

  lastVersion(negotiationId: string): Promise<VersionRecord | null> {
    this.flushVersions()
    return this.read(() => {
      const row = this.s.lastVersion.get(negotiationId) as VersionRow | undefined
      return row ? toVersion(row) : null
    })
  }

  versionDensity(negotiationId: string, buckets: number): Promise<VersionDensity> {
    this.flushVersions()
    return this.read(() => {
      const total = (this.s.versionCount.get(negotiationId) as { total: number }).total
      if (total === 0) return { total, buckets: [] }
      const rows = this.s.versionDensity.all({ id: negotiationId, total, buckets: Math.max(1, buckets) }) as Parameters<
        typeof densityFromRows
      >[1]
      return densityFromRows(total, rows)
    })
  }

  getVersion(negotiationId: string, n: number): Promise<VersionRecord | null> {
    this.flushVersions()
    return this.read(() => {
      const row = this.s.getVersion.get(negotiationId, n) as VersionRow | undefined
      return row ? toVersion(row) : null
    })
  }

  // ── materialised history ─────────────────────────────────────────────

  /** One primary-key lookup per key (the materialiser asks for at most a few dozen), all in one synchronous read. */
  historyBlocks(negotiationId: string, doc: HistoryDoc, keys: HistoryBlockKey[]): Promise<HistoryBlock[]> {
    return this.read(() => {
      const head = this.head(historyDocName(negotiationId, doc), false)
      if (!head) return []
      const found: HistoryBlock[] = []
      for (const k of keys) {
        const r = this.s.historyBlock.get(head.id, k.level, k.start) as { end_seq: number; data: Buffer } | undefined
        if (r) found.push({ doc, level: k.level, start: k.start, end: r.end_seq, data: bytesOf(r.data) })
      }
      return found
    })
  }

  historySnapshot(negotiationId: string, doc: HistoryDoc, atOrBefore: number): Promise<HistorySnapshot | null> {
    return this.read(() => {
      const head = this.head(historyDocName(negotiationId, doc), false)
      if (!head) return null
      const r = this.s.historySnapshot.get(head.id, atOrBefore) as { seq: number; data: Buffer } | undefined
      return r ? { doc, seq: r.seq, data: bytesOf(r.data) } : null
    })
  }

  markSeen(negotiationId: string, viewer: string, n: number, at: number): Promise<void> {
    return this.write(() => void this.s.markSeen.run(negotiationId, viewer, n, at))
  }

  lastSeen(negotiationId: string, viewer: string): Promise<{ n: number; at: number } | null> {
    return this.read(() => (this.s.lastSeen.get(negotiationId, viewer) as { n: number; at: number } | undefined) ?? null)
  }

  historyState(negotiationId: string): Promise<HistoryState | null> {
    return this.read(() => (this.s.historyState.get(negotiationId) as HistoryState | undefined) ?? null)
  }

  /**
   * The docs are named (and refused when they are neither board nor ledger) before anything is
   * written; a doc without a row yet gets one, as saveCheckpoint's does. Then one transaction.
   */
  putHistory(
    negotiationId: string,
    writes: { blocks: HistoryBlock[]; snapshots: HistorySnapshot[] },
    state: HistoryState,
  ): Promise<void> {
    return this.write(() => {
      const docIds = new Map<HistoryDoc, number>()
      for (const { doc } of [...writes.blocks, ...writes.snapshots]) {
        if (!docIds.has(doc)) docIds.set(doc, this.head(historyDocName(negotiationId, doc), true)!.id)
      }
      this.historyTxn(docIds, negotiationId, writes, state)
    })
  }

  dropHistory(negotiationId: string): Promise<void> {
    return this.write(() => this.dropHistoryTxn(negotiationId))
  }

  async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const release = await this.locks.acquire(key, this.lockWaitMs)
    try {
      return await fn()
    } finally {
      release()
    }
  }

  ping(): Promise<void> {
    return this.read(() => void this.s.ping.get())
  }

  async close(): Promise<void> {
    this.flushVersions()
    await this.checkpointer?.close()
    await this.sync.close()
    if (this.db.open) this.db.close()
  }
}

function prepareStatements(db: Db) {
  const p = (sql: string): Statement => db.prepare(sql)
  return {
    docByName: p('SELECT id, head_seq AS seq, head_hash AS hash FROM docs WHERE name = ?'),
    insertDoc: p('INSERT INTO docs (name, head_seq, head_hash) VALUES (?, 0, ?)'),
    setHead: p('UPDATE docs SET head_seq = ?, head_hash = ? WHERE id = ?'),
    authorId: p('SELECT id FROM authors WHERE conn = ? AND user = ? AND party IS ? AND role = ?'),
    insertAuthor: p('INSERT INTO authors (user, party, role, conn) VALUES (?, ?, ?, ?)'),
    insertUpdate: p('INSERT INTO updates (doc_id, seq, gseq, at, author_id, chk, meta, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    insertAnchor: p('INSERT OR REPLACE INTO chain_anchors (doc_id, seq, hash) VALUES (?, ?, ?)'),
    anchors: p('SELECT seq, hash FROM chain_anchors WHERE doc_id = ? ORDER BY seq'),
    lastGseq: p('SELECT last_gseq FROM log_order').pluck(),
    setLastGseq: p('UPDATE log_order SET last_gseq = ?'),
    readRange: p(
      'SELECT seq, gseq, at, data, meta, chk, author_id FROM updates WHERE doc_id = ? AND seq > ? AND seq <= ? ORDER BY seq',
    ),
    authorById: p('SELECT user, party, role, conn FROM authors WHERE id = ?'),
    sealedDocByName: p('SELECT id, head_seq AS seq FROM sealed_docs WHERE name = ?'),
    insertSealedDoc: p('INSERT INTO sealed_docs (name, head_seq) VALUES (?, 0)'),
    setSealedHead: p('UPDATE sealed_docs SET head_seq = ? WHERE id = ?'),
    insertSealed: p('INSERT INTO sealed_rows (doc_id, seq, at, author_id, nonce, data) VALUES (?, ?, ?, ?, ?, ?)'),
    readSealed: p('SELECT seq, at, author_id, nonce, data FROM sealed_rows WHERE doc_id = ? AND seq > ? ORDER BY seq LIMIT ?'),
    insertCheckpoint: p('INSERT OR REPLACE INTO doc_checkpoints (doc_id, seq, at, codec, size, state) VALUES (?, ?, ?, ?, ?, ?)'),
    // everything below the kept-th newest (none while there are fewer)
    thinCheckpoints: p(
      `DELETE FROM doc_checkpoints WHERE doc_id = @doc AND seq <
         (SELECT seq FROM doc_checkpoints WHERE doc_id = @doc ORDER BY seq DESC LIMIT 1 OFFSET @kept - 1)`,
    ),
    latestCheckpoint: p(
      'SELECT seq, at, codec, state FROM doc_checkpoints WHERE doc_id = ? AND seq <= ? ORDER BY seq DESC LIMIT 1',
    ),
    listCheckpoints: p(
      'SELECT seq, at, length(state) AS storedBytes, size AS stateBytes FROM doc_checkpoints WHERE doc_id = ? ORDER BY seq',
    ),
    owners: p('SELECT client_id, owner FROM client_owners WHERE doc_id = ?'),
    claim: p('INSERT OR IGNORE INTO client_owners (doc_id, client_id, owner) VALUES (?, ?, ?)'),
    insertNegotiation: p('INSERT INTO negotiations (id, title, parties, created_at) VALUES (?, ?, ?, ?)'),
    getNegotiation: p('SELECT id, title, parties, created_at FROM negotiations WHERE id = ? AND deleted_at IS NULL'),
    deleteNegotiation: p('UPDATE negotiations SET deleted_at = ? WHERE id = ? AND deleted_at IS NULL'),
    listNegotiations: p('SELECT id, title, parties, created_at FROM negotiations WHERE deleted_at IS NULL ORDER BY created_at'),
    insertToken: p('INSERT INTO tokens (jti, negotiation_id, role, party, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)'),
    revoke: p('UPDATE tokens SET revoked_at = ? WHERE jti = ? AND revoked_at IS NULL'),
    revokedSince: p('SELECT jti, revoked_at FROM tokens WHERE revoked_at IS NOT NULL AND revoked_at >= ?'),
    isRevoked: p('SELECT 1 FROM tokens WHERE jti = ? AND revoked_at IS NOT NULL'),
    putVersion: p(
      `INSERT OR REPLACE INTO versions
         (negotiation_id, n, at, last_at, party, user, kind, term_ids, summary, name, board_seq, ledger_seq, hash, prev_hash, layout_only)
         VALUES (@negotiationId, @n, @at, @lastAt, @party, @user, @kind, @termIds, @summary, @name, @boardSeq, @ledgerSeq, @hash, @prevHash, @layoutOnly)`,
    ),
    listVersions: p('SELECT * FROM versions WHERE negotiation_id = ? AND n > ? ORDER BY n LIMIT ?'),
    lastVersion: p('SELECT * FROM versions WHERE negotiation_id = ? ORDER BY n DESC LIMIT 1'),
    versionCount: p('SELECT count(*) AS total FROM versions WHERE negotiation_id = ?'),
    // n counts from 1 without gaps, so (n - 1) * buckets / total spreads them evenly
    versionDensity: p(
      `SELECT CAST(((n - 1) * @buckets) / @total AS INTEGER) AS b, party, kind, count(*) AS count,
              min(n) AS min_n, max(n) AS max_n, min(at) AS min_at, max(at) AS max_at
         FROM versions WHERE negotiation_id = @id GROUP BY b, party, kind`,
    ),
    getVersion: p('SELECT * FROM versions WHERE negotiation_id = ? AND n = ?'),
    historyBlock: p('SELECT end_seq, data FROM history_blocks WHERE doc_id = ? AND level = ? AND start_seq = ?'),
    historySnapshot: p('SELECT seq, data FROM history_snapshots WHERE doc_id = ? AND seq <= ? ORDER BY seq DESC LIMIT 1'),
    historyState: p('SELECT format, state FROM history_state WHERE negotiation_id = ?'),
    // A tab that saw less (an old one, left open) never moves anyone's catch-up back.
    markSeen: p(
      `INSERT INTO seen (negotiation_id, viewer, n, at) VALUES (?, ?, ?, ?)
       ON CONFLICT (negotiation_id, viewer) DO UPDATE SET n = excluded.n, at = excluded.at WHERE excluded.n >= seen.n`,
    ),
    lastSeen: p('SELECT n, at FROM seen WHERE negotiation_id = ? AND viewer = ?'),
    putHistoryBlock: p('INSERT OR REPLACE INTO history_blocks (doc_id, level, start_seq, end_seq, data) VALUES (?, ?, ?, ?, ?)'),
    putHistorySnapshot: p('INSERT OR REPLACE INTO history_snapshots (doc_id, seq, data) VALUES (?, ?, ?)'),
    putHistoryState: p('INSERT OR REPLACE INTO history_state (negotiation_id, format, state) VALUES (?, ?, ?)'),
    // by the docs' names (board, ledger): one statement whichever of them has a row
    dropHistoryBlocks: p('DELETE FROM history_blocks WHERE doc_id IN (SELECT id FROM docs WHERE name IN (?, ?))'),
    dropHistorySnapshots: p('DELETE FROM history_snapshots WHERE doc_id IN (SELECT id FROM docs WHERE name IN (?, ?))'),
    dropHistoryState: p('DELETE FROM history_state WHERE negotiation_id = ?'),
    ping: p('SELECT 1'),
  }
}

/** SQLite's types → the shared shapes: BLOBs as bytes, JSON as text, booleans as 0/1. */
const toStoredUpdate = (doc: string, r: UpdateRow, author: Author): StoredUpdate =>
  updateFromColumns(doc, { ...r, data: bytesOf(r.data) }, author)

type NegotiationRow = Omit<NegotiationColumns, 'parties'> & { parties: string }

const toNegotiation = (r: NegotiationRow): NegotiationRecord => negotiationFromColumns({ ...r, parties: JSON.parse(r.parties) })

/** A version row as SQLite returns it: term ids as JSON text, hashes as 32-byte BLOBs, a 0/1 flag. */
type VersionRow = Omit<VersionColumns, 'term_ids' | 'hash' | 'prev_hash' | 'layout_only'> & {
  term_ids: string
  hash: Buffer
  prev_hash: Buffer
  layout_only: number
}

const toVersion = (r: VersionRow): VersionRecord =>
  versionFromColumns({
    ...r,
    term_ids: JSON.parse(r.term_ids),
    hash: hashFromBytes(r.hash),
    prev_hash: hashFromBytes(r.prev_hash),
    layout_only: r.layout_only !== 0,
  })

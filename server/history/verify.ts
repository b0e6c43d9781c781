/**
 * Tamper evidence (`npm run verify -- <id>`): recomputes, from the store, the
 * hash chain of every doc of a negotiation (board, ledger, each caucus) and
 * the chain of its versions, and reports the first place where they break.
 *
 * A row's hash is SHA-256(prevHash ‖ the row) and each row stores its
 * predecessor's hash (server/store/chain.ts), so editing any stored byte of
 * row s makes row s+1's link disagree; the doc's recorded head hash covers
 * the last row. Checkpoints are not chained (they are derived), but history
 * reads trust them, so each is compared with the log replayed up to its seq.
 * With `against` (the heads of an earlier export), the chains must also pass
 * through those heads: history up to the export was not rewritten since.
 * A row's gseq (the store's order across docs) is outside the hash (see
 * chain.ts); within a doc it must still grow with seq.
 */
import * as Y from 'yjs'
import { BOARD_ROOTS, LEDGER_ROOTS } from '../../shared/docLayout'
import { boardDocName, caucusDocName, ledgerDocName } from '../../shared/docNames'
import { GENESIS_HASH, logRowHash, versionRowHash } from '../store/chain'
import { SqliteStore } from '../store/sqlite'
import type { Store, StoredUpdate } from '../store/types'
import type { ChainHead, ExportHeads } from './export'

export interface ChainBreak {
  /** a doc name, or `versions` */
  chain: string
  /** the row (or version number) found altered or missing */
  seq: number
  problem: string
  expected?: string
  found?: string
}

export interface ChainReport {
  chain: string
  rows: number
  head: ChainHead
  checkpoints: number
  /** the last row was checked against the head the store recorded (false: the store records none) */
  headChecked: boolean
}

export interface VerifyReport {
  negotiationId: string
  ok: boolean
  chains: ChainReport[]
  break: ChainBreak | null
}

export interface VerifyOptions {
  /** compare every checkpoint with the replayed log (default true) */
  checkpoints?: boolean
  against?: ExportHeads
  onProgress?: (chain: string, done: number, total: number) => void
}

class Broken extends Error {
  constructor(readonly detail: ChainBreak) {
    super(detail.problem)
  }
}

const PAGE = 2000

export async function verifyNegotiation(store: Store, negotiationId: string, opts: VerifyOptions = {}): Promise<VerifyReport> {
  const record = await store.getNegotiation(negotiationId)
  if (!record) throw new Error(`no negotiation "${negotiationId}" in this store`)
  const docs: Array<{ name: string; roots: Roots; against?: ChainHead }> = [
    { name: boardDocName(negotiationId), roots: BOARD_SHAPE, against: opts.against?.board },
    { name: ledgerDocName(negotiationId), roots: LEDGER_SHAPE, against: opts.against?.ledger },
    ...record.parties.map((p) => ({ name: caucusDocName(negotiationId, p.id), roots: BOARD_SHAPE })),
  ]
  const chains: ChainReport[] = []
  try {
    for (const d of docs) chains.push(await verifyDoc(store, d.name, d.roots, opts, d.against))
    chains.push(await verifyVersions(store, negotiationId, chains, opts))
    return { negotiationId, ok: true, chains, break: null }
  } catch (err) {
    if (err instanceof Broken) return { negotiationId, ok: false, chains, break: err.detail }
    throw err
  }
}

function rowHash(prevHash: string, doc: string, r: StoredUpdate): string {
  return logRowHash(prevHash, { ...r, doc }, r.seq)
}

/**
 * The head hash the store recorded for a doc, which covers the last row. SQLite
 * keeps it in `docs`; another store can offer it as an optional `head(doc)`.
 * Null where the store cannot tell (the last row is then checked only
 * against an export's heads).
 */
async function recordedHead(store: Store, doc: string): Promise<ChainHead | null> {
  if (store instanceof SqliteStore) {
    const row = store.db.prepare('SELECT head_seq AS seq, head_hash AS hash FROM docs WHERE name = ?').get(doc) as
      ChainHead | undefined
    return row ?? { seq: 0, hash: GENESIS_HASH }
  }
  const withHead = store as Store & { head?: (doc: string) => Promise<ChainHead | null> }
  return typeof withHead.head === 'function' ? ((await withHead.head(doc)) ?? { seq: 0, hash: GENESIS_HASH }) : null
}

async function readPage(store: Store, doc: string, after: number, upto: number): Promise<StoredUpdate[]> {
  try {
    return await store.readUpdates(doc, after, upto)
  } catch (err) {
    // Find the row that cannot even be read (e.g. its meta is no longer JSON).
    for (let seq = after + 1; seq <= upto; seq++) {
      try {
        await store.readUpdates(doc, seq - 1, seq)
      } catch (rowErr) {
        throw new Broken({ chain: doc, seq, problem: `row ${seq} cannot be read: ${(rowErr as Error).message}` })
      }
    }
    throw err
  }
}

async function verifyDoc(
  store: Store,
  doc: string,
  roots: Roots,
  opts: VerifyOptions,
  against?: ChainHead,
): Promise<ChainReport> {
  const total = await store.headSeq(doc)
  const recorded = await recordedHead(store, doc)
  const checkpointSeqs = opts.checkpoints === false ? [] : await checkpointsOf(store, doc)
  const replay = checkpointSeqs.length > 0 ? new Y.Doc() : null
  let pending: Uint8Array[] = []
  let running = GENESIS_HASH
  let expected = 1
  let prevRow: StoredUpdate | null = null
  let gseq = 0
  try {
    for (let after = 0; after < total; after += PAGE) {
      const rows = await readPage(store, doc, after, Math.min(after + PAGE, total))
      for (const row of rows) {
        if (row.seq !== expected) {
          throw new Broken({
            chain: doc,
            seq: expected,
            problem: `row ${expected} is missing (the next stored row is ${row.seq})`,
          })
        }
        if (row.prevHash !== running) throw new Broken(linkBreak(doc, prevRow, row, running))
        if (row.gseq <= gseq) {
          throw new Broken({
            chain: doc,
            seq: row.seq,
            problem: `row ${row.seq} is numbered ${row.gseq} in the store's order, not after row ${row.seq - 1} (${gseq})`,
          })
        }
        gseq = row.gseq
        prevRow = row
        running = rowHash(running, doc, row)
        if (against && against.seq === row.seq && against.hash !== running) {
          throw new Broken({
            chain: doc,
            seq: row.seq,
            problem: `the chain no longer passes through the exported head at row ${row.seq}: history up to the export was rewritten`,
            expected: against.hash,
            found: running,
          })
        }
        if (replay) {
          pending.push(row.update)
          if (checkpointSeqs.includes(row.seq)) {
            Y.applyUpdate(replay, Y.mergeUpdates(pending))
            pending = []
            await compareCheckpoint(store, doc, row.seq, replay, roots)
          }
        }
        expected++
      }
      opts.onProgress?.(doc, expected - 1, total)
    }
  } finally {
    replay?.destroy()
  }
  const found = expected - 1
  if (found !== total)
    throw new Broken({ chain: doc, seq: found + 1, problem: `the doc's head says ${total} rows, found ${found}` })
  if (recorded && (recorded.seq !== found || recorded.hash !== running)) {
    throw new Broken({
      chain: doc,
      seq: found,
      problem:
        recorded.seq !== found
          ? `the doc's recorded head is row ${recorded.seq}, the log ends at row ${found}`
          : `row ${found} (the last; its data, author, time or meta) no longer hashes to the doc's recorded head`,
      expected: recorded.hash,
      found: running,
    })
  }
  if (against && against.seq > found) {
    throw new Broken({ chain: doc, seq: found + 1, problem: `the export saw ${against.seq} rows; the store has ${found}` })
  }
  return {
    chain: doc,
    rows: found,
    head: { seq: found, hash: running },
    checkpoints: checkpointSeqs.length,
    headChecked: !!recorded,
  }
}

/** Row `row` links to a hash its predecessor no longer has: the predecessor is the first row that no longer matches. */
function linkBreak(doc: string, prev: StoredUpdate | null, row: StoredUpdate, recomputed: string): ChainBreak {
  const seq = prev ? prev.seq : row.seq
  return {
    chain: doc,
    seq,
    problem: prev
      ? `row ${prev.seq} (its data, author, time or meta) no longer hashes to what row ${row.seq} recorded, or row ${row.seq}'s link was edited`
      : `row ${row.seq} should link to the genesis hash`,
    expected: row.prevHash,
    found: recomputed,
  }
}

async function checkpointsOf(store: Store, doc: string): Promise<number[]> {
  const seqs: number[] = []
  for (let cp = await store.latestCheckpoint(doc); cp; cp = cp.seq > 1 ? await store.latestCheckpoint(doc, cp.seq - 1) : null) {
    seqs.unshift(cp.seq)
  }
  return seqs
}

async function compareCheckpoint(store: Store, doc: string, seq: number, replay: Y.Doc, roots: Roots): Promise<void> {
  const cp = await store.latestCheckpoint(doc, seq)
  if (!cp || cp.seq !== seq) return
  const fromCheckpoint = new Y.Doc()
  try {
    Y.applyUpdate(fromCheckpoint, cp.state)
  } catch (err) {
    fromCheckpoint.destroy()
    throw new Broken({ chain: doc, seq, problem: `the checkpoint at row ${seq} cannot be read: ${(err as Error).message}` })
  }
  const a = canonical(replay, roots)
  const b = canonical(fromCheckpoint, roots)
  const sameClocks = Buffer.from(Y.encodeStateVector(replay)).equals(Buffer.from(Y.encodeStateVector(fromCheckpoint)))
  fromCheckpoint.destroy()
  if (a !== b || !sameClocks) {
    throw new Broken({
      chain: doc,
      seq,
      problem: `the checkpoint at row ${seq} does not match the log replayed to that row: history reads would show a different document`,
    })
  }
}

async function verifyVersions(
  store: Store,
  negotiationId: string,
  docs: ChainReport[],
  opts: VerifyOptions,
): Promise<ChainReport> {
  const versions = await store.listVersions(negotiationId)
  const heads = { board: docs[0]!.rows, ledger: docs[1]!.rows }
  let running = GENESIS_HASH
  let board = 0
  let ledger = 0
  for (const [i, v] of versions.entries()) {
    const n = i + 1
    if (v.n !== n) throw new Broken({ chain: 'versions', seq: n, problem: `version ${n} is missing (the next is ${v.n})` })
    if (v.prevHash !== running) {
      throw new Broken({
        chain: 'versions',
        seq: n - 1,
        problem: `version ${n - 1} no longer hashes to what version ${n} recorded`,
        expected: v.prevHash,
        found: running,
      })
    }
    const hash = versionRowHash(v.prevHash, v)
    if (hash !== v.hash) {
      throw new Broken({
        chain: 'versions',
        seq: n,
        problem: `version ${n}'s fields (time, party, user, kind, terms, summary, name or seqs) no longer match its hash`,
        expected: v.hash,
        found: hash,
      })
    }
    if (v.boardSeq < board || v.ledgerSeq < ledger || v.boardSeq > heads.board || v.ledgerSeq > heads.ledger) {
      throw new Broken({ chain: 'versions', seq: n, problem: `version ${n} points outside the logs or before version ${n - 1}` })
    }
    board = v.boardSeq
    ledger = v.ledgerSeq
    running = hash
    if (opts.against && opts.against.versions.n === n && opts.against.versions.hash !== hash) {
      throw new Broken({
        chain: 'versions',
        seq: n,
        problem: `version ${n} no longer has the hash the export recorded`,
        expected: opts.against.versions.hash,
        found: hash,
      })
    }
  }
  if (opts.against && opts.against.versions.n > versions.length) {
    throw new Broken({
      chain: 'versions',
      seq: versions.length + 1,
      problem: `the export saw ${opts.against.versions.n} versions; the store has ${versions.length}`,
    })
  }
  // every version row stores its own hash: the last one is checked like the others
  return {
    chain: 'versions',
    rows: versions.length,
    head: { seq: versions.length, hash: running },
    checkpoints: 0,
    headChecked: true,
  }
}

// ── comparing documents ──────────────────────────────────────────────────

type Roots = Record<string, 'map' | 'array'>
const BOARD_SHAPE: Roots = Object.fromEntries(BOARD_ROOTS.map((r) => [r, r === 'order' ? 'array' : 'map']))
const LEDGER_SHAPE: Roots = Object.fromEntries(LEDGER_ROOTS.map((r) => [r, 'map']))

function canonical(doc: Y.Doc, roots: Roots): string {
  const value: Record<string, unknown> = {}
  for (const [name, kind] of Object.entries(roots))
    value[name] = kind === 'array' ? doc.getArray(name).toJSON() : doc.getMap(name).toJSON()
  return stableStringify(value)
}

function stableStringify(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableStringify).join(',')}]`
  if (v && typeof v === 'object' && !(v instanceof Uint8Array)) {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableStringify((v as Record<string, unknown>)[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(v) ?? 'null'
}

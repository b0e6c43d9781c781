/**
 * Tamper evidence (`npm run verify -- <id>`): recomputes, from the store, the
 * hash chain of every doc of a negotiation (board, ledger, each caucus) and
 * the chain of its versions, and reports the first place where they break.
 *
 * A row's hash is SHA-256(previous row's hash ‖ the row) (server/store/chain.ts).
 * Each row keeps the first 32 bits of its hash, so editing any stored byte of
 * row s makes row s's check disagree — verify names that row; the full hashes
 * kept every ANCHOR_EVERY rows and at the doc's head catch a change whose
 * check was forged to match (then the break is named by the anchor after it).
 * Rows an instance of the previous build appended to PostgreSQL during a
 * rolling upgrade carry their predecessor's hash instead, checked as before.
 * Checkpoints are not chained (they are derived), but history reads trust
 * them, so each is compared with the log replayed up to its seq.
 * With `against` (the heads of an earlier export), the chains must also pass
 * through those heads: history up to the export was not rewritten since.
 * A row's gseq (the store's order across docs) is outside the hash (see
 * chain.ts); within a doc it must still grow with seq.
 */
import * as Y from 'yjs'
import { BOARD_ROOTS, LEDGER_ROOTS } from '../../shared/docLayout'
import { boardDocName, caucusDocName, ledgerDocName } from '../../shared/docNames'
import { checkHex, checkOf, GENESIS_HASH, logRowHash, versionRowHash } from '../store/chain'
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
  /** the last row was checked against the head the store recorded (always, since every store records one) */
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

/** What `verifyThrough` found of one doc: its chain and whether it passes through the given head. */
export interface HeadCheck {
  doc: 'board' | 'ledger'
  chain: ChainReport | null
  break: ChainBreak | null
}

/**
 * The board's and the ledger's chains recomputed from the store, each required to pass through
 * the given head: the row at that seq has that hash (a signed record's `chain`). Checkpoints are
 * not compared; `verifyNegotiation` does that.
 */
export async function verifyThrough(
  store: Store,
  negotiationId: string,
  heads: { board: ChainHead; ledger: ChainHead },
): Promise<HeadCheck[]> {
  const out: HeadCheck[] = []
  for (const doc of ['board', 'ledger'] as const) {
    const name = doc === 'board' ? boardDocName(negotiationId) : ledgerDocName(negotiationId)
    try {
      const chain = await verifyDoc(store, name, doc === 'board' ? BOARD_SHAPE : LEDGER_SHAPE, { checkpoints: false }, heads[doc])
      out.push({ doc, chain, break: null })
    } catch (err) {
      if (!(err instanceof Broken)) throw err
      out.push({ doc, chain: null, break: err.detail })
    }
  }
  return out
}

function rowHash(prevHash: string, doc: string, r: StoredUpdate): string {
  return logRowHash(prevHash, { ...r, doc }, r.seq)
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
  const recorded = await store.chainHead(doc)
  const anchors = new Map((await store.chainAnchors(doc)).map((a) => [a.seq, a.hash]))
  const checkpointSeqs = opts.checkpoints === false ? [] : (await store.listCheckpoints(doc)).map((c) => c.seq)
  const lastCheckpoint = checkpointSeqs[checkpointSeqs.length - 1] ?? 0
  // The state is rebuilt only as far as the last checkpoint it is compared with.
  const replay = checkpointSeqs.length > 0 ? new Y.Doc() : null
  let running = GENESIS_HASH
  let expected = 1
  let prevRow: StoredUpdate | null = null
  let gseq = 0
  /** the last row whose full hash was checked (an anchor) */
  let anchored = 0
  const link0 = anchors.get(0)
  if (link0 !== undefined && link0 !== GENESIS_HASH) {
    throw new Broken({
      chain: doc,
      seq: 1,
      problem: 'row 1 should link to the genesis hash',
      expected: GENESIS_HASH,
      found: link0,
    })
  }
  try {
    for (let after = 0; after < total; after += PAGE) {
      const rows = await readPage(store, doc, after, Math.min(after + PAGE, total))
      const toReplay: Uint8Array[] = []
      for (const row of rows) {
        if (row.seq !== expected) {
          throw new Broken({
            chain: doc,
            seq: expected,
            problem: `row ${expected} is missing (the next stored row is ${row.seq})`,
          })
        }
        if (row.check === null && row.prevHash !== running) throw new Broken(linkBreak(doc, prevRow, row, running))
        if (row.gseq <= gseq) {
          throw new Broken({
            chain: doc,
            seq: row.seq,
            problem: `row ${row.seq} is numbered ${row.gseq} in the store's order, not after row ${row.seq - 1} (${gseq})`,
          })
        }
        gseq = row.gseq
        const hash = rowHash(running, doc, row)
        if (row.check !== null && row.check !== checkOf(hash)) {
          const what = row.seq === total ? 'the last; its data, author, time or meta' : 'its data, author, time or meta'
          throw new Broken({
            chain: doc,
            seq: row.seq,
            problem:
              prevRow && prevRow.check === null
                ? `row ${row.seq} (${what}) or row ${prevRow.seq} (written without a check of its own by the previous build) no longer hashes to the check stored with row ${row.seq}`
                : `row ${row.seq} (${what}) no longer hashes to the check stored with it`,
            expected: checkHex(row.check),
            found: checkHex(checkOf(hash)),
          })
        }
        const anchor = anchors.get(row.seq)
        if (anchor !== undefined) {
          if (anchor !== hash) {
            throw new Broken({
              chain: doc,
              seq: row.seq,
              problem: `rows ${anchored + 1}–${row.seq} no longer hash to the full hash kept at row ${row.seq}: one of them was changed with its check forged to match, or the kept hash was edited`,
              expected: anchor,
              found: hash,
            })
          }
          anchored = row.seq
        }
        prevRow = row
        running = hash
        if (against && against.seq === row.seq && against.hash !== running) {
          throw new Broken({
            chain: doc,
            seq: row.seq,
            problem: `the chain no longer passes through the exported head at row ${row.seq}: history up to the export was rewritten`,
            expected: against.hash,
            found: running,
          })
        }
        if (replay && row.seq <= lastCheckpoint) {
          toReplay.push(row.update)
          if (checkpointSeqs.includes(row.seq)) {
            applyRows(replay, toReplay.splice(0))
            await compareCheckpoint(store, doc, row.seq, replay, roots)
          }
        }
        expected++
      }
      if (replay) applyRows(replay, toReplay)
      opts.onProgress?.(doc, expected - 1, total)
    }
  } finally {
    replay?.destroy()
  }
  const found = expected - 1
  if (found !== total)
    throw new Broken({ chain: doc, seq: found + 1, problem: `the doc's head says ${total} rows, found ${found}` })
  if (recorded.seq !== found || recorded.hash !== running) {
    throw new Broken({
      chain: doc,
      seq: found,
      problem:
        recorded.seq !== found
          ? `the doc's recorded head is row ${recorded.seq}, the log ends at row ${found}`
          : `rows ${anchored + 1}–${found} (the last) no longer hash to the doc's recorded head: one of them was changed with its check forged to match, or the head was edited`,
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
    headChecked: true,
  }
}

/**
 * Applies rows as rooms and docAt do: in one transaction, one by one (merging
 * thousands of small updates first is quadratic in Yjs), skipping a row that
 * cannot be applied.
 */
function applyRows(doc: Y.Doc, updates: Uint8Array[]): void {
  if (updates.length === 0) return
  Y.transact(doc, () => {
    for (const u of updates) {
      try {
        Y.applyUpdate(doc, u)
      } catch {
        // skipped, as rooms skip it when they load
      }
    }
  })
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

async function compareCheckpoint(store: Store, doc: string, seq: number, replay: Y.Doc, roots: Roots): Promise<void> {
  const fromCheckpoint = new Y.Doc()
  try {
    // stored compressed: a damaged one may already fail to decompress
    const cp = await store.latestCheckpoint(doc, seq)
    if (!cp || cp.seq !== seq) return fromCheckpoint.destroy()
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

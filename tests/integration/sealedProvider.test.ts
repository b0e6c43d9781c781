/**
 * The browser's sealed provider (client/src/lib/sealed/sealedProvider.ts) on a
 * real server, driven in Node with the `ws` package as its WebSocket: two
 * negotiators of one delegation converge through concurrent edits, a server
 * restart and a compaction; a new browser joins from the newest compaction
 * without opening the rows before it; an altered row or another key is
 * detected and never applied; the other delegation and observers get 4403;
 * nothing typed into it is in the store or on another connection's wire.
 * Regressions [SP8]–[SP12]: a new browser on a short log decrypts only the
 * newest rows; a key that opens nothing writes nothing and a page with a row
 * that did not open never compacts; a forward catch-up counts again from a
 * compaction; no compaction while received rows wait; an edit too large to
 * seal halts the page's sending. (The frames themselves: sealed.test.ts.) Runs on SQLite here and on
 * PostgreSQL in sealedProvider.postgres.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import WebSocket from 'ws'
import * as Y from 'yjs'
import { CloseCode } from '../../shared/protocol'
import { sealedDocName } from '../../shared/docNames'
import { importSealedKey, newSealedKeyBytes, openSealed, sealBytes } from '../../shared/sealedCrypto'
import { decodeSealedServerMessage, encodeSealedUpdate, SEALED_MAX_CIPHERTEXT_BYTES } from '../../shared/sealed'
import { board, insertTerm, termText } from '../../shared/docLayout'
import {
  COMPACTION_ORIGIN,
  SealedProvider,
  compactionThrough,
  type SealedProviderOptions,
  type SealedRestore,
} from '../../client/src/lib/sealed/sealedProvider'
import { mintToken, startServer, type TestServer } from '../helpers/server'
import { waitFor } from '../helpers/clients'
import { sealedClient, type SealedClient } from '../helpers/sealedClient'
import type { CreatedNegotiation } from '../../shared/schemas'
import type { PostgresStore } from '../../server/store/postgres'
import type { SqliteStore } from '../../server/store/sqlite'

let server: TestServer
let key: CryptoKey
const providers: SealedProvider[] = []
const raws: SealedClient[] = []

beforeAll(async () => {
  server = await startServer()
  key = await importSealedKey(newSealedKeyBytes())
})

afterAll(async () => {
  for (const p of providers.splice(0)) p.destroy()
  for (const c of raws.splice(0)) c.close()
  await server?.close({ wipe: true })
})

/** A negotiation of its own per test (its own sealed log), with two tokens of delegation a. */
interface Talks {
  neg: CreatedNegotiation
  doc: string
  a1: string
  a2: string
}

async function talks(title: string): Promise<Talks> {
  const neg = await server.createNegotiation({
    title,
    parties: [
      { id: 'a', name: 'Alpha' },
      { id: 'b', name: 'Beta' },
    ],
  })
  const a1 = (await mintToken(server, neg.id, { role: 'negotiator', party: 'a' })).token
  const a2 = (await mintToken(server, neg.id, { role: 'negotiator', party: 'a' })).token
  return { neg, doc: sealedDocName(neg.id, 'a'), a1, a2 }
}

function provider(t: Talks, token: string, over: Partial<SealedProviderOptions> = {}): SealedProvider {
  const p = new SealedProvider({
    url: server.wsUrl,
    docName: t.doc,
    token,
    name: 'A',
    key,
    doc: new Y.Doc(),
    writable: true,
    WebSocketImpl: WebSocket as unknown as typeof globalThis.WebSocket,
    ...over,
  })
  providers.push(p)
  return p
}

function destroy(...ps: SealedProvider[]): void {
  for (const p of ps) {
    p.destroy()
    const i = providers.indexOf(p)
    if (i >= 0) providers.splice(i, 1)
  }
}

/** Every frame a provider's socket received and sent (the socket class it is given records them). */
interface Wire {
  received: Uint8Array[]
  sent: Uint8Array[]
}

function recordingWebSocket(wire: Wire): typeof globalThis.WebSocket {
  class Recording extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols)
      this.on('message', (data: Buffer | ArrayBuffer) => wire.received.push(new Uint8Array(data as ArrayBuffer).slice()))
    }
    override send(data: unknown, ...rest: unknown[]): void {
      if (data instanceof Uint8Array) wire.sent.push(data.slice())
      ;(super.send as (...a: unknown[]) => void)(data, ...rest)
    }
  }
  return Recording as unknown as typeof globalThis.WebSocket
}

const synced = (p: SealedProvider, what = 'synced') => waitFor(() => p.synced, { timeout: 15_000, what })
const saved = (p: SealedProvider, what = 'saved') => waitFor(() => p.synced && p.unsaved === 0, { timeout: 15_000, what })
const body = (p: SealedProvider | Y.Doc, id: string) => termText(p instanceof Y.Doc ? p : p.doc, id)?.body ?? null
const textOf = (doc: Y.Doc, id: string) => board(doc).terms.get(id)!.get('body') as Y.Text
/** Every term's title and body: what a person sees of the board. */
const terms = (doc: Y.Doc) => Object.fromEntries([...board(doc).terms.keys()].sort().map((id) => [id, termText(doc, id)]))
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const count = (s: string, c: string) => s.split(c).length - 1

/** A term set straight into `terms`, without touching `order` (so no other row depends on it). */
function putTerm(doc: Y.Doc, id: string, text: string): void {
  doc.transact(() => {
    const term = new Y.Map<unknown>()
    term.set('title', new Y.Text(id))
    term.set('body', new Y.Text(text))
    board(doc).terms.set(id, term)
  })
}

/** The seqs of the provider's own rows, as their receipts confirm them. */
function ownSeqs(p: SealedProvider): number[] {
  const seqs: number[] = []
  p.on('row', (r) => {
    if (r.own) seqs.push(r.seq)
  })
  return seqs
}

/** Every row of the sealed log, as stored. */
const storedRows = (doc: string) => server.parley.store.readSealed(doc, 0, 100_000)

/** A row's plaintext is a compaction when, alone in a fresh doc, it brings a marker. */
function isCompaction(update: Uint8Array): boolean {
  const d = new Y.Doc()
  Y.applyUpdate(d, update)
  return compactionThrough(d) !== null
}

/** Flips one bit in the middle of the stored ciphertext of row `seq` (bypassing the store's API). */
async function tamper(doc: string, seq: number): Promise<void> {
  const store = server.parley.store
  if (store.kind === 'sqlite') {
    const db = (store as SqliteStore).db
    const row = db
      .prepare('SELECT r.data AS data FROM sealed_rows r JOIN sealed_docs d ON d.id = r.doc_id WHERE d.name = ? AND r.seq = ?')
      .get(doc, seq) as { data: Buffer } | undefined
    if (!row) throw new Error(`no sealed row ${seq} of ${doc}`)
    const data = Buffer.from(row.data)
    data[data.length >> 1]! ^= 0x01
    const changed = db
      .prepare('UPDATE sealed_rows SET data = ? WHERE doc_id = (SELECT id FROM sealed_docs WHERE name = ?) AND seq = ?')
      .run(data, doc, seq).changes
    expect(changed).toBe(1)
    return
  }
  // PostgreSQL refuses any change to sealed_rows (a trigger): the operator who tampers switches it off first.
  const client = await (store as PostgresStore).pool.connect()
  try {
    await client.query('BEGIN')
    await client.query('ALTER TABLE sealed_rows DISABLE TRIGGER sealed_rows_append_only')
    const res = await client.query(
      `UPDATE sealed_rows SET data = set_byte(data, length(data) / 2, get_byte(data, length(data) / 2) # 1)
       WHERE doc_id = (SELECT id FROM sealed_docs WHERE name = $1) AND seq = $2`,
      [doc, seq],
    )
    expect(res.rowCount).toBe(1)
    await client.query('ALTER TABLE sealed_rows ENABLE TRIGGER sealed_rows_append_only')
    await client.query('COMMIT')
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined)
    throw err
  } finally {
    client.release()
  }
}

const includes = (haystack: Uint8Array, needle: string) => Buffer.from(haystack).includes(Buffer.from(needle, 'utf8'))

/** Every stored byte of the server's store searched for `text`: the SQLite file and its WAL, or every row of every PostgreSQL table (as text, and bytea's hex). */
async function storeHolds(text: string): Promise<boolean> {
  const store = server.parley.store
  if (store.kind === 'sqlite') {
    const file = join(server.dataDir, 'parley.db')
    expect(existsSync(file)).toBe(true)
    return [file, `${file}-wal`].some((f) => existsSync(f) && includes(readFileSync(f), text))
  }
  const pool = (store as PostgresStore).pool
  const hex = Buffer.from(text, 'utf8').toString('hex')
  const { rows: tables } = await pool.query<{ t: string }>(
    `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
  )
  expect(tables.map((r) => r.t)).toContain('sealed_rows')
  for (const { t } of tables) {
    const { rows } = await pool.query<{ r: string }>(`SELECT x::text AS r FROM "${t}" x`)
    if (rows.some((row) => row.r.includes(text) || row.r.includes(hex))) return true
  }
  return false
}

describe('the sealed provider', () => {
  it('[SP1] two negotiators converge through concurrent edits', async () => {
    const t = await talks('Sealed provider')
    const one = provider(t, t.a1)
    const two = provider(t, t.a2)
    await Promise.all([synced(one), synced(two)])
    one.doc.transact(() => insertTerm(one.doc, 't1', { title: 'Fallback', body: 'start', x: 0, y: 0 }))
    await waitFor(() => body(two, 't1') === 'start', { timeout: 10_000, what: 'two sees the term' })
    for (let i = 0; i < 30; i++) {
      textOf(one.doc, 't1').insert(0, 'a')
      const b = textOf(two.doc, 't1')
      b.insert(b.length, 'b')
    }
    await Promise.all([saved(one), saved(two)])
    await waitFor(() => body(one, 't1') === body(two, 't1') && body(one, 't1')!.length === 65, {
      timeout: 10_000,
      what: 'both docs equal',
    })
    expect(body(one, 't1')).toMatch(/^a{30}startb{30}$/)
    expect(one.unopenable).toEqual([])
    expect(two.unopenable).toEqual([])
    destroy(one, two)
  })

  it('[SP2] two negotiators converge through concurrent edits and a server restart; edits made while it is down are saved after it comes back', async () => {
    const t = await talks('Sealed restart')
    const one = provider(t, t.a1)
    const two = provider(t, t.a2)
    await Promise.all([synced(one), synced(two)])
    one.doc.transact(() => insertTerm(one.doc, 'r', { title: 'Red lines', body: '|' }))
    await waitFor(() => body(two, 'r') === '|', { what: 'two sees the term' })

    // concurrent edits, and the server goes down while they travel (no wait for their receipts)
    const N = 15
    for (let i = 0; i < N; i++) {
      textOf(one.doc, 'r').insert(0, 'a')
      const b = textOf(two.doc, 'r')
      b.insert(b.length, 'b')
      if (i % 5 === 4) await sleep(2)
    }
    const { dataDir, port } = server
    await server.close()
    await waitFor(() => one.status !== 'connected' && two.status !== 'connected', { what: 'both see the server gone' })
    expect(one.synced).toBe(false)

    // edits while it is down: kept as pending
    for (let i = 0; i < N; i++) {
      textOf(one.doc, 'r').insert(0, 'c')
      const b = textOf(two.doc, 'r')
      b.insert(b.length, 'd')
    }
    expect(one.unsaved).toBeGreaterThanOrEqual(N)
    expect(two.unsaved).toBeGreaterThanOrEqual(N)
    await sleep(300) // a reconnect attempt or two fails meanwhile
    expect(one.status).not.toBe('connected')

    // the same store, the same port: the providers come back by themselves
    server = await startServer({ dataDir, port })
    await Promise.all([saved(one, 'one saved after the restart'), saved(two, 'two saved after the restart')])
    await waitFor(() => body(one, 'r') === body(two, 'r') && body(one, 'r')!.length === 1 + 4 * N, {
      timeout: 10_000,
      what: `both docs equal: ${body(one, 'r')} / ${body(two, 'r')}`,
    })
    const text = body(one, 'r')!
    for (const c of 'abcd') expect(count(text, c), c).toBe(N)
    // one's and two's characters each stay where their writer put them
    expect(text).toMatch(/^[ac]{30}\|[bd]{30}$/)
    expect(text.slice(0, N * 2)).toBe('c'.repeat(N) + 'a'.repeat(N))
    expect(text.slice(-N * 2)).toBe('b'.repeat(N) + 'd'.repeat(N))

    // saved, not only relayed: a new browser reads all of it from the store
    const three = provider(t, t.a1, { writable: false })
    await synced(three)
    expect(body(three, 'r')).toBe(text)
    expect(three.lastSeq).toBe(await server.parley.store.sealedHead(t.doc))
    for (const p of [one, two, three]) expect(p.unopenable).toEqual([])
    destroy(one, two, three)
  })

  it('[SP3] compaction: a marker in the doc and a compaction row; a new browser joins from it without opening the rows before; two writers do not keep compacting', async () => {
    const t = await talks('Sealed compaction')
    const compactAfter = 20
    const one = provider(t, t.a1, { compactAfter })
    const two = provider(t, t.a2, { compactAfter })
    await Promise.all([synced(one), synced(two)])
    one.doc.transact(() => insertTerm(one.doc, 'c', { title: 'Fallback', body: '' }))
    await waitFor(() => body(two, 'c') === '', { what: 'two sees the term' })

    // More rows than a backward catch-up opens at once (256): the rows before the newest
    // compaction's batch can only be left unopened if the compaction stops the walk.
    const fromOne = 300
    const fromTwo = 40
    for (let i = 0; i < fromOne; i++) {
      textOf(one.doc, 'c').insert(0, String.fromCharCode(97 + (i % 26)))
      if (i < fromTwo) {
        const b = textOf(two.doc, 'c')
        b.insert(b.length, 'Z')
      }
      if (i % 10 === 9) await sleep(1)
    }
    await Promise.all([saved(one), saved(two)])
    await waitFor(() => body(one, 'c') === body(two, 'c') && body(one, 'c')!.length === fromOne + fromTwo, {
      timeout: 10_000,
      what: 'both docs equal',
    })
    expect(compactionThrough(one.doc)).toEqual(expect.any(Number))
    expect(compactionThrough(two.doc)).toEqual(expect.any(Number))

    // the activity stopped: the log stops growing (no compaction answers a compaction)
    await sleep(500)
    const head = await server.parley.store.sealedHead(t.doc)
    await sleep(700)
    expect(await server.parley.store.sealedHead(t.doc)).toBe(head)
    expect(one.unsaved + two.unsaved).toBe(0)
    expect(one.sinceCompaction).toBeLessThan(compactAfter)
    expect(two.sinceCompaction).toBeLessThan(compactAfter)

    const rows = await storedRows(t.doc)
    expect(rows.map((r) => r.seq)).toEqual(Array.from({ length: head }, (_, i) => i + 1))
    const plain = await Promise.all(rows.map((r) => openSealed(key, t.doc, r.nonce, r.ciphertext)))
    const compactions = rows.filter((_, i) => isCompaction(plain[i]!)).map((r) => r.seq)
    const edits = head - compactions.length
    expect(edits).toBeGreaterThanOrEqual(1 + fromOne + fromTwo)
    expect(compactions.length).toBeGreaterThanOrEqual(1)
    // at most one compaction per writer per threshold's worth of rows: two writers do not both keep compacting
    expect(compactions.length).toBeLessThanOrEqual(2 * Math.ceil(edits / compactAfter))
    const newest = compactions.at(-1)!
    const newestThrough = compactionThrough(((d) => (Y.applyUpdate(d, plain[newest - 1]!), d))(new Y.Doc()))!
    expect(newestThrough).toBeLessThan(newest)
    expect(head - 256).toBeGreaterThan(10) // row 10 lies below the last batch

    // An operator alters row 10 (a keystroke long folded into every compaction). A new browser
    // never opens it: it does not report it, and its doc still holds that keystroke.
    await tamper(t.doc, 10)
    const applied: number[] = []
    const three = new Y.Doc()
    const joiner = provider(t, t.a1, { doc: three, writable: false })
    joiner.on('row', (r) => {
      if (!r.own) applied.push(r.seq)
    })
    await synced(joiner, 'the new browser synced')
    expect(terms(three)).toEqual(terms(one.doc))
    expect(compactionThrough(three)).toEqual(expect.any(Number))
    expect(joiner.unopenable).toEqual([])
    expect(joiner.lastSeq).toBe(head)
    expect(applied.length).toBeLessThan(head)
    expect(applied).not.toContain(10)
    expect(applied).toContain(newest)
    // every row after the newest compaction's `through` is in
    for (let s = newestThrough + 1; s <= head; s++) expect(applied, `row ${s}`).toContain(s)

    // The alteration is there to be found: a browser that catches up forwards from row 9 opens row
    // 10, reports it and does not apply it — and the compactions after it still bring its content.
    const fwd = new Y.Doc()
    for (const u of plain.slice(0, 9)) Y.applyUpdate(fwd, u)
    const restored: SealedRestore = { lastSeq: 9, pending: [], sinceCompaction: 0 }
    const forward = provider(t, t.a2, { doc: fwd, writable: false, restored })
    const forwardApplied: number[] = []
    forward.on('row', (r) => {
      if (!r.own) forwardApplied.push(r.seq)
    })
    await synced(forward, 'the forward catch-up synced')
    expect(forward.unopenable.map((u) => u.seq)).toEqual([10])
    expect(forwardApplied).not.toContain(10)
    expect(terms(fwd)).toEqual(terms(one.doc))
    destroy(one, two, joiner, forward)
  })

  it('[SP7] a writer that reaches the threshold first compacts; the other, seeing that compaction arrive, counts again from it instead of compacting too', async () => {
    const t = await talks('Sealed compaction, one writer')
    const compactAfter = 20
    const one = provider(t, t.a1, { compactAfter })
    await synced(one)
    const type = async (c: string) => {
      textOf(one.doc, 'w').insert(textOf(one.doc, 'w').length, c)
      await saved(one)
    }
    one.doc.transact(() => insertTerm(one.doc, 'w', { title: 'Walk-away', body: '' }))
    await saved(one)
    for (const c of '1234') await type(c)
    expect(one.lastSeq).toBe(5)

    // two comes back with the count this device kept (15 rows since a compaction): it is ahead of one
    const rows = await storedRows(t.doc)
    const known = new Y.Doc()
    for (const r of rows) Y.applyUpdate(known, await openSealed(key, t.doc, r.nonce, r.ciphertext))
    const two = provider(t, t.a2, { compactAfter, doc: known, restored: { lastSeq: 5, pending: [], sinceCompaction: 15 } })
    await synced(two)
    expect(two.sinceCompaction).toBe(15)

    // five more rows: two reaches 20 and compacts; one (at 10) applies it and starts counting again
    for (const c of '56789') {
      await type(c)
      await waitFor(() => two.lastSeq === one.lastSeq, { what: 'two applied the row' })
    }
    await waitFor(() => compactionThrough(one.doc) === 10 && one.lastSeq === 11, { what: "one applied two's compaction" })
    // fourteen more: one would be at 25 had it not counted again from the compaction
    for (const c of 'abcdefghijklmn') await type(c)
    await Promise.all([saved(one), saved(two)])
    await waitFor(() => two.lastSeq === one.lastSeq, { what: 'two applied every row' })
    await sleep(200)

    const all = await storedRows(t.doc)
    const plain = await Promise.all(all.map((r) => openSealed(key, t.doc, r.nonce, r.ciphertext)))
    expect(all.filter((_, i) => isCompaction(plain[i]!)).map((r) => r.seq)).toEqual([11])
    expect(all).toHaveLength(1 + 4 + 5 + 1 + 14)
    expect(compactionThrough(one.doc)).toBe(10)
    expect(compactionThrough(two.doc)).toBe(10)
    expect(body(two, 'w')).toBe('123456789abcdefghijklmn')
    expect(one.sinceCompaction).toBeLessThan(compactAfter)
    destroy(one, two)
  })

  it('[SP4] an altered row is reported with its seq and never applied while the others apply; another key opens nothing and writes nothing', async () => {
    const t = await talks('Sealed tamper')
    const one = provider(t, t.a1)
    const two = provider(t, t.a2)
    const seqsOne = ownSeqs(one)
    const seqsTwo = ownSeqs(two)
    await Promise.all([synced(one), synced(two)])
    putTerm(one.doc, 'keep1', 'first')
    await saved(one)
    putTerm(two.doc, 'bad', 'altered in the store')
    await saved(two)
    putTerm(one.doc, 'keep2', 'second')
    for (const c of 'xyz') textOf(one.doc, 'keep1').insert(textOf(one.doc, 'keep1').length, c)
    await saved(one)
    await waitFor(() => body(two, 'keep2') === 'second' && body(two, 'keep1') === 'firstxyz', { what: 'two has all' })
    expect(seqsTwo).toHaveLength(1)
    const bad = seqsTwo[0]!
    const head = await server.parley.store.sealedHead(t.doc)
    expect(head).toBe(seqsOne.length + seqsTwo.length)
    expect(bad).toBeGreaterThan(1)
    expect(bad).toBeLessThan(head)
    await tamper(t.doc, bad)

    // a new browser (backward catch-up)
    const fresh = provider(t, t.a1, { writable: false })
    const reported: number[] = []
    const appliedFresh: number[] = []
    fresh.on('unopenable', (u) => reported.push(u.seq))
    fresh.on('row', (r) => appliedFresh.push(r.seq))
    await synced(fresh)
    expect(reported).toEqual([bad])
    expect(fresh.unopenable).toEqual([{ seq: bad, reason: 'OperationError' }])
    expect(appliedFresh.sort((a, b) => a - b)).toEqual(Array.from({ length: head }, (_, i) => i + 1).filter((s) => s !== bad))
    expect(terms(fresh.doc)).toEqual({
      keep1: { title: 'keep1', body: 'firstxyz' },
      keep2: { title: 'keep2', body: 'second' },
    })
    expect(body(fresh, 'bad')).toBeNull()
    expect(fresh.lastSeq).toBe(head) // not asked for again

    // a browser that knew row 1 (forward catch-up)
    const rows = await storedRows(t.doc)
    const known = new Y.Doc()
    Y.applyUpdate(known, await openSealed(key, t.doc, rows[0]!.nonce, rows[0]!.ciphertext))
    const back = provider(t, t.a2, { doc: known, writable: false, restored: { lastSeq: 1, pending: [], sinceCompaction: 1 } })
    await synced(back)
    expect(back.unopenable.map((u) => u.seq)).toEqual([bad])
    expect(terms(known)).toEqual(terms(fresh.doc))

    // live: a row that does not open (sealed with a flipped bit) reaches a connected browser, is
    // reported with its seq and not applied; the next rows still apply
    const forger = sealedClient(server.wsUrl, t.doc, t.a2, key, { name: 'forger' })
    raws.push(forger)
    await forger.catchUp(head)
    const liveReported: number[] = []
    one.on('unopenable', (u) => liveReported.push(u.seq))
    const extra = new Y.Doc()
    putTerm(extra, 'forged', 'never shown')
    const sealed = await sealBytes(key, t.doc, Y.encodeStateAsUpdate(extra))
    sealed.ciphertext[0]! ^= 0x80
    forger.send(encodeSealedUpdate(sealed.nonce, sealed.ciphertext))
    await waitFor(() => forger.receipts.length === 1, { what: 'the forged row stored' })
    const forgedSeq = forger.receipts[0]!
    putTerm(two.doc, 'after', 'still applies')
    await saved(two)
    await waitFor(() => body(one, 'after') === 'still applies', { what: 'one applies the row after the forged one' })
    expect(liveReported).toEqual([forgedSeq])
    expect(one.unopenable.map((u) => u.seq)).toEqual([forgedSeq])
    expect(body(one, 'forged')).toBeNull()
    expect(one.lastSeq).toBe(forgedSeq + 1)

    // another key: every row reported, nothing applied, nothing written
    const wrongKey = await importSealedKey(newSealedKeyBytes())
    const stranger = provider(t, t.a1, { key: wrongKey })
    const strangerRows: number[] = []
    stranger.on('row', (r) => strangerRows.push(r.seq))
    await synced(stranger)
    const headNow = await server.parley.store.sealedHead(t.doc)
    expect(stranger.unopenable.map((u) => u.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: headNow }, (_, i) => i + 1))
    expect(new Set(stranger.unopenable.map((u) => u.reason))).toEqual(new Set(['OperationError']))
    expect(strangerRows).toEqual([])
    expect(board(stranger.doc).terms.size).toBe(0)
    expect(Y.encodeStateVector(stranger.doc)).toEqual(Y.encodeStateVector(new Y.Doc()))
    await sleep(200)
    expect(await server.parley.store.sealedHead(t.doc)).toBe(headNow)
    destroy(one, two, fresh, back, stranger)
  })

  it('[SP5] the other delegation, an observer and a reviewer get 4403 on delegation a’s sealed caucus and do not retry', async () => {
    const t = await talks('Sealed rights')
    for (const [who, token] of [
      ['negotiator of b', t.neg.tokens.negotiator.b!],
      ['observer', t.neg.tokens.observer],
      ['reviewer', t.neg.tokens.reviewer],
    ] as const) {
      const closes: Array<{ code: number; reason: string }> = []
      const p = provider(t, token, { writable: false })
      p.on('closed', (e) => closes.push(e))
      await waitFor(() => closes.length > 0, { timeout: 10_000, what: `${who} closed` })
      expect(closes[0]!.code, who).toBe(CloseCode.forbidden)
      await sleep(400) // a retry would be closed again, and told again
      expect(closes, who).toHaveLength(1)
      expect(p.status).toBe('disconnected')
      expect(p.synced).toBe(false)
      expect(board(p.doc).terms.size).toBe(0)
      destroy(p)
    }
    // delegation a's own negotiator is served, and nobody above wrote a row
    const mine = provider(t, t.a1)
    await synced(mine)
    expect(mine.headSeq).toBe(0)
    destroy(mine)
  })

  it('[SP6] a marker typed through the provider is in no stored byte and in no frame on the wire, but opens with the key', async () => {
    const t = await talks('Sealed at rest')
    const marker = `REDLINE-${Math.random().toString(36).slice(2)}-sealedprovider`
    const wireOne: Wire = { received: [], sent: [] }
    const wireTwo: Wire = { received: [], sent: [] }
    const one = provider(t, t.a1, { WebSocketImpl: recordingWebSocket(wireOne) })
    const two = provider(t, t.a2, { WebSocketImpl: recordingWebSocket(wireTwo) })
    // a third connection of the delegation that only listens (the raw frames)
    const listener = sealedClient(server.wsUrl, t.doc, t.a2, key, { name: 'listener' })
    raws.push(listener)
    await Promise.all([synced(one), synced(two), listener.catchUp(0)])
    // typed whole (one row holds all of it), then keystroke by keystroke into another term
    one.doc.transact(() => insertTerm(one.doc, 'm', { title: 'Fallback', body: `Our red line: ${marker}` }))
    one.doc.transact(() => insertTerm(one.doc, 'k', { title: 'Typed', body: '' }))
    for (const c of marker) textOf(one.doc, 'k').insert(textOf(one.doc, 'k').length, c)
    await saved(one)
    await waitFor(() => body(two, 'm')?.includes(marker) && body(two, 'k') === marker, { what: 'two reads the marker' })
    await waitFor(() => listener.relays.length === one.lastSeq, { what: 'the listener got every row' })
    // a compaction carries it all in one row too
    expect(one.maybeCompact(true)).toBe(true)
    await saved(one)
    await waitFor(() => listener.relays.length === one.lastSeq, { what: 'the listener got the compaction' })

    // on the wire: nothing in clear, whichever way it went
    const frames = [...wireOne.sent, ...wireOne.received, ...wireTwo.sent, ...wireTwo.received, ...listener.frames]
    expect(wireOne.sent.length).toBeGreaterThan(marker.length)
    expect(listener.frames.length).toBeGreaterThan(marker.length)
    for (const f of frames) expect(includes(f, marker)).toBe(false)
    // in the store: nothing in clear (the doc's name is, so the search reads the right bytes)
    expect(await storeHolds(marker)).toBe(false)
    expect(await storeHolds(t.doc)).toBe(true)
    // yet it was sent: the delegation's key opens it out of the listener's frames
    const opened = await Promise.all(listener.relays.map((r) => listener.open(r)))
    expect(opened.filter((u) => includes(u, marker)).length).toBeGreaterThanOrEqual(2) // the term, the compaction
    destroy(one, two)
  })

  it('[SP8] a new browser joining a short log neither applies nor reports a row the newest compaction covers, and never opens the first rows', async () => {
    const t = await talks('Sealed short log')
    const compactAfter = 20
    const one = provider(t, t.a1, { compactAfter })
    await synced(one)
    one.doc.transact(() => insertTerm(one.doc, 'c', { title: 'Fallback', body: '' }))
    // typed in bursts of five, each saved before the next: a compaction follows the burst that passes 20 rows
    for (let i = 0; i < 70; i++) {
      textOf(one.doc, 'c').insert(0, String.fromCharCode(97 + (i % 26)))
      if (i % 5 === 4) await saved(one)
    }
    const head = await server.parley.store.sealedHead(t.doc)
    const rows = await storedRows(t.doc)
    const plain = await Promise.all(rows.map((r) => openSealed(key, t.doc, r.nonce, r.ciphertext)))
    const compactions = rows.filter((_, i) => isCompaction(plain[i]!)).map((r) => r.seq)
    // far fewer rows than a full batch (256): the whole log would fit in one
    expect(head).toBeLessThan(100)
    expect(compactions.length).toBeGreaterThanOrEqual(2)
    const newest = compactions.at(-1)!
    const through = compactionThrough(((d) => (Y.applyUpdate(d, plain[newest - 1]!), d))(new Y.Doc()))!
    expect(through).toBe(compactionThrough(one.doc))
    expect(through).toBeGreaterThan(compactions[0]!)
    await tamper(t.doc, 3) // long covered by every compaction

    // which rows the new browser decrypts, by their nonces
    const seqOfNonce = new Map(rows.map((r) => [Buffer.from(r.nonce).toString('hex'), r.seq]))
    const decrypt = vi.spyOn(globalThis.crypto.subtle, 'decrypt')
    const applied: number[] = []
    let opened: number[]
    const joiner = provider(t, t.a2, { writable: false })
    joiner.on('row', (r) => {
      if (!r.own) applied.push(r.seq)
    })
    try {
      await synced(joiner, 'the new browser synced')
      opened = decrypt.mock.calls.map(([alg]) => seqOfNonce.get(Buffer.from((alg as AesGcmParams).iv as Uint8Array).toString('hex'))!)
    } finally {
      decrypt.mockRestore()
    }
    expect(terms(joiner.doc)).toEqual(terms(one.doc))
    expect(joiner.lastSeq).toBe(head)
    // neither applied nor reported below the compaction's `through` (the altered row 3 included)...
    expect(joiner.unopenable).toEqual([])
    expect(Math.min(...applied)).toBe(through + 1)
    expect(applied.sort((a, b) => a - b)).toEqual(Array.from({ length: head - through }, (_, i) => through + 1 + i))
    // ...and the log's first rows, up to the first compaction, not even decrypted
    expect(opened).toContain(head)
    expect(opened).toContain(newest)
    expect(opened.filter((s) => s <= compactions[0]!)).toEqual([])
    destroy(one, joiner)
  })

  it('[SP9] a key that opens none of the rows writes nothing (no compaction however many rows it read, no edit of its own); a page where one row did not open does not compact, yet sends its edits', async () => {
    const t = await talks('Sealed wrong key writes nothing')
    const one = provider(t, t.a1)
    await synced(one)
    for (let i = 0; i < 10; i++) putTerm(one.doc, `t${i}`, 'x')
    await saved(one)
    const head = await server.parley.store.sealedHead(t.doc)
    expect(head).toBe(10)

    const wrongKey = await importSealedKey(newSealedKeyBytes())
    const stranger = provider(t, t.a2, { key: wrongKey, compactAfter: 5 })
    const strangerUnsaved: number[] = []
    stranger.on('unsaved', (n) => strangerUnsaved.push(n))
    await synced(stranger)
    expect(stranger.unopenable).toHaveLength(head)
    expect(stranger.keyOpensNothing).toBe(true)
    // typed into: nothing queued
    putTerm(stranger.doc, 'mine', 'nobody could open this')
    textOf(stranger.doc, 'mine').insert(0, 'still ')
    expect(stranger.unsaved).toBe(0)
    expect(stranger.maybeCompact(true)).toBe(false)
    await sleep(300)
    expect(await server.parley.store.sealedHead(t.doc)).toBe(head)
    expect(strangerUnsaved).toEqual([])
    expect(compactionThrough(stranger.doc)).toBeNull()
    expect(stranger.sinceCompaction).toBeGreaterThanOrEqual(5) // it read past its threshold
    expect(one.unopenable).toEqual([])
    expect(body(one, 'mine')).toBeNull()
    destroy(stranger)

    // the right key, one altered row: its own edits go, a compaction does not (it would claim a row it lacks)
    await tamper(t.doc, 4)
    const partial = provider(t, t.a2, { compactAfter: 5 })
    await synced(partial)
    expect(partial.unopenable.map((u) => u.seq)).toEqual([4])
    expect(partial.keyOpensNothing).toBe(false)
    putTerm(partial.doc, 'p', 'from the page with a hole')
    await saved(partial)
    await waitFor(() => body(one, 'p') === 'from the page with a hole', { what: 'one has the partial page’s edit' })
    expect(partial.maybeCompact(true)).toBe(false)
    await sleep(200)
    expect(await server.parley.store.sealedHead(t.doc)).toBe(head + 1)
    expect(compactionThrough(partial.doc)).toBeNull()
    expect(partial.sinceCompaction).toBeGreaterThanOrEqual(5) // past its threshold
    expect(compactionThrough(one.doc)).toBeNull()
    destroy(one, partial)
  })

  it('[SP10] a writer that catches up forwards over another writer’s compaction counts again from it and does not compact at once', async () => {
    const t = await talks('Sealed forward over a compaction')
    const compactAfter = 20
    const one = provider(t, t.a1, { compactAfter })
    const two = provider(t, t.a2, { compactAfter })
    await Promise.all([synced(one), synced(two)])
    one.doc.transact(() => insertTerm(one.doc, 'c', { title: 'Fallback', body: '' }))
    await saved(one)
    await waitFor(() => body(two, 'c') === '', { what: 'two sees the term' })
    two.disconnect()
    await waitFor(() => two.status === 'disconnected', { what: 'two away' })

    // while two is away: one compacts, then writes a few rows more
    for (let i = 0; i < 22; i++) {
      textOf(one.doc, 'c').insert(0, 'x')
      await sleep(1)
    }
    await saved(one)
    expect(compactionThrough(one.doc)).toEqual(expect.any(Number))
    for (let i = 0; i < 3; i++) {
      textOf(one.doc, 'c').insert(0, 'y')
      await sleep(1)
    }
    await saved(one)
    const head = await server.parley.store.sealedHead(t.doc)
    const rows = await storedRows(t.doc)
    const plain = await Promise.all(rows.map((r) => openSealed(key, t.doc, r.nonce, r.ciphertext)))
    const compactions = rows.filter((_, i) => isCompaction(plain[i]!)).map((r) => r.seq)
    expect(compactions).toHaveLength(1)
    const after = head - compactions[0]!
    expect(after).toBeGreaterThanOrEqual(3)
    expect(after).toBeLessThan(compactAfter)
    // rows two reads forwards: past its threshold counted in a row, under it counted from the compaction
    expect(head - 1).toBeGreaterThanOrEqual(compactAfter)

    two.connect()
    await synced(two, 'two caught up')
    await sleep(300)
    expect(await server.parley.store.sealedHead(t.doc)).toBe(head)
    expect(two.unsaved).toBe(0)
    expect(two.sinceCompaction).toBe(after)
    expect(body(two, 'c')).toBe(body(one, 'c'))
    expect(compactionThrough(two.doc)).toBe(compactionThrough(one.doc))
    destroy(one, two)
  })

  it('[SP11] a compaction is sealed from a state that has every row already received applied: no compaction while live rows wait', async () => {
    const t = await talks('Sealed compaction while rows wait')
    const compactAfter = 20
    const wireOne: Wire = { received: [], sent: [] }
    const wireTwo: Wire = { received: [], sent: [] }
    const one = provider(t, t.a1, { compactAfter, WebSocketImpl: recordingWebSocket(wireOne) })
    const two = provider(t, t.a2, { compactAfter, WebSocketImpl: recordingWebSocket(wireTwo) })
    // each compaction a page makes: the `through` it writes, and the newest row that page had received by then
    const made: Array<{ by: string; through: number; received: number }> = []
    for (const [by, p, wire] of [['one', one, wireOne], ['two', two, wireTwo]] as const) {
      p.doc.on('update', (_u: Uint8Array, origin: unknown) => {
        if (origin !== COMPACTION_ORIGIN) return
        let received = 0
        for (const f of wire.received) {
          const msg = decodeSealedServerMessage(f)
          if (msg.type === 'relay') received = Math.max(received, msg.seq)
        }
        made.push({ by, through: compactionThrough(p.doc)!, received })
      })
    }
    await Promise.all([synced(one), synced(two)])
    one.doc.transact(() => insertTerm(one.doc, 'c', { title: 'Fallback', body: '' }))
    await saved(one)
    // a burst: two receives rows faster than it opens them
    for (let i = 0; i < 300; i++) textOf(one.doc, 'c').insert(0, 'x')
    await Promise.all([saved(one), saved(two)])
    await waitFor(() => two.lastSeq === one.lastSeq && body(two, 'c') === body(one, 'c'), { what: 'two applied every row' })
    await sleep(300)
    const rows = await storedRows(t.doc)
    const plain = await Promise.all(rows.map((r) => openSealed(key, t.doc, r.nonce, r.ciphertext)))
    expect(rows.filter((_, i) => isCompaction(plain[i]!)).length).toBeGreaterThanOrEqual(1)
    expect(made.length).toBeGreaterThanOrEqual(1)
    // every row the page had received was in the state it sealed (rows still travelling to it can only follow)
    for (const m of made) expect(m.through, JSON.stringify(m)).toBeGreaterThanOrEqual(m.received)
    expect(rows.length).toBeLessThanOrEqual(301 + 2 * Math.ceil(301 / compactAfter))
    destroy(one, two)
  })

  it('[SP12] an edit too large to seal halts the page: tooLarge once, the edits before it are saved and reach the other browser, none after it is queued or sent (no compaction either), the other browser has nothing pending', async () => {
    const t = await talks('Sealed too large')
    const one = provider(t, t.a1, { compactAfter: 5 })
    const two = provider(t, t.a2)
    await Promise.all([synced(one), synced(two)])
    putTerm(one.doc, 'a', 'before')
    await saved(one)
    await waitFor(() => body(two, 'a') === 'before', { what: 'two sees the term' })
    const tooLarge: number[] = []
    one.on('tooLarge', (n) => tooLarge.push(n))
    const seqs = ownSeqs(one)

    // three keystrokes still travelling (no wait for their receipts) when the large edit comes
    for (const c of '123') textOf(one.doc, 'a').insert(textOf(one.doc, 'a').length, c)
    expect(one.unsaved).toBe(3)
    const book = 'x'.repeat(1_100_000)
    putTerm(one.doc, 'book', book)
    expect(tooLarge).toHaveLength(1)
    expect(tooLarge[0]).toBeGreaterThan(SEALED_MAX_CIPHERTEXT_BYTES)
    expect(one.unsaved).toBe(3)

    // later edits: each builds on the book (this page's clock), none is queued — nor a second large one told
    const unsavedAfter: number[] = []
    one.on('unsaved', (n) => unsavedAfter.push(n))
    textOf(one.doc, 'a').insert(0, 'after ')
    putTerm(one.doc, 'late', 'never sent')
    putTerm(one.doc, 'book2', book)
    // both books deleted: the state is small again, a compaction could carry all of it (and must not)
    one.doc.transact(() => {
      board(one.doc).terms.delete('book')
      board(one.doc).terms.delete('book2')
    })
    expect(tooLarge).toHaveLength(1)
    expect(one.unsaved).toBeLessThanOrEqual(3)
    await saved(one, 'the keystrokes before the book saved')
    expect(unsavedAfter.every((n) => n < 3)).toBe(true)
    expect(seqs).toHaveLength(3)
    await waitFor(() => body(two, 'a') === 'before123', { what: 'two has the keystrokes before the book' })
    const head = await server.parley.store.sealedHead(t.doc)
    expect(head).toBe(4)

    // two keeps writing; one still reads it, and sends nothing though its count passed compactAfter
    for (let i = 0; i < 6; i++) putTerm(two.doc, `b${i}`, 'from two')
    await saved(two)
    await waitFor(() => body(one, 'b5') === 'from two', { what: 'one reads two’s rows' })
    await sleep(200)
    expect(await server.parley.store.sealedHead(t.doc)).toBe(head + 6)
    expect(one.unsaved).toBe(0)
    expect(one.sinceCompaction).toBeGreaterThanOrEqual(5)
    expect(Y.encodeStateAsUpdate(one.doc).byteLength).toBeLessThan(SEALED_MAX_CIPHERTEXT_BYTES / 10)
    expect(one.maybeCompact(true)).toBe(false)
    // nor after a reconnect
    one.disconnect()
    await waitFor(() => one.status === 'disconnected', { what: 'one away' })
    one.connect()
    await synced(one, 'one back')
    textOf(one.doc, 'a').insert(0, 'again ')
    await sleep(300)
    expect(one.unsaved).toBe(0)
    expect(unsavedAfter.every((n) => n < 3)).toBe(true)
    expect(seqs).toHaveLength(3)
    expect(await server.parley.store.sealedHead(t.doc)).toBe(head + 6)
    expect(tooLarge).toHaveLength(1)

    // the other browser: the keystrokes before, nothing after, nothing waiting for a missing edit
    expect(body(two, 'a')).toBe('before123')
    for (const id of ['late', 'book', 'book2']) expect(body(two, id), id).toBeNull()
    expect(two.doc.store.pendingStructs).toBeNull()
    expect(two.doc.store.pendingDs).toBeNull()
    expect(two.unopenable).toEqual([])
    expect(compactionThrough(two.doc)).toBeNull()
    // and the store holds exactly that
    const three = provider(t, t.a1, { writable: false })
    await synced(three)
    expect(terms(three.doc)).toEqual(terms(two.doc))
    expect(three.doc.store.pendingStructs).toBeNull()
    destroy(one, two, three)
  })
  it('[SP13] a new browser fetches the log\'s tail, not the whole log: from the head back to the newest compaction; a log without one is widened until whole, applied in seq order', async () => {
    const t = await talks('SP13 tail join')
    const compactAfter = 20
    const one = provider(t, t.a1, { compactAfter })
    await synced(one)
    one.doc.transact(() => insertTerm(one.doc, 't1', { title: 'Tail', body: '', x: 0, y: 0 }))
    const text = () => board(one.doc).terms.get('t1')!.get('body') as Y.Text
    for (let i = 0; i < 300; i++) {
      text().insert(text().length, String(i % 10))
      if (i % 5 === 4) await saved(one)
    }
    await saved(one)
    const head = one.lastSeq
    expect(head).toBeGreaterThan(300)

    // With compactions: the new browser receives about the newest 2 × compactAfter rows, never the whole log.
    const wire: Wire = { received: [], sent: [] }
    const fresh = provider(t, t.a2, { compactAfter, WebSocketImpl: recordingWebSocket(wire) })
    await synced(fresh)
    expect(termText(fresh.doc, 't1')).toEqual(termText(one.doc, 't1'))
    const relays = wire.received.filter((f) => f[0] === 201).length
    expect(relays).toBeGreaterThan(0)
    expect(relays).toBeLessThanOrEqual(2 * compactAfter + 2 * compactAfter)
    expect(fresh.lastSeq).toBeGreaterThanOrEqual(head)
    expect(fresh.doc.store.pendingStructs).toBeNull()

    // Without any compaction (written by pages that never compact): widened until whole, and still equal.
    const u = await talks('SP13 no compaction')
    const writer = provider(u, u.a1, { compactAfter: Number.POSITIVE_INFINITY })
    await synced(writer)
    writer.doc.transact(() => insertTerm(writer.doc, 't1', { title: 'Whole', body: '', x: 0, y: 0 }))
    const body2 = () => board(writer.doc).terms.get('t1')!.get('body') as Y.Text
    for (let i = 0; i < 200; i++) {
      body2().insert(0, String(i % 10))
      if (i % 5 === 4) await saved(writer)
    }
    await saved(writer)
    const wire2: Wire = { received: [], sent: [] }
    const reader = provider(u, u.a2, { compactAfter: 20, WebSocketImpl: recordingWebSocket(wire2) })
    await synced(reader)
    expect(termText(reader.doc, 't1')).toEqual(termText(writer.doc, 't1'))
    expect(reader.doc.store.pendingStructs).toBeNull()
    expect(reader.lastSeq).toBe(writer.lastSeq)
    destroy(one, fresh, writer, reader)
  })
})

/**
 * The sealed caucus on a real server (CONTRACT.md "Sealed caucus (end-to-end
 * encrypted)", issue 21): clients that encrypt with WebCrypto exactly as the
 * browser does (tests/helpers/sealedClient.ts) and a server that sees only
 * frames. Runs on SQLite here and on PostgreSQL in sealed.postgres.test.ts;
 * several instances over Redis are tests/cluster/sealed.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as Y from 'yjs'
import * as encoding from 'lib0/encoding'
import { CloseCode, MessageType, SyncMessageType } from '../../shared/protocol'
import { sealedDocName, caucusDocName, boardDocName } from '../../shared/docNames'
import { decodeSealedServerMessage, SEALED_MAX_CIPHERTEXT_BYTES, SealedMessageType } from '../../shared/sealed'
import { importSealedKey, newSealedKeyBytes } from '../../shared/sealedCrypto'
import { board, insertTerm } from '../../shared/docLayout'
import { mintToken, startServer, type TestServer } from '../helpers/server'
import { rawClient, synced, syncMessage, waitFor, yClient, type RawClient, type YClient } from '../helpers/clients'
import { sealedClient, type SealedClient } from '../helpers/sealedClient'
import type { PostgresStore } from '../../server/store/postgres'
import type { CreatedNegotiation } from '../../shared/schemas'

let server: TestServer
let neg: CreatedNegotiation
let other: CreatedNegotiation
let key: CryptoKey
/** a second negotiator of delegation a (another token) */
let a2: string
const open: Array<SealedClient | YClient | RawClient> = []
const track = <T extends SealedClient | YClient | RawClient>(c: T): T => (open.push(c), c)
const closeAll = () => {
  for (const c of open.splice(0)) 'destroy' in c ? c.destroy() : 'close' in c ? c.close() : c.ws.close()
}

beforeAll(async () => {
  server = await startServer()
  neg = await server.createNegotiation({
    title: 'Sealed talks',
    parties: [
      { id: 'a', name: 'Alpha' },
      { id: 'b', name: 'Beta' },
    ],
  })
  other = await server.createNegotiation()
  key = await importSealedKey(newSealedKeyBytes())
  a2 = (await mintToken(server, neg.id, { role: 'negotiator', party: 'a' })).token
})

afterAll(async () => {
  closeAll()
  await server.close({ wipe: true })
})

const sealedA = () => sealedDocName(neg.id, 'a')
const client = (token: string, name = 'A', doc = sealedA()) => track(sealedClient(server.wsUrl, doc, token, key, { name }))

/** A Y.Doc kept in a sealed caucus: local updates sealed and sent, relays opened and applied. */
function sealedPeer(c: SealedClient): { doc: Y.Doc; applied: () => number } {
  const doc = new Y.Doc()
  let applied = 0
  doc.on('update', (update: Uint8Array, origin: unknown) => {
    if (origin !== 'sealed') void c.seal(update)
  })
  // what arrives from now on (rows of earlier tests in the same doc are not this doc's)
  let seen = c.relays.length
  const pump = setInterval(() => {
    for (; seen < c.relays.length; seen++) {
      const row = c.relays[seen]!
      void c.open(row).then((u) => {
        Y.applyUpdate(doc, u, 'sealed')
        applied++
      })
    }
  }, 5)
  pump.unref()
  c.closed.then(() => clearInterval(pump))
  return { doc, applied: () => applied }
}

const includes = (haystack: Uint8Array, needle: string) => Buffer.from(haystack).includes(Buffer.from(needle, 'utf8'))

/** Every stored byte the server's store holds, searched for `text` (UTF-8, and hex as PostgreSQL prints bytea). */
async function storeHolds(text: string): Promise<boolean> {
  const store = server.parley.store
  if (store.kind === 'sqlite') {
    const file = join(server.dataDir, 'parley.db')
    return [file, `${file}-wal`].some((f) => existsSync(f) && includes(readFileSync(f), text))
  }
  const pool = (store as PostgresStore).pool
  const hex = Buffer.from(text, 'utf8').toString('hex')
  const { rows: tables } = await pool.query<{ t: string }>(
    `SELECT table_name AS t FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`,
  )
  for (const { t } of tables) {
    const { rows } = await pool.query<{ r: string }>(`SELECT x::text AS r FROM "${t}" x`)
    if (rows.some((row) => row.r.includes(text) || row.r.includes(hex))) return true
  }
  return false
}

describe('[SK1] who may open a sealed caucus: its delegation caucus rights', () => {
  it("the delegation's negotiators open it; the other delegation, observers, reviewers and other negotiations get 4403", async () => {
    const mine = client(neg.tokens.negotiator.a!)
    expect(await mine.catchUp(0)).toEqual({ rows: [], head: 0 })
    for (const token of [neg.tokens.negotiator.b!, neg.tokens.observer, neg.tokens.reviewer, other.tokens.negotiator.a!]) {
      expect(await client(token, 'probe').closeCode()).toBe(CloseCode.forbidden)
    }
    // b's own sealed caucus is b's, not a's
    expect(await client(neg.tokens.negotiator.a!, 'A', sealedDocName(neg.id, 'b')).closeCode()).toBe(CloseCode.forbidden)
    expect(await client(neg.tokens.negotiator.b!, 'B', sealedDocName(neg.id, 'b')).catchUp(0)).toEqual({ rows: [], head: 0 })
    expect(await mine.closeCode(200)).toBe('open')
    closeAll()
  })
})

describe('[SK2] relay, receipts and seqs', () => {
  it("A's 200 reaches B as a 201 with the next seq, A gets a receipt of it; concurrent writers see one gap-free order", async () => {
    const doc = sealedDocName(neg.id, 'a')
    const A = client(neg.tokens.negotiator.a!, 'A')
    const B = client(a2, 'B')
    const base = (await A.catchUp(0)).head
    await B.catchUp(base)
    const sent = await A.seal('first thought')
    await waitFor(() => B.relays.length === 1 && A.receipts.length === 1, { what: 'relay and receipt' })
    expect(A.receipts).toEqual([base + 1])
    expect(B.relays[0]!.seq).toBe(base + 1)
    // B receives exactly what A sent: nonce and ciphertext, nothing else
    expect(Buffer.from(B.relays[0]!.ciphertext).equals(Buffer.from(sent.ciphertext))).toBe(true)
    expect(Buffer.from(B.relays[0]!.nonce).equals(Buffer.from(sent.nonce))).toBe(true)
    expect(new TextDecoder().decode(await B.open(B.relays[0]!))).toBe('first thought')
    expect(A.relays).toEqual([]) // no echo of its own row

    // both write at once, without waiting
    const n = 30
    const fromA = Array.from({ length: n }, (_, i) => `A${i}`)
    const fromB = Array.from({ length: n }, (_, i) => `B${i}`)
    await Promise.all([...fromA.map((t) => A.seal(t)), ...fromB.map((t) => B.seal(t))])
    const last = base + 1 + 2 * n
    await waitFor(() => A.seqs.at(-1) === last && B.seqs.at(-1) === last, { what: 'every seq on both connections' })
    // each connection saw every seq once, in order, as a 201 or as its own receipt
    const all = Array.from({ length: 2 * n + 1 }, (_, i) => base + 1 + i)
    expect(A.seqs).toEqual(all)
    expect(B.seqs).toEqual(all)
    // A's rows: receipts to A, 201s to B, and the other way round
    expect(A.receipts).toHaveLength(n + 1)
    expect(B.relays.map((r) => r.seq)).toEqual(A.receipts)
    expect(A.relays.map((r) => r.seq)).toEqual(B.receipts)
    // what B relayed of A's arrives in A's order, and opens to A's text
    const ofA = await Promise.all(B.relays.slice(1).map((r) => B.open(r).then((p) => new TextDecoder().decode(p))))
    expect(ofA).toEqual(fromA)
    const ofB = await Promise.all(A.relays.map((r) => A.open(r).then((p) => new TextDecoder().decode(p))))
    expect(ofB).toEqual(fromB)
    // the store holds them with their seqs, authors, and never a Yjs row
    const rows = await server.parley.store.readSealed(doc, base, 1000)
    expect(rows.map((r) => r.seq)).toEqual(all)
    expect(new Set(rows.map((r) => r.author.party))).toEqual(new Set(['a']))
    expect(await server.parley.store.headSeq(doc)).toBe(0)
    expect(A.unexpected).toEqual([])
    expect(B.unexpected).toEqual([])
    closeAll()
  })
})

describe('[SK3] no plaintext anywhere but in the delegation', () => {
  it('a marker typed into the sealed caucus is in no frame another connection gets and nowhere in the store; typed into the plain caucus it is', async () => {
    const marker = `RED-LINE-${Math.random().toString(36).slice(2)}-sealed`
    const control = `PLAIN-LINE-${Math.random().toString(36).slice(2)}-caucus`
    const A = client(neg.tokens.negotiator.a!, 'A')
    const B = client(a2, 'B')
    await Promise.all([A.catchUp(0), B.catchUp(0)])
    // the board's watchers and the other side, on the docs they may open, see nothing of it either
    const watchers = [
      track(rawClient(server.wsUrl, boardDocName(neg.id), { token: neg.tokens.observer, name: 'press' })),
      track(rawClient(server.wsUrl, boardDocName(neg.id), { token: neg.tokens.negotiator.b!, name: 'B side' })),
      track(rawClient(server.wsUrl, caucusDocName(neg.id, 'b'), { token: neg.tokens.negotiator.b!, name: 'B side' })),
    ]
    await Promise.all(watchers.map((w) => w.opened))
    const peerA = sealedPeer(A)
    const peerB = sealedPeer(B)
    peerA.doc.transact(() => insertTerm(peerA.doc, 'fallback', { title: 'Fallback', body: `Our red line: ${marker}` }))
    await waitFor(() => board(peerB.doc).terms.get('fallback') !== undefined, { what: 'B decrypts the term' })
    expect((board(peerB.doc).terms.get('fallback')!.get('body') as Y.Text).toString()).toContain(marker)
    await waitFor(() => A.receipts.length >= 1, { what: 'stored' })
    // the plain caucus, for contrast: what the server stores in clear
    const plain = track(
      yClient(server.wsUrl, caucusDocName(neg.id, 'a'), { token: neg.tokens.negotiator.a!, name: 'A', ack: '1' }),
    )
    await synced(plain)
    plain.doc.transact(() => insertTerm(plain.doc, 'open', { title: 'Plain', body: control }))
    await waitFor(() => plain.receipts.length >= 1, { what: 'plain caucus stored' })

    for (const c of [A, B]) for (const f of c.frames) expect(includes(f, marker)).toBe(false)
    for (const w of watchers) for (const f of w.messages) expect(includes(f, marker)).toBe(false)
    expect(await storeHolds(marker)).toBe(false)
    expect(await storeHolds(control)).toBe(true)
    closeAll()
  })
})

describe('[SK4] catch-up after a restart, compaction, and order around a catch-up', () => {
  it('202 returns every row after afterSeq, in pages, then 203 with the head; a compaction is one more row', async () => {
    const doc = sealedA()
    const A = client(neg.tokens.negotiator.a!, 'A')
    const start = (await A.catchUp(0)).head
    const peer = sealedPeer(A)
    const text = new Y.Text()
    const note = new Y.Map<unknown>()
    note.set('text', text)
    peer.doc.getMap('notes').set('n1', note)
    // 150 keystrokes (more than a page), and three large rows (pages are sized by bytes too)
    for (let i = 0; i < 150; i++) text.insert(text.length, String.fromCharCode(97 + (i % 26)))
    const big = 'x'.repeat(900_000)
    for (let i = 0; i < 3; i++) await A.seal(big)
    const head = start + 1 + 150 + 3
    await waitFor(() => A.receipts.at(-1) === head, { what: 'every row stored', timeout: 20_000 })
    const expected = text.toString()
    closeAll()

    const dataDir = server.dataDir
    await server.close()
    server = await startServer({ dataDir })

    const C = client(a2, 'C')
    const all = await C.catchUp(0)
    expect(all.head).toBe(head)
    expect(all.rows.map((r) => r.seq)).toEqual(Array.from({ length: head }, (_, i) => i + 1))
    const fresh = new Y.Doc()
    for (const r of all.rows.slice(start)) {
      const plain = await C.open(r)
      if (plain.byteLength < 100_000) Y.applyUpdate(fresh, plain)
      else expect(new TextDecoder().decode(plain)).toBe(big)
    }
    expect((fresh.getMap('notes').get('n1') as Y.Map<unknown>).get('text')!.toString()).toBe(expected)
    const tail = await C.catchUp(head - 5)
    expect(tail.head).toBe(head)
    expect(tail.rows.map((r) => r.seq)).toEqual(all.rows.slice(-5).map((r) => r.seq))
    // (compared as buffers: a deep equality of 900 kB arrays takes seconds)
    tail.rows.forEach((r, i) => expect(Buffer.from(r.ciphertext).equals(Buffer.from(all.rows.at(i - 5)!.ciphertext))).toBe(true))
    expect(await C.catchUp(head)).toEqual({ rows: [], head })
    // a client that knows more than the server is told the server's head
    expect(await C.catchUp(head + 10)).toEqual({ rows: [], head })

    // a compaction: the whole state, sealed, is one more row; a newcomer needs only it
    const compacted = await C.sealAndWait(Y.encodeStateAsUpdate(fresh))
    expect(compacted).toBe(head + 1)
    const D = client(neg.tokens.negotiator.a!, 'D')
    const onlyIt = await D.catchUp(head)
    expect(onlyIt.rows.map((r) => r.seq)).toEqual([head + 1])
    const newcomer = new Y.Doc()
    Y.applyUpdate(newcomer, await D.open(onlyIt.rows[0]!))
    expect((newcomer.getMap('notes').get('n1') as Y.Map<unknown>).get('text')!.toString()).toBe(expected)
    // append-only: every row is still there
    expect(await server.parley.store.sealedHead(doc)).toBe(head + 1)
    expect((await server.parley.store.readSealed(doc, 0, 10_000)).length).toBe(head + 1)

    // a 200 sent right behind a 202 is answered after it: the 201s, the 203, then its receipt
    const E = client(a2, 'E')
    const answered = E.catchUp(0)
    await E.seal('after the catch-up')
    await answered
    await waitFor(() => E.receipts.length === 1, { what: 'receipt after the catch-up' })
    const order = E.frames.map((f) => decodeSealedServerMessage(f))
    expect(order.map((m) => m.type)).toEqual([...Array(head + 1).fill('relay'), 'head', 'receipt'])
    expect(order.at(-1)).toEqual({ type: 'receipt', seq: head + 2 })
    // D, live, got it as a 201
    await waitFor(() => D.relays.some((r) => r.seq === head + 2), { what: 'D gets the row live' })
    closeAll()
  })
})

describe('[SK5] malformed frames are refused with their code; everyone else is still served', () => {
  const updateFrame = (nonceBytes: number, ciphertextBytes: number) => {
    const e = encoding.createEncoder()
    encoding.writeVarUint(e, SealedMessageType.update)
    encoding.writeVarUint8Array(e, new Uint8Array(nonceBytes))
    encoding.writeVarUint8Array(e, new Uint8Array(ciphertextBytes))
    return encoding.toUint8Array(e)
  }

  it('4400: a wrong-size nonce, a Yjs message on a sealed doc, a sealed message on a Yjs doc, a server type, text; 4413: an oversized ciphertext', async () => {
    const A = client(neg.tokens.negotiator.a!, 'A')
    const B = client(a2, 'B')
    const head = (await A.catchUp(0)).head
    await B.catchUp(head)
    const cases: Array<[what: string, frame: Uint8Array | string, code: number, doc?: string]> = [
      ['an 11-byte nonce', updateFrame(11, 40), CloseCode.malformed],
      ['a 16-byte nonce', updateFrame(16, 40), CloseCode.malformed],
      ['a ciphertext shorter than its tag', updateFrame(12, 8), CloseCode.malformed],
      ['a ciphertext over the limit', updateFrame(12, SEALED_MAX_CIPHERTEXT_BYTES + 1), CloseCode.tooLarge],
      ['a Yjs sync step 1', syncMessage(SyncMessageType.step1, Y.encodeStateVector(new Y.Doc())), CloseCode.malformed],
      ['awareness', new Uint8Array([MessageType.awareness, 1, 0]), CloseCode.malformed],
      [
        'a 201 from a client',
        new Uint8Array([0xc9, 0x01, 1, 12, ...new Uint8Array(12), 16, ...new Uint8Array(16)]),
        CloseCode.malformed,
      ],
      ['a text frame', 'hello', CloseCode.malformed],
      ['a 200 on the board', updateFrame(12, 40), CloseCode.malformed, boardDocName(neg.id)],
      ['a 202 on the plain caucus', new Uint8Array([0xca, 0x01, 0]), CloseCode.malformed, caucusDocName(neg.id, 'a')],
    ]
    let served = 0
    for (const [what, frame, code, doc] of cases) {
      const bad = doc ? track(rawClient(server.wsUrl, doc, { token: a2, name: 'bad' })) : client(a2, 'bad')
      await bad.opened
      bad.send(frame)
      expect(await bad.closeCode(), what).toBe(code)
      // the others carry on: A writes, B gets it
      await A.seal(`still here ${served}`)
      served++
      await waitFor(() => B.relays.length === served, { what: `B served after ${what}` })
    }
    expect(A.receipts).toEqual(B.relays.map((r) => r.seq))
    expect(await A.closeCode(100)).toBe('open')
    expect(await B.closeCode(100)).toBe('open')
    closeAll()
  })
})

describe('[SK6] never folded into the history, the versions, the exports or a Yjs room', () => {
  it('the negotiation has no version of it, exports never name it, the update log and the rooms never hold it', async () => {
    const A = client(neg.tokens.negotiator.a!, 'A')
    await A.catchUp(0)
    await A.sealAndWait('not for the record')
    const auth = { token: neg.tokens.reviewer }
    const versions = (await (await server.api(`/api/negotiations/${neg.id}/versions`, auth)).json()) as { versions: unknown[] }
    expect(versions.versions).toEqual([])
    for (const format of ['json', 'md', 'html']) {
      const res = await server.api(`/api/negotiations/${neg.id}/export?format=${format}`, auth)
      expect(res.status).toBe(200)
      const body = await res.text()
      expect(body).not.toContain(`${neg.id}/sealed`)
      expect(body).not.toContain('not for the record')
    }
    expect(server.parley.registry.peek(sealedA())).toBeUndefined()
    expect(await server.parley.store.readUpdates(sealedA(), 0)).toEqual([])
    expect((await server.parley.store.chainHead(sealedA())).seq).toBe(0)
    closeAll()
  })
})

describe('[SK7] rate limits: the token budget is shared by its connections', () => {
  it("two connections of one token over the token's budget: 4429; another token's connection is still served", async () => {
    // burst: the larger of twice the rate and one largest update = 20 small sealed rows per token
    const limited = await startServer({ env: { PARLEY_RATE_STRUCTS: '10', PARLEY_MAX_STRUCTS_PER_UPDATE: '20' } })
    try {
      const n = await limited.createNegotiation()
      const other = (await mintToken(limited, n.id, { role: 'negotiator', party: 'a' })).token
      const doc = sealedDocName(n.id, 'a')
      const one = track(sealedClient(limited.wsUrl, doc, n.tokens.negotiator.a!, key, { name: 'one' }))
      const two = track(sealedClient(limited.wsUrl, doc, n.tokens.negotiator.a!, key, { name: 'two' }))
      const calm = track(sealedClient(limited.wsUrl, doc, other, key, { name: 'calm' }))
      await Promise.all([one.catchUp(0), two.catchUp(0), calm.catchUp(0)])
      // each alone stays under the burst; together they are over it
      await Promise.all(Array.from({ length: 15 }, (_, i) => [one.seal(`one ${i}`), two.seal(`two ${i}`)]).flat())
      const codes = await Promise.all([one.closeCode(5000), two.closeCode(5000)])
      expect(codes).toContain(CloseCode.rateLimited)
      for (let i = 0; i < 5; i++) await calm.sealAndWait(`calm ${i}`)
      expect(calm.receipts).toHaveLength(5)
    } finally {
      closeAll()
      await limited.close({ wipe: true })
    }
  })
})

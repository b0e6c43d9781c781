/**
 * The ledger writer (server/negotiation/ledgerWriter.ts) on its own, around
 * two in-memory rooms, with two delegations' peers relaying their updates
 * through the board doc as the room does (one transaction per client
 * update, origin `connection` with the party's author). Board docs with
 * Yjs's gc on (as the server's) and off.
 *
 * [BW1] a term removed by a party that may not remove it is put back with its full last text and
 *       position, even when long and edited by both sides just before;
 * [BW2] termBefore reads a term as it stood before any transaction — random edits of several
 *       clients in one transaction, inserts deleted again, replaced texts, moves, removals;
 * [BW3] an edit of a term that is not agreed reads no text (Y.Text serialisers are counted); an
 *       edit of an agreed term does, and queues its reopen.
 * [BW4] brackets: a keystroke in a term without brackets queues no recount of its open groups; a
 *       `[` or `]` typed or deleted does, and so does any edit of a term that holds groups; the
 *       recount reads each queued term once per interval and writes only a changed count.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import { LedgerWriter, type LedgerWriterHost } from '../../server/negotiation/ledgerWriter'
import { termBefore } from '../../server/yjs/termBefore'
import type { Room } from '../../server/sync/room'
import type { Author } from '../../server/store/types'
import { board, bracketsOf, insertTerm, readStatus, termText, writeStatus, type NewTerm } from '../../shared/docLayout'
import { applyMove } from '../../shared/negotiation'
import { prng } from '../helpers/prng'

const PARTIES = ['a', 'b'] as const
type Party = (typeof PARTIES)[number]
const REMOTE = Symbol('remote')

interface FakeRoom {
  name: string
  doc: Y.Doc
  addListener(): void
  serverWrite(author: Author, change: (doc: Y.Doc) => void, meta?: unknown): Promise<number> | null
}

function fakeRoom(name: string, gc: boolean): FakeRoom {
  const doc = new Y.Doc({ gc })
  let seq = 0
  return {
    name,
    doc,
    addListener() {},
    serverWrite(author, change, meta) {
      Y.transact(doc, () => change(doc), { source: 'server', author, meta })
      return Promise.resolve(++seq)
    },
  }
}

/** A negotiation of two delegations a and b: board and ledger rooms, the watcher, a peer per party. */
async function negotiation(gc: boolean) {
  const boardRoom = fakeRoom('n1/board', gc)
  const ledgerRoom = fakeRoom('n1/ledger', gc)
  const reopens: string[] = []
  const host: LedgerWriterHost = {
    partiesOf: async () => PARTIES.map((id) => ({ id })),
    reopensDue: () => void reopens.push('due'),
  }
  const watcher = new LedgerWriter(host, () => 1)
  // Bracket recounts are [BW4]'s: elsewhere their timer (a term's creation reads its text once, later)
  // would fire in another test and count there.
  watcher.bracketRecountMs = 600_000
  await watcher.watch(boardRoom as unknown as Room, ledgerRoom as unknown as Room)
  const origins = Object.fromEntries(
    PARTIES.map((p) => {
      const author: Author = { user: `user-${p}`, party: p, role: 'negotiator', conn: `conn-${p}` }
      return [p, { source: 'connection', conn: { id: `conn-${p}` }, author }]
    }),
  ) as Record<Party, object>
  const peers = {} as Record<Party, Y.Doc>
  for (const [i, p] of PARTIES.entries()) {
    const doc = new Y.Doc()
    doc.clientID = 100 + i
    // Each update of a peer is one transaction on the board, as the room applies it.
    doc.on('update', (u: Uint8Array, origin: unknown) => {
      if (origin !== REMOTE) Y.applyUpdate(boardRoom.doc, u, origins[p])
    })
    peers[p] = doc
  }
  // The room relays every board change to the peers that did not send it.
  boardRoom.doc.on('update', (u: Uint8Array, origin: unknown) => {
    for (const p of PARTIES) if (origin !== origins[p]) Y.applyUpdate(peers[p], u, REMOTE)
  })
  return { boardRoom, ledgerRoom, peers, reopens, origins, watcher }
}

const body = (doc: Y.Doc, termId: string) => board(doc).terms.get(termId)!.get('body') as Y.Text
const title = (doc: Y.Doc, termId: string) => board(doc).terms.get(termId)!.get('title') as Y.Text
const settle = () => new Promise<void>((resolve) => setImmediate(resolve))

/** Both delegations type in turns at random places, one keystroke per update, one in ten a backspace. */
function typeInTurns(peers: Record<Party, Y.Doc>, termId: string, keystrokes: number, rand: () => number): void {
  const text = 'The requested party shall surrender the person sought within thirty days. Срок — مفاوضات. '
  for (let i = 0; i < keystrokes; i++) {
    const doc = peers[PARTIES[i % 2]!]
    const t = rand() < 0.1 ? title(doc, termId) : body(doc, termId)
    if (t.length > 0 && rand() < 0.1) t.delete(Math.floor(rand() * t.length), 1)
    else t.insert(Math.floor(rand() * (t.length + 1)), text[i % text.length]!)
  }
}

function snapshot(doc: Y.Doc, termId: string): NewTerm {
  const m = board(doc).terms.get(termId)!
  const num = (k: string) => (typeof m.get(k) === 'number' ? (m.get(k) as number) : 0)
  return { ...termText(doc, termId)!, x: num('x'), y: num('y') }
}

describe.each([true, false])('ledger writer, board doc with gc %s', (gc) => {
  it('[BW1] a term removed by a party that may not remove it is put back with its full last text', async () => {
    const { boardRoom, ledgerRoom, peers } = await negotiation(gc)
    const rand = prng(7)
    peers.a.transact(() => insertTerm(peers.a, 't1', { title: 'Surrender', body: '', x: 40, y: 40 }))
    expect(readStatus(ledgerRoom.doc, 't1')).toMatchObject({ state: 'proposed', proposedBy: 'a' })
    // Long, and fragmented as people write: both delegations typing at random places.
    typeInTurns(peers, 't1', 4000, rand)
    expect(body(boardRoom.doc, 't1').length).toBeGreaterThan(2500)
    // Both sides edit just before the removal; a moves the card.
    body(peers.a, 't1').insert(17, 'AAA')
    body(peers.b, 't1').insert(body(peers.b, 't1').length - 5, 'BBB')
    body(peers.b, 't1').delete(100, 3)
    title(peers.a, 't1').insert(0, 'Art. 4 ')
    peers.a.transact(() => board(peers.a).terms.get('t1')!.set('x', 321))
    const last = snapshot(boardRoom.doc, 't1')
    expect(last.body).toContain('AAA')
    expect(last.body).toContain('BBB')

    // b did not propose t1: its removal is put back, with every character of the last text.
    peers.b.transact(() => board(peers.b).terms.delete('t1'))
    expect(board(boardRoom.doc).terms.has('t1')).toBe(false)
    await settle()
    expect(snapshot(boardRoom.doc, 't1')).toEqual(last)
    expect(snapshot(peers.b, 't1')).toEqual(last)
    expect(snapshot(peers.a, 't1')).toEqual(last)
    expect(readStatus(ledgerRoom.doc, 't1')!.state).toBe('proposed')

    // The put-back term is typed into and put back again; its proposer's removal withdraws it.
    typeInTurns(peers, 't1', 200, rand)
    const again = snapshot(boardRoom.doc, 't1')
    peers.b.transact(() => board(peers.b).terms.delete('t1'))
    await settle()
    expect(snapshot(boardRoom.doc, 't1')).toEqual(again)
    peers.a.transact(() => board(peers.a).terms.delete('t1'))
    await settle()
    expect(board(boardRoom.doc).terms.has('t1')).toBe(false)
    expect(readStatus(ledgerRoom.doc, 't1')!.state).toBe('withdrawn')
  })

  it('[BW1] an agreed term removed even by its proposer is put back with its last text', async () => {
    const { boardRoom, ledgerRoom, peers } = await negotiation(gc)
    peers.a.transact(() => insertTerm(peers.a, 't2', { title: 'Costs', body: 'Each party bears its own costs.', x: 5, y: 6 }))
    typeInTurns(peers, 't2', 1000, prng(3))
    const last = snapshot(boardRoom.doc, 't2')
    agree(ledgerRoom.doc, 't2', last)
    peers.a.transact(() => board(peers.a).terms.delete('t2'))
    await settle()
    expect(snapshot(boardRoom.doc, 't2')).toEqual(last)
    expect(readStatus(ledgerRoom.doc, 't2')!.state).toBe('agreed')
  })

  it('[BW2] termBefore reads every term as it stood before any transaction (seeded, random)', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rand = prng(seed)
      const server = new Y.Doc({ gc })
      const peers = [0, 1, 2].map((i) => {
        const d = new Y.Doc({ gc })
        d.clientID = 10 + i
        return d
      })
      const syncAll = () => {
        for (const p of peers) Y.applyUpdate(p, Y.encodeStateAsUpdate(server, Y.encodeStateVector(p)))
      }
      server.clientID = 1
      server.transact(() => {
        for (const id of ['t0', 't1', 't2']) insertTerm(server, id, { title: `Title ${id}`, body: 'Opening text. ', x: 1, y: 2 })
      })
      syncAll()
      let checked = 0
      let before = new Map<string, { map: Y.Map<unknown>; term: NewTerm }>()
      const failures: string[] = []
      board(server).terms.observeDeep((_events, txn) => {
        for (const [id, b] of before) {
          const got = termBefore(b.map, txn)
          if (JSON.stringify(got) !== JSON.stringify(b.term))
            failures.push(`seed ${seed} ${id}: ${JSON.stringify(got)} ≠ ${JSON.stringify(b.term)}`)
          checked++
        }
      })
      for (let step = 0; step < 60; step++) {
        before = new Map()
        board(server).terms.forEach((m, id) => before.set(id, { map: m, term: snapshot(server, id) }))
        if (rand() < 0.3) {
          // a transaction of the server's own, mixing old and new content
          server.transact(() => randomEdits(server, rand))
        } else {
          // Some peers edit offline; their updates reach the server merged into one transaction.
          const updates: Uint8Array[] = []
          for (const p of peers) {
            if (updates.length > 0 && rand() < 0.4) continue
            const sv = Y.encodeStateVector(p)
            randomEdits(p, rand)
            updates.push(Y.encodeStateAsUpdate(p, sv))
          }
          Y.applyUpdate(server, Y.mergeUpdates(updates))
        }
        syncAll()
        expect(server.store.pendingStructs).toBeNull()
        if (board(server).terms.size === 0) {
          before = new Map()
          server.transact(() => insertTerm(server, `n${step}`, { title: 'New', body: 'Fresh. ', x: 0, y: 0 }))
          syncAll()
        }
      }
      expect(failures.slice(0, 3)).toEqual([])
      expect(checked).toBeGreaterThan(50)
    }
  })

  it('[BW3] an edit of a term that is not agreed reads no text; an edit of an agreed term does', async () => {
    const { boardRoom, ledgerRoom, peers, reopens } = await negotiation(gc)
    const rand = prng(11)
    peers.a.transact(() => insertTerm(peers.a, 'long', { title: 'Annex', body: '', x: 0, y: 0 }))
    peers.b.transact(() => insertTerm(peers.b, 'agreed', { title: 'Costs', body: 'Each party bears its own costs.', x: 0, y: 0 }))
    typeInTurns(peers, 'long', 5000, rand)
    agree(ledgerRoom.doc, 'agreed', termText(boardRoom.doc, 'agreed')!)

    let reads = countTextReads()
    typeInTurns(peers, 'long', 300, rand)
    peers.b.transact(() => board(peers.b).terms.get('long')!.set('y', 99))
    expect(reads()).toBe(0)

    // A removal by b, put back: read from the removed items, not by serialising the term.
    vi.restoreAllMocks()
    const last = snapshot(boardRoom.doc, 'long')
    reads = countTextReads()
    peers.b.transact(() => board(peers.b).terms.delete('long'))
    await settle()
    expect(reads()).toBe(0)
    expect(snapshot(boardRoom.doc, 'long')).toEqual(last)

    // The counter does see the watcher's reads: an edit of an agreed term reads its title and body.
    vi.restoreAllMocks()
    reads = countTextReads()
    body(peers.a, 'agreed').insert(0, 'Unless agreed otherwise, ')
    expect(reads()).toBe(2)
    expect(reopens.length).toBeGreaterThan(0)
  })
})

describe('[BW4] bracket counts', () => {
  it('[BW4] only bracket keystrokes, and edits of bracketed terms, queue a recount; the count is written when it changed', async () => {
    const { boardRoom, ledgerRoom, peers, watcher } = await negotiation(true)
    watcher.bracketRecountMs = 100
    const room = boardRoom as unknown as Room
    peers.a.transact(() => insertTerm(peers.a, 'plain', { title: 'Costs', body: 'Each party bears its own costs.', x: 0, y: 0 }))
    expect([...watcher.pendingRecounts(room)]).toEqual(['plain'])
    await new Promise((r) => setTimeout(r, watcher.bracketRecountMs + 50))
    expect(watcher.pendingRecounts(room).size).toBe(0)
    expect(bracketsOf(ledgerRoom.doc, 'plain')).toBe(0)

    body(peers.b, 'plain').insert(5, 'x')
    expect(watcher.pendingRecounts(room).size).toBe(0)
    body(peers.b, 'plain').insert(0, '[Each][Every] ')
    expect([...watcher.pendingRecounts(room)]).toEqual(['plain'])
    await new Promise((r) => setTimeout(r, watcher.bracketRecountMs + 50))
    expect(bracketsOf(ledgerRoom.doc, 'plain')).toBe(1)
    // Held groups: any edit queues (text typed between `][` splits the group in two).
    body(peers.a, 'plain').insert(6, ' or ')
    expect([...watcher.pendingRecounts(room)]).toEqual(['plain'])
    await new Promise((r) => setTimeout(r, watcher.bracketRecountMs + 50))
    expect(bracketsOf(ledgerRoom.doc, 'plain')).toBe(2)
    // Deleting a bracket is seen from the deleted items.
    const t = body(peers.a, 'plain')
    t.delete(t.toString().indexOf('['), 1)
    t.delete(t.toString().indexOf('['), 1)
    await new Promise((r) => setTimeout(r, watcher.bracketRecountMs + 50))
    expect(bracketsOf(ledgerRoom.doc, 'plain')).toBe(0)
    body(peers.b, 'plain').insert(0, 'y')
    expect(watcher.pendingRecounts(room).size).toBe(0)
  })
})

/** Marks a term agreed by both parties on `text`, as the ledger would hold it. */
function agree(ledgerDoc: Y.Doc, termId: string, text: { title: string; body: string }): void {
  let s = readStatus(ledgerDoc, termId)!
  for (const party of PARTIES) s = applyMove(s, { kind: 'accept', party, text }, [...PARTIES], 2).status
  expect(s.state).toBe('agreed')
  ledgerDoc.transact(() => writeStatus(ledgerDoc, termId, s))
}

/** Counts calls of every Y.Text serialiser from now on; the returned function reads the count. */
function countTextReads(): () => number {
  const spies = [
    // toString is an own method of Y.Text.prototype, but its type comes from Object
    vi.spyOn(Y.Text.prototype as { toString(): string }, 'toString'),
    vi.spyOn(Y.Text.prototype, 'toJSON'),
    vi.spyOn(Y.Text.prototype, 'toDelta'),
    vi.spyOn(Y.Map.prototype, 'toJSON'),
  ]
  return () => spies.reduce((n, s) => n + s.mock.calls.length, 0)
}

afterEach(() => {
  vi.restoreAllMocks()
})

/** A few random edits of a doc's terms in one transaction: typing, deleting (also what was just typed), retitling, moving, removing. */
function randomEdits(doc: Y.Doc, rand: () => number): void {
  doc.transact(() => {
    const n = 1 + Math.floor(rand() * 6)
    for (let i = 0; i < n; i++) {
      const ids = [...board(doc).terms.keys()]
      if (ids.length === 0) return
      const id = ids[Math.floor(rand() * ids.length)]!
      const m = board(doc).terms.get(id)!
      const r = rand()
      const t = m.get(rand() < 0.25 ? 'title' : 'body')
      if (r < 0.45 && t instanceof Y.Text) t.insert(Math.floor(rand() * (t.length + 1)), rand() < 0.5 ? 'xy' : 'Ж')
      else if (r < 0.75 && t instanceof Y.Text && t.length > 0) {
        const at = Math.floor(rand() * t.length)
        t.delete(at, Math.min(t.length - at, 1 + Math.floor(rand() * 4)))
      } else if (r < 0.82) m.set('title', new Y.Text(`Retitled ${Math.floor(rand() * 100)}`))
      else if (r < 0.92) m.set(rand() < 0.5 ? 'x' : 'y', Math.floor(rand() * 1000))
      else if (r < 0.97) board(doc).terms.delete(id)
      else m.set('body', `plain ${Math.floor(rand() * 10)}`)
    }
  })
}

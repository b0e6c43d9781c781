/**
 * The sealed room's ordering (server/sync/sealedRoom.ts) without sockets: rows
 * arriving out of order (another instance's over Redis, this instance's
 * commits, reads of the store) reach every connection in seq order, each once —
 * as a 201, or as its sender's receipt — and a catch-up (202) keeps that order
 * while rows are relayed around it. The store and the group commit are fakes
 * the test drives step by step.
 */
import { describe, expect, it } from 'vitest'
import { CloseCode } from '../../shared/protocol'
import { decodeSealedServerMessage, type SealedServerMessage } from '../../shared/sealed'
import { Connection } from '../../server/sync/connection'
import { SealedRoom, type SealedWrite } from '../../server/sync/sealedRoom'
import type { Peer } from '../../server/sync/peer'
import type { StoredSealed } from '../../server/store/types'

const DOC = 'n1/sealed/a'

/** The socket side of a Connection: what it was sent, decoded, and how it was closed. */
function fakeSocket() {
  const got: SealedServerMessage[] = []
  const ws = {
    readyState: 1,
    bufferedAmount: 0,
    closedWith: null as number | null,
    send(m: Uint8Array) {
      got.push(decodeSealedServerMessage(new Uint8Array(m)))
    },
    close(code: number) {
      ws.closedWith = code
    },
    terminate() {},
    ping() {},
  }
  return { ws, got }
}

const peer = (user: string): Peer => ({
  user,
  party: 'a',
  role: 'negotiator',
  ownerKey: `jti:${user}`,
  relayAwareness: true,
  structBudgeted: true,
  tokenId: `jti-${user}`,
  expiresAt: null,
  scope: 'n1',
})

function connection(user: string) {
  const { ws, got } = fakeSocket()
  const conn = new Connection(ws as never, DOC, peer(user), 'write', false, {
    messagesPerSecond: 1000,
    bytesPerSecond: 1 << 30,
    maxBufferedBytes: 1 << 30,
  })
  return { conn, ws, got, seqs: () => got.flatMap((m) => (m.type === 'head' ? [] : [m.seq])) }
}

const nonce = (tag: number) => new Uint8Array(12).fill(tag)
const cipher = (tag: number) => new Uint8Array(20).fill(tag)
const tick = () => new Promise((r) => setTimeout(r, 0))

/** A store of sealed rows and a commit the test answers by hand. */
function harness() {
  const stored: StoredSealed[] = []
  const commits: SealedWrite[] = []
  let reads = 0
  const room = new SealedRoom(DOC, {
    async readSealed(_doc, afterSeq, limit) {
      reads++
      await tick()
      return stored.filter((r) => r.seq > afterSeq).slice(0, limit)
    },
    commit: (w) => commits.push(w),
    storeWritable: () => true,
    now: () => 1000,
    log: () => {},
  })
  const store = (seq: number, tag: number, conn = 'elsewhere') =>
    stored.push({
      doc: DOC,
      seq,
      at: 1,
      author: { user: 'x', party: 'a', role: 'negotiator', conn },
      nonce: nonce(tag),
      ciphertext: cipher(tag),
    })
  return { room, stored, commits, store, reads: () => reads }
}

describe('[SK9] the sealed room relays in seq order, each row once', () => {
  it("another instance's row above a gap waits; the store fills the gap; then both go out in order", async () => {
    const { room, store } = harness()
    room.start(0)
    const b = connection('B')
    room.join(b.conn)
    store(1, 1)
    store(2, 2)
    room.receiveStored([{ seq: 2, nonce: nonce(2), ciphertext: cipher(2) }])
    expect(b.got).toEqual([]) // 1 is missing: 2 waits
    await tick()
    await tick()
    expect(b.seqs()).toEqual([1, 2])
    // the same rows again (Redis after the read): nothing twice
    room.receiveStored([
      { seq: 1, nonce: nonce(1), ciphertext: cipher(1) },
      { seq: 2, nonce: nonce(2), ciphertext: cipher(2) },
    ])
    expect(b.seqs()).toEqual([1, 2])
    expect(room.head).toBe(2)
  })

  it("this instance's own row, read back from the store before its commit answered, reaches its sender as a receipt, once", async () => {
    const { room, store, commits } = harness()
    room.start(0)
    const a = connection('A')
    const b = connection('B')
    room.join(a.conn)
    room.join(b.conn)
    room.receive(a.conn, { type: 'update', nonce: nonce(7), ciphertext: cipher(7) })
    expect(commits).toHaveLength(1)
    // another instance committed 1 and 3; A's row became 2; A's commit has not answered yet
    store(1, 1)
    store(2, 7, a.conn.id)
    store(3, 3)
    room.receiveStored([{ seq: 3, nonce: nonce(3), ciphertext: cipher(3) }])
    await tick()
    await tick()
    expect(a.got.map((m) => m.type)).toEqual(['relay', 'receipt', 'relay'])
    expect(a.seqs()).toEqual([1, 2, 3])
    expect(b.got.map((m) => m.type)).toEqual(['relay', 'relay', 'relay'])
    // the commit answers at last: nothing more to send
    room.committed(commits[0]!, 2)
    expect(a.got).toHaveLength(3)
    expect(b.got).toHaveLength(3)
  })

  it('a commit answered in order: 201 to the others, a receipt to the sender, never an echo', () => {
    const { room, commits } = harness()
    room.start(5)
    const a = connection('A')
    const b = connection('B')
    room.join(a.conn)
    room.join(b.conn)
    room.receive(a.conn, { type: 'update', nonce: nonce(1), ciphertext: cipher(1) })
    room.receive(b.conn, { type: 'update', nonce: nonce(2), ciphertext: cipher(2) })
    expect(commits.map((c) => c.author.conn)).toEqual([a.conn.id, b.conn.id])
    expect(commits[0]!.author).toMatchObject({ user: 'A', party: 'a', role: 'negotiator' })
    room.committed(commits[0]!, 6)
    room.committed(commits[1]!, 7)
    expect(a.got).toEqual([
      { type: 'receipt', seq: 6 },
      { type: 'relay', seq: 7, nonce: nonce(2), ciphertext: cipher(2) },
    ])
    expect(b.got).toEqual([
      { type: 'relay', seq: 6, nonce: nonce(1), ciphertext: cipher(1) },
      { type: 'receipt', seq: 7 },
    ])
  })

  it('a catch-up keeps the order: its 201s, then the 203, then what was relayed meanwhile; its own later 200 waits for it', async () => {
    const { room, store, commits } = harness()
    for (let s = 1; s <= 3; s++) store(s, s)
    room.start(3)
    const a = connection('A')
    const b = connection('B')
    room.join(a.conn)
    room.join(b.conn)
    room.receive(b.conn, { type: 'catch-up', afterSeq: 1 })
    room.receive(b.conn, { type: 'update', nonce: nonce(9), ciphertext: cipher(9) })
    expect(commits).toHaveLength(0) // held behind the catch-up
    // A writes while B's catch-up is reading
    room.receive(a.conn, { type: 'update', nonce: nonce(4), ciphertext: cipher(4) })
    store(4, 4, a.conn.id)
    room.committed(commits[0]!, 4)
    expect(a.got).toEqual([{ type: 'receipt', seq: 4 }])
    for (let i = 0; i < 5; i++) await tick()
    expect(b.got.map((m) => (m.type === 'head' ? `203:${m.headSeq}` : `${m.type}:${m.seq}`))).toEqual([
      'relay:2',
      'relay:3',
      'relay:4',
      '203:4',
    ])
    // B's 200 went to the commit once the catch-up ended
    expect(commits).toHaveLength(2)
    room.committed(commits[1]!, 5)
    expect(b.got.at(-1)).toEqual({ type: 'receipt', seq: 5 })
    expect(a.got.at(-1)).toEqual({ type: 'relay', seq: 5, nonce: nonce(9), ciphertext: cipher(9) })
  })

  it('a catch-up from the head does not read the store; a failed commit closes its sender with 4503 and the store is read for the row', async () => {
    const { room, commits, reads, store } = harness()
    room.start(2)
    const a = connection('A')
    const b = connection('B')
    room.join(a.conn)
    room.join(b.conn)
    room.receive(b.conn, { type: 'catch-up', afterSeq: 2 })
    await tick()
    expect(b.got).toEqual([{ type: 'head', headSeq: 2 }])
    expect(reads()).toBe(0)
    room.receive(a.conn, { type: 'update', nonce: nonce(3), ciphertext: cipher(3) })
    // the COMMIT's answer was lost, but it landed
    store(3, 3, a.conn.id)
    room.commitFailed(commits[0]!)
    expect(a.ws.closedWith).toBe(CloseCode.storeUnavailable)
    for (let i = 0; i < 3; i++) await tick()
    expect(b.got.at(-1)).toEqual({ type: 'relay', seq: 3, nonce: nonce(3), ciphertext: cipher(3) })
  })
})

/**
 * Checkpoint reconstruction (issue #2, DESIGN.md "History"): a doc rebuilt
 * from the newest checkpoint at or before a seq plus the tail after it — or
 * from the log's start, before the two checkpoints the store keeps — equals
 * the doc rebuilt from the whole log up to that seq — content and state
 * vector — for every seq, on a log written by several concurrent writers with
 * deletions (so checkpoints hold garbage-collected state).
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { SqliteStore } from '../../server/store/sqlite'
import { docAt } from '../../server/history/reconstruct'
import type { Author, Store } from '../../server/store/types'
import { prng } from '../helpers/prng'

const DOC = 'neg/board'
const CHECKPOINT_EVERY = 7

const contentOf = (doc: Y.Doc) => ({
  text: doc.getText('body').toString(),
  terms: doc.getMap('terms').toJSON(),
  order: doc.getArray('order').toJSON(),
})

/**
 * Three writers edit concurrently and exchange updates now and then; the
 * "server" stores every update in the order it receives them and checkpoints
 * its own doc every few updates, as rooms do.
 */
async function writeHistory(store: Store, seed: number, steps: number): Promise<void> {
  const rand = prng(seed)
  const writers = [new Y.Doc(), new Y.Doc(), new Y.Doc()]
  const serverDoc = new Y.Doc({ gc: true })
  const outbox: Uint8Array[][] = writers.map(() => [])
  writers.forEach((w, i) => w.on('update', (u: Uint8Array, origin: unknown) => origin !== 'peer' && outbox[i]!.push(u)))
  const author = (i: number): Author => ({ user: `w${i}`, party: i === 0 ? 'a' : 'b', role: 'negotiator', conn: `c${i}` })
  let seq = 0
  const deliver = async (i: number) => {
    const updates = outbox[i]!.splice(0)
    if (updates.length === 0) return
    await store.appendUpdates(updates.map((update, k) => ({ doc: DOC, at: 1000 + seq + k, author: author(i), update })))
    for (const u of updates) {
      Y.applyUpdate(serverDoc, u)
      seq++
      if (seq % CHECKPOINT_EVERY === 0)
        await store.saveCheckpoint({ doc: DOC, seq, at: 1000 + seq, state: Y.encodeStateAsUpdate(serverDoc) })
      // the other writers hear about it only sometimes: their edits stay concurrent
      writers.forEach((w, j) => j !== i && rand() < 0.5 && Y.applyUpdate(w, u, 'peer'))
    }
  }
  for (let step = 0; step < steps; step++) {
    const i = Math.floor(rand() * writers.length)
    const w = writers[i]!
    const text = w.getText('body')
    const r = rand()
    if (r < 0.45 || text.length === 0) text.insert(Math.floor(rand() * (text.length + 1)), `w${i}s${step} `)
    else if (r < 0.7) text.delete(Math.floor(rand() * text.length), 1 + Math.floor(rand() * Math.min(6, text.length)))
    else if (r < 0.85) w.getMap('terms').set(`t${Math.floor(rand() * 5)}`, { by: i, step })
    else if (r < 0.95) w.getArray('order').insert(0, [`t${step}`])
    else if (w.getMap('terms').size > 0) w.getMap('terms').delete([...w.getMap('terms').keys()][0]!)
    if (rand() < 0.6) await deliver(i)
  }
  for (let i = 0; i < writers.length; i++) await deliver(i)
}

async function fromWholeLog(store: Store, seq: number): Promise<Y.Doc> {
  const doc = new Y.Doc({ gc: true })
  for (const r of await store.readUpdates(DOC, 0, seq)) Y.applyUpdate(doc, r.update)
  return doc
}

describe('checkpoint reconstruction', () => {
  for (const seed of [1, 42, 2024]) {
    it(`[H1] checkpoint + tail equals the whole log at every seq (seed ${seed})`, async () => {
      const store = new SqliteStore(':memory:')
      try {
        await writeHistory(store, seed, 160)
        const head = await store.headSeq(DOC)
        expect(head).toBeGreaterThan(3 * CHECKPOINT_EVERY)
        const latest = await store.latestCheckpoint(DOC)
        expect(latest!.seq).toBe(head - (head % CHECKPOINT_EVERY))
        const final = contentOf(await fromWholeLog(store, head))
        expect(final.text.length).toBeGreaterThan(20)
        expect(Object.keys(final.terms).length).toBeGreaterThan(0)

        for (let seq = 1; seq <= head; seq++) {
          const rebuilt = await docAt(store, DOC, seq)
          const reference = await fromWholeLog(store, seq)
          expect(contentOf(rebuilt), `content at seq ${seq}`).toEqual(contentOf(reference))
          expect(Y.encodeStateVector(rebuilt), `state vector at seq ${seq}`).toEqual(Y.encodeStateVector(reference))
        }
        // the room's load path: newest checkpoint plus the tail after it
        const loaded = new Y.Doc()
        Y.applyUpdate(loaded, latest!.state)
        for (const r of await store.readUpdates(DOC, latest!.seq)) Y.applyUpdate(loaded, r.update)
        expect(contentOf(loaded)).toEqual(contentOf(await fromWholeLog(store, head)))
      } finally {
        await store.close()
      }
    })
  }

  it('[H2] reconstruction reads only the tail after the newest kept checkpoint at or before the seq, else the log from its start', async () => {
    const store = new SqliteStore(':memory:')
    try {
      await writeHistory(store, 7, 120)
      // checkpoints are derived data: the store keeps the newest two
      const kept = (await store.listCheckpoints(DOC)).map((c) => c.seq)
      expect(kept).toHaveLength(2)
      expect(kept[1]! - kept[0]!).toBe(CHECKPOINT_EVERY)
      const reads: Array<[number, number | undefined]> = []
      const spy: Store = Object.create(store, {
        readUpdates: {
          value: (doc: string, after: number, upto?: number) => {
            reads.push([after, upto])
            return store.readUpdates(doc, after, upto)
          },
        },
      })
      await docAt(spy, DOC, kept[0]! + 4)
      expect(reads.splice(0)).toEqual([[kept[0]!, kept[0]! + 4]])
      // before the kept checkpoints (the one that was there is gone): from the start, and still right
      const early = 3 * CHECKPOINT_EVERY + 4
      const rebuilt = await docAt(spy, DOC, early)
      expect(reads).toEqual([[0, early]])
      expect(contentOf(rebuilt)).toEqual(contentOf(await fromWholeLog(store, early)))
    } finally {
      await store.close()
    }
  })
})

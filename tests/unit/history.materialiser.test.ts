/**
 * Issue #12 — the materialised history's blocks and snapshots
 * (server/history/materialiser.ts) against the plain fold of the same deltas:
 * [HM1] the state at any seq and the change between any two seqs equal
 * applying the rows one by one, whatever was flushed when; [HM2] a writer
 * resumed from what was stored (a restart mid-block, mid-level) goes on to
 * the same blocks; [HM3] covers are the largest aligned blocks.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  BlockWriter,
  FANOUT,
  HistoryReader,
  cover,
  span,
  type BlockKey,
  type HistorySource,
  type StoredBlock,
  type StoredSnapshot,
} from '../../server/history/materialiser'
import { applyBoard, emptyBoard, textOf, type BoardDelta, type BoardState } from '../../server/history/delta'
import type { LogDoc } from '../../server/history/logRows'

const SEED = Number(process.env.PARLEY_HISTORY_SEED ?? Date.now() % 2 ** 31)

/** An in-memory store of blocks and snapshots, as the stores keep them (a block replaces one with its key). */
class MemorySource implements HistorySource {
  blocks = new Map<string, StoredBlock>()
  snapshots: StoredSnapshot[] = []
  put(w: { blocks: StoredBlock[]; snapshots: StoredSnapshot[] }): void {
    for (const b of w.blocks) this.blocks.set(`${b.doc}/${b.level}/${b.start}`, b)
    this.snapshots.push(...w.snapshots)
  }
  async historyBlocks(_n: string, doc: LogDoc, keys: BlockKey[]): Promise<StoredBlock[]> {
    return keys.flatMap((k) => {
      const b = this.blocks.get(`${doc}/${k.level}/${k.start}`)
      return b ? [b] : []
    })
  }
  async historySnapshot(_n: string, doc: LogDoc, at: number): Promise<StoredSnapshot | null> {
    return this.snapshots.filter((s) => s.doc === doc && s.seq <= at).sort((a, b) => b.seq - a.seq)[0] ?? null
  }
  get bytes(): number {
    let n = 0
    for (const b of this.blocks.values()) n += b.data.byteLength
    for (const s of this.snapshots) n += s.data.byteLength
    return n
  }
}

/** A typing history: terms created, typed into at places, moved, sometimes removed and re-created. */
function typing(count: number, rand: () => number, removals = 0.01): BoardDelta[] {
  const out: BoardDelta[] = []
  let state = emptyBoard()
  for (let seq = 1; seq <= count; seq++) {
    const ids = Object.keys(state.terms)
    const party = rand() < 0.5 ? 'us' : 'ru'
    let d: BoardDelta
    const r = rand()
    // at most 60 terms, as on a real board (the order travels whole in each change of it)
    if (ids.length === 0 || (r < 0.02 && ids.length < 60)) {
      const id = `t-${seq}`
      d = {
        terms: { [id]: { present: true, title: [{ i: `Article ${seq}`, p: party, s: seq }], body: [], x: seq, y: 0 } },
        order: [...state.order, id],
      }
    } else {
      const id = ids[Math.floor(rand() * ids.length)]!
      const t = state.terms[id]!
      const len = textOf(t.body).length
      if (r < removals)
        d = { terms: { [id]: { cut: { p: party, s: seq }, present: false } }, order: state.order.filter((x) => x !== id) }
      else if (r < 0.08) d = { terms: { [id]: { x: Math.floor(rand() * 1000) } } }
      else if (r < 0.2 && len > 0) {
        const at = Math.floor(rand() * len)
        d = { terms: { [id]: { body: [at, { d: 1, p: party, s: seq }] } } }
      } else {
        const at = Math.floor(rand() * (len + 1))
        d = { terms: { [id]: { body: [at, { i: 'abcdefgh'[Math.floor(rand() * 8)]!, p: party, s: seq }] } } }
      }
    }
    out.push(d)
    state = applyBoard(state, d)
  }
  return out
}

const chars = (s: BoardState) =>
  Object.fromEntries(
    Object.entries(s.terms)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([id, t]) => [
        id,
        {
          title: t.title.flatMap((r) => [...r.t].map((c) => c + (r.p ?? '-'))).join(''),
          body: t.body.flatMap((r) => [...r.t].map((c) => c + (r.p ?? '-'))).join(''),
          x: t.x,
          y: t.y,
        },
      ]),
  )

function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('[HM3] covers', () => {
  it('use the largest aligned blocks, never past the ends, with partial level-1 blocks at both', () => {
    fc.assert(
      fc.property(fc.nat(200_000), fc.nat(200_000), (a, b) => {
        const [from, to] = a <= b ? [a, b] : [b, a]
        let c = from
        for (const p of cover(from, to)) {
          if (p.rows) {
            expect(p.level).toBe(1)
            expect(p.rows.after).toBe(c)
            c = p.rows.upTo
          } else {
            expect(p.start).toBe(c)
            expect(p.start % span(p.level)).toBe(0)
            c += span(p.level)
          }
        }
        expect(c).toBe(to)
        // never more than 15 blocks a level, plus the two ends
        expect(cover(from, to).length).toBeLessThanOrEqual(15 * 6 + 2)
      }),
      { seed: SEED },
    )
  })
})

describe('[HM1]/[HM2] states and changes from blocks and snapshots equal the rows one by one', () => {
  it('at random seqs and between random pairs, with flushes at random moments and restarts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3000 }),
        fc.nat(),
        fc.array(fc.nat(3000), { maxLength: 4 }),
        async (count, seed, restarts) => {
          const rand = prng(seed)
          const deltas = typing(count, rand)
          const states: BoardState[] = [emptyBoard()]
          for (const d of deltas) states.push(applyBoard(states[states.length - 1]!, d))
          const source = new MemorySource()
          let writer = BlockWriter.fresh('board')
          for (let i = 0; i < deltas.length; i++) {
            writer.add(i + 1, deltas[i]!)
            if (rand() < 0.05) source.put(writer.take())
            if (restarts.includes(i)) {
              source.put(writer.take())
              writer = await BlockWriter.resume(source, 'n', 'board', { ...writer.state })
            }
          }
          source.put(writer.take())
          const reader = new HistoryReader(source)
          for (let k = 0; k < 12; k++) {
            const seq = Math.floor(rand() * (count + 1))
            expect(chars((await reader.state('n', 'board', seq)) as BoardState), `state at ${seq}`).toEqual(chars(states[seq]!))
            const other = Math.floor(rand() * (count + 1))
            const [from, to] = seq <= other ? [seq, other] : [other, seq]
            const d = await reader.delta('n', 'board', from, to)
            expect(chars(d ? applyBoard(states[from]!, d as BoardDelta) : states[from]!), `${from} → ${to}`).toEqual(
              chars(states[to]!),
            )
          }
        },
      ),
      { numRuns: 40, seed: SEED },
    )
  }, 120_000)

  it('snapshots and blocks stay within a small multiple of the rows’ own size (linear storage)', async () => {
    const sizes: number[] = []
    for (const count of [4096, 16 * 4096]) {
      const deltas = typing(count, prng(7), 0.0005)
      const source = new MemorySource()
      const writer = BlockWriter.fresh('board')
      deltas.forEach((d, i) => writer.add(i + 1, d))
      source.put(writer.take())
      sizes.push(source.bytes)
    }
    // 16 times the rows: not much more than 16 times the bytes
    expect(sizes[1]! / sizes[0]!).toBeLessThan(16 * 1.6)
    expect(FANOUT).toBe(16)
  }, 120_000)
})

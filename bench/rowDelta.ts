/**
 * `node --import tsx bench/rowDelta.ts [keys]`: what the history's
 * row-delta step (server/history/rowDelta.ts) costs per keystroke, for a
 * 500- and a 50 000-character term typed in fragments by two delegations
 * (tests/helpers/typingRig.ts: runs of a few to a few hundred keystrokes at
 * one place, then a jump), so the term is many Yjs items, as in issue 12's
 * profile. Then, per size, `keys` keystrokes (default 4000) are timed: one
 * delegation typing at one place and taking back a quarter of it, then both
 * delegations typing at once, each at its own place. Every keystroke is one
 * log row.
 *
 * Printed per size: µs per keystroke of RowDeltas.apply (Y.applyUpdate plus
 * the delta), of a plain Y.applyUpdate of the same rows on a twin doc, their
 * difference (the delta step itself), items visited per keystroke, and for
 * comparison one Y.Text.toString() of the term (what the hot path cost per
 * keystroke before). Times are wall clock on a shared machine: compare the
 * two sizes within one run, not across runs.
 */
import { prng } from '../tests/helpers/prng'
import { TypingRig } from '../tests/helpers/typingRig'

const SIZES = [500, 50_000]
const SEED = 12

function itemsOf(rig: TypingRig): number {
  let n = 0
  for (let item = rig.body(rig.us)._start; item !== null; item = item.right) n++
  return n
}

function measure(chars: number, keys: number) {
  const rig = new TypingRig({ track: false, twin: true })
  const rand = prng(SEED)
  rig.fragment(chars, rand)
  const items = itemsOf(rig)
  const len = rig.body(rig.us).length
  // A jump first (not timed): each phase below starts where its delegation's typing goes on.
  let at = Math.floor(rand() * len)
  rig.type(rig.us, at++, 'q')
  let other = Math.floor(rand() * at)
  rig.type(rig.ru, other++, 'r')
  at++

  rig.nanos.rowDelta = 0n
  rig.nanos.plain = 0n
  const visited0 = rig.rows.stats().visited
  let rows = 0
  const typing = Math.floor(keys / 2)
  for (let k = 0; k < typing; k++, rows++) {
    rig.type(rig.us, at++, 'abcdefghij'[k % 10]!)
    if (k % 4 === 3) {
      rig.backspace(rig.us, at--)
      rows++
    }
  }
  while (rows < keys) {
    rig.type(rig.us, at++, 'u')
    rig.type(rig.ru, other++, 'r')
    at++ // ru types to the left of us
    rows += 2
  }
  const visited = rig.rows.stats().visited - visited0
  const body = rig.body(rig.us)
  const t0 = process.hrtime.bigint()
  const REPS = 200
  for (let i = 0; i < REPS; i++) body.toString()
  const toString = Number(process.hrtime.bigint() - t0) / REPS / 1000
  const out = {
    chars: len,
    items,
    rows,
    applyUs: Number(rig.nanos.rowDelta) / rows / 1000,
    plainUs: Number(rig.nanos.plain) / rows / 1000,
    visited: visited / rows,
    toStringUs: toString,
  }
  rig.destroy()
  return out
}

const keys = Number(process.argv[2] ?? 4000)
const ROUNDS = 5
console.log(
  `row-delta step per keystroke (${keys} keystrokes per size, median of ${ROUNDS} rounds, seed ${SEED}, node ${process.version})`,
)
for (const chars of SIZES) measure(chars, 1000) // warm up the JIT on both shapes
const results = new Map<number, Array<ReturnType<typeof measure>>>()
for (let round = 0; round < ROUNDS; round++) {
  for (const chars of SIZES) results.set(chars, [...(results.get(chars) ?? []), measure(chars, keys)])
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
console.log('chars    items  RowDeltas.apply  Y.applyUpdate  delta step  items visited  toString()')
for (const chars of SIZES) {
  const ms = results.get(chars)!
  const m = ms[0]!
  console.log(
    [
      String(m.chars).padEnd(7),
      String(m.items).padStart(6),
      `${median(ms.map((x) => x.applyUs)).toFixed(1)} µs`.padStart(16),
      `${median(ms.map((x) => x.plainUs)).toFixed(1)} µs`.padStart(14),
      `${median(ms.map((x) => x.applyUs - x.plainUs)).toFixed(1)} µs`.padStart(11),
      m.visited.toFixed(2).padStart(14),
      `${median(ms.map((x) => x.toStringUs)).toFixed(1)} µs`.padStart(11),
    ].join(' '),
  )
}

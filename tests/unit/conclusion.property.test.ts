/**
 * [CP1] No conclusion of anything but the text on the board (issue 17, item 6). Random
 * sequences of commands — term:accept (plain and ad referendum), term:confirm, term:reject,
 * term:withdraw, term:reopen, term:choose, package:accept (of the hash seen, a stale one, or
 * none), negotiation:initial — and board edits — typing (brackets too), erasing, retitling,
 * new terms, removals, reordering — from two delegations, run through the real server-side
 * pieces in this process (tests/helpers/historyStack.ts: the SQLite store, rooms, group
 * commit, ledger writer and negotiation service, with clients whose updates enter a room as a
 * connection's would). Some steps run two of these at once, an edit a few event-loop turns
 * behind a command (the last initial, above all). A "drive" step closes every open term,
 * accepts the package and initials, so that runs do conclude. Properties:
 *   - whenever the ledger says concluded: every package term's board text hashes (SHA-256,
 *     node:crypto) to its agreedHash, packageHashOf(board order, statuses) is the concluded
 *     hash, and so are the package's hash, every party's package acceptance and every
 *     party's initial;
 *   - once concluded, nothing changes: every command is refused `concluded`, every edit is
 *     refused, and both docs (their whole state) and both logs (their head seq) stay as they were.
 * Failing runs print their fast-check seed and path; replay with PARLEY_FUZZ_SEED=<seed>
 * (PARLEY_FUZZ_PATH=<path> for the shrunk case), run longer with PARLEY_FUZZ_RUNS=<n>.
 */
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as Y from 'yjs'
import { openBracketGroups } from '../../shared/brackets'
import { packageHashOf, packageTermIds } from '../../shared/conclusion'
import { boardDocName, ledgerDocName } from '../../shared/docNames'
import { allStatuses, board, readConclusion, readStatus, termOrder, termText } from '../../shared/docLayout'
import type { TermText } from '../../shared/negotiation'
import { ParleyError } from '../../server/errors'
import { startHistoryStack, type HistoryStack, type StackClient } from '../helpers/historyStack'

const RUNS = Number(process.env.PARLEY_FUZZ_RUNS ?? 30)
const SEED = process.env.PARLEY_FUZZ_SEED ? Number(process.env.PARLEY_FUZZ_SEED) : undefined
const PATH = process.env.PARLEY_FUZZ_PATH

const PARTIES = [
  { id: 'us', name: 'United States', color: '#1f5fbf' },
  { id: 'ru', name: 'Russian Federation', color: '#b3261e' },
]
const PARTY_IDS = PARTIES.map((p) => p.id)
const WORDS = ['30 ', 'days ', 'shall ', '[30][45] ', '[shall] ', '[', ']', ' and the victims', 'срок ']

// ── the steps ─────────────────────────────────────────────────────────────

const party = fc.nat(1)
const term = fc.nat(20)
const pos = fc.double({ min: 0, max: 1, noNaN: true })
const edit = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('type' as const), p: party, term, pos, text: fc.constantFrom(...WORDS) }) },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('erase' as const), p: party, term, pos, len: fc.integer({ min: 1, max: 6 }) }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('title' as const), p: party, term, text: fc.constantFrom(...WORDS) }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('add' as const), p: party, bracketed: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('remove' as const), p: party, term }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reorder' as const), p: party, term, to: fc.nat(6) }) },
)
const command = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('move' as const),
      p: party,
      term,
      kind: fc.constantFrom('accept', 'accept', 'adReferendum', 'confirm', 'reject', 'withdraw', 'reopen'),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('choose' as const), p: party, term, group: fc.nat(2), option: fc.nat(2) }) },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('package' as const), p: party, seen: fc.constantFrom('current', 'stale', 'none') }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('initial' as const), p: party }) },
)
type Simple = typeof edit | typeof command extends fc.Arbitrary<infer T> ? T : never
const simple: fc.Arbitrary<Simple> = fc.oneof(edit, command)
/** How far a drive goes: terms closed, package accepted by both, initialled by one, concluded. */
const stage = fc.constantFrom('terms' as const, 'package' as const, 'initial' as const, 'conclude' as const)
const drive = fc.record({
  t: fc.constant('drive' as const),
  to: stage,
  adReferendum: fc.boolean(),
  /** something done a few event-loop turns behind the drive's last command */
  interfere: fc.option(fc.record({ op: simple, ticks: fc.nat(12) }), { freq: 2 }),
})
const race = fc.record({ t: fc.constant('race' as const), a: simple, b: simple, ticks: fc.nat(12) })
const step = fc.oneof(
  { weight: 4, arbitrary: edit },
  { weight: 5, arbitrary: command },
  { weight: 2, arbitrary: drive },
  { weight: 2, arbitrary: race },
)
type Step = typeof step extends fc.Arbitrary<infer T> ? T : never

const scenario = fc.record({
  before: fc.array(step, { minLength: 2, maxLength: 14 }),
  /** drive to conclusion (as far as it gets) between the two parts */
  finish: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  after: fc.array(step, { minLength: 0, maxLength: 8 }),
})

// ── playing them ──────────────────────────────────────────────────────────

interface Run {
  s: HistoryStack
  clients: StackClient[]
  added: number
  /** error codes commands answered with (ok: null) */
  answers: Array<string | null>
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r))
}

/** A command's refusal code, null when it went through; anything but a ParleyError fails the run. */
async function answer(r: Run, f: () => Promise<unknown>): Promise<string | null> {
  try {
    await f()
    r.answers.push(null)
    return null
  } catch (err) {
    if (!(err instanceof ParleyError)) throw err
    r.answers.push(err.code)
    return err.code
  }
}

async function play(r: Run, o: Simple): Promise<string | null> {
  const { s } = r
  const c = r.clients[o.p]!
  const actor = s.actor(c.party, c.user)
  const b = (await s.board()).doc
  const l = (await s.ledger()).doc
  const onBoard = termOrder(b)
  const known = [...allStatuses(l).keys()].sort()
  const pick = (ids: string[], i: number) => (ids.length ? ids[i % ids.length]! : null)
  const textIn = (d: Y.Doc, id: string, key: 'title' | 'body') => {
    const t = board(d).terms.get(id)?.get(key)
    return t instanceof Y.Text ? t : null
  }
  switch (o.t) {
    case 'type': {
      const id = pick(onBoard, o.term)
      if (id)
        c.edit((d) => {
          const t = textIn(d, id, 'body')
          t?.insert(Math.floor(o.pos * (t.length + 1)), o.text)
        })
      return null
    }
    case 'erase': {
      const id = pick(onBoard, o.term)
      if (id)
        c.edit((d) => {
          const t = textIn(d, id, 'body')
          if (!t || t.length === 0) return
          const start = Math.min(Math.floor(o.pos * t.length), t.length - 1)
          t.delete(start, Math.min(o.len, t.length - start))
        })
      return null
    }
    case 'title': {
      const id = pick(onBoard, o.term)
      if (id)
        c.edit((d) => {
          const t = textIn(d, id, 'title')
          t?.insert(t.length, o.text)
        })
      return null
    }
    case 'add': {
      const n = ++r.added
      c.edit((d) => {
        const m = new Y.Map<unknown>()
        m.set('title', new Y.Text(`Article ${n}`))
        m.set('body', new Y.Text(o.bracketed ? `Each party [shall][may] ${n}.` : `Each party shall ${n}.`))
        m.set('x', 0)
        m.set('y', 0)
        board(d).terms.set(`t-new-${n}`, m)
        board(d).order.push([`t-new-${n}`])
      })
      return null
    }
    case 'remove': {
      const id = pick(onBoard, o.term)
      if (id) c.edit((d) => board(d).terms.delete(id))
      return null
    }
    case 'reorder': {
      const id = pick(onBoard, o.term)
      if (id)
        c.edit((d) => {
          const order = board(d).order
          const i = order.toArray().indexOf(id)
          if (i < 0) return
          order.delete(i, 1)
          order.insert(Math.min(o.to, order.length), [id])
        })
      return null
    }
    case 'move': {
      const id = pick(known, o.term)
      if (!id) return null
      if (o.kind === 'adReferendum')
        return answer(r, () =>
          s.service.move(actor, 'accept', id, undefined, { adReferendum: { principal: 'Capital', until: '2027-01-15' } }),
        )
      return answer(r, () => s.service.move(actor, o.kind as 'accept', id))
    }
    case 'choose': {
      const id = pick(known, o.term)
      return id ? answer(r, () => s.service.commands.choose(actor, id, o.group, o.option)) : null
    }
    case 'package': {
      const hash = readConclusion(l).package?.hash
      const seen = o.seen === 'current' ? hash : o.seen === 'stale' ? 'f'.repeat(64) : undefined
      return answer(r, () => s.service.conclusion.acceptPackage(actor, seen))
    }
    case 'initial':
      return answer(r, () => s.service.conclusion.initial(actor))
  }
}

/** Closes every open term (brackets chosen away, accepted by both), then goes on to `to`. */
async function driveTo(r: Run, o: Extract<Step, { t: 'drive' }>): Promise<void> {
  const { s } = r
  const [us, ru] = r.clients.map((c) => s.actor(c.party, c.user)) as [
    ReturnType<HistoryStack['actor']>,
    ReturnType<HistoryStack['actor']>,
  ]
  const b = (await s.board()).doc
  const l = (await s.ledger()).doc
  for (const id of [...allStatuses(l).keys()].sort()) {
    const state = readStatus(l, id)?.state
    if (!state || state === 'agreed' || state === 'withdrawn' || state === 'rejected') continue
    for (let i = 0; i < 6; i++) {
      const text = termText(b, id)
      if (!text || openBracketGroups(text) === 0) break
      if ((await answer(r, () => s.service.commands.choose(us, id, 0, i % 2))) !== null) break
    }
    await answer(r, () => s.service.move(us, 'accept', id))
    if (o.adReferendum) {
      await answer(r, () => s.service.move(ru, 'accept', id, undefined, { adReferendum: { principal: 'Moscow' } }))
      await answer(r, () => s.service.move(ru, 'confirm', id))
    } else await answer(r, () => s.service.move(ru, 'accept', id))
  }
  const last: Array<() => Promise<unknown>> = []
  if (o.to !== 'terms')
    last.push(
      () => s.service.conclusion.acceptPackage(us, undefined),
      () => s.service.conclusion.acceptPackage(ru, undefined),
    )
  if (o.to === 'initial' || o.to === 'conclude') last.push(() => s.service.conclusion.initial(ru))
  if (o.to === 'conclude') last.push(() => s.service.conclusion.initial(us))
  for (const [i, f] of last.entries()) {
    // The interference runs behind the drive's last command, a few event-loop turns late.
    if (i === last.length - 1 && o.interfere) {
      const { op, ticks } = o.interfere
      await Promise.all([answer(r, f), turns(ticks).then(() => play(r, op))])
    } else await answer(r, f)
  }
  if (last.length === 0 && o.interfere) await play(r, o.interfere.op)
}

async function run(r: Run, o: Step): Promise<void> {
  if (o.t === 'drive') return driveTo(r, o)
  if (o.t === 'race') {
    await Promise.all([play(r, o.a), turns(o.ticks).then(() => play(r, o.b))])
    return
  }
  await play(r, o)
}

// ── the property ──────────────────────────────────────────────────────────

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex')
const hashOf = (t: TermText) => sha256(`${t.title}\n${t.body}`)

/** Checks the conclusion against the board, when there is one; true when concluded. */
function checkConclusion(b: Y.Doc, l: Y.Doc, where: string): boolean {
  const c = readConclusion(l)
  if (!c.concluded) return false
  const hash = c.concluded.hash
  const statuses = allStatuses(l)
  const order = termOrder(b)
  const ids = packageTermIds(order, statuses)
  expect(ids.length, `${where}: a concluded package holds terms`).toBeGreaterThan(0)
  for (const id of ids) {
    const text = termText(b, id)
    expect(text, `${where}: package term ${id} is on the board`).not.toBeNull()
    expect(hashOf(text!), `${where}: the board text of ${id} is its agreed text`).toBe(statuses.get(id)!.agreedHash)
  }
  expect(packageHashOf(order, statuses), `${where}: the board's package is the concluded one`).toBe(hash)
  expect(sha256(ids.map((id) => statuses.get(id)!.agreedHash).join('\n'))).toBe(hash)
  expect(c.package?.hash, `${where}: meta.package`).toBe(hash)
  for (const p of PARTY_IDS) {
    expect(c.package?.acceptedBy[p], `${where}: ${p}'s package acceptance`).toBe(hash)
    expect(c.initials[p]?.hash, `${where}: ${p}'s initial`).toBe(hash)
  }
  return true
}

/** Everything a later step must leave as it is: both docs' whole state, both logs' heads. */
async function frozen(s: HistoryStack) {
  const [b, l] = [(await s.board()).doc, (await s.ledger()).doc]
  return {
    board: Buffer.from(Y.encodeStateAsUpdate(b)).toString('base64'),
    ledger: Buffer.from(Y.encodeStateAsUpdate(l)).toString('base64'),
    boardSeq: await s.store.headSeq(boardDocName(s.id)),
    ledgerSeq: await s.store.headSeq(ledgerDocName(s.id)),
  }
}

const tally = { runs: 0, concluded: 0, steps: 0, refusedAfter: 0 }

async function property({ before, finish, after }: { before: Step[]; finish: boolean; after: Step[] }): Promise<void> {
  const s = await startHistoryStack({
    parties: PARTIES,
    checkpointEvery: 20,
    terms: [
      { id: 't-deadline', title: 'Response deadline', body: 'Requests are answered within [30][45] days.' },
      { id: 't-scope', title: 'Scope', body: 'Ransomware operators named in a request.' },
      { id: 't-evidence', title: 'Evidence', body: 'A request includes the charging document.' },
    ],
  })
  try {
    const clients = [await s.client('us', 'Ann (US)'), await s.client('ru', 'Boris (RU)')]
    const r: Run = { s, clients, added: 0, answers: [] }
    const steps: Step[] = [
      ...before,
      ...(finish ? [{ t: 'drive', to: 'conclude', adReferendum: false, interfere: null } as Step] : []),
      ...after,
    ]
    let sealed: Awaited<ReturnType<typeof frozen>> | null = null
    let concludedHash: string | null = null
    for (const [i, o] of steps.entries()) {
      const wasConcluded = sealed !== null
      r.answers = []
      await run(r, o)
      await s.settle()
      tally.steps++
      const [b, l] = [(await s.board()).doc, (await s.ledger()).doc]
      const where = `after step ${i} (${o.t})`
      if (wasConcluded) {
        // Nothing moves: every command refused `concluded`, every edit refused, nothing stored.
        for (const a of r.answers) expect(a, `${where}: a command after conclusion`).toBe('concluded')
        tally.refusedAfter += r.answers.length
        expect(await frozen(s), `${where}: the docs and logs after conclusion`).toEqual(sealed)
        expect(readConclusion(l).concluded?.hash).toBe(concludedHash)
      }
      if (checkConclusion(b, l, where) && !sealed) {
        sealed = await frozen(s)
        concludedHash = readConclusion(l).concluded!.hash
      }
    }
    tally.runs++
    if (sealed) tally.concluded++
  } finally {
    await s.close()
  }
}

describe('concluding, under random commands and edits (in-process server)', () => {
  it(`[CP1] ${RUNS} runs: a concluded package is the board's text, bound and initialled by every party, and nothing moves after`, async () => {
    const started = Date.now()
    await fc.assert(fc.asyncProperty(scenario, property), {
      numRuns: RUNS,
      ...(SEED !== undefined ? { seed: SEED } : {}),
      ...(PATH ? { path: PATH } : {}),
    })
    console.info(
      `[CP1] ${tally.runs} runs (${tally.steps} steps) in ${Date.now() - started} ms: ${tally.concluded} concluded, ` +
        `${tally.refusedAfter} commands refused after conclusion`,
    )
    // Not vacuous: most runs drive to a conclusion.
    if (RUNS >= 6) expect(tally.concluded).toBeGreaterThan(0)
  }, 600_000)

  // Found by [CP1] (seed 1924949736, path 6:5:5:4:4:5:4:5:3:3:3:3:3:3:3:3): the last initial checked the board, then
  // awaited its initials write before writing `concluded`; a keystroke in that wait went onto the board (not yet
  // refused), voided the acceptances and reopened the term, and the negotiation concluded on a text nobody agreed.
  it('[CP1] regression: an edit a few turns behind the last initial is refused or prevents the conclusion', async () => {
    for (let ticks = 0; ticks <= 12; ticks++) {
      const erase = { t: 'erase' as const, p: 0, term: 0, pos: 0, len: 1 }
      await property({
        before: [{ t: 'drive', to: 'conclude', adReferendum: false, interfere: { op: erase, ticks } }],
        finish: false,
        after: [],
      })
    }
  }, 60_000)
})

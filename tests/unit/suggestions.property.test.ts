/**
 * [SG5] Suggestions under random interleavings (issue 15, item 4): two
 * delegations ('us' and 'ru', one negotiator each, two replicas each) and a
 * server replica share a term's body Y.Text. Random suggestion edits
 * (planSuggestedEdit + applySuggestedEdit, as the client's Suggest mode), plain
 * edits (applyPlainEdit) — both only where the client lets text go in
 * (insertionAllowed, asked as client/src/lib/editor/termSync.ts does, at the
 * end of the replaced range) — and decisions (decideSuggestion: accepting by the
 * other delegation, rejecting by anyone; mostly on the server's replica) interleave
 * with deliveries of updates between replicas: causal, as through the server,
 * otherwise in random order. Properties:
 *   - one at a time (every op delivered everywhere before the next): after every
 *     step the text, character by character with its suggestion, and its text
 *     without suggestions equal a model of the rules (shared/suggestEdit.ts's
 *     header; accept/reject per CONTRACT.md), which also says which edits are
 *     refused or change nothing; deciding every remaining suggestion leaves the
 *     model's text with every decision applied in order;
 *   - interleaved: once everything is delivered every replica holds the same
 *     delta and the same textWithoutSuggestions; once every remaining
 *     suggestion is decided (on several replicas at once) no suggestion is left
 *     anywhere and the replicas still agree;
 *   - always: no transaction writes a `suggestion` format item naming anyone
 *     but its author (each replica's updates decoded) — what the server refuses
 *     as forged-suggestion. A decision is the server's write, which the server
 *     does not check; Yjs's formatText restates the decided suggestion after its
 *     run where another one starts (redundant there): allowed, and counted;
 *   - no text inserted as a suggestion ends up plain unless an accept took it in
 *     (Yjs ids tracked) — except, when ops interleave, text typed on into one's
 *     own pending insertion, which carries it by position only: pinned below as
 *     a known gap, and counted. So are restatements Yjs writes typing at the
 *     end of a text whose last suggestion lost its end item to a concurrent
 *     decision (the second known gap), and characters left under a suggestion
 *     no edit of theirs gave them (Yjs's concurrent formatting; not asserted).
 * Counterexamples found are kept as REGRESSIONS. Failing runs print their
 * fast-check seed and path; replay with PARLEY_FUZZ_SEED=<seed> (straight to the
 * shrunk case: also PARLEY_FUZZ_PATH=<path>), run longer with PARLEY_FUZZ_RUNS=<n>.
 */
import { afterAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as Y from 'yjs'
import {
  SUGGESTION_KEY,
  decideSuggestion,
  hasPendingSuggestions,
  textWithoutSuggestions,
  type Suggestion,
} from '../../shared/suggestions'
import {
  applyPlainEdit,
  applySuggestedEdit,
  insertionAllowed,
  planSuggestedEdit,
  spansOf,
  type SuggestionAuthor,
} from '../../shared/suggestEdit'
import { prng } from '../helpers/prng'

const RUNS = Number(process.env.PARLEY_FUZZ_RUNS ?? 1000)
const SEED = process.env.PARLEY_FUZZ_SEED ? Number(process.env.PARLEY_FUZZ_SEED) : undefined
const PATH = process.env.PARLEY_FUZZ_PATH || undefined

const AUTHORS: readonly SuggestionAuthor[] = [
  { party: 'us', user: 'Carter' },
  { party: 'ru', user: 'Volkova' },
]
/** replicas 0–1 are us's, 2–3 ru's, 4 the server's (where decisions are written in the product) */
const REPLICAS = 5
const SERVER = 4
const replicaOf = (who: number, rep: number) => who * 2 + rep

// ---------------------------------------------------------------------------------------------
// Operations

const who = fc.nat(1)
const short = fc.string({ unit: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'x', 'y', ' '), maxLength: 3 })
const edit = { who, rep: fc.nat(1), from: fc.nat(40), len: fc.nat(3), text: short }
const opArb = fc.oneof(
  { weight: 5, arbitrary: fc.record({ t: fc.constant('suggest' as const), ...edit }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('plain' as const), ...edit }) },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('decide' as const),
      who,
      accept: fc.boolean(),
      pick: fc.nat(9),
      // where it is written when ops interleave: mostly the server's replica, as in the product
      at: fc.oneof(fc.constant(SERVER), fc.nat(REPLICAS - 1)),
    }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('deliver' as const), picks: fc.array(fc.nat(99), { minLength: 1, maxLength: 4 }) }) },
)
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never
const initialArb = fc.string({ unit: fc.constantFrom('p', 'q', 'r', 's', 't', ' '), maxLength: 8 })

/** What a transaction was: the op, and in whose name it writes (null: Yjs's own formatting cleanup). */
interface Acting {
  author: SuggestionAuthor | null
  what: string
  /** a decision (the server's write in the product): the suggestion it decides */
  decides?: string
  /** a suggestion edit: the suggestion every character it inserts is under */
  suggests?: string
  /** an edit typing at the end of a text whose last suggestion has lost its end item (see the known gaps) */
  openEnd?: Suggestion
}
const REMOTE = Symbol('remote')
/** reported after the runs: decisions restating what they decide, suggested text come out plain unaccepted, characters under a suggestion not theirs */
const tally = { restated: 0, slippedIn: 0, misattributed: 0, openEnd: 0, runs: 0 }

// ---------------------------------------------------------------------------------------------
// The replicas and the network between them

class Net {
  readonly docs: Y.Doc[] = []
  readonly texts: Y.Text[] = []
  /**
   * Updates written on one replica, not yet applied on another: the writer, its count of updates
   * written so far, and how many of each replica's updates it had applied when it wrote this one.
   */
  readonly pending: Array<{ to: number; from: number; update: Uint8Array; deps: number[] }> = []
  /** applied[r][w]: how many of replica w's updates replica r has (its own: how many it wrote) */
  private readonly applied: number[][] = []
  /** every suggestion format item written in another's name: what, where, by which op */
  readonly forged: string[] = []
  /**
   * Characters (by Yjs id) inserted as suggestions: true when their edit wrote the item that marks
   * them, false when they go on their author's own pending insertion and carry it by position
   * (Yjs writes no item where the attributes do not change). And those an accept took in.
   */
  readonly suggested = new Map<string, boolean>()
  readonly accepted = new Set<string>()
  /** the suggestion each suggested character went in under, and those each character was struck by */
  readonly insertedAs = new Map<string, string>()
  readonly struckBy = new Map<string, Set<string>>()
  private fresh = 0

  constructor(initial: string) {
    for (let i = 0; i < REPLICAS; i++) {
      const doc = new Y.Doc()
      doc.clientID = i + 1 // Yjs orders concurrent inserts by client id: fixed, so a seed replays
      this.docs.push(doc)
    }
    this.docs[0]!.getMap('term').set('body', new Y.Text(initial))
    const base = Y.encodeStateAsUpdate(this.docs[0]!)
    this.docs.forEach((doc, i) => {
      if (i > 0) Y.applyUpdate(doc, base, REMOTE)
      this.texts.push(doc.getMap('term').get('body') as Y.Text)
      this.applied.push(new Array<number>(REPLICAS).fill(0))
      doc.on('update', (update: Uint8Array, origin: unknown) => {
        if (origin === REMOTE) return
        this.inspect(update, origin as Acting | null, i)
        const deps = [...this.applied[i]!]
        this.applied[i]![i]!++
        for (let j = 0; j < REPLICAS; j++) if (j !== i) this.pending.push({ to: j, from: i, update, deps })
      })
    })
  }

  newSuggestion = (): { id: string; at: number } => {
    this.fresh++
    return { id: `s${this.fresh}`, at: this.fresh }
  }

  /**
   * The server's check (server/sync/updateChecks.ts) on every update a replica writes: a non-null
   * suggestion format item names the writer. Notes the characters a suggestion edit inserts.
   */
  private inspect(update: Uint8Array, acting: Acting | null, replica: number): void {
    const structs = Y.decodeUpdate(update).structs
    if (acting?.suggests) {
      const marked = structs.some(
        (s) => s instanceof Y.Item && s.content instanceof Y.ContentFormat && (s.content.value as Suggestion | null)?.kind === 'ins',
      )
      for (const s of structs)
        if (s instanceof Y.Item && s.content instanceof Y.ContentString)
          for (let k = 0; k < s.length; k++) {
            this.suggested.set(`${s.id.client}:${s.id.clock + k}`, marked)
            this.insertedAs.set(`${s.id.client}:${s.id.clock + k}`, acting.suggests)
          }
    }
    for (const s of structs) {
      if (!(s instanceof Y.Item) || !(s.content instanceof Y.ContentFormat)) continue
      if (s.content.key !== SUGGESTION_KEY || s.content.value === null) continue
      const v = s.content.value as Suggestion
      const by = acting?.author
      if (acting?.decides !== undefined && v.id === acting.decides) {
        // Yjs's formatText restating the decided suggestion after its run, where the next one starts
        // (see the header): redundant, and written by the server, which its own check does not see.
        tally.restated++
        continue
      }
      if (acting?.openEnd && v.id === acting.openEnd.id && v.kind === acting.openEnd.kind) {
        // Text typed at an open end: Yjs restates the open suggestion after it (a known gap, pinned below).
        tally.openEnd++
        continue
      }
      if (!by || v.party !== by.party || v.user !== by.user)
        this.forged.push(`${acting?.what ?? 'formatting cleanup'} on replica ${replica} wrote ${JSON.stringify(v)}`)
    }
  }

  /** Decides a suggestion on a replica, as the server writes it; an accept's characters are noted as taken in. */
  decide(r: number, id: string, accept: boolean, acting: Acting): boolean {
    if (accept) for (const c of charIds(this.texts[r]!)) if (c.s?.id === id && c.s.kind === 'ins') this.accepted.add(c.key)
    let found = false
    this.docs[r]!.transact(() => (found = decideSuggestion(this.texts[r]!, id, accept)), acting)
    return found
  }

  /** Characters carrying a suggestion no edit of theirs gave them: inserted under another, or struck by none. */
  misattributed(r: number): string[] {
    return charIds(this.texts[r]!)
      .filter((c) => c.s !== null && (c.s.kind === 'ins' ? this.insertedAs.get(c.key) !== c.s.id : !this.struckBy.get(c.key)?.has(c.s.id)))
      .map((c) => `${c.ch} (${c.key}) carries ${c.s!.kind} ${c.s!.id}`)
  }

  /**
   * Characters in the text as plain text that went in as a suggestion and were never accepted: text
   * nobody agreed to. `marked`: only those whose edit wrote their mark (see `suggested`).
   */
  slippedIn(r: number, which: 'all' | 'marked' = 'all'): string[] {
    const chars = charIds(this.texts[r]!)
    expect(chars.map(({ ch, s }) => ({ ch, s })), 'items read as Yjs reads them').toEqual(charsOf(this.texts[r]!))
    return chars
      .filter((c) => c.s === null && this.suggested.has(c.key) && !this.accepted.has(c.key))
      .filter((c) => which === 'all' || this.suggested.get(c.key))
      .map((c) => `${c.ch} (${c.key})`)
  }

  /**
   * Applies one pending update its receiver may have next: the writer's next one, written after
   * nothing the receiver lacks. Delivery is causal, as in the product, where every update reaches
   * a client through the server, in the server's order; within that, any order. (Out of causal
   * order — counted by updates, as a deletion moves no Yjs clock — a receiver holds structs
   * pending, e.g. the end of another's suggestion, or misses a deletion an edit built on.)
   */
  deliver(pick: number): void {
    const ready = this.pending.filter(
      (m) => this.applied[m.to]![m.from] === m.deps[m.from] && m.deps.every((n, w) => w === m.from || this.applied[m.to]![w]! >= n),
    )
    if (ready.length === 0) {
      if (this.pending.length > 0) throw new Error('pending updates none of which can be delivered')
      return
    }
    const m = ready[pick % ready.length]!
    this.pending.splice(this.pending.indexOf(m), 1)
    this.applied[m.to]![m.from]!++
    Y.applyUpdate(this.docs[m.to]!, m.update, REMOTE)
    expect(this.docs[m.to]!.store.pendingStructs, 'a causally delivered update integrates').toBeNull()
  }

  /** Delivers everything, in random order (applying may write more: Yjs's formatting cleanup). */
  deliverAll(rand: () => number): void {
    for (let n = 0; this.pending.length > 0; n++) {
      if (n > 100_000) throw new Error('deliveries do not settle')
      this.deliver(Math.floor(rand() * this.pending.length))
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Per-character view, and the model

interface Ch {
  ch: string
  s: Suggestion | null
}

function charsOf(t: Y.Text): Ch[] {
  const out: Ch[] = []
  for (const op of t.toDelta() as Array<{ insert?: unknown; attributes?: Record<string, unknown> }>) {
    if (typeof op.insert !== 'string') throw new Error('only text in a body')
    const s = (op.attributes?.[SUGGESTION_KEY] as Suggestion | undefined) ?? null
    for (const ch of op.insert.split('')) out.push({ ch, s })
  }
  return out
}

/** The text's characters with their Yjs ids and the suggestion each carries, read from the items as Yjs reads them. */
function charIds(t: Y.Text): Array<{ ch: string; key: string; s: Suggestion | null }> {
  const out: Array<{ ch: string; key: string; s: Suggestion | null }> = []
  let s: Suggestion | null = null
  for (let item = t._start; item; item = item.right) {
    if (item.deleted) continue
    if (item.content instanceof Y.ContentFormat) {
      if (item.content.key === SUGGESTION_KEY) s = (item.content.value as Suggestion | null) ?? null
    } else if (item.content instanceof Y.ContentString) {
      const str = item.content.str
      for (let k = 0; k < str.length; k++) out.push({ ch: str[k]!, key: `${item.id.client}:${item.id.clock + k}`, s })
    }
  }
  return out
}

/**
 * The suggestion in force past the text's last character, by its items: normally none (the last
 * suggestion's end item follows it). A decision made while the suggestion was extended elsewhere
 * can delete that end item, leaving the suggestion open at the end.
 */
function openSuggestionAtEnd(t: Y.Text): Suggestion | null {
  let s: Suggestion | null = null
  for (let item = t._start; item; item = item.right)
    if (!item.deleted && item.content instanceof Y.ContentFormat && item.content.key === SUGGESTION_KEY)
      s = (item.content.value as Suggestion | null) ?? null
  return s
}

/** `pq{+s1 us/Carter @1:xy}{-s1 us/Carter @1:r}t`: readable in a failing assertion. */
function render(chars: readonly Ch[]): string {
  let out = ''
  let open: string | null = null
  for (const { ch, s } of chars) {
    const key = s ? `{${s.kind === 'ins' ? '+' : '-'}${s.id} ${s.party}/${s.user} @${s.at}:` : null
    if (key !== open) {
      if (open) out += '}'
      if (key) out += key
      open = key
    }
    out += ch
  }
  return open ? `${out}}` : out
}

const isOwn = (s: Suggestion | null, a: SuggestionAuthor) => s !== null && s.party === a.party && s.user === a.user
const plainText = (chars: readonly Ch[]) => chars.filter((c) => c.s?.kind !== 'ins').map((c) => c.ch).join('')

/** The rules as stated (shared/suggestEdit.ts's header; CONTRACT.md), over characters. */
class Model {
  chars: Ch[]
  private fresh = 0

  constructor(initial: string) {
    this.chars = initial.split('').map((ch) => ({ ch, s: null }))
  }

  clone(): Model {
    const m = new Model('')
    m.chars = [...this.chars]
    m.fresh = this.fresh
    return m
  }

  /** May text go in at `pos` without restating another's suggestion (the client's check)? */
  allowed(pos: number, a: SuggestionAuthor): boolean {
    if (pos === 0) return true
    const before = this.chars[pos - 1]!.s
    if (before === null || isOwn(before, a)) return true
    return pos >= this.chars.length || this.chars[pos]!.s === null
  }

  /** Replacing [from, to) by `insert` as a suggestion; false when that changes nothing. */
  suggest(from: number, to: number, insert: string, a: SuggestionAuthor): boolean {
    const range = this.chars.slice(from, to)
    if (insert === '' && !range.some((c) => c.s === null || (isOwn(c.s, a) && c.s.kind === 'ins'))) return false
    // Continuing one's own suggestion touching the edit: the first in [from - 1, to].
    const touching = this.chars.slice(Math.max(0, from - 1), to + 1).find((c) => isOwn(c.s, a))?.s
    // Each edit takes a time of its own (a later one than what it continues), so its text carries its own mark.
    this.fresh++
    const base: Omit<Suggestion, 'kind'> = touching
      ? { id: touching.id, party: touching.party, user: touching.user, at: Math.max(this.fresh, touching.at + 1) }
      : { id: `s${this.fresh}`, at: this.fresh, ...a }
    const ins: Suggestion = { ...base, kind: 'ins' }
    const del: Suggestion = { ...base, kind: 'del' }
    const middle: Ch[] = []
    for (const c of range) {
      if (isOwn(c.s, a) && c.s!.kind === 'ins') continue // one's own suggested text is taken back
      middle.push(c.s === null ? { ch: c.ch, s: del } : c) // plain is struck; the rest is left alone
    }
    for (const ch of insert.split('')) middle.push({ ch, s: ins })
    this.chars = [...this.chars.slice(0, from), ...middle, ...this.chars.slice(to)]
    return true
  }

  plain(from: number, to: number, insert: string): void {
    this.chars.splice(from, to - from, ...insert.split('').map((ch) => ({ ch, s: null })))
  }

  pendingIds(): string[] {
    return [...new Set(this.chars.flatMap((c) => (c.s ? [c.s.id] : [])))]
  }

  suggesterOf(id: string): string {
    return this.chars.find((c) => c.s?.id === id)!.s!.party
  }

  decide(id: string, accept: boolean): void {
    this.chars = this.chars.flatMap((c) => {
      if (c.s?.id !== id) return [c]
      const remove = c.s.kind === 'ins' ? !accept : accept
      return remove ? [] : [{ ch: c.ch, s: null }]
    })
  }
}

/** The suggestion ids pending in a replica's text, in order of appearance. */
const pendingIdsIn = (t: Y.Text) => [...new Set(charsOf(t).flatMap((c) => (c.s ? [c.s.id] : [])))]
const suggesterIn = (t: Y.Text, id: string) => charsOf(t).find((c) => c.s?.id === id)!.s!.party
/** Accepting is for another delegation than the suggester's (the server refuses the suggester's own). */
const decider = (suggester: string, accept: boolean, whoOp: number): SuggestionAuthor =>
  accept ? AUTHORS.find((a) => a.party !== suggester)! : AUTHORS[whoOp]!

// ---------------------------------------------------------------------------------------------
// One op on one replica, as the client (or for decisions the server) would write it

type Outcome = { kind: 'skipped' } | { kind: 'suggested' } | { kind: 'plain' } | { kind: 'decided'; id: string; accept: boolean }

function play(net: Net, op: Op, replicaForDecision: number): Outcome {
  if (op.t === 'deliver') {
    for (const p of op.picks) net.deliver(p)
    return { kind: 'skipped' }
  }
  if (op.t === 'decide') {
    const t = net.texts[replicaForDecision]!
    const ids = pendingIdsIn(t)
    if (ids.length === 0) return { kind: 'skipped' }
    const id = ids[op.pick % ids.length]!
    const by = decider(suggesterIn(t, id), op.accept, op.who)
    const acting: Acting = { author: by, what: `${op.accept ? 'accept' : 'reject'} ${id} by ${by.party}`, decides: id }
    expect(net.decide(replicaForDecision, id, op.accept, acting)).toBe(true)
    return { kind: 'decided', id, accept: op.accept }
  }
  const a = AUTHORS[op.who]!
  const r = replicaOf(op.who, op.rep)
  const t = net.texts[r]!
  const length = t.length
  const from = op.from % (length + 1)
  const to = Math.min(length, from + op.len)
  const spans = spansOf(t)
  if (op.text.length > 0 && !insertionAllowed(spans, to, length, a)) return { kind: 'skipped' }
  const what = `${op.t} [${from},${to})→${JSON.stringify(op.text)} by ${a.party}`
  const openEnd = op.text.length > 0 && to === length ? openSuggestionAtEnd(t) ?? undefined : undefined
  if (op.t === 'plain') {
    if (to === from && op.text === '') return { kind: 'skipped' }
    applyPlainEdit(t, from, to, op.text, { author: a, what, openEnd } satisfies Acting)
    return { kind: 'plain' }
  }
  const plan = planSuggestedEdit(spans, from, to, op.text, a, net.newSuggestion)
  if (!plan) return { kind: 'skipped' }
  const chars = charIds(t)
  for (const m of plan.mark)
    for (let i = m.from; i < m.to; i++) {
      const key = chars[i]!.key
      net.struckBy.set(key, (net.struckBy.get(key) ?? new Set()).add(plan.suggestion.id))
    }
  applySuggestedEdit(t, plan, spans, { author: a, what, suggests: plan.suggestion.id, openEnd } satisfies Acting)
  return { kind: 'suggested' }
}

// ---------------------------------------------------------------------------------------------

const params = (runs: number) => ({ numRuns: runs, seed: SEED, path: PATH, endOnFailure: false })

function expectConverged(net: Net, when: string): void {
  const delta = JSON.stringify(net.texts[0]!.toDelta())
  const plain = textWithoutSuggestions(net.texts[0]!)
  net.texts.forEach((t, i) => {
    expect(JSON.stringify(t.toDelta()), `${when}: replica ${i}'s delta`).toBe(delta)
    expect(textWithoutSuggestions(t), `${when}: replica ${i}'s text without suggestions`).toBe(plain)
  })
}

describe('[SG5] suggestions, accepts, rejects and plain edits from two delegations', () => {
  it('one at a time: the text follows the model of the rules after every step, and deciding them all applies the decisions in order', () => {
    fc.assert(
      fc.property(initialArb, fc.array(opArb, { maxLength: 30 }), fc.integer(), (initial, ops, seed) => {
        const rand = prng(seed)
        const net = new Net(initial)
        let model = new Model(initial)
        const t = net.texts[SERVER]!
        const log: string[] = []
        for (const op of ops) {
          if (op.t === 'deliver') continue
          const before = render(model.chars)
          // What the model says happens, on a copy of it.
          const next = model.clone()
          let expected: Outcome = { kind: 'skipped' }
          if (op.t === 'decide') {
            const ids = next.pendingIds()
            if (ids.length) {
              expected = { kind: 'decided', id: ids[op.pick % ids.length]!, accept: op.accept }
              next.decide(expected.id, op.accept)
            }
          } else {
            const a = AUTHORS[op.who]!
            const L = next.chars.length
            const from = op.from % (L + 1)
            const to = Math.min(L, from + op.len)
            if (op.text.length === 0 || next.allowed(to, a)) {
              if (op.t === 'plain') {
                if (to > from || op.text) {
                  expected = { kind: 'plain' }
                  next.plain(from, to, op.text)
                }
              } else if (next.suggest(from, to, op.text, a)) expected = { kind: 'suggested' }
            }
          }
          const got = play(net, op, SERVER)
          net.deliverAll(rand)
          log.push(`${JSON.stringify(op)} → ${got.kind}`)
          expect(got, `${log.join('\n')}\nfrom ${before}`).toEqual(expected)
          model = next
          expect(render(charsOf(t)), `${log.join('\n')}\nfrom ${before}`).toBe(render(model.chars))
          expect(textWithoutSuggestions(t)).toBe(plainText(model.chars))
          expect(hasPendingSuggestions(t)).toBe(model.pendingIds().length > 0)
          expect(net.misattributed(SERVER), log.join('\n')).toEqual([])
          expectConverged(net, log.join('\n'))
        }
        // Every remaining suggestion decided, in order: the text is the model's with every decision applied.
        for (const id of model.pendingIds()) {
          const accept = rand() < 0.5
          const by = decider(model.suggesterOf(id), accept, 0)
          net.decide(SERVER, id, accept, { author: by, what: `final ${accept ? 'accept' : 'reject'} ${id}`, decides: id })
          net.deliverAll(rand)
          model.decide(id, accept)
          expect(render(charsOf(t))).toBe(render(model.chars))
        }
        expect(model.pendingIds()).toEqual([])
        expect(hasPendingSuggestions(t)).toBe(false)
        expect(t.toString()).toBe(model.chars.map((c) => c.ch).join(''))
        expectConverged(net, 'after deciding all')
        expect(net.forged, log.join('\n')).toEqual([])
        expect(net.slippedIn(SERVER), log.join('\n')).toEqual([])
      }),
      params(RUNS),
    )
  }, 120_000)

  it('interleaved: replicas converge (delta and text without suggestions), deciding what remains leaves no suggestion, and nobody writes in another’s name', () => {
    fc.assert(
      fc.property(initialArb, fc.array(opArb, { maxLength: 40 }), fc.integer(), (initial, ops, seed) => {
        const rand = prng(seed)
        const net = new Net(initial)
        const log: string[] = []
        for (const op of ops) {
          // Decisions mostly on the server's replica (as in the product), sometimes on a delegate's:
          // concurrent decisions of one suggestion must converge too.
          const got = play(net, op, op.t === 'decide' ? op.at : SERVER)
          log.push(`${JSON.stringify(op)} → ${got.kind}`)
        }
        net.deliverAll(rand)
        expectConverged(net, log.join('\n'))
        // Counted, not asserted: concurrent formatting in Yjs can leave a character under a
        // neighbour's suggestion (e.g. one's own text typed on into one's suggestion, struck by the
        // other side's removal made at the same time without it).
        tally.misattributed += net.misattributed(SERVER).length
        // Decide what remains: each suggestion on a random replica, all before any delivery.
        for (let round = 0; round < 6 && net.texts.some(hasPendingSuggestions); round++) {
          for (const id of pendingIdsIn(net.texts[SERVER]!)) {
            const r = Math.floor(rand() * REPLICAS)
            const t = net.texts[r]!
            const accept = rand() < 0.5
            const by = decider(suggesterIn(t, id), accept, 0)
            const acting: Acting = { author: by, what: `final ${accept ? 'accept' : 'reject'} ${id} by ${by.party}`, decides: id }
            net.decide(r, id, accept, acting)
            log.push(acting.what)
          }
          net.deliverAll(rand)
        }
        net.texts.forEach((t, i) => expect(hasPendingSuggestions(t), `${log.join('\n')}\nreplica ${i}: ${render(charsOf(t))}`).toBe(false))
        expectConverged(net, log.join('\n'))
        expect(net.forged, log.join('\n')).toEqual([])
        // Suggested text never comes out plain unless accepted — text typed on into one's own pending
        // insertion included, now that each edit carries its own mark (see the fixed gaps below).
        expect(net.slippedIn(SERVER), `${log.join('\n')}\n${render(charsOf(net.texts[SERVER]!))}`).toEqual([])
        tally.slippedIn += net.slippedIn(SERVER).length
        tally.runs++
      }),
      params(RUNS),
    )
  }, 120_000)

  // Counterexamples found by these properties before the fixes in shared/suggestEdit.ts — a
  // forged-suggestion refusal, or suggested text come out plain — kept as fixed cases (ops as above,
  // decisions at `at`, then everything delivered).
  const REGRESSIONS: Array<{ name: string; initial: string; ops: Op[] }> = [
    {
      // "p{-s2 ru:p}{+s1 us:a}a p": the plain "a" went in at 1 after deleting [1,2), between ru's
      // struck "p" and us's own "a" — Yjs restated ru's s2 after it. insertionAllowed was asked at 2.
      name: 'a plain replacement starting right after another’s suggestion and ending inside one’s own',
      initial: 'pp',
      ops: [
        { t: 'suggest', who: 0, rep: 0, from: 1, len: 0, text: 'aa' },
        { t: 'deliver', picks: [0, 0, 0, 0] },
        { t: 'suggest', who: 1, rep: 0, from: 0, len: 1, text: '' },
        { t: 'deliver', picks: [0, 0, 0, 0] },
        { t: 'plain', who: 0, rep: 0, from: 1, len: 1, text: 'a' },
      ],
    },
    {
      // ru replaced the last "p" by "a": Yjs restated ru's removal after the "a", before its end
      // ("…a" fmt{s1 del} fmt{null}); us typing at the end took that item for what follows and
      // restated ru's insertion — in ru's name. The end of the text only counts as plain once
      // such overridden items are gone.
      name: 'a suggestion typed at the end, after another’s replacement of the last word',
      initial: 'p',
      ops: [
        { t: 'suggest', who: 1, rep: 0, from: 0, len: 1, text: '' },
        { t: 'suggest', who: 1, rep: 0, from: 0, len: 1, text: 'a' },
        { t: 'deliver', picks: [0, 0, 0, 0, 0, 0, 0, 0] },
        { t: 'suggest', who: 0, rep: 0, from: 2, len: 0, text: 'a' },
      ],
    },
    {
      // ru struck "pp" while us struck the next "p" (and suggested "aaa"): merged, us's strike starts
      // before ru's end item, so between them sit fmt{us del} fmt{null} and the "p" is plain; us then
      // typing right after ru's struck text restated ru's removal before the overridden item.
      name: 'a suggestion typed after another’s removal where concurrent strikes left an overridden item',
      initial: 'ppppppp',
      ops: [
        { t: 'suggest', who: 1, rep: 0, from: 2, len: 2, text: '' },
        { t: 'suggest', who: 0, rep: 0, from: 4, len: 1, text: 'aaa' },
        { t: 'deliver', picks: [0] },
        { t: 'suggest', who: 0, rep: 0, from: 3, len: 1, text: 'a' },
      ],
    },
    {
      // us struck "p" and went on to suggest "a" after it: Yjs restated us's removal after the "a",
      // before the removal's end ("…a" fmt{s1 del} fmt{null}). The server, not having the "a" yet,
      // withdrew the removal — deleting its end item — which left that restatement open at the end
      // of the text; ru's plain "a" typed there then restated us's insertion, in us's name.
      name: 'typing at the end after a suggestion withdrawn while its author went on typing',
      initial: 'p',
      ops: [
        { t: 'suggest', who: 0, rep: 0, from: 0, len: 1, text: '' },
        { t: 'deliver', picks: [0, 0] },
        { t: 'suggest', who: 0, rep: 0, from: 0, len: 1, text: 'a' },
        { t: 'deliver', picks: [0, 0, 36] },
        { t: 'decide', who: 0, accept: false, pick: 0, at: SERVER },
        { t: 'deliver', picks: [40, 0] },
        { t: 'plain', who: 1, rep: 0, from: 0, len: 2, text: 'a' },
      ],
    },
    {
      // Two us tabs each suggested "a" right after ru's suggested "a": each marked its text with an
      // item put before ru's end item, the text itself after it; merged, both marks came first, so
      // one tab's "a" read as the other's suggestion and the other's as plain text nobody accepted.
      name: 'two suggestions typed at once right after another’s',
      initial: '',
      ops: [
        { t: 'suggest', who: 1, rep: 0, from: 0, len: 0, text: 'a' },
        { t: 'deliver', picks: [0] },
        { t: 'suggest', who: 0, rep: 0, from: 0, len: 1, text: 'a' },
        { t: 'deliver', picks: [0] },
        { t: 'suggest', who: 0, rep: 1, from: 0, len: 1, text: 'a' },
      ],
    },
  ]
  for (const r of REGRESSIONS)
    it(`regression: ${r.name}`, () => {
      const net = new Net(r.initial)
      const log = r.ops.map((op) => `${JSON.stringify(op)} → ${play(net, op, op.t === 'decide' ? op.at : SERVER).kind}`)
      expect(log.every((l) => !l.endsWith('skipped') || l.includes('deliver')), log.join('\n')).toBe(true)
      net.deliverAll(prng(1))
      expectConverged(net, log.join('\n'))
      expect(net.forged, log.join('\n')).toEqual([])
      expect(net.slippedIn(SERVER), log.join('\n')).toEqual([])
    })
})

describe('[SG5] once known gaps, fixed by giving each edit its own mark (a continuation takes its own, later time)', () => {
  it('text typed on into one’s own pending insertion while the other side rejects it stays a suggestion', () => {
    // Yjs writes no format item where the attributes do not change: "5" typed right after the
    // suggested "4" under the very same attributes carried the suggestion only by standing after
    // "4"'s start item, and the reject — written before "5" reached the server — deleted that item,
    // leaving "5" plain, accepted by nobody. A continuation now takes its own time, so its text
    // carries a mark of its own.
    const net = new Net('')
    const rand = prng(1)
    expect(play(net, { t: 'suggest', who: 1, rep: 0, from: 0, len: 0, text: '4' }, SERVER)).toEqual({ kind: 'suggested' })
    net.deliverAll(rand)
    net.decide(SERVER, 's1', false, { author: AUTHORS[0]!, what: 'reject s1 by us', decides: 's1' })
    expect(play(net, { t: 'suggest', who: 1, rep: 0, from: 1, len: 0, text: '5' }, SERVER)).toEqual({ kind: 'suggested' })
    net.deliverAll(rand)
    expectConverged(net, 'after the reject and the typing')
    expect(render(charsOf(net.texts[SERVER]!))).toBe('{+s1 ru/Volkova @2:5}')
    expect(net.slippedIn(SERVER)).toEqual([])
    expect(net.forged).toEqual([])
  })

  it('a removal extended while the other side rejects it keeps its own end; text typed after it restates nobody', () => {
    // ru strikes the second "p", then extends the strike to the first; the server, having only the
    // first strike, rejects it for us — deleting the strike's end item. Merged, ru's extension has
    // no end: the removal runs on to the end of the text. us typing "a" at the end (which the
    // client allows: the end counts as plain) makes Yjs restate ru's removal after the "a" — in
    // ru's name, which the server refuses as forged-suggestion.
    const net = new Net('pp')
    const ops: Op[] = [
      { t: 'suggest', who: 1, rep: 0, from: 1, len: 1, text: '' },
      { t: 'deliver', picks: [0, 0, 0] },
      { t: 'suggest', who: 1, rep: 0, from: 0, len: 1, text: '' },
      { t: 'deliver', picks: [0, 4] },
      { t: 'decide', who: 0, accept: false, pick: 0, at: SERVER },
      { t: 'deliver', picks: [0, 87] },
    ]
    for (const op of ops) play(net, op, op.t === 'decide' ? op.at : SERVER)
    const us2 = net.texts[replicaOf(0, 1)]!
    // The rejected strike is gone; the extension, carrying its own mark, ends where it ends.
    expect(render(charsOf(us2))).toBe('{-s1 ru/Volkova @2:p}p')
    expect(openSuggestionAtEnd(us2)).toBeNull()
    const before = tally.openEnd
    expect(play(net, { t: 'suggest', who: 0, rep: 1, from: 2, len: 0, text: 'a' }, SERVER)).toEqual({ kind: 'suggested' })
    expect(tally.openEnd - before, 'restatements of ru’s removal written by us').toBe(0)
    net.deliverAll(prng(1))
    expectConverged(net, 'after all is delivered')
    expect(net.forged).toEqual([])
  })
})

afterAll(() => {
  console.info(
    `[SG5] interleaved runs: ${tally.runs}; suggested characters that came out plain unaccepted (asserted none): ${tally.slippedIn}; decisions restating the ` +
      `suggestion they decide (server-written, redundant): ${tally.restated}; characters, once all was delivered, ` +
      `under a suggestion no edit of theirs gave them: ${tally.misattributed}; restatements written typing at an ` +
      `open end (known gap): ${tally.openEnd}`,
  )
})

/**
 * Accessors for the document layouts of CONTRACT.md ("Yjs documents"), used
 * by server and client alike so the layout is written down once:
 *
 * board / caucus: `terms` Y.Map termId → Y.Map{title: Y.Text, body: Y.Text, x, y}
 *                 `order` Y.Array<termId>
 *                 `notes` Y.Map noteId → Y.Map{text: Y.Text, x, y, color}
 *                 `links` Y.Map linkId → Y.Map{from, to, label}
 * ledger:         `meta` Y.Map{title, parties, createdAt, package?, initials?, concluded?}
 *                 `status` Y.Map termId → Y.Map{state, proposedBy, acceptedBy: Y.Map party → hash,
 *                                               agreedText, agreedHash, updatedAt, updatedBy,
 *                                               brackets?, adReferendum?: {party → AdReferendum},
 *                                               decision?: TermDecision (a plain object)}
 *                 `authors` Y.Map clientId (decimal string) → {party, user}: who introduced each Yjs
 *                                               client id of the board (written by the server)
 */
import * as Y from 'yjs'
import type { Concluded, Initials, PackageState, VoidCause } from './conclusion'
import type { AdReferendum, PartyInfo, TermDecision, TermState, TermStatus, TermText } from './negotiation'
import { isSuggestionFormat, textWithoutSuggestions } from './suggestions'

export const BOARD_ROOTS = ['terms', 'order', 'notes', 'links'] as const
export const LEDGER_ROOTS = ['meta', 'status', 'authors'] as const

// ── the layout as data, for the server's check of client updates ──────────

/**
 * What may stand at one place of a document. The server checks every client
 * update against this before it applies or stores anything
 * (server/sync/layoutCheck.ts), so one negotiator cannot put a string where
 * every reader expects a term's map.
 */
export type LayoutNode =
  | { kind: 'map'; keys: Readonly<Record<string, LayoutNode>> }
  /** a map whose keys are ids (matching `key`), every value the same kind */
  | { kind: 'collection'; key: (k: string) => boolean; value: LayoutNode }
  | { kind: 'array'; item: LayoutNode }
  /** a Y.Text; `format` judges a formatting attribute (key and JSON value text), none allowed when absent */
  | { kind: 'text'; format?: (key: string, json: string) => boolean }
  | { kind: 'number'; test: (n: number) => boolean }
  | { kind: 'string'; test: (s: string) => boolean }

export interface DocLayout {
  roots: Readonly<Record<string, LayoutNode>>
}

/** Ids of terms, notes and links: what the client and server generate, safe in every export format. */
const ENTRY_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/
const RESERVED_KEYS = new Set(['constructor', 'prototype'])
export const isEntryId = (k: string): boolean => ENTRY_ID.test(k) && !RESERVED_KEYS.has(k)

/** Board coordinates: finite, and far beyond any canvas anyone pans to. */
const COORDINATE_LIMIT = 1e7
export const isCoordinate = (v: number): boolean => Number.isFinite(v) && Math.abs(v) <= COORDINATE_LIMIT
const coordinate: LayoutNode = { kind: 'number', test: isCoordinate }

const shortString = (max: number): LayoutNode => ({ kind: 'string', test: (s) => s.length <= max })
const entryIdString: LayoutNode = { kind: 'string', test: isEntryId }

const termTextNode: LayoutNode = { kind: 'text', format: isSuggestionFormat }

/** `<id>/board` and `<id>/caucus/<party>` (CONTRACT.md "Yjs documents"). */
export const BOARD_LAYOUT: DocLayout = {
  roots: {
    terms: {
      kind: 'collection',
      key: isEntryId,
      value: {
        kind: 'map',
        // Formatting in a term's text is suggestions only (shared/suggestions.ts); notes take none.
        keys: { title: termTextNode, body: termTextNode, x: coordinate, y: coordinate },
      },
    },
    // Entries that name no term are skipped by every reader, so any short string may stand here.
    order: { kind: 'array', item: shortString(64) },
    notes: {
      kind: 'collection',
      key: isEntryId,
      value: { kind: 'map', keys: { text: { kind: 'text' }, x: coordinate, y: coordinate, color: shortString(32) } },
    },
    links: {
      kind: 'collection',
      key: isEntryId,
      value: { kind: 'map', keys: { from: entryIdString, to: entryIdString, label: shortString(200) } },
    },
  },
}

export interface Board {
  terms: Y.Map<Y.Map<unknown>>
  order: Y.Array<string>
  notes: Y.Map<Y.Map<unknown>>
  links: Y.Map<Y.Map<unknown>>
}

export function board(doc: Y.Doc): Board {
  return {
    terms: doc.getMap('terms'),
    order: doc.getArray('order'),
    notes: doc.getMap('notes'),
    links: doc.getMap('links'),
  }
}

export interface Ledger {
  meta: Y.Map<unknown>
  status: Y.Map<Y.Map<unknown>>
  authors: Y.Map<unknown>
}

export function ledger(doc: Y.Doc): Ledger {
  return { meta: doc.getMap('meta'), status: doc.getMap('status'), authors: doc.getMap('authors') }
}

// ── terms ─────────────────────────────────────────────────────────────────

/** A text field of a term or note: a term's title and body without its pending suggestions (shared/suggestions.ts). */
export const textOf = (map: Y.Map<unknown> | undefined, key: string): string => {
  const t = map instanceof Y.Map ? map.get(key) : undefined
  return t instanceof Y.Text ? textWithoutSuggestions(t) : typeof t === 'string' ? t : ''
}

const numberOf = (map: Y.Map<unknown>, key: string): number => {
  const v = map.get(key)
  return typeof v === 'number' && Number.isFinite(v) ? v : 0
}

/** The title and body of a term on a board, or null when the board has no such term. */
export function termText(doc: Y.Doc, termId: string): TermText | null {
  const term = board(doc).terms.get(termId)
  if (!(term instanceof Y.Map)) return null
  return { title: textOf(term, 'title'), body: textOf(term, 'body') }
}

export interface NewTerm {
  title: string
  body: string
  x?: number
  y?: number
}

/** Adds a term to a board (call inside a transaction). */
export function insertTerm(doc: Y.Doc, termId: string, t: NewTerm): void {
  const b = board(doc)
  const term = new Y.Map<unknown>()
  term.set('title', new Y.Text(t.title))
  term.set('body', new Y.Text(t.body))
  term.set('x', t.x ?? 0)
  term.set('y', t.y ?? 0)
  b.terms.set(termId, term)
  if (!b.order.toArray().includes(termId)) b.order.push([termId])
}

/** Replaces a term's title and body with minimal edits (call inside a transaction). */
export function setTermText(doc: Y.Doc, termId: string, text: TermText): boolean {
  const term = board(doc).terms.get(termId)
  if (!(term instanceof Y.Map)) return false
  for (const key of ['title', 'body'] as const) {
    const current = term.get(key)
    if (current instanceof Y.Text) replaceText(current, text[key])
    else term.set(key, new Y.Text(text[key]))
  }
  return true
}

/** Rewrites a Y.Text to `next` touching only the changed middle, so attribution stays precise. */
export function replaceText(t: Y.Text, next: string): void {
  const prev = t.toString()
  if (prev === next) return
  let start = 0
  while (start < prev.length && start < next.length && prev[start] === next[start]) start++
  let endPrev = prev.length
  let endNext = next.length
  while (endPrev > start && endNext > start && prev[endPrev - 1] === next[endNext - 1]) {
    endPrev--
    endNext--
  }
  if (endPrev > start) t.delete(start, endPrev - start)
  if (endNext > start) t.insert(start, next.slice(start, endNext))
}

export interface PlainTerm extends TermText {
  id: string
  x: number
  y: number
}

/**
 * Terms of a board in `order` (terms missing from `order` follow, by id).
 * Entries that are not a term's map are skipped (see `malformedEntries`):
 * the server refuses them now, but stores written before it did may hold some.
 */
export function termsInOrder(doc: Y.Doc): PlainTerm[] {
  const b = board(doc)
  return termOrder(doc).map((id) => {
    const m = b.terms.get(id)!
    return { id, title: textOf(m, 'title'), body: textOf(m, 'body'), x: numberOf(m, 'x'), y: numberOf(m, 'y') }
  })
}

/** The board's term ids in board order (the `order` array, then any term it misses, by id); no text read. */
export function termOrder(doc: Y.Doc): string[] {
  const b = board(doc)
  const seen = new Set<string>()
  const ids: string[] = []
  const isTerm = (id: string) => b.terms.get(id) instanceof Y.Map
  for (const id of b.order.toArray()) {
    if (typeof id === 'string' && isTerm(id) && !seen.has(id)) {
      seen.add(id)
      ids.push(id)
    }
  }
  for (const id of [...b.terms.keys()].sort()) if (!seen.has(id) && isTerm(id)) ids.push(id)
  return ids
}

/**
 * Entries of a board that readers skip because they do not fit the layout
 * (`terms/<id>`, `notes/<id>`, `links/<id>`): so that a reader can say that
 * something was left out instead of silently drawing less.
 */
export function malformedEntries(doc: Y.Doc): string[] {
  const out: string[] = []
  const b = board(doc)
  for (const root of ['terms', 'notes', 'links'] as const) {
    b[root].forEach((v, id) => {
      if (!(v instanceof Y.Map)) out.push(`${root}/${id}`)
    })
  }
  return out.sort()
}

export interface PlainNote {
  id: string
  text: string
  x: number
  y: number
  color: string
}

export function notesOf(doc: Y.Doc): PlainNote[] {
  const out: PlainNote[] = []
  board(doc).notes.forEach((m, id) => {
    if (!(m instanceof Y.Map)) return
    const color = m.get('color')
    out.push({
      id,
      text: textOf(m, 'text'),
      x: numberOf(m, 'x'),
      y: numberOf(m, 'y'),
      color: typeof color === 'string' ? color : '',
    })
  })
  return out.sort((a, b) => a.id.localeCompare(b.id))
}

// ── ledger ────────────────────────────────────────────────────────────────

export function readStatus(doc: Y.Doc, termId: string): TermStatus | undefined {
  const m = ledger(doc).status.get(termId)
  return m instanceof Y.Map ? statusFromMap(m) : undefined
}

export function statusFromMap(m: Y.Map<unknown>): TermStatus {
  const acceptedBy: Record<string, string> = {}
  const acc = m.get('acceptedBy')
  if (acc instanceof Y.Map) acc.forEach((hash, party) => typeof hash === 'string' && (acceptedBy[party] = hash))
  const s: TermStatus = {
    state: (m.get('state') as TermState) ?? 'proposed',
    proposedBy: typeof m.get('proposedBy') === 'string' ? (m.get('proposedBy') as string) : null,
    acceptedBy,
    updatedAt: (m.get('updatedAt') as number) ?? 0,
    updatedBy: (m.get('updatedBy') as string) ?? '',
  }
  const agreedText = m.get('agreedText')
  const agreedHash = m.get('agreedHash')
  if (typeof agreedText === 'string') s.agreedText = agreedText
  if (typeof agreedHash === 'string') s.agreedHash = agreedHash
  const brackets = m.get('brackets')
  if (typeof brackets === 'number' && brackets > 0) s.brackets = brackets
  const adRef = m.get('adReferendum')
  if (adRef && typeof adRef === 'object' && !(adRef instanceof Y.AbstractType) && Object.keys(adRef).length > 0)
    s.adReferendum = adRef as Record<string, AdReferendum>
  const decision = decisionOf(m.get('decision'))
  if (decision) s.decision = decision
  return s
}

const DECISION_KINDS: ReadonlySet<unknown> = new Set(['reject', 'reopen', 'withdraw'])

/** A status's `decision` as stored, or undefined when it is not one (a ledger written before, or by hand). */
function decisionOf(v: unknown): TermDecision | undefined {
  if (!v || typeof v !== 'object' || v instanceof Y.AbstractType) return undefined
  const d = v as Record<string, unknown>
  if (!DECISION_KINDS.has(d.kind) || typeof d.user !== 'string' || typeof d.at !== 'number') return undefined
  if (d.party !== null && typeof d.party !== 'string') return undefined
  return {
    kind: d.kind as TermDecision['kind'],
    party: d.party as string | null,
    user: d.user,
    ...(typeof d.reason === 'string' && d.reason ? { reason: d.reason } : {}),
    at: d.at,
    ...(d.via === 'edit' ? { via: 'edit' as const } : {}),
  }
}

/** Sets a term's count of open bracket groups (0 removes the field); call inside a transaction. */
export function writeBrackets(doc: Y.Doc, termId: string, n: number): void {
  const m = ledger(doc).status.get(termId)
  if (!(m instanceof Y.Map)) return
  if (n > 0 && m.get('brackets') !== n) m.set('brackets', n)
  else if (n === 0 && m.has('brackets')) m.delete('brackets')
}

/** A term's open bracket groups as the ledger counts them (0: none). */
export function bracketsOf(doc: Y.Doc, termId: string): number {
  const n = ledger(doc).status.get(termId)?.get('brackets')
  return typeof n === 'number' ? n : 0
}

export function allStatuses(doc: Y.Doc): Map<string, TermStatus> {
  const out = new Map<string, TermStatus>()
  ledger(doc).status.forEach((m, id) => m instanceof Y.Map && out.set(id, statusFromMap(m)))
  return out
}

/** Writes a term's status, touching only fields that changed (call inside a transaction). */
export function writeStatus(doc: Y.Doc, termId: string, s: TermStatus): void {
  const status = ledger(doc).status
  let m = status.get(termId)
  if (!(m instanceof Y.Map)) {
    m = new Y.Map<unknown>()
    m.set('acceptedBy', new Y.Map<string>())
    status.set(termId, m)
  }
  const setIfChanged = (key: string, value: unknown) => {
    if (value === undefined) {
      if (m!.has(key)) m!.delete(key)
    } else if (m!.get(key) !== value) m!.set(key, value)
  }
  setIfChanged('state', s.state)
  setIfChanged('proposedBy', s.proposedBy ?? undefined)
  setIfChanged('agreedText', s.agreedText)
  setIfChanged('agreedHash', s.agreedHash)
  setIfChanged('updatedAt', s.updatedAt)
  setIfChanged('updatedBy', s.updatedBy)
  setIfChanged('brackets', s.brackets || undefined)
  // A plain object: compared by content, so an unchanged one is not written again.
  const adRef = s.adReferendum && Object.keys(s.adReferendum).length > 0 ? s.adReferendum : undefined
  if (JSON.stringify(m.get('adReferendum')) !== JSON.stringify(adRef)) setIfChanged('adReferendum', adRef)
  if (JSON.stringify(m.get('decision')) !== JSON.stringify(s.decision)) setIfChanged('decision', s.decision)
  let acc = m.get('acceptedBy')
  if (!(acc instanceof Y.Map)) {
    acc = new Y.Map<string>()
    m.set('acceptedBy', acc)
  }
  const accMap = acc as Y.Map<string>
  for (const party of [...accMap.keys()]) if (!(party in s.acceptedBy)) accMap.delete(party)
  for (const [party, hash] of Object.entries(s.acceptedBy)) if (accMap.get(party) !== hash) accMap.set(party, hash)
}

export interface LedgerMeta {
  title: string
  parties: PartyInfo[]
  createdAt: number
}

export function readMeta(doc: Y.Doc): LedgerMeta | null {
  const meta = ledger(doc).meta
  const title = meta.get('title')
  const parties = meta.get('parties')
  if (typeof title !== 'string' || !Array.isArray(parties)) return null
  return { title, parties: parties as PartyInfo[], createdAt: (meta.get('createdAt') as number) ?? 0 }
}

export function writeMeta(doc: Y.Doc, m: LedgerMeta): void {
  const meta = ledger(doc).meta
  meta.set('title', m.title)
  meta.set('parties', m.parties)
  meta.set('createdAt', m.createdAt)
}

// ── conclusion (shared/conclusion.ts) ─────────────────────────────────────

/** Where the negotiation stands on its way to conclusion, from the ledger's `meta`. */
export interface ConclusionState {
  package: PackageState | null
  initials: Initials
  concluded: Concluded | null
  /** the last time package acceptances were voided, and why */
  voided: VoidCause | null
}

const CONCLUSION_KEYS = { package: 'package', initials: 'initials', concluded: 'concluded', voided: 'packageVoided' } as const

export function readConclusion(doc: Y.Doc): ConclusionState {
  const meta = ledger(doc).meta
  const obj = (v: unknown) => (v && typeof v === 'object' && !(v instanceof Y.AbstractType) ? v : null)
  return {
    package: obj(meta.get('package')) as PackageState | null,
    initials: (obj(meta.get('initials')) ?? {}) as Initials,
    concluded: obj(meta.get('concluded')) as Concluded | null,
    voided: obj(meta.get(CONCLUSION_KEYS.voided)) as VoidCause | null,
  }
}

/** True once the negotiation is concluded: an O(1) look, made on every write to its board. */
export const isConcluded = (doc: Y.Doc): boolean => ledger(doc).meta.has('concluded')

/** Writes what changed of the conclusion state (call inside a transaction). */
export function writeConclusion(doc: Y.Doc, next: Partial<ConclusionState>): void {
  const meta = ledger(doc).meta
  for (const [field, key] of Object.entries(CONCLUSION_KEYS) as Array<[keyof ConclusionState, string]>) {
    if (!(field in next)) continue
    const v = next[field]
    const empty = v === null || v === undefined || (field === 'initials' && Object.keys(v).length === 0)
    if (empty) {
      if (meta.has(key)) meta.delete(key)
    } else if (JSON.stringify(meta.get(key)) !== JSON.stringify(v)) meta.set(key, v)
  }
}

// ── authors ───────────────────────────────────────────────────────────────

/** The delegation and person behind one Yjs client id of the board. */
export interface AuthorEntry {
  party: string | null
  user: string
}

/** A Yjs client id as the `authors` map keys it. */
export const authorKey = (clientId: number): string => String(clientId)

/**
 * The ledger's `authors`: Yjs client id → who introduced it on the board, so
 * a reader can colour each character by the delegation that wrote it (an
 * item's `id.client`). Entries of any other shape are skipped.
 */
export function authorsOf(doc: Y.Doc): Map<number, AuthorEntry> {
  const out = new Map<number, AuthorEntry>()
  ledger(doc).authors.forEach((v, key) => {
    const clientId = Number(key)
    if (!Number.isSafeInteger(clientId) || clientId < 0 || authorKey(clientId) !== key) return
    if (!v || typeof v !== 'object') return
    const { party, user } = v as Record<string, unknown>
    if (typeof user !== 'string' || (party !== null && typeof party !== 'string')) return
    out.set(clientId, { party, user })
  })
  return out
}

/**
 * Adds the entries `authors` lacks (call inside a transaction); one already
 * there is kept as it is: a client id belongs to whoever introduced it first.
 * Returns how many were added.
 */
export function addAuthors(doc: Y.Doc, entries: Iterable<readonly [number, AuthorEntry]>): number {
  const authors = ledger(doc).authors
  let added = 0
  for (const [clientId, { party, user }] of entries) {
    const key = authorKey(clientId)
    if (authors.has(key)) continue
    authors.set(key, { party, user })
    added++
  }
  return added
}

// ── notes, links, positions (added for the client) ───────────────────────

export interface NewNote {
  text: string
  x: number
  y: number
  color: string
}

/** Adds a sticky note to a board (call inside a transaction). */
export function insertNote(doc: Y.Doc, noteId: string, n: NewNote): void {
  const note = new Y.Map<unknown>()
  note.set('text', new Y.Text(n.text))
  note.set('x', n.x)
  note.set('y', n.y)
  note.set('color', n.color)
  board(doc).notes.set(noteId, note)
}

export interface PlainLink {
  id: string
  from: string
  to: string
  label: string
}

/** Adds a labelled link between two terms (call inside a transaction). */
export function insertLink(doc: Y.Doc, linkId: string, l: Omit<PlainLink, 'id'>): void {
  const link = new Y.Map<unknown>()
  link.set('from', l.from)
  link.set('to', l.to)
  link.set('label', l.label)
  board(doc).links.set(linkId, link)
}

export function linksOf(doc: Y.Doc): PlainLink[] {
  const out: PlainLink[] = []
  board(doc).links.forEach((m, id) => {
    if (!(m instanceof Y.Map)) return
    const from = m.get('from')
    const to = m.get('to')
    const label = m.get('label')
    if (typeof from !== 'string' || typeof to !== 'string') return
    out.push({ id, from, to, label: typeof label === 'string' ? label : label instanceof Y.Text ? label.toString() : '' })
  })
  return out.sort((a, b) => a.id.localeCompare(b.id))
}

/** Moves a term or note (one write per drop, not per pixel; call inside a transaction). */
export function setPosition(doc: Y.Doc, root: 'terms' | 'notes', id: string, x: number, y: number): boolean {
  const m = board(doc)[root].get(id)
  if (!(m instanceof Y.Map)) return false
  if (m.get('x') !== x) m.set('x', x)
  if (m.get('y') !== y) m.set('y', y)
  return true
}

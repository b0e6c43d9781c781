/**
 * The sealed caucus's history: who changed what, kept in the delegation's
 * browsers only (the server holds nothing it could read). Each entry is built
 * from a Yjs transaction — a row opened and applied, or an edit made here —
 * from what it changed (the terms its types belong to) and whose Yjs client
 * wrote it (the `authors` map the sealed doc carries: each page records its
 * client id and its person when it first writes).
 *
 * Keystrokes are many: consecutive changes by one person to the same things
 * within a minute are one entry, as an editor's version list groups them.
 * The list is kept with this device's copy of the caucus (the last MAX_KEPT).
 */
import * as Y from 'yjs'
import { board } from '../../../../shared/docLayout'
import { isRowOrigin } from './sealedProvider'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Yjs types its containers by their event type
type AnyType = Y.AbstractType<any>

/** The map, in the sealed doc, of Yjs client id (decimal) → who wrote with it. */
export const SEALED_AUTHORS = 'authors'
const GROUP_MS = 60_000
const MAX_KEPT = 500

export interface SealedAuthor {
  user: string
  party: string | null
}

export interface SealedHistoryEntry {
  id: number
  /** when this browser saw it (a catch-up's rows: when it caught up) */
  at: number
  /** null: a deletion only, or a client that never said who it is */
  who: SealedAuthor | null
  /** the terms it touched, by id (titles are looked up when drawn: a term may be renamed or gone) */
  terms: string[]
  /** it touched notes or links (the board's layout beyond terms) */
  layout: boolean
  /** how many changes the entry groups */
  count: number
  /** arrived in a catch-up: made while this browser was away */
  caughtUp: boolean
}

export function authorOf(doc: Y.Doc, clientId: number): SealedAuthor | null {
  const v = doc.getMap(SEALED_AUTHORS).get(String(clientId)) as Partial<SealedAuthor> | undefined
  return v && typeof v.user === 'string' ? { user: v.user, party: typeof v.party === 'string' ? v.party : null } : null
}

/** Records this page's Yjs client id under this person, once (in the doc, so the others' histories name them). */
export function introduce(doc: Y.Doc, me: SealedAuthor, origin: unknown): void {
  const authors = doc.getMap(SEALED_AUTHORS)
  if (authors.has(String(doc.clientID))) return
  doc.transact(() => authors.set(String(doc.clientID), { user: me.user, party: me.party }), origin)
}

/** The term a changed type belongs to (its title, body or the term map itself), if any. */
function termOf(doc: Y.Doc, type: AnyType): string | null {
  const terms = board(doc).terms as AnyType
  for (let t: AnyType | null = type; t && t._item; ) {
    const parent = t._item.parent as AnyType | null
    if (parent === terms) return t._item.parentSub
    t = parent
  }
  return null
}

export class SealedHistory {
  entries = $state<SealedHistoryEntry[]>([])
  private nextId = 1

  constructor(
    private readonly doc: Y.Doc,
    /** the Yjs client ids of rows applied in the transaction being recorded */
    private readonly rowClients: () => number[],
    private readonly onChange: (entries: SealedHistoryEntry[]) => void,
    private readonly isCatchingUp: () => boolean,
    /** who this page writes as */
    private readonly me: SealedAuthor,
  ) {
    doc.on('afterTransaction', this.record)
  }

  /** What this device kept from earlier visits. */
  restore(kept: unknown): void {
    if (!Array.isArray(kept)) return
    const ok = kept.filter(
      (e): e is SealedHistoryEntry =>
        e && typeof e.id === 'number' && typeof e.at === 'number' && Array.isArray(e.terms) && typeof e.count === 'number',
    )
    this.entries = [...ok, ...this.entries].slice(-MAX_KEPT)
    this.nextId = Math.max(this.nextId, ...this.entries.map((e) => e.id + 1))
  }

  destroy(): void {
    this.doc.off('afterTransaction', this.record)
  }

  private readonly record = (tr: Y.Transaction): void => {
    if (tr.changed.size === 0) return
    const terms = new Set<string>()
    let layout = false
    const b = board(this.doc)
    for (const type of tr.changed.keys()) {
      const term = termOf(this.doc, type)
      if (term) terms.add(term)
      else if (isInside(type, b.notes as AnyType) || isInside(type, b.links as AnyType) || type === (b.order as AnyType)) layout = true
    }
    // Changes to the provider's own maps only (authors, compaction marker): not a change of the caucus.
    if (terms.size === 0 && !layout) return
    const fromRow = isRowOrigin(tr.origin)
    // This page's own edits are this person's (even before the authors map names this page's client).
    const who = fromRow ? (this.rowClients().map((c) => authorOf(this.doc, c)).find((a) => a !== null) ?? null) : this.me
    this.add({ who, terms: [...terms].sort(), layout, caughtUp: fromRow && this.isCatchingUp() })
  }

  private add(e: Omit<SealedHistoryEntry, 'id' | 'at' | 'count'>): void {
    const now = Date.now()
    const last = this.entries[this.entries.length - 1]
    if (
      last &&
      now - last.at < GROUP_MS &&
      last.caughtUp === e.caughtUp &&
      sameAuthor(last.who, e.who) &&
      last.layout === e.layout &&
      last.terms.join() === e.terms.join()
    ) {
      this.entries[this.entries.length - 1] = { ...last, at: now, count: last.count + 1 }
    } else {
      this.entries = [...this.entries, { ...e, id: this.nextId++, at: now, count: 1 }].slice(-MAX_KEPT)
    }
    this.onChange(this.entries)
  }
}

const sameAuthor = (a: SealedAuthor | null, b: SealedAuthor | null) => a?.user === b?.user && a?.party === b?.party

function isInside(type: AnyType, root: AnyType): boolean {
  for (let t: AnyType | null = type; t; t = (t._item?.parent as AnyType | null) ?? null)
    if (t === root) return true
  return false
}

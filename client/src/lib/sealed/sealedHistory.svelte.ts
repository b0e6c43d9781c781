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
import { isRowOrigin } from './sealedProvider'
import { authorOf, classify, touchedByUpdate, type SealedAuthor, type Touched } from './sealedChanges'

const GROUP_MS = 60_000
const MAX_KEPT = 500

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
  /** a compaction: the caucus as it stood, everything before it in one state */
  compacted?: boolean
}

export class SealedHistory {
  /** what the panel draws: replaced whole, never proxied deeply (entries are immutable values) */
  entries = $state.raw<SealedHistoryEntry[]>([])
  /** the list being built (a catch-up adds hundreds of rows: published once, not once per row) */
  private list: SealedHistoryEntry[] = []
  private nextId = 1

  constructor(
    private readonly doc: Y.Doc,
    /** the Yjs client ids of rows applied in the transaction being recorded */
    private readonly rowClients: () => number[],
    private readonly onChange: (entries: SealedHistoryEntry[]) => void,
    private readonly isCatchingUp: () => boolean,
    /** who this page writes as */
    private readonly me: SealedAuthor,
    /** transactions that are no one's change (this device's copy being read) */
    private readonly ignore: (origin: unknown) => boolean,
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
    this.list = [...ok, ...this.list].slice(-MAX_KEPT)
    this.nextId = Math.max(this.nextId, ...this.list.map((e) => e.id + 1))
    this.publish()
  }

  destroy(): void {
    this.doc.off('afterTransaction', this.record)
  }

  /**
   * The rows of a catch-up, once applied, as entries: each row's author (from its Yjs client) and what it
   * touched (from its own structs), consecutive rows of one author on the same things grouped.
   */
  addCaughtUp(rows: ReadonlyArray<{ seq: number; update: Uint8Array }>): void {
    for (const row of [...rows].sort((a, b) => a.seq - b.seq)) {
      const touched = touchedByUpdate(this.doc, row.update)
      if (touched.compaction) {
        // A whole state: everything before it at once, by everyone — not one person's change.
        this.add({ who: null, terms: [], layout: false, caughtUp: true, compacted: true })
        continue
      }
      if (touched.terms.size === 0 && !touched.layout) continue
      const clients = [...Y.parseUpdateMeta(row.update).to.keys()]
      const who = clients.map((c) => authorOf(this.doc, c)).find((a) => a !== null) ?? null
      this.add({ who, terms: [...touched.terms].sort(), layout: touched.layout, caughtUp: true })
    }
    this.publish()
  }

  private readonly record = (tr: Y.Transaction): void => {
    // A catch-up's rows are read one by one once they are all in (addCaughtUp); this device's copy is not news.
    if (tr.changed.size === 0 || this.isCatchingUp() || this.ignore(tr.origin)) return
    const touched: Touched = { terms: new Set(), layout: false }
    for (const type of tr.changed.keys()) classify(this.doc, type, touched)
    // Changes to the provider's own maps only (authors, compaction marker): not a change of the caucus.
    if (touched.terms.size === 0 && !touched.layout) return
    const fromRow = isRowOrigin(tr.origin)
    // This page's own edits are this person's (even before the authors map names this page's client).
    const who = fromRow ? (this.rowClients().map((c) => authorOf(this.doc, c)).find((a) => a !== null) ?? null) : this.me
    this.add({ who, terms: [...touched.terms].sort(), layout: touched.layout, caughtUp: false })
    this.publish()
  }

  private add(e: Omit<SealedHistoryEntry, 'id' | 'at' | 'count'>): void {
    const now = Date.now()
    const list = this.list
    const last = list[list.length - 1]
    if (
      last &&
      now - last.at < GROUP_MS &&
      last.caughtUp === e.caughtUp &&
      !last.compacted &&
      !e.compacted &&
      sameAuthor(last.who, e.who) &&
      last.layout === e.layout &&
      last.terms.join() === e.terms.join()
    ) {
      list[list.length - 1] = { ...last, at: now, count: last.count + 1 }
    } else {
      list.push({ ...e, id: this.nextId++, at: now, count: 1 })
      if (list.length > MAX_KEPT) list.splice(0, list.length - MAX_KEPT)
    }
  }

  /** The list as it stands, to the panel and to this device's copy. */
  private publish(): void {
    this.entries = this.list.slice()
    this.onChange(this.entries)
  }
}

const sameAuthor = (a: SealedAuthor | null, b: SealedAuthor | null) => a?.user === b?.user && a?.party === b?.party

/**
 * What a change of the sealed caucus touched and who made it, read from the doc (pure functions: the
 * history, sealedHistory.svelte.ts, keeps the list). A live change is read from its transaction's changed
 * types; a catch-up's rows from each row's own structs and deletions, whatever order they were applied in.
 */
import * as Y from 'yjs'
import { board } from '../../../../shared/docLayout'
import { compactionIn } from './sealedProvider'

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Yjs types its containers by their event type
export type AnyType = Y.AbstractType<any>

/** The map, in the sealed doc, of Yjs client id (decimal) → who wrote with it. */
export const SEALED_AUTHORS = 'authors'

export interface SealedAuthor {
  user: string
  party: string | null
}

/** What a change touched: terms by id, and whether notes, links or the order. */
export interface Touched {
  terms: Set<string>
  layout: boolean
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
export function termOf(doc: Y.Doc, type: AnyType): string | null {
  const terms = board(doc).terms as AnyType
  for (let t: AnyType | null = type; t && t._item; ) {
    const parent = t._item.parent as AnyType | null
    if (parent === terms) return t._item.parentSub
    t = parent
  }
  return null
}

/** Adds to `into` what a (integrated) type of the doc belongs to. */
export function classify(doc: Y.Doc, type: AnyType | null, into: Touched): void {
  if (!type) return
  const term = termOf(doc, type)
  if (term) return void into.terms.add(term)
  const b = board(doc)
  if (isInside(type, b.notes as AnyType) || isInside(type, b.links as AnyType) || type === (b.order as AnyType)) into.layout = true
}

/** The doc's item with this id (null: unknown here, or collected). */
function itemOf(doc: Y.Doc, id: Y.ID): Y.Item | null {
  try {
    const item = Y.getItem(doc.store, id)
    return item instanceof Y.Item ? item : null
  } catch {
    return null
  }
}

/** The type an item of the doc sits in. */
const typeOfItem = (doc: Y.Doc, id: Y.ID): AnyType | null => (itemOf(doc, id)?.parent as AnyType | null) ?? null

/**
 * What one row's update touched, read from its structs and deletions against the doc it was applied to —
 * in whatever order the rows were applied (a new browser applies a catch-up newest first).
 */
export function touchedByUpdate(doc: Y.Doc, update: Uint8Array): Touched & { compaction: boolean } {
  // A whole state with the marker (sealedProvider.ts): everything at once, read as such.
  const touched = { terms: new Set<string>(), layout: false, compaction: compactionIn(update) !== null }
  if (touched.compaction) return touched
  const { structs, ds } = Y.decodeUpdate(update)
  const b = board(doc)
  const roots: Record<string, AnyType> = { terms: b.terms as AnyType, notes: b.notes as AnyType, links: b.links as AnyType, order: b.order as AnyType }
  for (const s of structs) {
    if (!(s instanceof Y.Item)) continue
    const parent = s.parent as unknown
    if (typeof parent === 'string') {
      // A root's own entry: a term or note added or replaced, the order changed.
      if (parent === 'terms' && s.parentSub) touched.terms.add(s.parentSub)
      else if (roots[parent]) touched.layout = true
    } else if (parent instanceof Y.ID) {
      // The item that holds the type it was written into.
      const host = itemOf(doc, parent)
      classify(doc, host?.content instanceof Y.ContentType ? (host.content.type as AnyType) : null, touched)
    } else {
      // Written beside a neighbour: the neighbour's type is its type.
      const near = s.origin ?? s.rightOrigin
      if (near) classify(doc, typeOfItem(doc, near), touched)
    }
  }
  for (const [client, deletes] of ds.clients) for (const d of deletes) classify(doc, typeOfItem(doc, Y.createID(client, d.clock)), touched)
  return touched
}

export function isInside(type: AnyType, root: AnyType): boolean {
  for (let t: AnyType | null = type; t; t = (t._item?.parent as AnyType | null) ?? null)
    if (t === root) return true
  return false
}

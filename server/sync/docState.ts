/**
 * Questions about an update relative to a doc, answered from the doc's struct
 * store without applying the update: does it add anything, and which client
 * ids does it introduce? Used to store nothing twice and to refuse forged ids.
 */
import * as Y from 'yjs'
import type { UpdateShape } from './updateScan'

/** True when applying the update would change the doc (new structs or new deletions). */
export function addsToDoc(doc: Y.Doc, shape: UpdateShape): boolean {
  for (const r of shape.clients) {
    if (r.to > Y.getState(doc.store, r.client)) return true
  }
  for (const del of shape.deletes) {
    if (!alreadyDeleted(doc, del.client, del.clock, del.len)) return true
  }
  return false
}

/** Delete ranges of the update the doc has not applied yet (a resent delete set costs nothing). */
export function newDeleteRanges(doc: Y.Doc, shape: UpdateShape): number {
  let n = 0
  for (const del of shape.deletes) if (!alreadyDeleted(doc, del.client, del.clock, del.len)) n++
  return n
}

/** Client ids whose structs in this update go beyond what the doc has. */
export function newClientIds(doc: Y.Doc, shape: UpdateShape): number[] {
  const ids: number[] = []
  for (const r of shape.clients) if (r.to > Y.getState(doc.store, r.client)) ids.push(r.client)
  return ids
}

function alreadyDeleted(doc: Y.Doc, client: number, clock: number, len: number): boolean {
  const structs = doc.store.clients.get(client)
  // Deleting items the doc has not seen yet is new information (Yjs keeps it pending).
  if (!structs || clock + len > Y.getState(doc.store, client)) return false
  const end = clock + len
  for (let i = Y.findIndexSS(structs, clock); i < structs.length; i++) {
    const s = structs[i]!
    if (s.id.clock >= end) break
    if (!s.deleted) return false
  }
  return true
}

/**
 * True when the update's structs for some client start past what the doc has
 * of that client. Yjs would keep such structs pending (invisible) — yet they
 * would be stored and receipted. A client sends one after a crash or a
 * refused write lost its predecessors; its sync step 2 carries both.
 */
export function startsPastState(doc: Y.Doc, shape: UpdateShape): boolean {
  for (const r of shape.clients) if (r.from > Y.getState(doc.store, r.client)) return true
  return false
}

/**
 * How deep shared types may nest. Parley's layouts nest three levels (root →
 * term or note map → Y.Text); Yjs deletes and garbage-collects nested types
 * recursively, so a few thousand levels overflow the stack of whoever deletes
 * them — the server refusing a legitimate delete, and every browser crashing.
 */
export const MAX_TYPE_NESTING = 64

/** Within a transaction (before its observers run): did it create a type nested deeper than `max`? */
export function nestsDeeperThan(tr: Y.Transaction, max: number): boolean {
  for (const [client, after] of tr.afterState) {
    const before = tr.beforeState.get(client) ?? 0
    if (after <= before) continue
    const structs = tr.doc.store.clients.get(client)
    if (!structs) continue
    for (let i = Y.findIndexSS(structs, before); i < structs.length; i++) {
      const s = structs[i]!
      if (!(s instanceof Y.Item) || !(s.content instanceof Y.ContentType)) continue
      let depth = 1
      for (let p = s.parent as Y.AbstractType<unknown> | null; p?._item; p = p._item.parent as Y.AbstractType<unknown> | null) {
        if (++depth > max) return true
      }
    }
  }
  return false
}

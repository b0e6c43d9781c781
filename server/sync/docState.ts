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

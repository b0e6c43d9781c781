/**
 * Checks a client update against its document's layout (shared/docLayout.ts
 * `DocLayout`) before Yjs applies it, so a value of the wrong kind never
 * reaches the doc, the store or any reader: one negotiator's
 * `terms.set('x', 'not a map')` would otherwise leave every browser unable to
 * draw the board and make that version unreadable for good.
 *
 * Every item of the update (updateScan.ts keeps each one's place) is put
 * where Yjs will put it: under its written parent (a root by name, or the
 * type held by the item with the written id), or, with neighbours, under its
 * left neighbour's parent and key (else its right one's) — exactly
 * Item.getMissing's rule in yjs/src/structs/Item.js. Neighbours and parents
 * are looked up in the update itself or in the doc. The layout node at that
 * place then says what the item may hold. Deleted placeholders are allowed
 * anywhere; an item whose neighbour was garbage-collected is discarded by Yjs
 * and so is not judged; one whose neighbour is nowhere yet is refused by the
 * room's missing-dependency guard after this check.
 *
 * Hand-written: Yjs offers no way to see where an update's items land
 * without integrating them.
 */
import * as Y from 'yjs'
import type { DocLayout, LayoutNode } from '../../shared/docLayout'
import type { ItemId, ScannedContent, ScannedItem } from './updateScan'

/** Yjs type refs (yjs/src/structs/ContentType.js) of the shared types layouts use. */
const TYPE_REF = { array: 0, map: 1, text: 2 } as const

/** Where an item sits: the layout node of its parent type and its map key. */
type Place = { node: LayoutNode | null; sub: string | null } | 'discarded' | 'unknown'

/** The place inside a Y.Text's content: characters and formatting marks, nothing else. */
type Slot = LayoutNode | { kind: 'text-content'; text: Extract<LayoutNode, { kind: 'text' }> }

export class LayoutViolation extends Error {}

export class LayoutChecker {
  /** layout node of each type already in the doc (types never move) */
  private readonly typeNodes = new WeakMap<Y.AbstractType<any>, LayoutNode | null>()
  private rootNames: Map<Y.AbstractType<any>, string> | null = null

  constructor(
    private readonly doc: Y.Doc,
    private readonly layout: DocLayout,
  ) {}

  /** null when every item fits the layout, else why not. */
  check(items: ScannedItem[]): string | null {
    if (items.length === 0) return null
    const run = new UpdateRun(this, items)
    try {
      for (const item of items) run.judge(item)
      return null
    } catch (err) {
      if (err instanceof LayoutViolation) return err.message
      throw err
    }
  }

  /** The layout node of a type in the doc; null for a type that stands where the layout has no place. */
  nodeOfType(type: Y.AbstractType<any>): LayoutNode | null {
    const known = this.typeNodes.get(type)
    if (known !== undefined) return known
    let node: LayoutNode | null
    const item = type._item
    if (item === null) {
      node = this.rootNode(type)
    } else {
      const parent = item.parent instanceof Y.AbstractType ? this.nodeOfType(item.parent) : null
      const slot = parent ? childSlot(parent, item.parentSub) : null
      node = slot && slot.kind !== 'text-content' && fitsType(slot, item.content) ? slot : null
    }
    this.typeNodes.set(type, node)
    return node
  }

  private rootNode(type: Y.AbstractType<any>): LayoutNode | null {
    if (!this.rootNames || !this.rootNames.has(type)) {
      this.rootNames = new Map()
      this.doc.share.forEach((t, name) => this.rootNames!.set(t, name))
    }
    const name = this.rootNames.get(type)
    return name === undefined ? null : (this.layout.roots[name] ?? null)
  }

  rootByName(name: string): LayoutNode | null {
    return this.layout.roots[name] ?? null
  }

  /** The struct of the doc that holds `id`, or undefined when the doc has not got it. */
  docStruct(id: ItemId): Y.Item | Y.GC | undefined {
    const structs = this.doc.store.clients.get(id.client)
    if (!structs || structs.length === 0) return undefined
    const last = structs[structs.length - 1]!
    if (id.clock >= last.id.clock + last.length) return undefined
    return structs[Y.findIndexSS(structs, id.clock)] as Y.Item | Y.GC
  }
}

/** The items of one update, placed one by one (each place found once). */
class UpdateRun {
  private readonly byClient = new Map<number, ScannedItem[]>()
  private readonly places = new Map<ScannedItem, Place>()
  private readonly placing = new Set<ScannedItem>()

  constructor(
    private readonly checker: LayoutChecker,
    items: ScannedItem[],
  ) {
    for (const item of items) {
      let list = this.byClient.get(item.client)
      if (!list) this.byClient.set(item.client, (list = []))
      list.push(item)
    }
  }

  judge(item: ScannedItem): void {
    const place = this.placeOf(item)
    if (place === 'discarded' || place === 'unknown') return
    if (place.node === null) throw new LayoutViolation('content under a value that is not part of the layout')
    const slot = childSlot(place.node, place.sub)
    if (!slot) throw new LayoutViolation(describeMisplaced(place.node, place.sub))
    if (!fits(slot, item.content, item.len, place.sub !== null))
      throw new LayoutViolation(describeMismatch(place.sub, slot, item.content))
  }

  /** Where Yjs will integrate `item` (its parent's layout node and its key). */
  private placeOf(item: ScannedItem): Place {
    const known = this.places.get(item)
    if (known !== undefined) return known
    if (this.placing.has(item)) throw new LayoutViolation('items of the update name each other as neighbours in a cycle')
    this.placing.add(item)
    let place: Place
    if (item.origin) place = this.placeBeside(item.origin)
    else if (item.rightOrigin) place = this.placeBeside(item.rightOrigin)
    else if (item.parent && 'root' in item.parent)
      place = { node: this.checker.rootByName(item.parent.root), sub: item.parentSub }
    else if (item.parent) {
      const node = this.typeNodeAt(item.parent.id)
      place = node === 'unknown' || node === 'discarded' ? node : { node, sub: item.parentSub }
    } else throw new LayoutViolation('an item with neither neighbours nor parent')
    // Yjs takes the parent from the neighbour only when none is written; a written one is ignored then.
    this.placing.delete(item)
    this.places.set(item, place)
    return place
  }

  /** The place of the neighbour with id `id`: an item inherits it. */
  private placeBeside(id: ItemId): Place {
    const own = this.find(id)
    if (own) return this.placeOf(own)
    const struct = this.checker.docStruct(id)
    if (!struct) return 'unknown'
    if (!(struct instanceof Y.Item)) return 'discarded'
    const parent = struct.parent
    if (!(parent instanceof Y.AbstractType)) return 'discarded'
    return { node: this.checker.nodeOfType(parent), sub: struct.parentSub }
  }

  /**
   * The layout node of the type held by the item with id `id`: null when it holds none where one
   * may stand; 'unknown' when nobody has that item yet (Yjs holds the child back as pending), and
   * 'discarded' when it was garbage-collected (Yjs drops the child).
   */
  private typeNodeAt(id: ItemId): LayoutNode | null | 'unknown' | 'discarded' {
    const own = this.find(id)
    if (own) {
      const place = this.placeOf(own)
      if (place === 'discarded' || place === 'unknown') return place
      if (place.node === null) return null
      const slot = childSlot(place.node, place.sub)
      return slot && slot.kind !== 'text-content' && own.content.kind === 'type' && typeRefFits(slot, own.content.typeRef)
        ? slot
        : null
    }
    const struct = this.checker.docStruct(id)
    if (!struct) return 'unknown'
    if (!(struct instanceof Y.Item)) return 'discarded'
    return struct.content instanceof Y.ContentType ? this.checker.nodeOfType(struct.content.type) : null
  }

  /** The item of this update that holds `id`. */
  private find(id: ItemId): ScannedItem | undefined {
    const list = this.byClient.get(id.client)
    if (!list) return undefined
    let lo = 0
    let hi = list.length - 1
    while (lo <= hi) {
      const mid = (lo + hi) >> 1
      const it = list[mid]!
      if (id.clock < it.clock) hi = mid - 1
      else if (id.clock >= it.clock + it.len) lo = mid + 1
      else return it
    }
    return undefined
  }
}

/** What may stand in `parent` under key `sub` (null: a list position); null when nothing may. */
function childSlot(parent: LayoutNode, sub: string | null): Slot | null {
  switch (parent.kind) {
    case 'map':
      return sub !== null && Object.hasOwn(parent.keys, sub) ? parent.keys[sub]! : null
    case 'collection':
      return sub !== null && parent.key(sub) ? parent.value : null
    case 'array':
      return sub === null ? parent.item : null
    case 'text':
      return sub === null ? { kind: 'text-content', text: parent } : null
    default:
      return null
  }
}

function typeRefFits(slot: LayoutNode, typeRef: number): boolean {
  switch (slot.kind) {
    case 'map':
    case 'collection':
      return typeRef === TYPE_REF.map
    case 'array':
      return typeRef === TYPE_REF.array
    case 'text':
      return typeRef === TYPE_REF.text
    default:
      return false
  }
}

/** For a type already in the doc: does its content suit the slot it stands in? */
function fitsType(slot: LayoutNode, content: Y.Item['content']): boolean {
  if (!(content instanceof Y.ContentType)) return false
  const t = content.type
  switch (slot.kind) {
    case 'map':
    case 'collection':
      return t instanceof Y.Map
    case 'array':
      return t instanceof Y.Array
    case 'text':
      return t instanceof Y.Text
    default:
      return false
  }
}

function fits(slot: Slot, content: ScannedContent, len: number, mapValue: boolean): boolean {
  if (content.kind === 'deleted') return true
  if (slot.kind === 'text-content') {
    if (content.kind === 'string') return true
    return content.kind === 'format' && slot.text.format !== undefined && slot.text.format(content.key, content.value)
  }
  switch (content.kind) {
    case 'type':
      return typeRefFits(slot, content.typeRef)
    case 'any':
      // A map key holds one value; a list position may hold a run of them.
      if (slot.kind !== 'number' && slot.kind !== 'string') return false
      if (mapValue && len !== 1) return false
      return content.values.length === len && content.values.every((v) => leafFits(slot, v))
    default:
      return false
  }
}

function leafFits(slot: Extract<LayoutNode, { kind: 'number' | 'string' }>, v: unknown): boolean {
  return slot.kind === 'number' ? typeof v === 'number' && slot.test(v) : typeof v === 'string' && slot.test(v)
}

function describeMisplaced(parent: LayoutNode, sub: string | null): string {
  const key = sub === null ? 'a list entry' : `key "${sub.slice(0, 40)}"`
  return `${key} has no place in a ${parent.kind === 'collection' ? 'map of entries' : parent.kind}`
}

function describeMismatch(sub: string | null, slot: Slot, content: ScannedContent): string {
  const where = sub === null ? 'a list entry' : `"${sub.slice(0, 40)}"`
  const expected = slot.kind === 'text-content' ? 'text' : slot.kind === 'collection' ? 'map' : slot.kind
  return `${where} must be a ${expected}, not ${content.kind === 'any' ? 'this value' : `a ${content.kind}`}`
}

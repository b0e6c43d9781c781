/**
 * A bounded pre-pass over a Yjs v1 update, run before Yjs decodes it.
 *
 * Yjs allocates an object per struct (and an array sized by the declared
 * count) while decoding, so a 1 MiB "update bomb" of a million tiny items
 * costs hundreds of MB and seconds of CPU before anyone can refuse it. This
 * scanner walks the same grammar (yjs/src/utils/encoding.js, readClientsStructRefs
 * and readDeleteSet) without building structs, enforces the limits as it goes,
 * and returns what the checks need: the id range each client's structs cover,
 * the delete ranges, and the root types the update names. Yjs has no public
 * API that gives this without full decoding, hence hand-written.
 */
import * as decoding from 'lib0/decoding'
import type { DocLayout } from '../../shared/docLayout'
import { ProtocolError } from './messages'

export interface UpdateLimits {
  maxStructs: number
  maxDeleteRanges: number
  /** root type names the doc may contain; undefined allows any */
  allowedRoots?: ReadonlySet<string>
  /** the doc's layout: the scan then keeps what layoutCheck.ts needs of every item */
  layout?: DocLayout
}

export interface ItemId {
  client: number
  clock: number
}

/** What an item holds, as far as the layout check cares (yjs/src/structs/Content*.js). */
export type ScannedContent =
  | { kind: 'deleted' }
  | { kind: 'json' }
  | { kind: 'binary' }
  | { kind: 'string' }
  | { kind: 'embed' }
  | { kind: 'format'; key: string; value: string }
  | { kind: 'type'; typeRef: number }
  | { kind: 'any'; values: unknown[] }

/**
 * One item of an update, undecoded but for its place: Yjs writes the parent
 * (a root name or the id of the item holding the parent type) and the map key
 * only when the item has neither neighbour; otherwise they are its left
 * (else right) neighbour's.
 */
export interface ScannedItem {
  client: number
  clock: number
  len: number
  origin: ItemId | null
  rightOrigin: ItemId | null
  parent: { root: string } | { id: ItemId } | null
  parentSub: string | null
  content: ScannedContent
}

export interface ClientRange {
  client: number
  /** first clock of the first struct (Skip structs excluded) */
  from: number
  /** clock after the last struct */
  to: number
}

export interface DeleteRange {
  client: number
  clock: number
  len: number
}

export interface UpdateShape {
  /** clients whose structs carry content (items or GC), with their clock ranges */
  clients: ClientRange[]
  deletes: DeleteRange[]
  structCount: number
  /** true when the update carries neither structs nor deletions */
  empty: boolean
  /** every item, when the limits name a layout */
  items?: ScannedItem[]
}

const BIT6 = 32
const BIT7 = 64
const BIT8 = 128
const BITS5 = 31
/** typeRefs of yjs/src/types: YXmlElement and YXmlHook carry a name */
const TYPE_REF_MAX = 6
const TYPE_REFS_WITH_NAME = new Set([3, 5])

export function scanUpdate(update: Uint8Array, limits: UpdateLimits): UpdateShape {
  try {
    return scan(decoding.createDecoder(update), limits)
  } catch (err) {
    if (err instanceof ProtocolError) throw err
    throw new ProtocolError(`malformed Yjs update: ${(err as Error).message}`)
  }
}

function scan(d: decoding.Decoder, limits: UpdateLimits): UpdateShape {
  const clients: ClientRange[] = []
  const items: ScannedItem[] | undefined = limits.layout ? [] : undefined
  let structCount = 0
  const numClients = decoding.readVarUint(d)
  if (numClients > limits.maxStructs) throw new ProtocolError(`update names ${numClients} clients`)
  for (let c = 0; c < numClients; c++) {
    const numStructs = decoding.readVarUint(d)
    structCount += numStructs
    if (structCount > limits.maxStructs) {
      throw new ProtocolError(`update carries over ${limits.maxStructs} structs`)
    }
    const client = decoding.readVarUint(d)
    let clock = decoding.readVarUint(d)
    let from = -1
    for (let i = 0; i < numStructs; i++) {
      const info = decoding.readUint8(d)
      const ref = info & BITS5
      let len: number
      if (ref === 0 || ref === 10) {
        // GC or Skip: just a length. Skip is a gap, not content.
        len = decoding.readVarUint(d)
        if (ref === 0 && from < 0) from = clock
      } else {
        if (from < 0) from = clock
        const item = items ? newItem(client, clock) : undefined
        len = skipItem(d, info, ref, limits, item)
        if (item) {
          item.len = len
          items!.push(item)
        }
        // JSON and Any content hold one decoded JS value per element: a million `undefined`s fit in
        // 1 MiB as a single struct, and Yjs would allocate and later copy an array of them. Charge
        // each element like a struct, so such an update is refused before Yjs decodes it.
        if (ref === 2 || ref === 8) {
          structCount += len - 1
          if (structCount > limits.maxStructs) throw new ProtocolError(`update carries over ${limits.maxStructs} structs`)
        }
      }
      if (len <= 0) throw new ProtocolError('struct of zero length')
      clock += len
      if (!Number.isSafeInteger(clock)) throw new ProtocolError('clock overflow')
    }
    if (from >= 0) clients.push({ client, from, to: clock })
  }
  const deletes = readDeletes(d, limits)
  if (decoding.hasContent(d)) throw new ProtocolError('trailing bytes after update')
  return { clients, deletes, structCount, empty: clients.length === 0 && deletes.length === 0, ...(items ? { items } : {}) }
}

const newItem = (client: number, clock: number): ScannedItem => ({
  client,
  clock,
  len: 0,
  origin: null,
  rightOrigin: null,
  parent: null,
  parentSub: null,
  content: { kind: 'deleted' },
})

/** Skips one Item and returns its length in clock units; fills in `item` (the layout check's view) when given. */
function skipItem(d: decoding.Decoder, info: number, ref: number, limits: UpdateLimits, item?: ScannedItem): number {
  if ((info & BIT8) === BIT8) {
    const origin = readId(d)
    if (item) item.origin = origin
  }
  if ((info & BIT7) === BIT7) {
    const rightOrigin = readId(d)
    if (item) item.rightOrigin = rightOrigin
  }
  if ((info & (BIT7 | BIT8)) === 0) {
    // no origins: the parent is written out, either a root type by name or an item id
    if (decoding.readVarUint(d) === 1) {
      const root = decoding.readVarString(d)
      if (limits.allowedRoots && !limits.allowedRoots.has(root)) {
        throw new ProtocolError(`root type "${root.slice(0, 40)}" is not part of this document's layout`)
      }
      if (item) item.parent = { root }
    } else {
      const id = readId(d)
      if (item) item.parent = { id }
    }
    if ((info & BIT6) === BIT6) {
      const key = decoding.readVarString(d) // parentSub (map key)
      if (item) item.parentSub = key
    }
  }
  switch (ref) {
    case 1: // deleted
      return decoding.readVarUint(d)
    case 2: {
      // JSON: len strings
      const len = decoding.readVarUint(d)
      if (len > d.arr.length) throw new ProtocolError('JSON content length past the end')
      if (len > limits.maxStructs) throw new ProtocolError(`update carries over ${limits.maxStructs} structs`)
      for (let i = 0; i < len; i++) {
        // Yjs JSON.parses each one while decoding (and throws on what is not JSON), bar the literal "undefined".
        const json = decoding.readVarString(d)
        if (json !== 'undefined') parseJson(json)
      }
      if (item) item.content = { kind: 'json' }
      return len
    }
    case 3: // binary
      decoding.readVarUint8Array(d)
      if (item) item.content = { kind: 'binary' }
      return 1
    case 4: // string; Yjs counts UTF-16 code units
      if (item) item.content = { kind: 'string' }
      return decoding.readVarString(d).length
    case 5: // embed
      decoding.readVarString(d)
      if (item) item.content = { kind: 'embed' }
      return 1
    case 6: {
      // format: key + JSON value
      const key = decoding.readVarString(d)
      const value = decoding.readVarString(d)
      if (item) item.content = { kind: 'format', key, value }
      return 1
    }
    case 7: {
      const typeRef = decoding.readVarUint(d)
      if (typeRef > TYPE_REF_MAX) throw new ProtocolError(`unknown type ref ${typeRef}`)
      if (TYPE_REFS_WITH_NAME.has(typeRef)) decoding.readVarString(d)
      if (item) item.content = { kind: 'type', typeRef }
      return 1
    }
    case 8: {
      // any: len values
      const len = decoding.readVarUint(d)
      if (len > d.arr.length) throw new ProtocolError('any content length past the end')
      if (len > limits.maxStructs) throw new ProtocolError(`update carries over ${limits.maxStructs} structs`)
      const values: unknown[] | undefined = item ? [] : undefined
      for (let i = 0; i < len; i++) {
        const v = decoding.readAny(d)
        values?.push(v)
      }
      if (item) item.content = { kind: 'any', values: values! }
      return len
    }
    case 9:
      // Sub-documents make Yjs construct a new Y.Doc while decoding; Parley has none.
      throw new ProtocolError('sub-documents are not allowed')
    default:
      throw new ProtocolError(`unknown content ref ${ref}`)
  }
}

function parseJson(json: string): void {
  try {
    JSON.parse(json)
  } catch {
    throw new ProtocolError('JSON content that is not JSON')
  }
}

function readId(d: decoding.Decoder): ItemId {
  const client = decoding.readVarUint(d)
  const clock = decoding.readVarUint(d)
  return { client, clock }
}

function readDeletes(d: decoding.Decoder, limits: UpdateLimits): DeleteRange[] {
  const deletes: DeleteRange[] = []
  const numClients = decoding.readVarUint(d)
  if (numClients > limits.maxDeleteRanges) throw new ProtocolError(`delete set names ${numClients} clients`)
  for (let i = 0; i < numClients; i++) {
    const client = decoding.readVarUint(d)
    const numDeletes = decoding.readVarUint(d)
    if (deletes.length + numDeletes > limits.maxDeleteRanges) {
      throw new ProtocolError(`delete set over ${limits.maxDeleteRanges} ranges`)
    }
    for (let j = 0; j < numDeletes; j++) {
      const clock = decoding.readVarUint(d)
      const len = decoding.readVarUint(d)
      if (len > 0) deletes.push({ client, clock, len })
    }
  }
  return deletes
}

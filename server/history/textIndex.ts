/**
 * Where in a text a row's changes are, without reading the text.
 *
 * A row's attributed delta (rowDelta.ts) needs, for every character the row
 * inserted or deleted, its position in the text as it stood before the row.
 * Yjs knows items, not positions: `Y.Text.toString()` and
 * `YTextEvent.delta` both walk the text from its start, so per keystroke they
 * cost the length of the term (86% of the server's time in issue 12's
 * profile). This index keeps a few position markers per text instead — a
 * character id ({client, clock}: Yjs splits and merges items, but a
 * character's id never changes) and how many characters were alive to its
 * left after the last row — and places a changed item by walking outwards
 * from it, both ways at once, until it meets an item whose position is known:
 * a marker's, one placed earlier in the same row, or either end of the text
 * (the length is kept too). Typing at one place, and each delegation typing
 * at its own place, then costs a step or two per keystroke whatever the
 * length of the term or of the history; a jump to a new place costs one walk
 * to the nearest marker or end, and leaves a marker there.
 *
 * Markers sit on characters alive after the row they were set in, so the
 * next row can shift them through its own delta without ambiguity (an insert
 * at a marker's position is to the marker's left). A marker whose character a
 * row deletes moves to a live neighbour within a few items, or is dropped.
 * Markers are kept most recently used first; the one a change was found from,
 * if it was only a few items away, moves with it to where the typing goes
 * on. A walk recognises a marker by its character's id falling in an item's
 * clock range, so markers cost no look-up in Yjs's struct store; in return
 * the index must see every row that changes its text (RowDeltas starts the
 * indexes over when the doc changes any other way).
 *
 * Every item stepped over is counted (`WalkStats.visited`), so tests check
 * the work per keystroke deterministically instead of timing it.
 */
import * as Y from 'yjs'
import { DeltaBuilder, type Party, type TextDelta } from './delta'

/** What one row (one Yjs transaction, seen in `afterTransaction`) did, as far as telling items apart goes. */
export interface RowView {
  /** the item was integrated by this row */
  inserted(item: Y.Item): boolean
  /** the item was deleted by this row (it may have been inserted by it too) */
  deletedNow(item: Y.Item): boolean
}

export interface WalkStats {
  /** items stepped over to place changes and markers, over all texts */
  visited: number
  /** whole-text walks: the first change to a text already in the doc when the index started */
  fullWalks: number
}

/** Plain characters: what `Y.Text.toString()` and the history show (embeds and formats are not text). */
export const isChars = (item: Y.Item): boolean => item.content instanceof Y.ContentString

/** Characters of `item` in the text as it stood before the row. */
export const charsBefore = (item: Y.Item, row: RowView): number =>
  isChars(item) && !row.inserted(item) && (!item.deleted || row.deletedNow(item)) ? item.length : 0

interface Marker {
  client: number
  clock: number
  /** characters alive to the left of character (client, clock) after the last row */
  pos: number
}

/** A place known during one row: the position (before the row) of an item's first character. */
export interface Ref {
  pos: number
  /** the marker it was found from, when close enough for that marker to follow the change */
  via: Marker | null
}

interface Change {
  item: Y.Item
  /** position before the row */
  pos: number
  del: boolean
  via: Marker | null
  /** for an insert: its position after the row */
  after: number
}

/**
 * A marker follows a change found within FOLLOW items of it (typing on, a
 * backspace, a paste at the caret); a change found farther away gets a
 * marker of its own, so two delegations typing a few words apart do not
 * pull one marker back and forth. A marker whose character is deleted looks
 * for a live one within NEAR items.
 */
const FOLLOW = 4
const NEAR = 64
const DEFAULT_MARKERS = 8

export class TextIndex {
  private markers: Marker[] = []

  constructor(
    /** plain length after the last row */
    private length: number,
    private readonly stats: WalkStats,
    private readonly cap: number = DEFAULT_MARKERS,
  ) {}

  /** Plain length after the last row (for tests). */
  get size(): number {
    return this.length
  }

  /** Markers held (for tests). */
  get markerCount(): number {
    return this.markers.length
  }

  /**
   * The delta of one row on this text: `changed` are the row's inserted
   * items still alive and the items alive before it that it deleted (plain
   * characters only, in any order); `refs` may hold places already known.
   */
  rowDelta(changed: readonly Y.Item[], row: RowView, p: Party, s: number, refs = new Map<Y.Item, Ref>()): TextDelta {
    const changes: Change[] = []
    for (const item of changed) {
      const ref = this.locate(item, row, refs)
      changes.push({ item, pos: ref.pos, del: item.deleted, via: ref.via, after: 0 })
    }
    // Document order: by position, a delete before the inserts at its place (DeltaBuilder's normal form).
    changes.sort((a, b) => a.pos - b.pos || Number(b.del) - Number(a.del))
    this.orderTies(changes, row)

    const out = new DeltaBuilder()
    let cursor = 0
    let ins = 0
    let delBefore = 0
    let delHere = 0
    let lastPos = -1
    // the net change up to each change, for shifting markers
    const net: number[] = []
    let sum = 0
    for (const c of changes) {
      if (c.pos !== lastPos) {
        delBefore += delHere
        delHere = 0
        lastPos = c.pos
      }
      if (c.pos > cursor) {
        out.retain(c.pos - cursor)
        cursor = c.pos
      }
      if (c.del) {
        out.delete(c.item.length, p, s)
        cursor += c.item.length
        delHere += c.item.length
        sum -= c.item.length
      } else {
        c.after = c.pos + ins - delBefore
        out.insert((c.item.content as Y.ContentString).str, p, s)
        ins += c.item.length
        sum += c.item.length
      }
      net.push(sum)
    }
    this.length += sum
    this.moveMarkers(new RowMoves(changes, net, row))
    return out.done()
  }

  /** The place a marker gives `item`, if one of the markers' characters is in it. */
  private markerRef(item: Y.Item): Ref | undefined {
    const { client, clock } = item.id
    for (const m of this.markers) {
      // Marker characters were alive after the last row, so `item` was text before this one.
      if (m.client === client && m.clock >= clock && m.clock < clock + item.length)
        return { pos: m.pos - (m.clock - clock), via: m }
    }
    return undefined
  }

  /** Position before the row of `item`'s first character: walk out both ways to a known place or an end. */
  private locate(item: Y.Item, row: RowView, refs: Map<Y.Item, Ref>): Ref {
    const known = refs.get(item) ?? this.markerRef(item)
    if (known) {
      refs.set(item, known)
      return known
    }
    let left = item.left
    let leftChars = 0 // characters strictly between `left` and `item`
    let right = item.right
    let rightChars = charsBefore(item, row) // characters from `item` up to `right`
    let steps = 0
    let found: Ref
    for (;;) {
      if (left === null) {
        found = { pos: leftChars, via: null }
        break
      }
      steps++
      const l = refs.get(left) ?? this.markerRef(left)
      if (l) {
        found = { pos: l.pos + charsBefore(left, row) + leftChars, via: l.via }
        break
      }
      leftChars += charsBefore(left, row)
      left = left.left
      if (right === null) {
        found = { pos: this.length - rightChars, via: null }
        break
      }
      steps++
      const r = refs.get(right) ?? this.markerRef(right)
      if (r) {
        found = { pos: r.pos - rightChars, via: r.via }
        break
      }
      rightChars += charsBefore(right, row)
      right = right.right
    }
    this.stats.visited += steps
    // A marker found farther away stays where it is (it serves another place); this place gets a marker of its own.
    if (steps > FOLLOW) found = { pos: found.pos, via: null }
    refs.set(item, found)
    return found
  }

  /**
   * Inserts at one position (before the row) are only separated by items
   * that were not text then; their order is the order of the items, found
   * by walking that stretch.
   */
  private orderTies(changes: Change[], row: RowView): void {
    for (let i = 0; i < changes.length;) {
      let j = i
      while (j < changes.length && changes[j]!.pos === changes[i]!.pos) j++
      const k = changes[i]!.del ? i + 1 : i
      if (j - k > 1) {
        const byItem = new Map<Y.Item, Change>()
        for (let x = k; x < j; x++) byItem.set(changes[x]!.item, changes[x]!)
        let start = changes[k]!.item
        while (start.left !== null && charsBefore(start.left, row) === 0) {
          start = start.left
          this.stats.visited++
        }
        const ordered: Change[] = []
        for (let y: Y.Item | null = start; y !== null && ordered.length < byItem.size; y = y.right) {
          this.stats.visited++
          const c = byItem.get(y)
          if (c) ordered.push(c)
          else if (charsBefore(y, row) > 0) break
        }
        if (ordered.length === byItem.size) changes.splice(k, ordered.length, ...ordered)
      }
      i = j
    }
  }

  /**
   * After the row: the marker the last change was found from moves to where
   * that change ends (typing goes on there), or a new marker is made there;
   * then the markers the row used, then the others, each shifted through the
   * row (or, if the row deleted its character, moved to a live neighbour).
   */
  private moveMarkers(row: RowMoves): void {
    const changes = row.changes
    const last = changes[changes.length - 1]
    const next: Marker[] = []
    let follows: Marker | null = null
    if (last) {
      const at = last.del
        ? this.liveNear(last.item, last.pos, row)
        : {
            client: last.item.id.client,
            clock: last.item.id.clock + last.item.length - 1,
            pos: last.after + last.item.length - 1,
          }
      if (at) {
        follows = last.via
        next.push(Object.assign(follows ?? { client: 0, clock: 0, pos: 0 }, at))
      }
    }
    const used: Marker[] = []
    for (let i = changes.length - 1; i >= 0; i--) {
      const via = changes[i]!.via
      if (via && !used.includes(via)) used.push(via)
    }
    for (const m of [...used, ...this.markers]) {
      if (next.length >= this.cap) break
      if (m === follows || next.includes(m)) continue
      const gone = row.deletedWith(m)
      if (!gone) m.pos = row.shift(m.pos)
      else {
        const near = this.liveNear(gone.item, gone.pos, row)
        if (!near) continue
        Object.assign(m, near)
      }
      if (!next.some((n) => n.client === m.client && n.clock === m.clock)) next.push(m)
    }
    this.markers = next
  }

  /**
   * A character alive after the row near `item` (whose first character was
   * at `start` before the row), with its position after the row: the
   * nearest on the left within NEAR items, else on the right.
   */
  private liveNear(item: Y.Item, start: number, row: RowMoves): Marker | null {
    let x = item
    let at = start
    for (let i = 0; i < NEAR && x.left !== null; i++) {
      const l = x.left
      this.stats.visited++
      at -= charsBefore(l, row.view)
      if (isChars(l) && !l.deleted) {
        const first = row.view.inserted(l) ? row.afterOf(l) : row.shift(at)
        if (first !== undefined) return { client: l.id.client, clock: l.id.clock + l.length - 1, pos: first + l.length - 1 }
      }
      x = l
    }
    x = item
    at = start + charsBefore(item, row.view)
    for (let i = 0; i < NEAR && x.right !== null; i++) {
      const r = x.right
      this.stats.visited++
      if (isChars(r) && !r.deleted) {
        const first = row.view.inserted(r) ? row.afterOf(r) : row.shift(at)
        if (first !== undefined) return { client: r.id.client, clock: r.id.clock, pos: first }
      }
      at += charsBefore(r, row.view)
      x = r
    }
    return null
  }
}

/** One row's changes to one text in document order, for moving markers past them. */
class RowMoves {
  private afterByItem: Map<Y.Item, number> | null = null

  constructor(
    readonly changes: Change[],
    /** the net change up to and including each change */
    private readonly net: number[],
    readonly view: RowView,
  ) {}

  /** Position after the row of a character alive before and after it, at `x` before. */
  shift(x: number): number {
    // Changes at x are inserts (a delete there would have removed the character): they are to its left.
    let lo = 0
    let hi = this.changes.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.changes[mid]!.pos <= x) lo = mid + 1
      else hi = mid
    }
    return lo === 0 ? x : x + this.net[lo - 1]!
  }

  /** The deleted item holding marker `m`'s character, if the row deleted it. */
  deletedWith(m: Marker): Change | undefined {
    for (const c of this.changes) {
      if (c.del && c.item.id.client === m.client && m.clock >= c.item.id.clock && m.clock < c.item.id.clock + c.item.length)
        return c
    }
    return undefined
  }

  /** Where an item the row inserted starts after it. */
  afterOf(item: Y.Item): number | undefined {
    if (!this.afterByItem) {
      this.afterByItem = new Map()
      for (const c of this.changes) if (!c.del) this.afterByItem.set(c.item, c.after)
    }
    return this.afterByItem.get(item)
  }
}

/** The indexes of one doc's texts, made when a text first changes. */
export class TextIndexes {
  private byText = new WeakMap<Y.Text, TextIndex>()
  readonly stats: WalkStats = { visited: 0, fullWalks: 0 }

  constructor(private readonly cap: number = DEFAULT_MARKERS) {}

  /** The delta of one row on a text that was in the doc before the row (see TextIndex.rowDelta). */
  delta(text: Y.Text, changed: readonly Y.Item[], row: RowView, p: Party, s: number): TextDelta {
    let index = this.byText.get(text)
    const refs = new Map<Y.Item, Ref>()
    if (!index) {
      index = new TextIndex(this.measure(text, changed, row, refs), this.stats, this.cap)
      this.byText.set(text, index)
    }
    return index.rowDelta(changed, row, p, s, refs)
  }

  /** A text the row created, `length` characters long: nothing to measure. */
  created(text: Y.Text, length: number): void {
    this.byText.set(text, new TextIndex(length, this.stats, this.cap))
  }

  /** Forget every text (the doc changed other than row by row). */
  reset(): void {
    this.byText = new WeakMap()
  }

  /** For tests: the index of a text, if it has one. */
  indexOf(text: Y.Text): TextIndex | undefined {
    return this.byText.get(text)
  }

  /**
   * The one whole walk: a text not seen before (the doc was loaded with it).
   * Its length before the row, and on the way the places of the changed items.
   */
  private measure(text: Y.Text, changed: readonly Y.Item[], row: RowView, refs: Map<Y.Item, Ref>): number {
    const wanted = new Set(changed)
    let pos = 0
    this.stats.fullWalks++
    for (let n = text._start; n !== null; n = n.right) {
      this.stats.visited++
      if (wanted.has(n)) refs.set(n, { pos, via: null })
      pos += charsBefore(n, row)
    }
    return pos
  }
}

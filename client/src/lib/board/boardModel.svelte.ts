/**
 * A board document (the shared board or a delegation's caucus) as reactive
 * plain data, and the only way the UI writes to it: each method is one
 * `transact` with the local origin, through the layout accessors of
 * shared/docLayout.ts.
 *
 * Snapshots are rebuilt after each doc update but keep the previous object
 * for anything that did not change, so a keystroke in one term re-renders
 * that term's card only.
 */
import * as Y from 'yjs'
import { createSubscriber } from 'svelte/reactivity'
import {
  board,
  insertLink,
  insertNote,
  insertTerm,
  linksOf,
  malformedEntries,
  notesOf,
  setPosition,
  termsInOrder,
  type PlainLink,
  type PlainNote,
  type PlainTerm,
} from '../../../../shared/docLayout'
import {
  NOTE_MIN_HEIGHT,
  NOTE_WIDTH,
  TERM_WIDTH,
  estimateTermHeight,
  freeSpotNear,
  nextTermSpot,
  overlaps,
  termRect,
  type Point,
  type Rect,
} from '../../../../shared/boardLayout'
import type { BoardChannel } from '../connection/boardChannel'
import { pendingSuggestionCount } from '../../../../shared/suggestions'

/** A term as a card draws it: its text, and how many suggestions wait in it (shared/suggestions.ts). */
export type TermView = PlainTerm & { suggestions: number }
export type NoteView = PlainNote
export type LinkView = PlainLink

export type BoardKind = 'board' | 'caucus'

interface Snapshot {
  terms: TermView[]
  notes: NoteView[]
  links: LinkView[]
  termById: Map<string, TermView>
  /** entries that do not fit the layout and are not drawn (stores written before the server refused them) */
  malformed: string[]
}

/** Suggestions waiting in a term's title and body. */
function suggestionsIn(doc: Y.Doc, termId: string): number {
  const m = board(doc).terms.get(termId)
  if (!(m instanceof Y.Map)) return 0
  const count = (v: unknown) => (v instanceof Y.Text ? pendingSuggestionCount(v) : 0)
  return count(m.get('title')) + count(m.get('body'))
}

function newId(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8))
  let s = ''
  for (const b of bytes) s += 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]
  return `${prefix}-${s}`
}

function shallowEqual(a: object, b: object): boolean {
  const ka = Object.keys(a)
  if (ka.length !== Object.keys(b).length) return false
  return ka.every((k) => (a as Record<string, unknown>)[k] === (b as Record<string, unknown>)[k])
}

function reuse<T extends { id: string }>(next: T[], previous: Map<string, T>): T[] {
  return next.map((item) => {
    const old = previous.get(item.id)
    return old && shallowEqual(old, item) ? old : item
  })
}

export class BoardModel {
  private readonly subscribe: () => void
  private snap: Snapshot | null = null
  private prev: { terms: Map<string, TermView>; notes: Map<string, NoteView>; links: Map<string, LinkView> } = {
    terms: new Map(),
    notes: new Map(),
    links: new Map(),
  }

  constructor(
    readonly channel: BoardChannel,
    readonly kind: BoardKind,
    /** the board takes no more writes though the connection would (the shared board of a concluded negotiation) */
    private readonly final: () => boolean = () => false,
  ) {
    const doc = channel.doc
    doc.on('update', () => (this.snap = null))
    this.subscribe = createSubscriber((update) => {
      const onUpdate = () => update()
      doc.on('update', onUpdate)
      return () => doc.off('update', onUpdate)
    })
  }

  /** This person may write here now: their role lets them, and the board is not final. */
  get writable(): boolean {
    return this.channel.writable && !this.final()
  }

  private get current(): Snapshot {
    this.subscribe()
    if (!this.snap) {
      const doc = this.channel.doc
      const terms = reuse(
        termsInOrder(doc).map((t) => ({ ...t, suggestions: suggestionsIn(doc, t.id) })),
        this.prev.terms,
      )
      const notes = reuse(notesOf(doc), this.prev.notes)
      const links = reuse(linksOf(doc), this.prev.links)
      this.prev = {
        terms: new Map(terms.map((t) => [t.id, t])),
        notes: new Map(notes.map((n) => [n.id, n])),
        links: new Map(links.map((l) => [l.id, l])),
      }
      this.snap = { terms, notes, links, termById: this.prev.terms, malformed: malformedEntries(doc) }
    }
    return this.snap
  }

  get terms(): TermView[] {
    return this.current.terms
  }

  get notes(): NoteView[] {
    return this.current.notes
  }

  get links(): LinkView[] {
    return this.current.links
  }

  get malformed(): string[] {
    return this.current.malformed
  }

  term(id: string): TermView | undefined {
    return this.current.termById.get(id)
  }

  /** The live Y.Text behind a term's title or body, for the editor binding. */
  termText(termId: string, field: 'title' | 'body'): Y.Text | null {
    const term = board(this.channel.doc).terms.get(termId)
    const t = term instanceof Y.Map ? term.get(field) : null
    return t instanceof Y.Text ? t : null
  }

  noteText(noteId: string): Y.Text | null {
    const note = board(this.channel.doc).notes.get(noteId)
    const t = note instanceof Y.Map ? note.get('text') : null
    return t instanceof Y.Text ? t : null
  }

  // ── writes ──────────────────────────────────────────────────────────────

  /**
   * Adds a term at (x, y), or, if a card is already there (a caucus draft proposed where the
   * shared board has a term, a place guessed without the canvas), at the next free place of the
   * board's grid: a new card never lands on another.
   */
  addTerm(t: { title: string; body: string; x: number; y: number }): string {
    const id = newId('t')
    const h = estimateTermHeight(t)
    const terms = this.terms.map(termRect)
    const taken = [...terms, ...this.noteRects()]
    const at = this.clear({ x: t.x, y: t.y, w: TERM_WIDTH, h }, taken) ? t : nextTermSpot(terms, taken, h)
    this.channel.transact((doc) => insertTerm(doc, id, { ...t, x: Math.round(at.x), y: Math.round(at.y) }))
    return id
  }

  /** The notes' rectangles, at their smallest (a note's height is only known where it is drawn). */
  private noteRects(): Rect[] {
    return this.notes.map((n) => ({ x: n.x, y: n.y, w: NOTE_WIDTH, h: NOTE_MIN_HEIGHT }))
  }

  private clear(r: Rect, taken: Rect[]): boolean {
    return !taken.some((other) => overlaps(r, other))
  }

  /** Removes a caucus draft. On the shared board terms are withdrawn, never deleted. */
  removeDraft(termId: string): void {
    if (this.kind !== 'caucus') throw new Error('terms on the shared board are withdrawn, not deleted')
    this.channel.transact((doc) => {
      const b = board(doc)
      b.terms.delete(termId)
      const at = b.order.toArray().indexOf(termId)
      if (at >= 0) b.order.delete(at, 1)
      b.links.forEach((l, id) => {
        if (l instanceof Y.Map && (l.get('from') === termId || l.get('to') === termId)) b.links.delete(id)
      })
    })
  }

  move(kind: 'term' | 'note', id: string, x: number, y: number): void {
    this.channel.transact((doc) => setPosition(doc, kind === 'term' ? 'terms' : 'notes', id, Math.round(x), Math.round(y)))
  }

  /** Adds a note at (x, y), or as near as it is clear of every card. */
  addNote(n: { x: number; y: number; color: string; text?: string }): string {
    const id = newId('n')
    const taken = [...this.terms.map(termRect), ...this.noteRects()]
    const box = { x: n.x, y: n.y, w: NOTE_WIDTH, h: NOTE_MIN_HEIGHT }
    const at: Point = this.clear(box, taken) ? n : freeSpotNear(n.x + box.w / 2, n.y + box.h / 2, box.w, box.h, taken)
    this.channel.transact((doc) =>
      insertNote(doc, id, { text: n.text ?? '', x: Math.round(at.x), y: Math.round(at.y), color: n.color }),
    )
    return id
  }

  deleteNote(id: string): void {
    this.channel.transact((doc) => board(doc).notes.delete(id))
  }

  addLink(from: string, to: string, label: string): string {
    const id = newId('l')
    this.channel.transact((doc) => insertLink(doc, id, { from, to, label: label.trim().slice(0, 120) }))
    return id
  }

  setLinkLabel(id: string, label: string): void {
    this.channel.transact((doc) => {
      const link = board(doc).links.get(id)
      if (link instanceof Y.Map) link.set('label', label.trim().slice(0, 120))
    })
  }

  deleteLink(id: string): void {
    this.channel.transact((doc) => board(doc).links.delete(id))
  }
}

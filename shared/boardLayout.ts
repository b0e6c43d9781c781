/**
 * Where cards go on a board. The server lays a negotiation's opening terms out
 * with it, the client places the terms and notes people add: both read the
 * same sizes and the same grid, so a board grows in one shape whoever adds to
 * it.
 *
 * The grid reads in sheet order, left to right and down, with as many columns
 * as a common laptop window shows at a comfortable zoom: a board of 40 terms
 * is eight rows of five, readable at half size on a 1280 px screen, where the
 * old three narrow columns were fourteen rows that Fit could only show at 20 %.
 * Row heights follow the cards (estimated from their text here, where nothing
 * is drawn), so short terms make short rows.
 *
 * Pure functions of plain numbers: no Yjs, no DOM.
 */

export interface Rect {
  x: number
  y: number
  w: number
  h: number
}

export interface Point {
  x: number
  y: number
}

// Card sizes in world pixels (the client draws them at these sizes).
export const TERM_WIDTH = 300
export const TERM_MIN_HEIGHT = 168
export const NOTE_WIDTH = 200
export const NOTE_MIN_HEIGHT = 132

/** The grid's top-left corner and the space between cards. */
export const BOARD_MARGIN = 40
export const COLUMN_GAP = 40
export const ROW_GAP = 40
export const COLUMN_PITCH = TERM_WIDTH + COLUMN_GAP
/** Cards closer than this count as touching: a free spot keeps this much air around it. */
export const CLEARANCE = 16

/** The zoom below which a card's text is no longer read (Fit stops here). */
export const READABLE_ZOOM = 0.5
/** A common laptop window's CSS width, and the zoom at which a row of the grid should fill it. */
const COMMON_VIEW_WIDTH = 1366
const COMFORTABLE_ZOOM = 0.75
/** Columns of the grid for big boards: five cards of 300 px. */
export const MAX_COLUMNS = Math.floor((COMMON_VIEW_WIDTH / COMFORTABLE_ZOOM - 2 * BOARD_MARGIN + COLUMN_GAP) / COLUMN_PITCH)

/** Columns for a board of `count` terms: near square for a few, never wider than a common window. */
export function columnsFor(count: number): number {
  return Math.min(MAX_COLUMNS, Math.max(3, Math.ceil(Math.sqrt(count))))
}

// What a term card is made of, for estimating its height (client/src/lib/board/TermCard.svelte):
// padding, badge row, gaps and footer around a title of 16 px type and a body of 14 px clamped to six lines.
const CARD_CHROME = 101
const TITLE_LINE = 21
const TITLE_CHARS_PER_LINE = 28
const BODY_LINE = 21
const BODY_CHARS_PER_LINE = 38
const BODY_MAX_LINES = 6

function linesOf(text: string, perLine: number): number {
  return text.split('\n').reduce((n, para) => n + Math.max(1, Math.ceil(para.length / perLine)), 0)
}

/** A term card's height as drawn, estimated from its text (generously: a wrong guess should leave air, not overlap). */
export function estimateTermHeight(t: { title: string; body: string }): number {
  const title = linesOf(t.title.trim() || 'Untitled term', TITLE_CHARS_PER_LINE)
  const body = Math.min(BODY_MAX_LINES, linesOf(t.body.trim() || 'No text yet.', BODY_CHARS_PER_LINE))
  return Math.max(TERM_MIN_HEIGHT, CARD_CHROME + title * TITLE_LINE + body * BODY_LINE + 8)
}

/** A term's rectangle where nothing is drawn (the server): its position and estimated height. */
export function termRect(t: { x: number; y: number; title: string; body: string }): Rect {
  return { x: t.x, y: t.y, w: TERM_WIDTH, h: estimateTermHeight(t) }
}

/**
 * The opening layout: each term at its place in the grid, in the order given (the sheet's),
 * each row as tall as its tallest card.
 */
export function openingLayout<T extends { title: string; body: string }>(terms: readonly T[]): Array<T & Point> {
  const columns = columnsFor(terms.length)
  const out: Array<T & Point> = []
  let top = BOARD_MARGIN
  for (let start = 0; start < terms.length; start += columns) {
    const row = terms.slice(start, start + columns)
    row.forEach((t, c) => out.push({ ...t, x: BOARD_MARGIN + c * COLUMN_PITCH, y: top }))
    top += Math.max(...row.map(estimateTermHeight)) + ROW_GAP
  }
  return out
}

/** Whether two rectangles overlap, or come closer than `clearance`. */
export function overlaps(a: Rect, b: Rect, clearance = 0): boolean {
  return a.x < b.x + b.w + clearance && a.x + a.w + clearance > b.x && a.y < b.y + b.h + clearance && a.y + a.h + clearance > b.y
}

function isFree(r: Rect, taken: readonly Rect[]): boolean {
  return !taken.some((t) => overlaps(r, t, CLEARANCE))
}

/**
 * Where a new term goes: the first free cell of the grid after the last term in sheet order
 * (its row, the columns to its right, then the rows below), so the board keeps reading in
 * sheet order; a cell is free when a card of height `h` there keeps clear of everything in
 * `taken` (terms and notes). Always finds one: below everything is free.
 */
export function nextTermSpot(
  termsInOrder: readonly Rect[],
  taken: readonly Rect[],
  h = TERM_MIN_HEIGHT,
  columns = columnsFor(termsInOrder.length + 1),
): Point {
  const last = termsInOrder[termsInOrder.length - 1]
  let top = last ? Math.round(last.y) : BOARD_MARGIN
  let col = last ? Math.round((last.x - BOARD_MARGIN) / COLUMN_PITCH) + 1 : 0
  col = Math.max(0, col)
  const size = { w: TERM_WIDTH, h: Math.max(h, TERM_MIN_HEIGHT) }
  for (;;) {
    for (; col < columns; col++) {
      const cell = { x: BOARD_MARGIN + col * COLUMN_PITCH, y: top, ...size }
      if (isFree(cell, taken)) return { x: cell.x, y: cell.y }
    }
    // The next row starts below everything that reaches into this one (so it always moves down).
    const band = { x: BOARD_MARGIN, y: top, w: columns * COLUMN_PITCH - COLUMN_GAP, h: size.h }
    const bottoms = taken.filter((t) => overlaps(band, t, CLEARANCE)).map((t) => t.y + t.h)
    top = bottoms.length > 0 ? Math.max(...bottoms) + ROW_GAP : top + size.h + ROW_GAP
    col = 0
  }
}

/**
 * A free spot for a `w`×`h` card as near as can be to having its centre at (cx, cy): the
 * candidates ring outwards on a grid of `step` px, nearest first; with none free within
 * `reach`, the spot below everything. Never on top of anything in `taken`.
 */
export function freeSpotNear(
  cx: number,
  cy: number,
  w: number,
  h: number,
  taken: readonly Rect[],
  step = 24,
  reach = 1600,
): Point {
  const x0 = Math.round(cx - w / 2)
  const y0 = Math.round(cy - h / 2)
  const rings = Math.ceil(reach / step)
  for (let r = 0; r <= rings; r++) {
    const ring: Point[] = r === 0 ? [{ x: x0, y: y0 }] : []
    for (let i = -r; i <= r && r > 0; i++) {
      ring.push({ x: x0 + i * step, y: y0 - r * step }, { x: x0 + i * step, y: y0 + r * step })
      if (i > -r && i < r) ring.push({ x: x0 - r * step, y: y0 + i * step }, { x: x0 + r * step, y: y0 + i * step })
    }
    ring.sort((a, b) => Math.hypot(a.x - x0, a.y - y0) - Math.hypot(b.x - x0, b.y - y0))
    const spot = ring.find((p) => isFree({ ...p, w, h }, taken))
    if (spot) return spot
  }
  const bottom = Math.max(...taken.map((t) => t.y + t.h))
  return { x: x0, y: Math.round(bottom + ROW_GAP) }
}

/** The smallest rectangle holding all of `rects` (null for none). */
export function boundsOf(rects: readonly Rect[]): Rect | null {
  if (rects.length === 0) return null
  let x1 = Infinity
  let y1 = Infinity
  let x2 = -Infinity
  let y2 = -Infinity
  for (const r of rects) {
    x1 = Math.min(x1, r.x)
    y1 = Math.min(y1, r.y)
    x2 = Math.max(x2, r.x + r.w)
    y2 = Math.max(y2, r.y + r.h)
  }
  return { x: x1, y: y1, w: x2 - x1, h: y2 - y1 }
}

/** Sizes of things on the canvas and the geometry of links between them. */
import type { Rect } from './viewport.svelte'

export const TERM_WIDTH = 300
export const TERM_MIN_HEIGHT = 168
export const NOTE_WIDTH = 200
export const NOTE_MIN_HEIGHT = 132
/** Where a new item goes relative to the centre of the view, so it does not cover what is there. */
export const GRID = 8

export const snap = (v: number) => Math.round(v / GRID) * GRID

/** The point where the line from the centre of `r` toward (tx, ty) leaves `r`. */
export function edgePoint(r: Rect, tx: number, ty: number): { x: number; y: number } {
  const cx = r.x + r.w / 2
  const cy = r.y + r.h / 2
  const dx = tx - cx
  const dy = ty - cy
  if (dx === 0 && dy === 0) return { x: cx, y: cy }
  const sx = dx !== 0 ? r.w / 2 / Math.abs(dx) : Infinity
  const sy = dy !== 0 ? r.h / 2 / Math.abs(dy) : Infinity
  const s = Math.min(sx, sy, 1)
  return { x: cx + dx * s, y: cy + dy * s }
}

export interface LinkPath {
  x1: number
  y1: number
  x2: number
  y2: number
  /** label position */
  mx: number
  my: number
}

export function linkPath(a: Rect, b: Rect, gap = 6): LinkPath | null {
  const ac = { x: a.x + a.w / 2, y: a.y + a.h / 2 }
  const bc = { x: b.x + b.w / 2, y: b.y + b.h / 2 }
  const p1 = edgePoint(a, bc.x, bc.y)
  const p2 = edgePoint(b, ac.x, ac.y)
  const len = Math.hypot(p2.x - p1.x, p2.y - p1.y)
  if (len < 1) return null
  const ux = (p2.x - p1.x) / len
  const uy = (p2.y - p1.y) / len
  const x1 = p1.x + ux * gap
  const y1 = p1.y + uy * gap
  const x2 = p2.x - ux * gap
  const y2 = p2.y - uy * gap
  return { x1, y1, x2, y2, mx: (x1 + x2) / 2, my: (y1 + y2) / 2 }
}

export function boundsOf(rects: Rect[]): Rect | null {
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

/** A free spot near (x, y): shifts down-right until it overlaps nothing (or gives up). */
export function freeSpot(x: number, y: number, w: number, h: number, taken: Rect[]): { x: number; y: number } {
  let px = snap(x)
  let py = snap(y)
  for (let i = 0; i < 40; i++) {
    const hit = taken.some((r) => px < r.x + r.w && px + w > r.x && py < r.y + r.h && py + h > r.y)
    if (!hit) break
    px += 32
    py += 32
  }
  return { x: px, y: py }
}

/** Sizes of things on the canvas (shared/boardLayout.ts), the geometry of links between them, and fitting a view. */
import {
  boundsOf,
  freeSpotNear,
  NOTE_MIN_HEIGHT,
  NOTE_WIDTH,
  READABLE_ZOOM,
  TERM_MIN_HEIGHT,
  TERM_WIDTH,
  type Rect,
} from '../../../../shared/boardLayout'

export { boundsOf, NOTE_MIN_HEIGHT, NOTE_WIDTH, READABLE_ZOOM, TERM_MIN_HEIGHT, TERM_WIDTH }

/** Positions snap to this grid when a card is placed. */
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

/** A free spot for a `w`×`h` card near the top-left corner (x, y), on nothing in `taken`. */
export function freeSpot(x: number, y: number, w: number, h: number, taken: readonly Rect[]): { x: number; y: number } {
  const p = freeSpotNear(snap(x) + w / 2, snap(y) + h / 2, w, h, taken, GRID * 3)
  return { x: p.x, y: p.y }
}

export interface View {
  zoom: number
  tx: number
  ty: number
}

/**
 * The view that shows `bounds` on a `width`×`height` screen, zoomed no further in than 100 %
 * and no further out than `minZoom`. What does not fit at `minZoom` is shown from `first` on
 * (the first terms, top left of the grid): along an axis that overflows, the view starts at
 * `first` (kept within the bounds), along one that fits it is centred.
 */
export function fitView(
  bounds: Rect,
  screen: { width: number; height: number },
  opts: { padding?: number; minZoom?: number; maxZoom?: number; first?: Rect | null } = {},
): View {
  const padding = opts.padding ?? 48
  const minZoom = opts.minZoom ?? READABLE_ZOOM
  const maxZoom = opts.maxZoom ?? 1
  const room = { w: Math.max(screen.width - padding * 2, 1), h: Math.max(screen.height - padding * 2, 1) }
  const zoom = Math.max(minZoom, Math.min(maxZoom, room.w / Math.max(bounds.w, 1), room.h / Math.max(bounds.h, 1)))
  const first = opts.first ?? bounds
  const axis = (start: number, size: number, firstStart: number, roomSize: number, screenSize: number) => {
    const shown = roomSize / zoom
    if (size <= shown) return screenSize / 2 - (start + size / 2) * zoom
    const from = Math.min(Math.max(firstStart, start), start + size - shown)
    return padding - from * zoom
  }
  return {
    zoom,
    tx: axis(bounds.x, bounds.w, first.x, room.w, screen.width),
    ty: axis(bounds.y, bounds.h, first.y, room.h, screen.height),
  }
}

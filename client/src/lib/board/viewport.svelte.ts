/**
 * Pan and zoom of one canvas: screen = world × zoom + (tx, ty). Kept per
 * surface, so switching between the shared board and the caucus returns to
 * where each was left.
 */
import type { Viewport as PublishedViewport } from '../connection/peers.svelte'
import type { Rect } from '../../../../shared/boardLayout'
import { fitView } from './geometry'

export type { Rect }

export const MIN_ZOOM = 0.2
export const MAX_ZOOM = 2.5

const clampZoom = (z: number) => Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, z))

export class Viewport {
  tx = $state(0)
  ty = $state(0)
  zoom = $state(1)
  /** size of the canvas element on screen */
  width = $state(0)
  height = $state(0)
  /** screen pixels on the right covered by a side panel */
  rightInset = $state(0)
  /** true until the view was first fitted to the content */
  pristine = true

  /** width of the part of the canvas not covered by a panel */
  get visibleWidth(): number {
    return Math.max(this.width - this.rightInset, 0)
  }

  toWorld(sx: number, sy: number): { x: number; y: number } {
    return { x: (sx - this.tx) / this.zoom, y: (sy - this.ty) / this.zoom }
  }

  get center(): PublishedViewport {
    const c = this.toWorld(this.visibleWidth / 2, this.height / 2)
    return { cx: Math.round(c.x), cy: Math.round(c.y), zoom: Math.round(this.zoom * 1000) / 1000 }
  }

  panBy(dx: number, dy: number): void {
    this.tx += dx
    this.ty += dy
  }

  /** Zooms by `factor`, keeping the world point under screen (sx, sy) in place. */
  zoomAt(factor: number, sx = this.visibleWidth / 2, sy = this.height / 2): void {
    const next = clampZoom(this.zoom * factor)
    const w = this.toWorld(sx, sy)
    this.zoom = next
    this.tx = sx - w.x * next
    this.ty = sy - w.y * next
  }

  centerOn(cx: number, cy: number, zoom = this.zoom): void {
    this.zoom = clampZoom(zoom)
    this.tx = this.visibleWidth / 2 - cx * this.zoom
    this.ty = this.height / 2 - cy * this.zoom
  }

  /** The part of the world on screen (not under a panel). */
  get visibleWorld(): Rect {
    const a = this.toWorld(0, 0)
    return { x: a.x, y: a.y, w: this.visibleWidth / this.zoom, h: this.height / this.zoom }
  }

  /**
   * Shows `bounds`, zoomed out no further than `minZoom` (the live board stops at a readable
   * zoom; see geometry.ts fitView): what does not fit then is shown from `first` on.
   */
  fit(bounds: Rect | null, opts: { padding?: number; minZoom?: number; first?: Rect | null } = {}): void {
    const padding = opts.padding ?? 48
    this.pristine = false
    if (!bounds || this.width === 0 || this.height === 0) {
      this.zoom = 1
      this.tx = padding
      this.ty = padding
      return
    }
    const v = fitView(
      bounds,
      { width: this.visibleWidth, height: this.height },
      { padding, first: opts.first, minZoom: opts.minZoom ?? MIN_ZOOM },
    )
    this.zoom = clampZoom(v.zoom)
    this.tx = v.tx
    this.ty = v.ty
  }

  /**
   * Brings a world rectangle into view if it is not: centred on it, or (`nearest`, as a
   * browser scrolls a focused element) moved only as far as it takes.
   */
  reveal(r: Rect, margin = 40, how: 'center' | 'nearest' = 'center'): void {
    const left = r.x * this.zoom + this.tx
    const top = r.y * this.zoom + this.ty
    const right = left + r.w * this.zoom
    const bottom = top + r.h * this.zoom
    const width = this.visibleWidth
    if (left >= margin && top >= margin && right <= width - margin && bottom <= this.height - margin) return
    if (how === 'center') return this.centerOn(r.x + r.w / 2, r.y + r.h / 2)
    // Too big to fit: its top-left corner shows.
    const dx =
      left < margin || right - left > width - 2 * margin ? margin - left : right > width - margin ? width - margin - right : 0
    const dy =
      top < margin || bottom - top > this.height - 2 * margin
        ? margin - top
        : bottom > this.height - margin
          ? this.height - margin - bottom
          : 0
    this.panBy(dx, dy)
  }
}

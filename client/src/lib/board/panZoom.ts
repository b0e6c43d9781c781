import type { ActionReturn } from 'svelte/action'
import type { Viewport } from './viewport.svelte'

export interface PanZoomOptions {
  viewport: Viewport
  /** Before the view moves by the wheel or a background drag. */
  onInteract?: () => void
  /** A drag on the background has started panning. */
  onPanStart?: () => void
  /** Panning by dragging the background started (true) or ended (false). */
  onPanning?: (panning: boolean) => void
}

/**
 * Pan and zoom a board: the wheel pans (Shift turns it sideways), Ctrl or ⌘ with the wheel
 * and a trackpad's pinch zoom around the pointer, dragging the background or `.world` pans,
 * and the viewport tracks the element's size.
 */
export function panZoom(el: HTMLElement, options: PanZoomOptions): ActionReturn<PanZoomOptions> {
  let opts = options
  let pan: { pointerId: number; x: number; y: number } | null = null

  const onWheel = (e: WheelEvent) => {
    e.preventDefault()
    opts.onInteract?.()
    const r = el.getBoundingClientRect()
    // Lines or pages (a mouse wheel in some browsers) as pixels.
    const unit = e.deltaMode === WheelEvent.DOM_DELTA_LINE ? 16 : e.deltaMode === WheelEvent.DOM_DELTA_PAGE ? r.height : 1
    const dx = e.deltaX * unit
    const dy = e.deltaY * unit
    // A trackpad pinch arrives as a wheel with ctrlKey set, as Ctrl/⌘ and the wheel do: both zoom
    // around the pointer (Figma, tldraw). One notch is capped so a fast wheel does not jump from 20 % to 250 %.
    if (e.ctrlKey || e.metaKey) {
      const notch = Math.max(-120, Math.min(120, dy))
      opts.viewport.zoomAt(Math.exp(-notch * 0.0025), e.clientX - r.left, e.clientY - r.top)
    } else if (e.shiftKey && dx === 0) opts.viewport.panBy(-dy, 0)
    else opts.viewport.panBy(-dx, -dy)
  }

  const down = (e: PointerEvent) => {
    if (e.button !== 0 || (e.target !== el && !(e.target as HTMLElement).classList.contains('world'))) return
    pan = { pointerId: e.pointerId, x: e.clientX, y: e.clientY }
    el.setPointerCapture(e.pointerId)
    opts.onPanning?.(true)
    opts.onPanStart?.()
  }

  const move = (e: PointerEvent) => {
    if (!pan || pan.pointerId !== e.pointerId) return
    opts.onInteract?.()
    opts.viewport.panBy(e.clientX - pan.x, e.clientY - pan.y)
    pan = { ...pan, x: e.clientX, y: e.clientY }
  }

  const up = (e: PointerEvent) => {
    if (pan?.pointerId !== e.pointerId) return
    pan = null
    opts.onPanning?.(false)
  }

  const ro = new ResizeObserver(() => {
    const r = el.getBoundingClientRect()
    opts.viewport.width = r.width
    opts.viewport.height = r.height
  })
  ro.observe(el)
  el.addEventListener('wheel', onWheel, { passive: false })
  el.addEventListener('pointerdown', down)
  el.addEventListener('pointermove', move)
  el.addEventListener('pointerup', up)
  el.addEventListener('pointercancel', up)

  return {
    update(next) {
      opts = next
    },
    destroy() {
      ro.disconnect()
      el.removeEventListener('wheel', onWheel)
      el.removeEventListener('pointerdown', down)
      el.removeEventListener('pointermove', move)
      el.removeEventListener('pointerup', up)
      el.removeEventListener('pointercancel', up)
    },
  }
}

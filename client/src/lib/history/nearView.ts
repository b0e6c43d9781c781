/**
 * Loading a long list as it scrolls. `{@attach nearView(load)}` calls `load`
 * when the element (the edge of a range not loaded yet) comes near the view
 * of its scrolling container, so the next page is fetched before anyone
 * reaches it. It calls again only when the element
 * leaves and comes back, or is replaced (a gap row is, each time a page
 * shrinks it), so a page that fails to load is not asked for in a loop.
 *
 * `holdPlace` keeps what is on screen where it is while rows are put in
 * above it: the browser's own scroll anchoring does nothing at the top of a
 * scroller, and there a gap row that stayed in view would load page after
 * page until the whole history before the version on screen was in.
 */
import type { Attachment } from 'svelte/attachments'

/** A little ahead of the view, and less than a page of rows: a page put in moves the next gap out of reach. */
const MARGIN = '300px'

/** The nearest ancestor that scrolls vertically: the list itself, or the panel it sits in. */
export function scrollParent(el: Element | null): HTMLElement | null {
  for (let p = el?.parentElement ?? null; p; p = p.parentElement) {
    const y = getComputedStyle(p).overflowY
    if (y === 'auto' || y === 'scroll') return p
  }
  return null
}

export function nearView(load: () => void): Attachment<HTMLElement> {
  return (el) => {
    const io = new IntersectionObserver(
      (entries) => {
        if (entries.some((e) => e.isIntersecting)) load()
      },
      { root: scrollParent(el), rootMargin: `${MARGIN} 0px` },
    )
    io.observe(el)
    return () => io.disconnect()
  }
}

/**
 * Notes where the first row in view of `list` (matched by `rows`) is; the
 * function it returns scrolls `scroller` so that row is there again. Called
 * from `$effect.pre` (before new rows reach the DOM) and the function from
 * `$effect` (after), it keeps the rows in view still as pages arrive above
 * them, and never undoes the reader's own scrolling meanwhile. At the very
 * top of a list that starts with a version (the History panel's newest),
 * nothing is held: a version arriving live there is meant to be seen.
 */
export function holdPlace(scroller: HTMLElement | null, list: HTMLElement | null, rows: string): () => void {
  if (!scroller || !list) return () => {}
  if (scroller.scrollTop === 0 && !list.firstElementChild?.classList.contains('gap')) return () => {}
  const anchor = firstInView(scroller, list, rows)
  if (!anchor) return () => {}
  const top = anchor.getBoundingClientRect().top
  return () => {
    if (anchor.isConnected) scroller.scrollTop += anchor.getBoundingClientRect().top - top
  }
}

function firstInView(scroller: HTMLElement, list: HTMLElement, rows: string): HTMLElement | null {
  const edge = scroller.getBoundingClientRect().top
  const all = list.querySelectorAll<HTMLElement>(rows)
  // Rows are in document order, hence in order down the screen: the first whose bottom is below the top edge.
  let lo = 0
  let hi = all.length - 1
  let found: HTMLElement | null = null
  while (lo <= hi) {
    const mid = (lo + hi) >> 1
    const el = all[mid]!
    if (el.getBoundingClientRect().bottom > edge) {
      found = el
      hi = mid - 1
    } else lo = mid + 1
  }
  return found
}

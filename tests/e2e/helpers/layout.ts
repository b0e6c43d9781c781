/**
 * Layout checks run in the page: what sticks out past the right edge of the
 * window (the page scrolling sideways, or any element shown beyond it, after
 * the clipping of the boxes it sits in), and which controls are smaller than
 * a 44 × 44 px touch target. Each returns a list of readable problems.
 */
import type { Page } from 'playwright-core'

/** The page does not scroll sideways and no shown element reaches past the window's right edge. */
export function overflowProblems(page: Page, scope = 'body'): Promise<string[]> {
  return page.evaluate((scope) => {
    const W = window.innerWidth
    const out: string[] = []
    const doc = document.scrollingElement!
    if (doc.scrollWidth > W) out.push(`the page is ${doc.scrollWidth} px wide in a ${W} px window`)
    const name = (el: Element) => {
      const id = el.getAttribute('data-testid')
      const cls = typeof el.className === 'string' ? el.className.split(/\s+/).filter((c) => c && !c.startsWith('svelte-')) : []
      const text = (el.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 40)
      return `${el.tagName.toLowerCase()}${id ? `[data-testid=${id}]` : ''}${cls.length ? '.' + cls.join('.') : ''} "${text}"`
    }
    /** The part of `el`'s box left after the overflow clipping of the boxes it is drawn in. */
    const visibleSpan = (el: Element): [number, number] => {
      const r = el.getBoundingClientRect()
      let left = r.left
      let right = r.right
      let at: Element = el
      for (;;) {
        const pos = getComputedStyle(at).position
        if (pos === 'fixed') break
        let p = at.parentElement
        // an absolutely placed box is clipped only from its containing block outwards
        if (pos === 'absolute') while (p && p !== document.body && getComputedStyle(p).position === 'static') p = p.parentElement
        if (!p || p === document.documentElement) break
        const s = getComputedStyle(p)
        if (s.overflowX !== 'visible' || s.contain.includes('paint')) {
          const pr = p.getBoundingClientRect()
          left = Math.max(left, pr.left)
          right = Math.min(right, pr.right)
        }
        at = p
      }
      return [left, right]
    }
    for (const el of document.querySelectorAll(`${scope} *`)) {
      const r = el.getBoundingClientRect()
      if (r.width <= 1 || r.height <= 1) continue // nothing drawn, or visually hidden text
      const s = getComputedStyle(el)
      if (s.visibility === 'hidden' || s.clip === 'rect(0px, 0px, 0px, 0px)') continue
      const [left, right] = visibleSpan(el)
      if (right - left <= 0) continue // clipped away entirely
      if (right > W + 0.5) out.push(`${name(el)} reaches ${Math.round(right)} px in a ${W} px window`)
    }
    return out
  }, scope)
}

/**
 * Every control shown in `scope` is at least 44 × 44 px (a checkbox or radio button counts with its label). Left
 * out, as in the client's own touch rule: cards on the zoomable canvas (their size is the zoom's) and the editor's
 * insides.
 */
export function smallTargets(page: Page, scope = 'body', min = 44): Promise<string[]> {
  return page.evaluate(
    ({ scope, min }) => {
      const out: string[] = []
      const controls =
        'button, a[href], input:not([type=hidden]), select, textarea, summary, [role=button], [role=menuitem], [role=tab], [role=checkbox], [role=switch], [role=slider]'
      for (const el of document.querySelectorAll(`${scope} :is(${controls})`)) {
        if (el.closest('.world, .cm-editor')) continue
        if (el.getClientRects().length === 0) continue
        const s = getComputedStyle(el)
        if (s.visibility === 'hidden' || s.clip === 'rect(0px, 0px, 0px, 0px)') continue
        let r = el.getBoundingClientRect()
        if (r.width <= 1 && r.height <= 1) continue // visually hidden
        const type = el.getAttribute('type')
        if (el.tagName === 'INPUT' && (type === 'checkbox' || type === 'radio')) {
          const label = el.closest('label') ?? (el.id ? document.querySelector(`label[for="${CSS.escape(el.id)}"]`) : null)
          if (label) r = label.getBoundingClientRect()
        }
        if (r.width < min - 0.5 || r.height < min - 0.5) {
          const id = el.getAttribute('data-testid')
          const label = (el.getAttribute('aria-label') ?? el.textContent ?? '').trim().replace(/\s+/g, ' ').slice(0, 40)
          out.push(
            `${el.tagName.toLowerCase()}${id ? `[data-testid=${id}]` : ''} "${label}" is ${Math.round(r.width)}×${Math.round(r.height)} px`,
          )
        }
      }
      return out
    },
    { scope, min },
  )
}

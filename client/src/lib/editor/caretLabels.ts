/**
 * Remote carets' name labels kept inside what clips them. y-codemirror.next
 * hangs each label off its caret, to the right and above the line; a caret
 * near the right edge of the term panel (a scroll box, so it clips) had its
 * label cut, and one on a line at the top of the box lost it above. After
 * each update this measures the labels against the nearest ancestor that
 * clips (CodeMirror's read/write measure phases, so no layout thrash) and
 * slides a label left until it fits, or drops it below its line.
 */
import { ViewPlugin, type EditorView, type ViewUpdate } from '@codemirror/view'

/** px kept between a label and the edge that would clip it */
const MARGIN = 4

interface Placement {
  el: HTMLElement
  shift: number
  below: boolean
  maxWidth: number | null
}

/** The nearest ancestor whose overflow clips (a scroll box), or null: the window's edges. */
function clipBox(from: HTMLElement): DOMRect | null {
  for (let el = from.parentElement; el && el !== document.body; el = el.parentElement) {
    const s = getComputedStyle(el)
    if (s.overflowX !== 'visible' || s.overflowY !== 'visible') {
      const r = el.getBoundingClientRect()
      // the client area: without borders and scrollbars
      return new DOMRect(r.left + el.clientLeft, r.top + el.clientTop, el.clientWidth, el.clientHeight)
    }
  }
  return null
}

function measure(view: EditorView): Placement[] {
  const labels = [...view.contentDOM.querySelectorAll<HTMLElement>('.cm-ySelectionInfo')]
  if (labels.length === 0) return []
  const box = clipBox(view.dom) ?? new DOMRect(0, 0, window.innerWidth, window.innerHeight)
  return labels.map((el) => {
    const r = el.getBoundingClientRect()
    // where it would sit without what was done to it last time
    const shift = Number(el.dataset.shift ?? 0)
    const left = r.left - shift
    const width = r.width
    const room = box.width - 2 * MARGIN
    const maxWidth = width > room ? room : null
    const w = Math.min(width, room)
    let dx = Math.min(0, box.right - MARGIN - (left + w))
    if (left + dx < box.left + MARGIN) dx = box.left + MARGIN - left
    // above its line, the label's bottom meets the caret's top
    const caretTop = el.parentElement?.getBoundingClientRect().top ?? r.top
    return { el, shift: Math.round(dx), below: caretTop - r.height < box.top, maxWidth }
  })
}

function place(list: Placement[]): void {
  for (const p of list) {
    p.el.dataset.shift = String(p.shift)
    p.el.style.transform = p.shift ? `translateX(${p.shift}px)` : ''
    p.el.style.maxWidth = p.maxWidth === null ? '' : `${p.maxWidth}px`
    p.el.classList.toggle('cm-ySelectionInfo-below', p.below)
  }
}

export const caretLabels = ViewPlugin.fromClass(
  class {
    constructor(view: EditorView) {
      this.schedule(view)
    }
    update(u: ViewUpdate) {
      this.schedule(u.view)
    }
    schedule(view: EditorView) {
      view.requestMeasure({ key: this, read: () => measure(view), write: place })
    }
  },
)

/** The label's look when it is dropped below its line (merged into the editor's theme). */
export const caretLabelTheme = {
  '.cm-ySelectionInfo.cm-ySelectionInfo-below': { top: '1.35em', borderRadius: '0 4px 4px 4px' },
}

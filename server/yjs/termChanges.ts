/**
 * What a board transaction did to its terms, read from the Yjs events alone
 * (never by reading texts): which terms were added, removed, replaced whole,
 * edited in their title or body, or only moved or restyled. The ledger
 * writer and the history fold both classify a board update this way.
 */
import * as Y from 'yjs'

export type TermChange =
  | 'added'
  | 'removed'
  /** the whole term map was put under the same id again */
  | 'replaced'
  /** its title or body */
  | 'text'
  /** anything else of the term: its position, size, colour */
  | 'layout'

/**
 * Calls `visit` for every term change in `events` (observeDeep events of the
 * board's `terms` map), in event order; `old` is the term map a removal or a
 * replacement took away.
 */
export function forEachTermChange(
  events: ReadonlyArray<Y.YEvent<any>>,
  terms: Y.AbstractType<any>,
  visit: (termId: string, change: TermChange, old?: unknown) => void,
): void {
  for (const ev of events) {
    if (ev.target === terms) {
      for (const [termId, change] of ev.changes.keys) {
        if (change.action === 'add') visit(termId, 'added')
        else visit(termId, change.action === 'delete' ? 'removed' : 'replaced', change.oldValue)
      }
      continue
    }
    const termId = ev.path[0]
    if (typeof termId !== 'string') continue
    const field = ev.target instanceof Y.Text ? ev.path[1] : undefined
    const text =
      field === 'title' ||
      field === 'body' ||
      (ev instanceof Y.YMapEvent && (ev.keysChanged.has('title') || ev.keysChanged.has('body')))
    visit(termId, text ? 'text' : 'layout')
  }
}

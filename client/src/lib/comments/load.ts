/**
 * The threads' screens load with `import()`, like the editor and the history:
 * the board shows without them, and they arrive when the board is idle or a
 * term or the thread list is opened. A failed load is tried again next time.
 */
import type { Component } from 'svelte'

let discussion: Promise<typeof import('./TermDiscussion.svelte')> | null = null
let panel: Promise<typeof import('./CommentsPanel.svelte')> | null = null

function once<T>(get: () => Promise<T> | null, set: (p: Promise<T> | null) => void, load: () => Promise<T>): Promise<T> {
  const p = get() ?? load()
  set(p)
  p.catch(() => set(null))
  return p
}

export const loadTermDiscussion = (): Promise<(typeof import('./TermDiscussion.svelte'))['default']> =>
  once(
    () => discussion,
    (p) => (discussion = p),
    () => import('./TermDiscussion.svelte'),
  ).then((m) => m.default)

export const loadCommentsPanel = (): Promise<Component> =>
  once(
    () => panel,
    (p) => (panel = p),
    () => import('./CommentsPanel.svelte'),
  ).then((m) => m.default)

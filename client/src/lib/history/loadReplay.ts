/**
 * The replay view is a chunk of its own, fetched the first time someone
 * opens it (or opens the History panel, which is where people go next), so
 * the initial load does not carry it.
 */
let pending: Promise<typeof import('./ReplayView.svelte')> | null = null

export function loadReplayView(): Promise<typeof import('./ReplayView.svelte')> {
  pending ??= import('./ReplayView.svelte').catch((err) => {
    pending = null // a failed fetch (offline, a deploy in between) may be retried
    throw err
  })
  return pending
}

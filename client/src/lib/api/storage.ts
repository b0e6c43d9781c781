/**
 * Web Storage (localStorage, sessionStorage) as this client uses it: a browser may refuse it (private mode,
 * a policy), and then the page still works for as long as it is open — only nothing is remembered.
 */

/** Runs a storage call; null when the browser refused it. */
export function tryStorage<T>(fn: () => T): T | null {
  try {
    return fn()
  } catch {
    return null
  }
}

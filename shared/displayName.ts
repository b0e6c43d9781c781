/** Longest display name kept; a longer one is cut, never refused (it is a label, not a credential). */
export const MAX_DISPLAY_NAME = 64

/** A display name as recorded in the history: trimmed, control characters removed, at most 64 characters. */
export function displayName(raw: string | null | undefined): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = (raw ?? '').replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim()
  // cut by code points, so a name is never left with half a surrogate pair
  const cut = Array.from(cleaned).slice(0, MAX_DISPLAY_NAME).join('').trim()
  return cut || 'anonymous'
}

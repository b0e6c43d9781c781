/** A display name as recorded in the history: trimmed, control characters removed, at most 64 characters. */
export function displayName(raw: string | null | undefined): string {
  // eslint-disable-next-line no-control-regex
  const cleaned = (raw ?? '')
    .replace(/[\u0000-\u001f\u007f]/g, '')
    .trim()
    .slice(0, 64)
  return cleaned || 'anonymous'
}

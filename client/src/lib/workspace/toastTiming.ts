/**
 * How long a toast shows: its base time (errors longer) plus the time to read it, at about 15 characters a
 * second beyond the first 60 — "Rejected by RU: …" with a paragraph of reasons is not gone before it is
 * read — and never more than 20 s (a toast is a notice; what must stay is on the card and in the panel).
 */
export function toastMs(text: string, tone: 'info' | 'success' | 'error' | string): number {
  const base = tone === 'error' ? 8000 : 4000
  return Math.min(20_000, base + Math.max(0, text.length - 60) * 66)
}

/** Comment times (ms since the epoch): the hour today, the date and hour before. */
const today = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' })
const earlier = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' })

export function whenShort(ms: number): string {
  const d = new Date(ms)
  if (Number.isNaN(d.getTime())) return ''
  return d.toDateString() === new Date().toDateString() ? today.format(d) : earlier.format(d)
}

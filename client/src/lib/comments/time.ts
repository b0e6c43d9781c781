/** Comment times (ms since the epoch): the hour today, the date and hour before. */
import { formatDateTime } from '../i18n/format'

export function whenShort(ms: number): string {
  const d = new Date(ms)
  if (Number.isNaN(d.getTime())) return ''
  return d.toDateString() === new Date().toDateString() ? formatDateTime(d, { timeStyle: 'short' }) : formatDateTime(d)
}

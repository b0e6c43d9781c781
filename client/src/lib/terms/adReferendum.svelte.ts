/**
 * Acceptances ad referendum on screen: today's date (which decides whether a
 * confirmation is overdue, and moves on by itself while the page stays open),
 * the date a principal is to confirm by, and the sentence cards and panels say.
 */
import { createSubscriber } from 'svelte/reactivity'
import { formatDateTime } from '../i18n/format'
import { m } from '../../paraglide/messages'

/** A local date as YYYY-MM-DD (what `until` holds and overdueAdReferendum compares). */
export function isoDay(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`
}

// Read once a minute, and only while something on screen asks.
const ticking = createSubscriber((update) => {
  const timer = setInterval(update, 60_000)
  return () => clearInterval(timer)
})

/** Today, reactively: a card whose confirmation falls due at midnight turns overdue without a reload. */
export function today(): string {
  ticking()
  return isoDay(new Date())
}

/** "15 Jan 2027" (in the reader's way of writing dates) for a YYYY-MM-DD. */
export function formatDay(day: string): string {
  const ymd = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day)
  return ymd
    ? formatDateTime(Date.UTC(Number(ymd[1]), Number(ymd[2]) - 1, Number(ymd[3])), { dateStyle: 'medium', timeZone: 'UTC' })
    : day
}

/** What a party's acceptance ad referendum is, as shown. */
export interface AdReferendumView {
  principal: string
  until?: string
  user: string
  at: number
  /** of the text as it stands (else the text changed since: confirming it is refused) */
  current: boolean
  /** its date passed unconfirmed */
  overdue: boolean
}

/** "Accepted ad referendum by RU, subject to Moscow, by 15 Jan 2027". */
export function adReferendumText(a: Pick<AdReferendumView, 'principal' | 'until'>, by?: string): string {
  const text = by ? m.terms_adref_text_by({ by, principal: a.principal }) : m.terms_adref_text({ principal: a.principal })
  return a.until ? m.terms_adref_until({ text, day: formatDay(a.until) }) : text
}

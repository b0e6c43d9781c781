/**
 * Dates, numbers and relative times in the client's language (Intl), never in a fixed
 * 'en-US' nor in the browser's default when the user chose another language. Each helper
 * asks the current locale when called, so a template using it redraws on a switch.
 * Where the browser names a region of the same language (en-GB for English), its
 * conventions are kept: day before month, 24-hour clock.
 */
import { getLocale } from '../../paraglide/runtime'

/** The Intl tag for the current language: the browser's own variant of it, if it has one. */
export function intlLocale(): string {
  const locale = getLocale()
  const browser = typeof navigator === 'undefined' ? [] : (navigator.languages ?? [])
  const variant = browser.find((tag) => tag.toLowerCase().split('-')[0] === locale.toLowerCase().split('-')[0])
  return variant ?? locale
}

const cache = new Map<string, Intl.DateTimeFormat | Intl.NumberFormat | Intl.RelativeTimeFormat | Intl.PluralRules>()

function cached<T extends Intl.DateTimeFormat | Intl.NumberFormat | Intl.RelativeTimeFormat | Intl.PluralRules>(
  kind: string,
  options: object,
  make: (tag: string) => T,
): T {
  const tag = intlLocale()
  const key = `${kind}|${tag}|${JSON.stringify(options)}`
  let f = cache.get(key) as T | undefined
  if (!f) cache.set(key, (f = make(tag)))
  return f
}

export function dateTimeFormat(options: Intl.DateTimeFormatOptions): Intl.DateTimeFormat {
  return cached('dt', options, (tag) => new Intl.DateTimeFormat(tag, options))
}

/** A date and time: `medium`/`short` by default. */
export function formatDateTime(
  at: number | Date,
  options: Intl.DateTimeFormatOptions = { dateStyle: 'medium', timeStyle: 'short' },
): string {
  return dateTimeFormat(options).format(at)
}

export function formatNumber(n: number, options: Intl.NumberFormatOptions = {}): string {
  return cached('n', options, (tag) => new Intl.NumberFormat(tag, options)).format(n)
}

/** Intl.PluralRules' category of `n` in the current language ('one', 'few', 'many', 'other'…). */
export function pluralCategory(n: number): Intl.LDMLPluralRule {
  return cached('p', {}, (tag) => new Intl.PluralRules(tag)).select(n)
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['year', 365 * 24 * 3600_000],
  ['month', 30 * 24 * 3600_000],
  ['week', 7 * 24 * 3600_000],
  ['day', 24 * 3600_000],
  ['hour', 3600_000],
  ['minute', 60_000],
  ['second', 1000],
]

/** "5 minutes ago", "in 2 days", "now": `at` against `now`, in the largest whole unit. */
export function formatRelativeTime(at: number, now: number = Date.now()): string {
  const rtf = cached('rt', {}, (tag) => new Intl.RelativeTimeFormat(tag, { numeric: 'auto' }))
  const diff = at - now
  for (const [unit, ms] of UNITS) {
    if (Math.abs(diff) >= ms || unit === 'second') return rtf.format(Math.round(diff / ms), unit)
  }
  return rtf.format(0, 'second')
}

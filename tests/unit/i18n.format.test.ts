/**
 * [I18N4] Dates, numbers, relative times and plural categories follow the client's language
 * (client/src/lib/i18n/format.ts), not the machine's default nor a fixed 'en-US'.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { overwriteGetLocale, baseLocale } from '../../client/src/paraglide/runtime'
import { formatDateTime, formatNumber, formatRelativeTime, pluralCategory } from '../../client/src/lib/i18n/format'
import { m } from '../../client/src/paraglide/messages'

const speak = (locale: 'en' | 'ru') => overwriteGetLocale(() => locale)

describe('[I18N4] locale-aware formatting', () => {
  afterEach(() => speak(baseLocale))

  it('numbers and percentages', () => {
    speak('en')
    expect(formatNumber(1234.5)).toBe('1,234.5')
    speak('ru')
    expect(formatNumber(1234.5).replace(/\s/g, ' ')).toBe('1 234,5')
    expect(formatNumber(0.92, { style: 'percent' }).replace(/\s/g, ' ')).toBe('92 %')
  })

  it('dates in the language, in UTC here for a stable answer', () => {
    const at = Date.UTC(2027, 0, 15, 14, 32)
    speak('en')
    expect(formatDateTime(at, { dateStyle: 'long', timeZone: 'UTC' })).toBe('January 15, 2027')
    speak('ru')
    expect(formatDateTime(at, { dateStyle: 'long', timeZone: 'UTC' })).toBe('15 января 2027 г.')
  })

  it('relative times and plural categories', () => {
    const now = Date.UTC(2027, 0, 15, 12)
    speak('en')
    expect(formatRelativeTime(now - 5 * 60_000, now)).toBe('5 minutes ago')
    expect(formatRelativeTime(now + 2 * 86_400_000, now)).toBe('in 2 days')
    speak('ru')
    expect(formatRelativeTime(now - 5 * 60_000, now)).toBe('5 минут назад')
    expect([1, 3, 5, 21].map(pluralCategory)).toEqual(['one', 'few', 'many', 'one'])
  })

  it('messages pick the Russian plural form', () => {
    speak('ru')
    expect([1, 2, 5, 21].map((count) => m.board_minimap_terms({ count }))).toEqual([
      '1 положение',
      '2 положения',
      '5 положений',
      '21 положение',
    ])
    speak('en')
    expect(m.board_minimap_terms({ count: 1 })).toBe('1 term')
  })
})

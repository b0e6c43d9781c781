/**
 * [I18N3] The language the client starts in (client/src/lib/i18n/chooseLocale.ts): a choice
 * made with the switch, then the link's `lang` hint, then the browser's languages, then English.
 */
import { describe, expect, it } from 'vitest'
import { chooseLocale, linkHint, matchLocale } from '../../client/src/lib/i18n/chooseLocale'
import { withLanguageHints } from '../../server/demo'

const LOCALES = ['en', 'ru'] as const
const pick = (chosen: string | null, hint: string | null, browser: string[]) =>
  chooseLocale({ chosen, hint, browser }, LOCALES, 'en')

describe('[I18N3] choosing the language', () => {
  it('the switch wins, then the link, then the browser, then English', () => {
    expect(pick('en', 'ru', ['ru-RU'])).toBe('en')
    expect(pick(null, 'ru', ['en-US'])).toBe('ru')
    expect(pick(null, null, ['de-DE', 'ru-RU', 'en'])).toBe('ru')
    expect(pick(null, null, ['de', 'fr'])).toBe('en')
    expect(pick('xx', 'zz', [])).toBe('en')
  })

  it('matches regional tags to their language, case-insensitively', () => {
    expect(matchLocale(['RU-ru'], LOCALES)).toBe('ru')
    expect(matchLocale(['en_GB'], LOCALES)).toBe('en')
    expect(matchLocale(['uk', ''], LOCALES)).toBeUndefined()
  })

  it('reads the hint from the fragment or the query', () => {
    expect(linkHint('', '#token=a.b.c&lang=ru')).toBe('ru')
    expect(linkHint('?lang=ru', '')).toBe('ru')
    expect(linkHint('?v=3', '#token=x')).toBeNull()
  })

  it("the demo's Russian delegation's links carry the hint, the others none", () => {
    const demo = withLanguageHints({
      links: { negotiator: { us: 'http://h/n/x#token=1', ru: 'http://h/n/x#token=2' }, observer: 'o', reviewer: 'r' },
    })
    expect(demo.links.negotiator.ru).toBe('http://h/n/x#token=2&lang=ru')
    expect(demo.links.negotiator.us).toBe('http://h/n/x#token=1')
    const url = new URL(demo.links.negotiator.ru!)
    expect(linkHint(url.search, url.hash)).toBe('ru')
    expect(new URLSearchParams(url.hash.slice(1)).get('token')).toBe('2')
  })
})

/**
 * The client's current language, as reactive state. Paraglide's message functions ask the
 * runtime's getLocale(), which is pointed here: a template that shows `m.some_message()`
 * reads this state, so switching the language redraws every message at once, with no
 * reload and no lost board. `<html lang dir>` follow. Import this module before the app
 * renders (main.ts does, first).
 */
import {
  baseLocale,
  getTextDirection,
  locales,
  overwriteGetLocale,
  overwriteSetLocale,
  type Locale,
} from '../../paraglide/runtime'
import { CHOSEN_KEY, HINT_KEY, chooseLocale, linkHint, matchLocale } from './chooseLocale'
import { tryStorage } from '../api/storage'

function initialLocale(): Locale {
  const fromLink = linkHint(location.search, location.hash)
  if (fromLink && matchLocale([fromLink], locales)) tryStorage(() => sessionStorage.setItem(HINT_KEY, fromLink))
  return chooseLocale(
    {
      chosen: tryStorage(() => localStorage.getItem(CHOSEN_KEY)),
      hint: fromLink ?? tryStorage(() => sessionStorage.getItem(HINT_KEY)),
      browser: navigator.languages?.length ? navigator.languages : [navigator.language],
    },
    locales,
    baseLocale,
  )
}

class LocaleState {
  current = $state<Locale>(initialLocale())

  /** The switch: speak `locale` now and remember it as this browser's choice. */
  choose(locale: Locale): void {
    tryStorage(() => localStorage.setItem(CHOSEN_KEY, locale))
    this.current = locale
    showLanguage(locale)
  }
}

export const locale = new LocaleState()

/** A language named in itself (English, Русский), so a reader finds theirs whatever the page speaks. */
export function languageName(l: Locale): string {
  const name = new Intl.DisplayNames([l], { type: 'language' }).of(l) ?? l
  return name.charAt(0).toLocaleUpperCase(l) + name.slice(1)
}
export { locales }
export type { Locale }

/** `<html lang dir>`: screen readers' voice and hyphenation follow the language; a right-to-left language turns the page. */
function showLanguage(l: Locale): void {
  document.documentElement.lang = l
  document.documentElement.dir = getTextDirection(l)
}

showLanguage(locale.current)
overwriteGetLocale(() => locale.current)
overwriteSetLocale((next) => locale.choose(next))

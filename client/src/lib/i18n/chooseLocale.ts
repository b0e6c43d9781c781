/**
 * Which language the client speaks, as a pure rule (tests/unit/i18n.locale.test.ts):
 * 1. a language the user chose with the switch (remembered in localStorage);
 * 2. a hint in the link: `lang=ru` in its query or its fragment (`/n/<id>#token=…&lang=ru`),
 *    which the demo puts in the Russian delegation's links; kept for the tab, because
 *    the fragment is cleared from the address bar once the token is read;
 * 3. the browser's languages (navigator.languages), in order;
 * 4. the base locale, English.
 * A detected language is never stored as if it had been chosen: only the switch writes (1).
 */

/** localStorage: the language chosen with the switch. */
export const CHOSEN_KEY = 'parley:locale'
/** sessionStorage: the link's hint, for reloads of this tab. */
export const HINT_KEY = 'parley:locale-hint'

/** The first of `wanted` that names one of `available`: exact (case-insensitive), else by its language (`ru-RU` → `ru`). */
export function matchLocale<L extends string>(
  wanted: readonly (string | null | undefined)[],
  available: readonly L[],
): L | undefined {
  for (const raw of wanted) {
    if (!raw) continue
    const tag = raw.trim().toLowerCase()
    const exact = available.find((l) => l.toLowerCase() === tag)
    if (exact) return exact
    const language = tag.split(/[-_]/)[0]
    const byLanguage = available.find((l) => l.toLowerCase().split(/[-_]/)[0] === language)
    if (byLanguage) return byLanguage
  }
  return undefined
}

/** The `lang` parameter of a link's query or fragment, if any (`?lang=ru`, `#token=…&lang=ru`). */
export function linkHint(search: string, hash: string): string | null {
  return new URLSearchParams(hash.replace(/^#/, '')).get('lang') ?? new URLSearchParams(search).get('lang')
}

export interface LocaleSources {
  /** what the switch stored */
  chosen: string | null
  /** the link's `lang`, or the one this tab kept from it */
  hint: string | null
  /** navigator.languages */
  browser: readonly string[]
}

export function chooseLocale<L extends string>(sources: LocaleSources, available: readonly L[], base: L): L {
  return (
    matchLocale([sources.chosen], available) ??
    matchLocale([sources.hint], available) ??
    matchLocale(sources.browser, available) ??
    base
  )
}

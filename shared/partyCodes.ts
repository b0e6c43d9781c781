/**
 * Party codes and readable ids for delegation names in any script.
 *
 * A code (PartyInfo `code`) is what a delegation goes by where its name does not fit: chips, acceptance
 * rows, history lists, redlines. One is suggested from the name:
 *
 * 1. a country's name, in any of the six UN languages (English, French, Spanish, Russian, Arabic,
 *    Chinese: i18n-iso-countries' names, official and common forms), gives its ISO 3166 alpha-2 code —
 *    "United States" → US, "Российская Федерация" → RU, "الإمارات العربية المتحدة" → AE;
 * 2. any other name gives the initials of its words, transliterated to Latin letters
 *    (@sindresorhus/transliterate: Cyrillic, Greek, Arabic, Hebrew, Armenian, Georgian, …), without
 *    articles and small words — "European Union" → EU, "World Trade Organization" → WTO; a single word
 *    gives itself when short ("G77", "ASEAN" stays whole up to six), else its first three letters;
 * 3. a name with nothing usable (a script the transliteration does not know) gives what the id gives,
 *    and failing that PTY.
 *
 * A code already taken gets a digit: US, US2, US3. Negotiations created before codes existed get theirs
 * the same way when read (`withPartyCodes`: in party order, deterministic), so a stored negotiation always
 * shows the same codes.
 *
 * Kept apart from shared/negotiation.ts: the tables and the transliteration are ~70 kB, which the client
 * loads only when the admin form asks for a suggestion.
 */
import transliterate from '@sindresorhus/transliterate'
import ar from 'i18n-iso-countries/langs/ar.json' with { type: 'json' }
import en from 'i18n-iso-countries/langs/en.json' with { type: 'json' }
import es from 'i18n-iso-countries/langs/es.json' with { type: 'json' }
import fr from 'i18n-iso-countries/langs/fr.json' with { type: 'json' }
import ru from 'i18n-iso-countries/langs/ru.json' with { type: 'json' }
import zh from 'i18n-iso-countries/langs/zh.json' with { type: 'json' }
import { PARTY_CODE_PATTERN, type PartyInfo } from './negotiation'

export { PARTY_CODE_PATTERN }

/** The code of a party whose name and id give nothing usable. */
export const FALLBACK_CODE = 'PTY'

/** Words that are not a delegation's initial: articles, conjunctions, prepositions (after transliteration). */
const SMALL_WORDS = new Set([
  'of',
  'the',
  'and',
  'for',
  'on',
  'in',
  'de',
  'du',
  'des',
  'la',
  'le',
  'les',
  'el',
  'del',
  'los',
  'las',
  'y',
  'et',
  'e',
  'da',
  'do',
  'dos',
  'und',
  'der',
  'i',
  'po',
])

/** A name as compared with the country table: case, accents, harakat, punctuation and "the" set aside. */
function comparable(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}|\u0640/gu, '') // combining marks (accents, harakat, hamza above/below), Arabic tatweel
    .toLowerCase()
    .replace(/[\p{P}\p{S}]+/gu, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^the /, '')
}

/**
 * Official long forms the locale tables lack (they hold the common names), for the states most often
 * at the table: the permanent members of the Security Council and a few more, in the UN languages.
 */
const OFFICIAL_NAMES: Record<string, string[]> = {
  US: ['Соединённые Штаты Америки', 'الولايات المتحدة الأمريكية', 'Estados Unidos de América', 'États-Unis', '美利坚合众国'],
  GB: [
    'United Kingdom of Great Britain and Northern Ireland',
    'Соединённое Королевство',
    'Соединённое Королевство Великобритании и Северной Ирландии',
    'المملكة المتحدة لبريطانيا العظمى وأيرلندا الشمالية',
    "Royaume-Uni de Grande-Bretagne et d'Irlande du Nord",
    'Reino Unido de Gran Bretaña e Irlanda del Norte',
    '大不列颠及北爱尔兰联合王国',
  ],
  FR: [
    'French Republic',
    'Французская Республика',
    'الجمهورية الفرنسية',
    'République française',
    'República Francesa',
    '法兰西共和国',
  ],
  RU: ['Fédération de Russie', 'Federación de Rusia', 'الاتحاد الروسي', '俄罗斯联邦'],
  CN: ['Китай', 'جمهورية الصين الشعبية', 'République populaire de Chine', 'República Popular China', '中华人民共和国'],
  AE: ['الإمارات', 'Émirats arabes unis', '阿拉伯联合酋长国'],
  SA: ['Kingdom of Saudi Arabia', 'المملكة العربية السعودية'],
  EG: ['Arab Republic of Egypt', 'جمهورية مصر العربية'],
}

let countries: Map<string, string> | null = null

/** comparable name → ISO 3166 alpha-2, built on first use from every name each locale gives. */
function countryTable(): Map<string, string> {
  if (countries) return countries
  const table = new Map<string, string>()
  const add = (code: string, name: string) => {
    const key = comparable(name)
    if (key && !table.has(key)) table.set(key, code)
  }
  for (const [code, names] of Object.entries(OFFICIAL_NAMES)) for (const n of names) add(code, n)
  for (const locale of [en, fr, es, ru, ar, zh] as Array<{ countries: Record<string, string | string[]> }>) {
    for (const [code, names] of Object.entries(locale.countries)) {
      for (const n of Array.isArray(names) ? names : [names]) {
        add(code, n)
        // "КНР (Китайская Народная Республика)": each part; "Moldova, Republic of": "Republic of Moldova"
        const inner = /^(.*?)\s*\((.+)\)\s*$/.exec(n)
        if (inner) for (const part of [inner[1]!, inner[2]!]) add(code, part)
        const inverted = /^([^,]+),\s*([^,]+)$/.exec(n)
        if (inverted) add(code, `${inverted[2]} ${inverted[1]}`)
      }
    }
  }
  return (countries = table)
}

/** The ISO 3166 alpha-2 code of a country named so, or null. */
export function countryCode(name: string): string | null {
  const table = countryTable()
  const whole = table.get(comparable(name))
  if (whole) return whole
  // "Russian Federation (Ministry of Justice)": the name without what is in brackets
  const bare = name.replace(/\([^)]*\)|\[[^\]]*\]/g, ' ')
  return bare !== name ? (table.get(comparable(bare)) ?? null) : null
}

/** The name in Latin letters (ASCII where the transliteration knows the script; other letters stay). */
export function latinOf(name: string): string {
  // The Arabic article is not part of a word's sound that initials or ids should lead with.
  const withoutArticle = name.replace(/(^|[\s\u200f\u200e(])ال(?=\p{L})/gu, '$1')
  return transliterate(withoutArticle)
}

/** Initials of a name's significant words, in capitals (2–6), or null when the name has no usable word. */
function initialsCode(name: string): string | null {
  const words = latinOf(name)
    .replace(/\([^)]*\)/g, ' ')
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
  const significant = words.filter((w) => !SMALL_WORDS.has(w.toLowerCase()))
  const use = significant.length > 0 ? significant : words
  if (use.length === 0) return null
  if (use.length === 1) {
    const w = use[0]!.toUpperCase()
    // An acronym or a short word stays whole; a longer word gives its first three letters.
    const code = w.length <= 4 || (w.length <= 6 && use[0] === w) ? w : w.slice(0, 3)
    return code.length >= 2 ? code : null
  }
  const code = use
    .map((w) => w[0]!.toUpperCase())
    .join('')
    .slice(0, 6)
  return code
}

/** `base` if not taken, else base with a number (US2, US3, …; cut to stay within six). */
export function uniqueCode(base: string, taken: ReadonlySet<string>): string {
  if (!taken.has(base)) return base
  for (let n = 2; ; n++) {
    const suffix = String(n)
    const candidate = base.slice(0, 6 - suffix.length) + suffix
    if (!taken.has(candidate)) return candidate
  }
}

/**
 * A code for a delegation called `name`, not among `taken` (capitals). `fallbackFrom`: another text to
 * read initials from when the name gives none (the party's id).
 */
export function suggestPartyCode(name: string, taken: Iterable<string> = [], fallbackFrom = ''): string {
  const base = countryCode(name) ?? initialsCode(name) ?? (fallbackFrom ? initialsCode(fallbackFrom) : null) ?? FALLBACK_CODE
  return uniqueCode(base, new Set(taken))
}

export const isPartyCode = (code: unknown): code is string => typeof code === 'string' && PARTY_CODE_PATTERN.test(code)

/**
 * The parties, each with a code: a valid one it holds is kept (the first holder of a code keeps it),
 * the others are suggested from the name (or the id), in party order. The same parties always get the
 * same codes. Returns the same array when every party had a code already.
 */
export function withPartyCodes<P extends PartyInfo>(parties: readonly P[]): Array<P & { code: string }> {
  const taken = new Set<string>()
  const kept = parties.map((p) => {
    if (!isPartyCode(p.code) || taken.has(p.code)) return false
    taken.add(p.code)
    return true
  })
  if (kept.every(Boolean)) return parties as Array<P & { code: string }>
  return parties.map((p, i) => {
    if (kept[i]) return p as P & { code: string }
    const code = suggestPartyCode(p.name, taken, p.id)
    taken.add(code)
    return { ...p, code }
  })
}

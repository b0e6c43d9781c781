/**
 * [I18N1] The message files (messages/<locale>.json) hold the same messages in every
 * language of the inlang project: no key missing or extra, no empty text, every `{param}`
 * of the base language's text used in each translation, and every plural category a
 * language needs (Intl.PluralRules) present where a message varies by count.
 */
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const settings = JSON.parse(readFileSync(`${ROOT}project.inlang/settings.json`, 'utf8')) as {
  baseLocale: string
  locales: string[]
}

type Variant = { declarations?: string[]; selectors?: string[]; match: Record<string, string> }
type Message = string | Variant[]

function load(locale: string): Record<string, Message> {
  const raw = JSON.parse(readFileSync(`${ROOT}messages/${locale}.json`, 'utf8')) as Record<string, unknown>
  delete raw.$schema
  return raw as Record<string, Message>
}

/** Every text a message can show. */
function texts(message: Message): string[] {
  return typeof message === 'string' ? [message] : message.flatMap((v) => Object.values(v.match))
}

function params(message: Message): Set<string> {
  const out = new Set<string>()
  for (const t of texts(message)) for (const m of t.matchAll(/(?<!\\)\{([A-Za-z_][\w]*)\}/g)) out.add(m[1]!)
  return out
}

/** The plural categories a variant message covers, per selector declared `: plural`. */
function pluralCategories(message: Message): Set<string> | null {
  if (typeof message === 'string') return null
  const cats = new Set<string>()
  let plural = false
  for (const v of message) {
    const selectors = (v.declarations ?? []).filter((d) => / plural\b/.test(d) && !/type=ordinal/.test(d))
    if (selectors.length === 0) continue
    plural = true
    for (const key of Object.keys(v.match)) for (const part of key.split(',')) cats.add(part.split('=')[1]!.trim())
  }
  return plural ? cats : null
}

const base = settings.baseLocale
const messages = Object.fromEntries(settings.locales.map((l) => [l, load(l)]))

describe('[I18N1] message files', () => {
  it('the project names English as base and Russian', () => {
    expect(base).toBe('en')
    expect(settings.locales).toContain('ru')
  })

  for (const locale of settings.locales) {
    it(`${locale}: the same keys as ${base}, none empty`, () => {
      const mine = messages[locale]!
      expect(Object.keys(mine).sort()).toEqual(Object.keys(messages[base]!).sort())
      const empty = Object.entries(mine)
        .filter(([, msg]) => texts(msg).length === 0 || texts(msg).some((t) => t.trim() === ''))
        .map(([k]) => k)
      expect(empty).toEqual([])
    })

    if (locale === base) continue

    it(`${locale}: every {param} of ${base} is used`, () => {
      const missing: string[] = []
      for (const [key, msg] of Object.entries(messages[base]!)) {
        const theirs = messages[locale]![key]
        if (theirs === undefined) continue
        const have = params(theirs)
        for (const p of params(msg)) if (!have.has(p)) missing.push(`${key}: {${p}}`)
      }
      expect(missing).toEqual([])
    })

    it(`${locale}: plural messages cover every plural category of the language`, () => {
      const needed = new Intl.PluralRules(locale).resolvedOptions().pluralCategories
      const short: string[] = []
      for (const [key, msg] of Object.entries(messages[locale]!)) {
        const have = pluralCategories(msg)
        if (!have || have.has('*')) continue
        for (const c of needed) if (!have.has(c)) short.push(`${key}: ${c}`)
      }
      expect(short).toEqual([])
    })
  }

  it('keys are named by screen and meaning: lower snake case with a folder prefix', () => {
    const bad = Object.keys(messages[base]!).filter((k) => !/^[a-z][a-z0-9]*_[a-z0-9_]+$/.test(k))
    expect(bad).toEqual([])
  })
})

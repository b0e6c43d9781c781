/**
 * [I18N2] A component of a translated folder (tests/unit/i18nFolders.ts) holds no UI string
 * of its own: every text node with letters and every literal value of a user-facing attribute
 * (aria-label, title, placeholder, alt, …) comes from the message files. Read through Svelte's
 * own parser, so scripts, styles and `{…}` expressions are never mistaken for text.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { parse } from 'svelte/compiler'
import { describe, expect, it } from 'vitest'
import { TRANSLATED_FOLDERS, UNTRANSLATED_ALLOWED } from './i18nFolders'

const SRC = resolve(new URL('../../client/src/', import.meta.url).pathname)

/** Attributes a reader hears or sees. */
const USER_FACING = new Set([
  'aria-label',
  'aria-description',
  'aria-roledescription',
  'aria-placeholder',
  'aria-valuetext',
  'title',
  'placeholder',
  'alt',
  'label',
])

const LETTER = /\p{L}/u
const allowed = new Set(UNTRANSLATED_ALLOWED.map((a) => a.text))
const norm = (s: string) => s.replace(/\s+/g, ' ').trim()

export interface Finding {
  line: number
  what: string
  text: string
}

/** Untranslated strings of one component's source. */
export function untranslated(source: string): Finding[] {
  const ast = parse(source, { modern: true })
  const found: Finding[] = []
  const lineOf = (pos: number) => source.slice(0, pos).split('\n').length
  const report = (pos: number, what: string, raw: string) => {
    // entities (&nbsp;, &times;) are symbols, not words
    const text = norm(raw.replace(/&[a-z]+;|&#x?[0-9a-f]+;/gi, ' '))
    if (LETTER.test(text) && !allowed.has(text)) found.push({ line: lineOf(pos), what, text })
  }
  const visit = (node: unknown): void => {
    if (!node || typeof node !== 'object') return
    if (Array.isArray(node)) return node.forEach(visit)
    const n = node as Record<string, unknown> & { type?: string; start?: number }
    if (n.type === 'Text' && typeof n.raw === 'string') report(n.start ?? 0, 'text', n.raw)
    if (n.type === 'Attribute' && typeof n.name === 'string' && USER_FACING.has(n.name.toLowerCase())) {
      const parts = Array.isArray(n.value) ? n.value : []
      for (const part of parts as { type: string; raw?: string; start?: number }[])
        if (part.type === 'Text' && part.raw) report(part.start ?? 0, `${n.name}=`, part.raw)
    }
    for (const [key, value] of Object.entries(n)) {
      // scripts, styles and expressions are code, not text
      if (key === 'instance' || key === 'module' || key === 'css' || key === 'expression' || key === 'metadata') continue
      if (key === 'value' && n.type === 'Attribute') continue
      if (value && typeof value === 'object') visit(value)
    }
  }
  visit(ast.fragment)
  return found
}

function svelteFiles(path: string): string[] {
  if (statSync(path).isFile()) return path.endsWith('.svelte') ? [path] : []
  return readdirSync(path).flatMap((name) => svelteFiles(join(path, name)))
}

describe('[I18N2] untranslated UI strings', () => {
  it('the scanner finds text, user-facing attributes and component props, and skips code', () => {
    const found = untranslated(`<script lang="ts">const a = 'Not text'</script>
<p>Hello {name}</p>
<button aria-label="Close panel" title={m.x()} data-testid="close-btn">&times;</button>
<Dialog title="New term" />
<span>{count} · {m.y()} — 42 %</span>
<p>Parley</p>
<style>p { content: 'Nope'; }</style>`)
    expect(found.map((f) => [f.line, f.what, f.text])).toEqual([
      [2, 'text', 'Hello'],
      [3, 'aria-label=', 'Close panel'],
      [4, 'title=', 'New term'],
    ])
  })

  it('every listed folder exists', () => {
    for (const folder of TRANSLATED_FOLDERS) expect(existsSync(join(SRC, folder)), folder).toBe(true)
  })

  for (const folder of TRANSLATED_FOLDERS) {
    it(`client/src/${folder} speaks through the message files`, () => {
      const report = svelteFiles(join(SRC, folder)).flatMap((file) =>
        untranslated(readFileSync(file, 'utf8')).map((f) => `${relative(SRC, file)}:${f.line} ${f.what} "${f.text}"`),
      )
      expect(report, 'strings to move into messages/en.json and messages/ru.json').toEqual([])
    })
  }
})

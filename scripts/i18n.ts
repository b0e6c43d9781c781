/**
 * `npm run i18n`: compiles the message files (messages/<locale>.json, the inlang
 * project in project.inlang) into typed, tree-shakable message functions in
 * client/src/paraglide. That folder is generated, never committed: `npm run
 * typecheck` (and so `npm test`) runs this first, and `npm run build` compiles
 * through the same options in the Vite plugin (vite.config.ts).
 *
 * The runtime's own locale strategies stay minimal (a global variable, then the
 * base locale): the client decides the locale itself (client/src/lib/i18n/locale.svelte.ts)
 * so that a detected language is never stored as if the user had chosen it.
 */
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { compile } from '@inlang/paraglide-js'

const root = fileURLToPath(new URL('..', import.meta.url))

export const PARAGLIDE = {
  project: `${root}project.inlang`,
  outdir: `${root}client/src/paraglide`,
  strategy: ['globalVariable', 'baseLocale'],
  // tsc and svelte-check read the message functions' types from these (the tsconfig takes no JS).
  emitTsDeclarations: true,
} satisfies Parameters<typeof compile>[0]

/** What the output depends on: the settings, every message file and these options. */
function inputsHash(): string {
  const hash = createHash('sha256').update(JSON.stringify(PARAGLIDE))
  hash.update(readFileSync(`${PARAGLIDE.project}/settings.json`))
  for (const file of readdirSync(`${root}messages`).sort()) hash.update(file).update(readFileSync(`${root}messages/${file}`))
  return hash.digest('hex')
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  // A compile takes seconds (the inlang SDK loads a database first): skip it when nothing changed.
  const stamp = `${PARAGLIDE.outdir}/.inputs-hash`
  const hash = inputsHash()
  const fresh = existsSync(`${PARAGLIDE.outdir}/messages.js`) && existsSync(stamp) && readFileSync(stamp, 'utf8') === hash
  if (!fresh) {
    const { compile } = await import('@inlang/paraglide-js')
    await compile(PARAGLIDE)
    writeFileSync(stamp, hash)
  }
  // The inlang SDK leaves handles open for half a minute after a compile; the paraglide-js CLI exits too.
  process.exit(0)
}

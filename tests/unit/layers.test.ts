/**
 * The layers of the code base (README "Architecture"), kept by a test: an
 * import across one of these lines fails here, before it becomes a habit.
 *
 *   shared/          imports nothing of client/ or server/
 *   client/          imports shared/, never server/
 *   server/store/    the storage layer: never sync, negotiation, history, http, control or cluster
 *   server/sync/     the y-websocket layer: never negotiation, history, http, control or cluster
 *                    (it knows documents and peers, not negotiations)
 */
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(new URL('../../', import.meta.url).pathname)

interface Rule {
  from: string
  /** folders (relative to the root) files under `from` must not import */
  never: string[]
}

const RULES: Rule[] = [
  { from: 'shared', never: ['client', 'server', 'tests', 'bench'] },
  { from: 'client', never: ['server', 'tests', 'bench'] },
  {
    from: 'server/store',
    never: ['server/sync', 'server/negotiation', 'server/history', 'server/http', 'server/control', 'server/cluster'],
  },
  { from: 'server/sync', never: ['server/negotiation', 'server/history', 'server/http', 'server/control', 'server/cluster'] },
  { from: 'server', never: ['client', 'tests', 'bench'] },
]

function filesUnder(dir: string): string[] {
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist') continue
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...filesUnder(p))
    else if (/\.(ts|svelte|js)$/.test(name)) out.push(p)
  }
  return out
}

/** Relative import specifiers of a file (static imports, re-exports and dynamic imports). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8')
  const specs: string[] = []
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+['"](\.[^'"]+)['"]/g)) specs.push(m[1]!)
  for (const m of text.matchAll(/(?:^|\n)\s*import\s+['"](\.[^'"]+)['"]/g)) specs.push(m[1]!)
  for (const m of text.matchAll(/\bimport\(\s*['"](\.[^'"]+)['"]\s*\)/g)) specs.push(m[1]!)
  return specs
}

const inside = (path: string, folder: string) => path === folder || path.startsWith(`${folder}/`)

describe('[LY1] layers', () => {
  it('finds the imports it is meant to judge (the scan itself works)', () => {
    const room = importsOf(join(ROOT, 'server/sync/room.ts'))
    expect(room).toContain('./batch')
    expect(room.length).toBeGreaterThan(5)
  })

  for (const rule of RULES) {
    it(`${rule.from}/ never imports ${rule.never.map((n) => `${n}/`).join(', ')}`, () => {
      const crossings: string[] = []
      for (const file of filesUnder(join(ROOT, rule.from))) {
        for (const spec of importsOf(file)) {
          const target = relative(ROOT, resolve(dirname(file), spec))
          const banned = rule.never.find((folder) => inside(target, folder))
          if (banned) crossings.push(`${relative(ROOT, file)} imports ${spec} (${banned}/)`)
        }
      }
      expect(crossings).toEqual([])
    })
  }
})

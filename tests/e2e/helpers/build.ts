/**
 * The e2e suite drives the built client (dist/client, served by the server).
 * Builds it when it is missing or older than its sources; a lock directory
 * keeps parallel test files from building at the same time.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'

const ROOT = new URL('../../../', import.meta.url).pathname
const BUILT = join(ROOT, 'dist/client/index.html')
const LOCK = join(ROOT, '.tmp/client-build.lock')
const SOURCES = ['client', 'shared', 'vite.config.ts', 'svelte.config.js']

function newest(path: string): number {
  const st = statSync(path)
  if (!st.isDirectory()) return st.mtimeMs
  let m = 0
  for (const name of readdirSync(path)) m = Math.max(m, newest(join(path, name)))
  return m
}

const fresh = () => existsSync(BUILT) && statSync(BUILT).mtimeMs >= Math.max(...SOURCES.map((s) => newest(join(ROOT, s))))

export async function ensureClientBuilt(): Promise<void> {
  if (fresh()) return
  mkdirSync(join(ROOT, '.tmp'), { recursive: true })
  const started = Date.now()
  for (;;) {
    try {
      mkdirSync(LOCK)
      break
    } catch {
      // another worker builds; a lock older than two minutes is left over from a crash
      if (existsSync(LOCK) && Date.now() - statSync(LOCK).mtimeMs > 120_000) rmSync(LOCK, { recursive: true, force: true })
      if (Date.now() - started > 180_000) throw new Error('waited 3 min for the client build lock')
      await new Promise((r) => setTimeout(r, 250))
    }
  }
  try {
    if (fresh()) return
    const r = spawnSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
      cwd: ROOT,
      encoding: 'utf8',
    })
    if (r.status !== 0) throw new Error(`vite build failed:\n${r.stdout}\n${r.stderr}`)
  } finally {
    rmSync(LOCK, { recursive: true, force: true })
  }
}

/**
 * Chromium for the bench's browser cases ((f) client, (i) sealed): Debian's /usr/bin/chromium (or
 * BENCH_CHROMIUM) through playwright-core, a fresh profile per visit (no IndexedDB, nothing kept), with
 * the background work that would add noise to a timing switched off.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext } from 'playwright-core'

export const CHROMIUM = process.env.BENCH_CHROMIUM ?? '/usr/bin/chromium'

export type Chromium = typeof import('playwright-core').chromium

/** playwright-core's Chromium, or null when there is no browser at CHROMIUM. */
export async function benchChromium(): Promise<Chromium | null> {
  return existsSync(CHROMIUM) ? (await import('playwright-core')).chromium : null
}

/** A browser with a fresh profile; `close` stops it and removes the profile. */
export async function freshBrowser(chromium: Chromium, prefix: string): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), prefix))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic', '--no-first-run', '--disable-gpu'],
  })
  return {
    context,
    close: async () => {
      await context.close().catch(() => {})
      rmSync(profile, { recursive: true, force: true })
    },
  }
}

/**
 * Headless Debian Chromium through playwright-core. Every participant gets
 * its own browser context (separate storage; see TOOLCHAIN.md gotcha 1), and
 * page errors are collected so a test can assert there were none.
 */
import { existsSync } from 'node:fs'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { servicesRequired } from '../../helpers/services'

export const CHROMIUM = process.env.PARLEY_CHROMIUM ?? '/usr/bin/chromium'

/**
 * Whether the browser suites can run: like the PostgreSQL and Redis suites,
 * a missing Chromium skips them with one line (and fails under PARLEY_REQUIRE_SERVICES=1).
 */
export function chromiumForTests(suite: string): boolean {
  if (existsSync(CHROMIUM)) return true
  const line = `${suite}: Chromium not found at ${CHROMIUM}; apt-get install -y chromium (or set PARLEY_CHROMIUM)`
  if (servicesRequired()) throw new Error(`PARLEY_REQUIRE_SERVICES=1 but ${line}`)
  console.warn(`SKIPPED ${line}`)
  return false
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
      '--disable-gpu',
      '--disable-dev-shm-usage',
    ],
  })
}

export interface Participant {
  context: BrowserContext
  page: Page
  /** uncaught errors and console errors of the page */
  errors: string[]
  /** binary websocket frames the page received, for checking what never reached it */
  frames: Buffer[]
  close(): Promise<void>
}

export async function newParticipant(
  browser: Browser,
  opts: { width?: number; height?: number; recordFrames?: boolean; locale?: string } = {},
): Promise<Participant> {
  const context = await browser.newContext({
    viewport: { width: opts.width ?? 1280, height: opts.height ?? 800 },
    // the browser's language (navigator.languages, Accept-Language); Chromium's own default otherwise
    ...(opts.locale ? { locale: opts.locale } : {}),
  })
  const page = await context.newPage()
  const errors: string[] = []
  const frames: Buffer[] = []
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
  page.on('console', (m) => {
    // a refused or dropped connection is reported by the browser itself; it is part of the scenario, not a bug
    if (m.type() === 'error' && !/WebSocket|ERR_CONNECTION|Failed to load resource|socket\.io/i.test(m.text())) {
      errors.push(`console: ${m.text()}`)
    }
  })
  if (opts.recordFrames) {
    page.on('websocket', (ws) => {
      ws.on('framereceived', (f) => frames.push(typeof f.payload === 'string' ? Buffer.from(f.payload) : f.payload))
    })
  }
  return { context, page, errors, frames, close: () => context.close() }
}

/** Opens an invite link, answers the name prompt if it comes, and waits until the board is live. */
export async function join(p: Participant, link: string, name: string): Promise<Page> {
  const { page } = p
  await page.goto(link)
  const prompt = page.getByTestId('name-prompt')
  const live = page.locator('[data-testid="connection-status"][data-state="live"]')
  await prompt.or(live).first().waitFor({ timeout: 45_000 })
  if (await prompt.isVisible()) {
    await page.fill('#display-name', name)
    await page.getByTestId('join').click()
  }
  await live.waitFor({ timeout: 45_000 })
  return page
}

export async function openParticipant(browser: Browser, link: string, name: string, opts?: Parameters<typeof newParticipant>[1]) {
  const p = await newParticipant(browser, opts)
  await join(p, link, name)
  return p
}

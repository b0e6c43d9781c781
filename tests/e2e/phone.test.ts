/**
 * The client on a phone (390 × 844) and in a laptop's window (1280 × 800), issue 18 item 2: on the demo
 * negotiation, every main screen — the term sheet (a phone's first view), the board a tap away, the term panel,
 * comments, the Conclude panel and History as sheets from the bottom, the replay as a list with the redline —
 * checked for anything past the window's right edge (the page scrolling sideways, or any element shown beyond
 * it) and, on the phone, for controls smaller than 44 × 44 px; axe-core on the phone screens. At 1280 px the
 * toolbar and the replay's bar fit without clipping, and at 1000 px what does not fit is in an accessible
 * "More" menu. Refreshes docs/screenshots/phone-sheet.png (PARLEY_SCREENSHOTS=1, or when missing).
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { TestServer } from '../helpers/server'
import { createDemo } from '../../server/demo'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { closeBrowserSuite, startBrowserSuite } from './helpers/suite'
import { audit } from './helpers/axe'
import { chromiumForTests, openParticipant, type Participant } from './helpers/browser'
import { overflowProblems, smallTargets } from './helpers/layout'

const ROOT = new URL('../../', import.meta.url).pathname
const SHOTS = join(ROOT, 'docs/screenshots')
const PHONE = { width: 390, height: 844 }
const LAPTOP = { width: 1280, height: 800 }
const T = 30_000

let server: TestServer
let browser: Browser
const people: Participant[] = []

/** Lets fonts, layout and the first sync settle before a picture or a measurement. */
const settle = (page: Page, ms = 400) => page.waitForTimeout(ms)

/** Everything a screen must pass on a phone: no sideways overflow, 44 px targets, axe-core. */
async function phoneScreen(page: Page, screen: string): Promise<string[]> {
  await settle(page)
  return [
    ...(await overflowProblems(page)).map((p) => `${screen}: overflow: ${p}`),
    ...(await smallTargets(page)).map((p) => `${screen}: small target: ${p}`),
    ...(await audit(page, screen)),
  ]
}

async function wideScreen(page: Page, screen: string): Promise<string[]> {
  await settle(page)
  return (await overflowProblems(page)).map((p) => `${screen}: overflow: ${p}`)
}

/** The items of the toolbar's "More" menu, opened with the keyboard as the menu button pattern has it. */
async function openMore(page: Page): Promise<void> {
  const more = page.getByTestId('toolbar-more')
  if ((await more.getAttribute('aria-expanded')) !== 'true') await more.click()
  await page.getByTestId('toolbar-more-items').waitFor({ timeout: T })
}

/** The items the open "More" menu shows (it holds them all and shows those the toolbar does not). */
const shownItems = (page: Page) =>
  page
    .getByTestId('toolbar-more-items')
    .getByRole('menuitem')
    .evaluateAll((items) => items.filter((i) => i.getClientRects().length > 0).map((i) => i.textContent?.trim()))

/** Opens a panel from "More" (a phone's toolbar holds Conclude, Comments and History there). */
async function fromMore(page: Page, item: string, panel: string): Promise<void> {
  await openMore(page)
  await page.getByTestId(item).click()
  await page.getByTestId(panel).waitFor({ timeout: T })
}

/** Where the open panel sits: on a phone, a sheet across the whole width at the bottom of the screen. */
async function sheetBox(page: Page) {
  return page.getByTestId('side-panel').evaluate((el) => {
    const r = el.getBoundingClientRect()
    return { left: r.left, right: r.right, top: r.top, bottom: r.bottom, W: innerWidth, H: innerHeight }
  })
}

/** The replay's redline has its answer: the terms changed, or that none did. */
const redlineShown = (page: Page) =>
  page
    .locator('[data-testid="redline"] :is([data-testid="redline-term"], [data-testid="redline-empty"])')
    .first()
    .waitFor({ timeout: T })

async function closePanel(page: Page): Promise<void> {
  await page
    .getByTestId('side-panel')
    .getByRole('button', { name: /^Close/ })
    .first()
    .click()
  await page.getByTestId('side-panel').waitFor({ state: 'detached', timeout: T })
}

describe.skipIf(!chromiumForTests('e2e/phone'))('phones and narrow windows', () => {
  let demo: CreatedNegotiation
  let usPhone: Participant, reviewPhone: Participant, usLaptop: Participant, reviewLaptop: Participant

  beforeAll(async () => {
    ;[server, browser] = await startBrowserSuite()
    mkdirSync(SHOTS, { recursive: true })
    demo = await createDemo(server.parley.service)
    ;[usPhone, reviewPhone, usLaptop, reviewLaptop] = await Promise.all([
      openParticipant(browser, demo.links.negotiator.us!, 'J. Carter', PHONE),
      openParticipant(browser, demo.links.reviewer, 'L. Okafor', PHONE),
      openParticipant(browser, demo.links.negotiator.us!, 'M. Reyes', LAPTOP),
      openParticipant(browser, demo.links.reviewer, 'K. Ito', LAPTOP),
    ])
    people.push(usPhone, reviewPhone, usLaptop, reviewLaptop)
  }, 180_000)

  afterAll(() => closeBrowserSuite(people, browser, server))

  it('[PH1] a phone opens on the term sheet: the whole title, role and status apart, the toolbar within the screen, nothing sideways, 44 px targets, axe-clean', async () => {
    const page = usPhone.page
    await page.getByTestId('term-sheet').waitFor({ timeout: T })
    await page.locator('[data-testid="term-sheet"] [data-term-id]').first().waitFor({ timeout: T })
    expect(await page.getByTestId('view-sheet').getAttribute('aria-pressed')).toBe('true')

    // The title is not cut to a letter: it has the width of the screen less the logo, status and presence.
    const title = await page
      .locator('header.topbar h1')
      .evaluate((h) => ({ w: h.getBoundingClientRect().width, text: h.textContent }))
    expect(title.w).toBeGreaterThan(180)
    // The status pill and the role do not overlap.
    const [pill, role] = await Promise.all([
      page.getByTestId('connection-status').boundingBox(),
      page.locator('header.topbar .role').boundingBox(),
    ])
    expect(pill!.x >= role!.x + role!.width || pill!.y >= role!.y + role!.height).toBe(true)
    // New term, the other view and More are on screen; the panels are one tap into More.
    for (const id of ['new-term', 'view-canvas', 'toolbar-more']) {
      const box = (await page.getByTestId(id).boundingBox())!
      expect(box.x + box.width, id).toBeLessThanOrEqual(PHONE.width)
    }
    const problems = await phoneScreen(page, 'phone: term sheet')
    const path = join(SHOTS, 'phone-sheet.png')
    if (process.env.PARLEY_SCREENSHOTS === '1' || !existsSync(path)) {
      await page.mouse.move(0, PHONE.height - 1)
      await page.screenshot({ path })
    }
    expect(problems, problems.join('\n')).toEqual([])
  }, 120_000)

  it('[PH2] the board is one tap away and back; the term panel rises as a sheet from the bottom', async () => {
    const page = usPhone.page
    await page.getByTestId('view-canvas').click()
    await page.locator('[data-testid="term-card"]').first().waitFor({ timeout: T })
    const problems = await phoneScreen(page, 'phone: board')
    await page.getByTestId('view-sheet').click()
    await page.getByTestId('term-sheet').waitFor({ timeout: T })

    await page.locator('[data-testid="term-sheet"] button.open', { hasText: 'Evidence' }).click()
    await page.getByTestId('term-panel').waitFor({ timeout: T })
    await page.locator('[data-testid="body-editor"][data-ready="true"]').waitFor({ timeout: 45_000 })
    const box = await sheetBox(page)
    expect(box.left).toBe(0)
    expect(box.right).toBe(box.W)
    expect(box.bottom).toBe(box.H)
    expect(box.top).toBeGreaterThan(0)
    problems.push(...(await phoneScreen(page, 'phone: term panel')))
    await page.getByRole('button', { name: 'Close term' }).click()
    await page.getByTestId('term-panel').waitFor({ state: 'detached', timeout: T })
    expect(problems, problems.join('\n')).toEqual([])
  }, 120_000)

  it('[PH3] comments and the Conclude panel from "More", as sheets; Escape gives the focus back to "More"', async () => {
    const page = usPhone.page
    const problems: string[] = []
    await fromMore(page, 'more-comments', 'comments-panel')
    expect((await sheetBox(page)).top).toBeGreaterThan(0)
    problems.push(...(await phoneScreen(page, 'phone: comments')))
    await closePanel(page)

    await fromMore(page, 'more-conclude', 'conclude-panel')
    problems.push(...(await phoneScreen(page, 'phone: conclude panel')))
    await page.getByTestId('conclude-panel').focus()
    await page.keyboard.press('Escape')
    await page.getByTestId('conclude-panel').waitFor({ state: 'detached', timeout: T })
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('toolbar-more')
    expect(problems, problems.join('\n')).toEqual([])
    expect(usPhone.errors).toEqual([])
  }, 120_000)

  it("[PH4] a reviewer's History on a phone, and the replay as a list of versions with the redline, no board", async () => {
    const page = reviewPhone.page
    await page.getByTestId('term-sheet').waitFor({ timeout: T })
    const problems = await phoneScreen(page, 'phone: reviewer sheet')
    await fromMore(page, 'more-history', 'history-panel')
    await page.getByTestId('history-panel').locator('ol').first().waitFor({ timeout: T })
    problems.push(...(await phoneScreen(page, 'phone: history')))

    await page.getByTestId('download-menu').click()
    await page.getByTestId('download-menu-items').waitFor({ timeout: T })
    problems.push(...(await phoneScreen(page, 'phone: download menu')))
    await page.keyboard.press('Escape')
    await page.getByTestId('download-menu-items').waitFor({ state: 'detached', timeout: T })

    await page.getByTestId('open-replay').click()
    await page.getByTestId('replay').waitFor({ timeout: T })
    await redlineShown(page)
    expect(await page.getByTestId('replay-board').isVisible()).toBe(false)
    expect(await page.getByTestId('redline').isVisible()).toBe(true)
    problems.push(...(await phoneScreen(page, 'phone: replay redline')))

    await page.getByTestId('replay-show-versions').click()
    const list = page.getByTestId('replay-versions')
    await list.waitFor({ timeout: T })
    expect(await page.getByTestId('redline').isVisible()).toBe(false)
    problems.push(...(await phoneScreen(page, 'phone: replay versions')))
    // A version chosen in the list shows its redline.
    const first = list.locator('button[data-n]').last()
    const n = await first.getAttribute('data-n')
    await first.click()
    await page.locator(`[data-testid="replay"][data-v="${n}"]`).waitFor({ timeout: T })
    await page.getByTestId('redline').waitFor({ timeout: T })

    await page.getByTestId('replay-filters-toggle').click()
    await page.getByTestId('replay-term-filter').waitFor({ timeout: T })
    problems.push(...(await phoneScreen(page, 'phone: replay filters')))
    expect(problems, problems.join('\n')).toEqual([])
    expect(reviewPhone.errors).toEqual([])
  }, 120_000)

  it('[PH5] at 1280 px the toolbar fits, only the Word draft in "More"; the panels and the replay bar without clipping', async () => {
    const page = usLaptop.page
    await page.locator('[data-testid="term-card"]').first().waitFor({ timeout: T })
    /** The bar does not scroll and nothing in it ends past its right edge. */
    const fits = (on: Page, selector: string) =>
      on.locator(selector).evaluate((el) => {
        const r = el.getBoundingClientRect()
        const out = el.scrollWidth > el.clientWidth ? [`scrolls: ${el.scrollWidth} > ${el.clientWidth}`] : []
        for (const c of el.querySelectorAll('*')) {
          const b = c.getBoundingClientRect()
          if (b.width > 0 && b.right > r.right + 0.5)
            out.push(`${c.tagName} "${c.textContent?.trim().slice(0, 30)}" ends at ${b.right} > ${r.right}`)
        }
        return out
      })
    const problems = [
      ...(await fits(page, '[role="toolbar"][aria-label="Board tools"]')),
      ...(await wideScreen(page, 'laptop: board')),
    ]
    for (const id of ['new-term', 'new-note', 'conclude-button', 'comments-button', 'history-button'])
      expect(await page.getByTestId(id).isVisible(), id).toBe(true)
    expect(await page.getByTestId('word-draft-button').isVisible()).toBe(false)
    await openMore(page)
    expect(await shownItems(page)).toEqual(['Bring in a Word draft'])
    await page.keyboard.press('Escape')

    for (const [button, panel] of [
      ['comments-button', 'comments-panel'],
      ['conclude-button', 'conclude-panel'],
      ['history-button', 'history-panel'],
    ] as const) {
      await page.getByTestId(button).click()
      await page.getByTestId(panel).waitFor({ timeout: T })
      problems.push(...(await wideScreen(page, `laptop: ${panel}`)))
      await page.getByTestId(button).click()
      await page.getByTestId(panel).waitFor({ state: 'detached', timeout: T })
    }

    const review = reviewLaptop.page
    await review.getByTestId('history-button').click()
    await review.getByTestId('open-replay').click()
    await redlineShown(review)
    problems.push(...(await fits(review, '[data-testid="replay"] > header')), ...(await wideScreen(review, 'laptop: replay')))
    // One line: the bar does not wrap at 1280 px.
    expect((await review.locator('[data-testid="replay"] > header').boundingBox())!.height).toBeLessThan(64)
    await review.getByTestId('replay-close').click()
    expect(problems, problems.join('\n')).toEqual([])
  }, 120_000)

  it('[PH6] in a 1000 px window Note, the Word draft and Conclude are in "More": a menu button (↓ opens on the first item, Escape closes back to the button)', async () => {
    const page = usLaptop.page
    await page.setViewportSize({ width: 1000, height: 800 })
    try {
      await settle(page)
      for (const id of ['new-note', 'word-draft-button', 'conclude-button'])
        expect(await page.getByTestId(id).isVisible(), id).toBe(false)
      const more = page.getByTestId('toolbar-more')
      expect(await more.getAttribute('aria-haspopup')).toBe('menu')
      expect(await more.getAttribute('aria-expanded')).toBe('false')
      await more.focus()
      await page.keyboard.press('ArrowDown')
      const menu = page.getByRole('menu')
      await menu.waitFor({ timeout: T })
      expect(await more.getAttribute('aria-expanded')).toBe('true')
      expect(await menu.getAttribute('aria-labelledby')).toBe(await more.getAttribute('id'))
      // Only what the toolbar does not show.
      expect(await shownItems(page)).toEqual(['Note', 'Bring in a Word draft', 'Conclude'])
      expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('more-note')
      await page.keyboard.press('ArrowUp')
      expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('more-conclude')
      await page.keyboard.press('Escape')
      await menu.waitFor({ state: 'detached', timeout: T })
      expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('toolbar-more')
      const problems = await wideScreen(page, '1000 px: board')
      expect(problems, problems.join('\n')).toEqual([])
    } finally {
      await page.setViewportSize(LAPTOP)
    }
    for (const p of people) expect(p.errors).toEqual([])
  }, 60_000)
})

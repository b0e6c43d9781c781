/**
 * A board of 40 opening terms in Chromium (issue 18, item 4, and item 7's
 * note landing on a card): the terms make a readable grid with no overlap,
 * Fit stops at a readable zoom with the overview map beside it, a card reached
 * with Tab comes into view, Ctrl+wheel zooms and the plain wheel pans, and a
 * view panned off the board offers "Back to the terms". A new note and a new
 * term land clear of every card. axe-core on the board in both states.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Locator, Page } from 'playwright-core'
import type { TestServer } from '../helpers/server'
import { closeBrowserSuite, startBrowserSuite } from './helpers/suite'
import { audit } from './helpers/axe'
import { chromiumForTests, openParticipant, type Participant } from './helpers/browser'
import { US_AND_RU, card } from './helpers/board'

const SHOTS = join(new URL('../../', import.meta.url).pathname, 'docs/screenshots')

let server: TestServer
let browser: Browser
const people: Participant[] = []

const TOPICS = ['Definitions', 'Scope', 'Requests', 'Evidence', 'Deadlines', 'Costs', 'Languages', 'Refusal']
/** Titles that never contain one another ("Article 03", never "Article 3" inside "Article 30"). */
const TERMS = Array.from({ length: 40 }, (_, i) => ({
  title: `Article ${String(i + 1).padStart(2, '0')} ${TOPICS[i % TOPICS.length]}`,
  body: 'Each party answers a request within thirty days of receiving it. '.repeat(1 + (i % 4)),
}))
const title = (n: number) => TERMS[n - 1]!.title

interface Box {
  x: number
  y: number
  width: number
  height: number
}

const overlap = (a: Box, b: Box) => a.x < b.x + b.width && a.x + a.width > b.x && a.y < b.y + b.height && a.y + a.height > b.y
const inside = (a: Box, outer: Box) =>
  a.x >= outer.x - 0.5 &&
  a.y >= outer.y - 0.5 &&
  a.x + a.width <= outer.x + outer.width + 0.5 &&
  a.y + a.height <= outer.y + outer.height + 0.5

/** The board's pan and zoom, read off the world layer's transform. */
async function view(page: Page): Promise<{ tx: number; ty: number; zoom: number }> {
  const t = await page.locator('.world').evaluate((el) => (el as HTMLElement).style.transform)
  const m = /translate\((-?[\d.e+-]+)px, (-?[\d.e+-]+)px\) scale\(([\d.e+-]+)\)/.exec(t)
  if (!m) throw new Error(`unexpected transform ${t}`)
  return { tx: Number(m[1]), ty: Number(m[2]), zoom: Number(m[3]) }
}

async function boxOf(l: Locator): Promise<Box> {
  const b = await l.boundingBox()
  if (!b) throw new Error('no bounding box')
  return b
}

async function cardBoxes(page: Page): Promise<Box[]> {
  return page.getByTestId('term-card').evaluateAll((els) =>
    els.map((e) => {
      const r = e.getBoundingClientRect()
      return { x: r.x, y: r.y, width: r.width, height: r.height }
    }),
  )
}

/** How many term cards are wholly on the canvas. */
async function cardsInView(page: Page): Promise<number> {
  const canvas = await boxOf(page.getByTestId('canvas'))
  return (await cardBoxes(page)).filter((b) => inside(b, canvas)).length
}

describe.skipIf(!chromiumForTests('e2e/bigBoard'))('a board of 40 terms', () => {
  let us: Participant
  let page: Page

  beforeAll(async () => {
    ;[server, browser] = await startBrowserSuite()
    const neg = await server.createNegotiation({ title: 'Mutual legal assistance', parties: US_AND_RU, terms: TERMS })
    us = await openParticipant(browser, neg.links.negotiator.us!, 'J. Carter', { width: 1280, height: 800 })
    people.push(us)
    page = us.page
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="term-card"]').length === 40, null, {
      timeout: 30_000,
    })
  }, 180_000)

  afterAll(() => closeBrowserSuite(people, browser, server))

  it('[BB4] the opening terms make a grid with no overlap, in sheet order; Fit shows them at a readable zoom, from the first on', async () => {
    await page.getByRole('button', { name: 'Fit everything in view' }).click()
    const v = await view(page)
    expect(v.zoom).toBeGreaterThanOrEqual(0.5)
    const boxes = await cardBoxes(page)
    const clashes: string[] = []
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) if (overlap(boxes[i]!, boxes[j]!)) clashes.push(`${i + 1} × ${j + 1}`)
    expect(clashes).toEqual([])
    // Several to a row, read left to right and down.
    const rows = new Set(boxes.map((b) => Math.round(b.y)))
    expect(rows.size).toBeLessThanOrEqual(10)
    expect(boxes[1]!.x).toBeGreaterThan(boxes[0]!.x)
    const canvas = await boxOf(page.getByTestId('canvas'))
    expect(inside(await boxOf(card(page, title(1))), canvas)).toBe(true)
    expect(await cardsInView(page)).toBeGreaterThanOrEqual(10)
    // A card's title is drawn at a size people read (16 px at 100 %).
    const fontPx = await card(page, title(1))
      .locator('.title')
      .evaluate((el) => parseFloat(getComputedStyle(el).fontSize))
    expect(fontPx * v.zoom).toBeGreaterThanOrEqual(8)
    const shot = join(SHOTS, 'big-board.png')
    if (process.env.PARLEY_SCREENSHOTS === '1' || !existsSync(shot)) {
      mkdirSync(SHOTS, { recursive: true })
      await page.mouse.move(0, 799)
      await page.screenshot({ path: shot })
    }
    expect(us.errors).toEqual([])
  }, 120_000)

  it('[BB5] the overview map is shown and clicking it moves the view there', async () => {
    const map = page.getByTestId('minimap')
    await map.waitFor()
    expect(await map.getAttribute('aria-label')).toContain('40 terms')
    const last = card(page, title(40))
    const canvas = await boxOf(page.getByTestId('canvas'))
    expect(inside(await boxOf(last), canvas)).toBe(false)
    const before = await view(page)
    // Press on the last term's block in the map: the view centres there.
    const block = await boxOf(map.locator('rect.term').nth(39))
    await page.mouse.click(block.x + block.width / 2, block.y + block.height / 2)
    const after = await view(page)
    expect(after.ty).not.toBe(before.ty)
    expect(after.zoom).toBe(before.zoom)
    expect(inside(await boxOf(last), canvas)).toBe(true)
    const m = await boxOf(map)
    // Dragging on it moves the view along.
    await page.mouse.move(m.x + m.width * 0.5, m.y + m.height * 0.5)
    await page.mouse.down()
    await page.mouse.move(m.x + m.width * 0.3, m.y + m.height * 0.2, { steps: 4 })
    await page.mouse.up()
    expect((await view(page)).ty).not.toBe(after.ty)
    // From the keyboard too: arrow keys move the view, Enter shows the terms.
    await map.focus()
    const k = await view(page)
    await page.keyboard.press('ArrowDown')
    expect((await view(page)).ty).toBeLessThan(k.ty)
    await page.keyboard.press('Enter')
    expect(inside(await boxOf(card(page, title(1))), canvas)).toBe(true)
  }, 120_000)

  it('[BB6] a card reached with Tab is brought into view', async () => {
    await page.getByRole('button', { name: 'Fit everything in view' }).click()
    const canvas = await boxOf(page.getByTestId('canvas'))
    const target = card(page, title(38))
    expect(inside(await boxOf(target), canvas)).toBe(false)
    await page.getByTestId('canvas').focus()
    const focusedTitle = () =>
      page.evaluate(
        () => document.activeElement?.closest('[data-testid="term-card"]')?.querySelector('button.open')?.textContent ?? '',
      )
    for (let i = 0; i < 160 && (await focusedTitle()) !== title(38); i++) {
      await page.keyboard.press('Tab')
      // every card on the way shows as it is reached
      const on = await page.evaluate(() => document.activeElement?.closest('[data-testid="term-card"]') !== null)
      if (on) {
        const focused = page.locator('[data-testid="term-card"]:focus-within')
        expect(inside(await boxOf(focused), canvas), `card ${await focusedTitle()} in view`).toBe(true)
      }
    }
    expect(await focusedTitle()).toBe(title(38))
    expect(inside(await boxOf(target), canvas)).toBe(true)
    // The canvas itself never scrolled: the view moved, not the page.
    expect(await page.getByTestId('canvas').evaluate((el) => [el.scrollLeft, el.scrollTop])).toEqual([0, 0])
  }, 120_000)

  it('[BB7] Ctrl+wheel zooms around the pointer; the plain wheel pans and leaves the zoom alone', async () => {
    await page.getByRole('button', { name: 'Fit everything in view' }).click()
    const canvas = await boxOf(page.getByTestId('canvas'))
    const px = canvas.x + canvas.width * 0.4
    const py = canvas.y + canvas.height * 0.5
    await page.mouse.move(px, py)
    const start = await view(page)
    await page.mouse.wheel(0, 240)
    await expect.poll(async () => (await view(page)).ty).toBeLessThan(start.ty)
    expect((await view(page)).zoom).toBe(start.zoom)

    const panned = await view(page)
    const worldAt = (v: { tx: number; ty: number; zoom: number }) => ({
      x: (px - canvas.x - v.tx) / v.zoom,
      y: (py - canvas.y - v.ty) / v.zoom,
    })
    await page.keyboard.down('Control')
    await page.mouse.wheel(0, -200)
    await page.keyboard.up('Control')
    await expect.poll(async () => (await view(page)).zoom).toBeGreaterThan(panned.zoom)
    const zoomed = await view(page)
    // The point under the pointer stays under it.
    expect(worldAt(zoomed).x).toBeCloseTo(worldAt(panned).x, 0)
    expect(worldAt(zoomed).y).toBeCloseTo(worldAt(panned).y, 0)
    // The browser's own page zoom stayed out of it.
    expect(await page.evaluate(() => window.visualViewport?.scale ?? 1)).toBe(1)
  }, 120_000)

  it('[BB8] a view panned off the board offers "Back to the terms", which brings cards back; axe-core is clean in both states', async () => {
    const problems: string[] = []
    await page.getByRole('button', { name: 'Fit everything in view' }).click()
    expect(await page.getByTestId('back-to-terms').count()).toBe(0)
    problems.push(...(await audit(page, 'big board')))

    const canvas = await boxOf(page.getByTestId('canvas'))
    await page.mouse.move(canvas.x + canvas.width / 2, canvas.y + canvas.height / 2)
    for (let i = 0; i < 12; i++) await page.mouse.wheel(-900, -900)
    const back = page.getByRole('button', { name: 'Back to the terms' })
    await back.waitFor()
    expect(await cardsInView(page)).toBe(0)
    problems.push(...(await audit(page, 'big board, panned away')))

    await back.click()
    expect(await cardsInView(page)).toBeGreaterThanOrEqual(10)
    expect((await view(page)).zoom).toBeGreaterThanOrEqual(0.5)
    await expect.poll(() => page.getByTestId('back-to-terms').count()).toBe(0)
    expect(problems, problems.join('\n')).toEqual([])
  }, 120_000)

  it('[BB9] a new note lands near the view centre on no card; a new term takes the next free place in the grid', async () => {
    await page.getByRole('button', { name: 'Fit everything in view' }).click()
    await page.getByTestId('new-note').click()
    const note = page.getByTestId('note-card')
    await note.waitFor()
    const noteBox = await boxOf(note)
    const canvas = await boxOf(page.getByTestId('canvas'))
    expect(overlap(noteBox, canvas)).toBe(true)
    expect((await cardBoxes(page)).filter((b) => overlap(b, noteBox))).toEqual([])

    await page.getByTestId('new-term').click()
    await page.fill('#new-term-title', 'Article 41 Final provisions')
    await page.fill('#new-term-body', 'This treaty enters into force on the thirtieth day after ratification.')
    await page.getByTestId('create-term').click()
    await page.getByTestId('term-panel').waitFor()
    const added = card(page, 'Article 41 Final provisions')
    await added.waitFor()
    const boxes = await cardBoxes(page)
    const addedBox = await boxOf(added)
    expect(boxes.filter((b) => overlap(b, addedBox))).toHaveLength(1) // itself
    expect(overlap(addedBox, await boxOf(note))).toBe(false)
    // After the last term in reading order: below the last row, in the first column.
    const lastBox = await boxOf(card(page, title(40)))
    expect(addedBox.y).toBeGreaterThan(lastBox.y)
    expect(addedBox.x).toBeCloseTo((await boxOf(card(page, title(1)))).x, 0)
    expect(us.errors).toEqual([])
  }, 120_000)
})

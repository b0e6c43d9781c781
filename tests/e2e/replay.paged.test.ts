/**
 * History at a real negotiation's length (issue 12), in Chromium against a
 * real server: a negotiation with many more versions than one page (the page
 * made small through the address, `?limit=10`, so a short history shows the
 * paging), opened at a version far back by a link; the list loading more as
 * it scrolls; live versions merged; the density strip of the whole history,
 * jumping by click and keyboard; the replayed board drawing a card where it
 * stood and only the links that existed then; the History panel newest
 * first, page by page; axe-core on both. With PARLEY_SCREENSHOTS=1 (or when
 * it is missing) it refreshes docs/screenshots/replay-paged.png.
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { insertLink, setPosition, setTermText, termText, termsInOrder } from '../../shared/docLayout'
import type { Sheet, Version } from '../../shared/schemas'
import type { Actor, CreatedNegotiation } from '../../server/negotiation/service'
import type { TestServer } from '../helpers/server'
import { closeBrowserSuite, startBrowserSuite } from './helpers/suite'
import { audit } from './helpers/axe'
import { chromiumForTests, join as joinAs, newParticipant, openParticipant, type Participant } from './helpers/browser'
import { card } from './helpers/board'

const ROOT = new URL('../../', import.meta.url).pathname
const SHOT = join(ROOT, 'docs/screenshots/replay-paged.png')
const SIZE = { width: 1440, height: 900 }
/** versions per page in the browsers of this file: a history of ~130 versions is 13 pages */
const PAGE = 10
/** Generous: the machine is shared; every wait returns as soon as its condition holds. */
const T = 45_000

let server: TestServer
let browser: Browser
const people: Participant[] = []

async function open(link: string, name: string): Promise<Participant> {
  const p = await openParticipant(browser, link, name, SIZE)
  people.push(p)
  return p
}

/** A link with query parameters, the token kept in the fragment. */
const withParams = (invite: string, search: string) => invite.replace('#', `${search}#`)

const replay = (page: Page) => page.getByTestId('replay')

async function showing(page: Page, n: number, from = n - 1): Promise<void> {
  await page.locator(`[data-testid="replay"][data-v="${n}"][data-from="${from}"]`).waitFor({ timeout: T })
  await page.locator(`[data-testid="replay-board"][data-sheet-v="${n}"]`).waitFor({ timeout: T })
  await page.locator('[data-testid="redline"][aria-busy="false"]').waitFor({ timeout: T })
}

/** Where a card is drawn on the replayed board (its transform). */
async function cardAt(page: Page, title: string): Promise<{ x: number; y: number }> {
  const style = (await card(page, title).getAttribute('style')) ?? ''
  const m = /translate\((-?[\d.]+)px,\s*(-?[\d.]+)px\)/.exec(style)
  if (!m) throw new Error(`no position in ${style}`)
  return { x: Number(m[1]), y: Number(m[2]) }
}

/** The `after` of every page of versions the page asked for, in order. */
function pageRequests(page: Page): number[] {
  const afters: number[] = []
  page.on('request', (r) => {
    const u = new URL(r.url())
    if (/\/api\/negotiations\/[^/]+\/versions$/.test(u.pathname)) {
      expect(Number(u.searchParams.get('limit'))).toBeLessThanOrEqual(PAGE)
      afters.push(Number(u.searchParams.get('after')))
    }
  })
  return afters
}

const listed = (page: Page) =>
  page
    .locator('[data-testid="replay-versions"] button[data-n]')
    .evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-n'))))

describe.skipIf(!chromiumForTests('e2e/replay.paged'))('a long history, page by page', () => {
  let neg: CreatedNegotiation
  let all: Version[]
  /** the last version before the card was moved and the link drawn; the move; the link */
  let before: number, moved: Version, linked: Version
  let venueBefore: { x: number; y: number }, venueAfter: { x: number; y: number }
  let us: Actor, ru: Actor

  async function versions(): Promise<Version[]> {
    const res = await server.api(`/api/negotiations/${neg.id}/versions?limit=5000`, { token: neg.tokens.reviewer })
    return ((await res.json()) as { versions: Version[] }).versions
  }

  async function sheetAt(n: number): Promise<Sheet> {
    return (await (await server.api(`/api/negotiations/${neg.id}/versions/${n}`, { token: neg.tokens.reviewer })).json()) as Sheet
  }

  /** Versions are indexed just after their writes commit: wait until there are `count`. */
  async function settled(count: number): Promise<Version[]> {
    const deadline = Date.now() + T
    for (;;) {
      const vs = await versions()
      if (vs.length >= count) return vs
      if (Date.now() > deadline) throw new Error(`${vs.length} versions, waited for ${count}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  /** Edits to the deadline by the two delegations in turn: each is a version of its own (another author in between). */
  async function edits(count: number, from: number): Promise<void> {
    const board = await server.parley.service.boardRoom(neg.id)
    try {
      const id = termsInOrder(board.doc).find((t) => t.title === 'Response deadline')!.id
      for (let i = 0; i < count; i++) {
        const text = termText(board.doc, id)!
        await board.serverWrite(server.parley.service.authorOf((from + i) % 2 ? us : ru), (doc) =>
          setTermText(doc, id, { ...text, body: `Requests are answered within ${30 + from + i} days.` }),
        )
      }
    } finally {
      server.parley.service.releaseRoom(board)
    }
  }

  beforeAll(async () => {
    ;[server, browser] = await startBrowserSuite()
    const service = server.parley.service
    neg = await service.create({
      title: 'A month at the table',
      parties: [
        { id: 'us', name: 'United States', color: '#1f5fbf' },
        { id: 'ru', name: 'Russian Federation', color: '#b3261e' },
      ],
      terms: [
        { title: 'Scope', body: 'Each party extradites persons charged with ransomware attacks against the other.' },
        { title: 'Response deadline', body: 'Requests are answered within 30 days.' },
        { title: 'Venue', body: 'Hearings are held in the requested state.' },
      ],
    })
    us = { negotiationId: neg.id, role: 'negotiator', party: 'us', user: 'J. Carter', session: 'e2e-us' }
    ru = { negotiationId: neg.id, role: 'negotiator', party: 'ru', user: 'A. Volkova', session: 'e2e-ru' }
    const board = await service.boardRoom(neg.id)
    try {
      const id = (title: string) => termsInOrder(board.doc).find((t) => t.title === title)!.id
      await edits(60, 0)
      await service.move(us, 'accept', id('Scope'))
      await service.move(ru, 'accept', id('Scope'))
      // three proposals (the opening draft), 60 edits, two acceptances
      before = (await settled(3 + 60 + 2)).at(-1)!.n
      venueBefore = (await sheetAt(before)).terms.find((t) => t.title === 'Venue')!
      // After `before`: the Russian delegation drags Venue across the board, then the US links Scope to it.
      venueAfter = { x: venueBefore.x + 640, y: venueBefore.y + 480 }
      await board.serverWrite(service.authorOf(ru), (doc) => setPosition(doc, 'terms', id('Venue'), venueAfter.x, venueAfter.y))
      await board.serverWrite(service.authorOf(us), (doc) =>
        insertLink(doc, 'l-scope-venue', { from: id('Scope'), to: id('Venue'), label: 'subject to' }),
      )
      const vs = await settled(before + 2)
      moved = vs.find((v) => v.n > before && v.party === 'ru')!
      linked = vs.find((v) => v.n > moved.n && v.party === 'us')!
    } finally {
      service.releaseRoom(board)
    }
    // The Russian delegation first, so the first of these is not folded into the US link's version.
    await edits(60, 62)
    all = await settled(linked.n + 60)
    expect(all.length).toBeGreaterThan(12 * PAGE)
    expect(all.map((v) => v.n)).toEqual(all.map((_, i) => i + 1))
  }, 180_000)

  afterAll(() => closeBrowserSuite(people, browser, server))

  let review: Participant

  it('[R9] a link to a version far back opens it with the page that holds it, not the history before it; the density strip shows the whole', async () => {
    // Watched from the first request on: the page is opened only once the listener is in place.
    review = await newParticipant(browser, SIZE)
    people.push(review)
    const page = review.page
    const afters = pageRequests(page)
    await joinAs(review, withParams(neg.links.reviewer, `?v=${before}&limit=${PAGE}`), 'L. Okafor')
    await showing(page, before)

    // The first page asked for holds the version; the very start of the history was never fetched.
    expect(afters[0]).toBeLessThan(before)
    expect(afters[0]! + PAGE).toBeGreaterThanOrEqual(before)
    expect(Math.min(...afters)).toBeGreaterThan(0)
    expect(await page.locator('[data-testid="versions-gap"][data-lo="1"]').count()).toBe(1)
    const shown = await listed(page)
    expect(shown).toContain(before)
    expect(shown.length).toBeLessThan(all.length)
    expect(await page.getByTestId('versions-count').textContent()).toContain(`of ${all.length} loaded`)
    expect(await page.locator('[data-testid="replay-versions"] [aria-current="step"]').getAttribute('data-n')).toBe(
      String(before),
    )

    // The whole negotiation's shape, from the density, without loading it.
    const strip = page.locator('[data-testid="replay-dock"] [data-testid="density-strip"]')
    expect(await strip.getAttribute('data-total')).toBe(String(all.length))
    const bars = strip.getByTestId('density-bar')
    expect(await bars.count()).toBeGreaterThan(10)
    const here = strip.locator('[aria-current="true"]')
    expect(Number(await here.getAttribute('data-from'))).toBeLessThanOrEqual(before)
    expect(Number(await here.getAttribute('data-to'))).toBeGreaterThanOrEqual(before)
    // Concessions are marked: the two acceptances of Scope fall in a marked range.
    expect(await strip.locator('[data-event="accept"]').count()).toBeGreaterThan(0)
    expect(await strip.locator('[data-event="accept"]').first().getAttribute('aria-label')).toMatch(/acceptance/)
    expect(await page.getByTestId('replay-scrubber').getAttribute('max')).toBe(String(all.length))
    expect(review.errors).toEqual([])
  }, 180_000)

  it('[R10] the replayed board at that version: each card where it stood then, only the links that existed then', async () => {
    const page = review.page
    // At `before`: Venue where it was, no link yet — though on the live board it has moved and is linked.
    expect(await cardAt(page, 'Venue')).toEqual({ x: venueBefore.x, y: venueBefore.y })
    expect(await page.locator('[data-testid="replay-board"] [data-testid="link-label"]').count()).toBe(0)

    // The move: Venue where the Russian delegation put it, still no link.
    const to = page.getByTestId('redline-to')
    await to.fill(String(moved.n))
    await to.press('Tab')
    await showing(page, moved.n)
    expect(await cardAt(page, 'Venue')).toEqual(venueAfter)
    expect(await page.locator('[data-testid="replay-board"] [data-testid="link-label"]').count()).toBe(0)

    // The link: drawn between the cards where they stood, with its label.
    await to.fill(String(linked.n))
    await to.press('Tab')
    await showing(page, linked.n)
    const label = page.locator('[data-testid="replay-board"] [data-testid="link-label"]')
    await label.waitFor({ timeout: T })
    expect(await label.textContent()).toBe('subject to')
    expect(await label.getAttribute('data-link-id')).toBe('l-scope-venue')
    expect(await label.getAttribute('title')).toContain('“Scope” to “Venue”')
    expect(await page.locator('[data-testid="replay-board"] svg.lines line').count()).toBe(1)
    expect(await cardAt(page, 'Venue')).toEqual(venueAfter)
  }, 180_000)

  it('[R11] the list loads more as it scrolls, down to the newest version; a live version is merged in', async () => {
    const page = review.page
    const list = page.getByTestId('replay-versions')
    const first = (await listed(page)).length
    // Scroll down until the newest version is listed; each page arrives as the gap row nears the view.
    await expect
      .poll(
        async () => {
          await list.evaluate((el) => el.scrollTo({ top: el.scrollHeight }))
          return (await listed(page)).includes(all.length)
        },
        { timeout: T, interval: 200 },
      )
      .toBe(true)
    const after = await listed(page)
    expect(after.length).toBeGreaterThan(first + PAGE)
    // In order, each once, with nothing missing from `before` to the newest — but the card moves,
    // which the list leaves out until "Show moves" ([R13b]); the server marks the drag as one.
    expect(after).toEqual([...after].sort((a, b) => a - b))
    expect(moved.layoutOnly).toBe(true)
    expect(after.filter((n) => n >= before)).toEqual(all.filter((v) => v.n >= before && !v.layoutOnly).map((v) => v.n))

    // A version made now arrives live, merged at the end of the list and of the timeline.
    await edits(1, 200)
    await expect.poll(async () => (await listed(page)).at(-1), { timeout: T }).toBe(all.length + 1)
    expect(await page.getByTestId('replay-scrubber').getAttribute('max')).toBe(String(all.length + 1))
    await page.getByTestId('replay-scrubber').focus()
    await page.keyboard.press('End')
    await showing(page, all.length + 1)
  }, 180_000)

  it('[R12] the density strip jumps there by click and by keyboard, loading the page it needs', async () => {
    const page = review.page
    const strip = page.locator('[data-testid="replay-dock"] [data-testid="density-strip"]')
    // Click the first range: the start of the history, never loaded so far.
    expect(await page.locator('[data-testid="versions-gap"][data-lo="1"]').count()).toBe(1)
    const firstBar = strip.getByTestId('density-bar').first()
    const to = Number(await firstBar.getAttribute('data-to'))
    await firstBar.click()
    await expect.poll(async () => Number(await replay(page).getAttribute('data-v')), { timeout: T }).toBeLessThanOrEqual(to)
    const v = Number(await replay(page).getAttribute('data-v'))
    await showing(page, v)
    expect(await page.locator('[data-testid="versions-gap"][data-lo="1"]').count()).toBe(0)
    expect(await listed(page)).toContain(v)

    // Keyboard: the strip is one tab stop; End moves to the last range, Enter goes there.
    const current = strip.locator('[aria-current="true"]')
    await current.focus()
    await page.keyboard.press('End')
    const last = strip.getByTestId('density-bar').last()
    expect(await last.evaluate((el) => el === document.activeElement)).toBe(true)
    expect(await strip.locator('button[tabindex="0"]').count()).toBe(1)
    await page.keyboard.press('Enter')
    await showing(page, all.length + 1)
  }, 180_000)

  it('[R13] without the list on screen, stepping, playing, Home and the scrubber load the pages they cross, one at a time', async () => {
    // A narrow window has no version list (only the board, the redline and the timeline): nothing loads as it scrolls.
    const narrow = await newParticipant(browser, { width: 1000, height: 800 })
    people.push(narrow)
    const page = narrow.page
    const afters = pageRequests(page)
    await joinAs(narrow, withParams(neg.links.reviewer, `?v=${before}&limit=${PAGE}`), 'M. Haddad')
    await showing(page, before)
    expect(await page.getByTestId('replay-versions').isVisible()).toBe(false)
    expect(afters).toHaveLength(1)
    const [first] = afters
    const pageEnd = first! + PAGE

    // Step forward past the end of that page: the next page is fetched, no version is skipped (but the
    // card move, which steps leave out like the list until "Show moves").
    const stepped = all.filter((v) => v.n > before && v.n <= pageEnd + 3 && !v.layoutOnly).map((v) => v.n)
    for (const n of stepped) {
      await page.getByTestId('replay-next').click()
      await page.locator(`[data-testid="replay"][data-v="${n}"]`).waitFor({ timeout: T })
    }
    expect(afters).toEqual([first, pageEnd])

    // Home: the first version, with the first page only.
    await page.getByTestId('replay-scrubber').focus()
    await page.keyboard.press('Home')
    await showing(page, 1, 0)
    expect(afters.at(-1)).toBe(0)

    // Playing on from the first page goes on into the next one.
    await page.getByTestId('replay-speed').selectOption('4')
    await page.getByTestId('replay-play').click()
    await expect.poll(async () => Number(await replay(page).getAttribute('data-v')), { timeout: T }).toBeGreaterThan(PAGE + 2)
    await page.getByRole('button', { name: 'Pause' }).click()
    expect(afters).toContain(PAGE)

    // The scrubber, dropped on a version of a range not loaded: its page, and that version.
    const far = all.length - 15
    await page.getByTestId('replay-scrubber').fill(String(far))
    await showing(page, far)
    const last = afters.at(-1)!
    expect(last).toBeLessThan(far)
    expect(last + PAGE).toBeGreaterThanOrEqual(far)
    // Over all this, a handful of pages of the whole history were read.
    expect(afters.length).toBeLessThan(8)
    expect(narrow.errors).toEqual([])
  }, 180_000)

  it('[R13b] "Show moves" shows versions that only moved cards, and travels with the link', async () => {
    const page = review.page
    const toggle = page.getByTestId('replay-moves')
    expect(await toggle.getAttribute('aria-pressed')).toBe('false')
    const movedListed = async () => {
      await page.getByTestId('redline-to').fill(String(moved.n))
      await page.getByTestId('redline-to').press('Tab')
      await showing(page, moved.n)
      return (await listed(page)).includes(moved.n)
    }
    // A version marked layoutOnly is out of the list until moves are shown; an unmarked one is always in it.
    expect(await movedListed()).toBe(false)
    await toggle.click()
    expect(await toggle.getAttribute('aria-pressed')).toBe('true')
    expect(new URL(page.url()).searchParams.get('moves')).toBe('1')
    expect(await page.getByTestId('replay-share').getAttribute('data-url')).toContain('moves=1')
    expect(await movedListed()).toBe(true)
    await toggle.click()
    expect(new URL(page.url()).searchParams.get('moves')).toBeNull()
  }, 180_000)

  it('[R14] axe-core on the paged replay and on the History panel, which lists newest first and loads older pages as it scrolls', async () => {
    const page = review.page
    const problems = await audit(page, 'paged replay')
    if (process.env.PARLEY_SCREENSHOTS === '1' || !existsSync(SHOT)) {
      mkdirSync(join(ROOT, 'docs/screenshots'), { recursive: true })
      await page.getByTestId('redline-to').fill(String(linked.n))
      await page.getByTestId('redline-to').press('Tab')
      await showing(page, linked.n)
      await page
        .getByRole('button', { name: 'Fit everything' })
        .click()
        .catch(() => {})
      await page.mouse.move(0, SIZE.height - 1)
      await page.waitForTimeout(400)
      await page.screenshot({ path: SHOT })
    }

    const negotiator = await open(withParams(neg.links.negotiator.us!, `?limit=${PAGE}`), 'J. Carter')
    const np = negotiator.page
    await np.getByTestId('history-button').click()
    const panel = np.getByTestId('history-panel')
    const items = () =>
      panel.locator('[data-testid="replay-at"]').evaluateAll((els) => els.map((e) => Number(e.getAttribute('data-n'))))
    await expect.poll(async () => (await items())[0], { timeout: T }).toBe(all.length + 1)
    const firstSeen = await items()
    expect(firstSeen).toEqual([...firstSeen].sort((a, b) => b - a))
    expect(firstSeen.length).toBeLessThan(all.length)
    expect(await panel.getByTestId('density-strip').getAttribute('data-total')).toBe(String(all.length + 1))
    expect(await panel.getByTestId('history-moves').getAttribute('aria-pressed')).toBe('false')
    problems.push(...(await audit(np, 'history panel, paged')))
    // Scrolling the panel down brings older pages in, down to the first version.
    await expect
      .poll(
        async () => {
          await np.locator('aside.side').evaluate((el) => el.scrollTo({ top: el.scrollHeight }))
          return (await items()).at(-1)
        },
        { timeout: T, interval: 200 },
      )
      .toBe(1)
    const everything = await items()
    expect(everything).toEqual(
      Array.from({ length: all.length + 1 }, (_, i) => all.length + 1 - i).filter((n) => everything.includes(n)),
    )
    expect(new Set(everything).size).toBe(everything.length)
    // Its density strip jumps to a range: the page is loaded and the version brought into view, focused.
    const bar = panel.getByTestId('density-bar').nth(10)
    const barTo = Number(await bar.getAttribute('data-to'))
    await bar.click()
    await expect
      .poll(() => np.evaluate(() => document.activeElement?.getAttribute('data-n') ?? null), { timeout: T })
      .not.toBeNull()
    expect(Number(await np.evaluate(() => document.activeElement!.getAttribute('data-n')))).toBeLessThanOrEqual(barTo)
    expect(problems, problems.join('\n')).toEqual([])
    for (const p of people) expect(p.errors).toEqual([])
  }, 180_000)
})

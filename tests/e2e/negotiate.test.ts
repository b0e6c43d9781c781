/**
 * Two delegations and an observer in three browsers (issue 4, "Done means"):
 * concurrent edits of one term converge, the observer sees every change
 * within a second and cannot type anywhere, and accepting by both agrees the
 * term on all three screens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { TestServer } from '../helpers/server'
import { waitFor } from '../helpers/clients'
import { closeBrowserSuite, startBrowserSuite } from './helpers/suite'
import { chromiumForTests, openParticipant, type Participant } from './helpers/browser'
import { bodyEditor, caretTo, card, cardBody, cardState, editorText, openTerm } from './helpers/board'

let server: TestServer
let browser: Browser
const people: Participant[] = []

describe.skipIf(!chromiumForTests('e2e/negotiate'))('negotiating a term in three browsers', () => {
  beforeAll(async () => {
    ;[server, browser] = await startBrowserSuite()
  }, 180_000)

  afterAll(() => closeBrowserSuite(people, browser, server))

  async function negotiation(terms: Array<{ title: string; body: string }>) {
    return server.createNegotiation({
      title: 'Fisheries access, 2026 round',
      parties: [
        { id: 'north', name: 'Northland' },
        { id: 'south', name: 'Southland' },
      ],
      terms,
    })
  }

  async function three(links: { north: string; south: string; observer: string }) {
    const [north, south, press] = await Promise.all([
      openParticipant(browser, links.north, 'Ana North'),
      openParticipant(browser, links.south, 'Sam South'),
      openParticipant(browser, links.observer, 'Press pool'),
    ])
    people.push(north, south, press)
    return { north, south, press }
  }

  /** Waits (polling every animation frame) until `page` shows `text` in the card's body; returns how long it took. */
  async function seen(page: Page, title: string, text: string, timeout = 1000): Promise<number> {
    const started = Date.now()
    await page.waitForFunction(
      ([t, want]) =>
        [...document.querySelectorAll('[data-testid="term-card"]')].some(
          (c) =>
            c.querySelector('button.open')?.textContent === t && (c.querySelector('.body')?.textContent ?? '').includes(want!),
        ),
      [title, text] as const,
      { timeout, polling: 'raf' },
    )
    return Date.now() - started
  }

  it('[E1] concurrent edits converge; the observer sees each change within a second and cannot type; both accept → agreed everywhere', async () => {
    const neg = await negotiation([{ title: 'Quota', body: 'Each fleet may land 100 tonnes a year.' }])
    const { north, south, press } = await three({
      north: neg.links.negotiator.north!,
      south: neg.links.negotiator.south!,
      observer: neg.links.observer,
    })
    for (const p of [north, south, press]) await card(p.page, 'Quota').waitFor()

    // Both delegations edit the same text at the same time, at opposite ends.
    await Promise.all([openTerm(north.page, 'Quota'), openTerm(south.page, 'Quota')])
    await caretTo(north.page, 'end')
    await caretTo(south.page, 'start')
    await Promise.all([
      north.page.keyboard.type(' Northland asks for a review in 2028.', { delay: 15 }),
      south.page.keyboard.type('Subject to annex B: ', { delay: 15 }),
    ])
    const expected = 'Subject to annex B: Each fleet may land 100 tonnes a year. Northland asks for a review in 2028.'
    await waitFor(async () => (await editorText(north.page)) === expected && (await editorText(south.page)) === expected, {
      timeout: 15_000,
      what: 'both editors converge',
    })
    for (const p of [north, south, press]) await expect.poll(() => cardBody(p.page, 'Quota'), { timeout: 10_000 }).toBe(expected)

    // The observer follows along live: every change arrives within a second.
    for (const [who, word] of [
      [north, ' Alpha'],
      [south, ' Bravo'],
      [north, ' Charlie'],
    ] as const) {
      await who.page.keyboard.type(word)
      expect(await seen(press.page, 'Quota', word.trim())).toBeLessThan(1000)
    }

    // The observer has no way to type: no edit affordance, no editable element, and typing changes nothing.
    const pressPage = press.page
    await pressPage.getByTestId('read-only-badge').waitFor()
    for (const id of ['new-term', 'new-note', 'surface-caucus', 'accept', 'reject']) {
      expect(await pressPage.getByTestId(id).count(), `observer sees ${id}`).toBe(0)
    }
    await openTerm(pressPage, 'Quota')
    // Nothing to type into; the one switch there changes only the observer's own view (who wrote what).
    expect(
      await pressPage.locator('[contenteditable="true"], input:not([readonly]):not([data-testid="authorship-mode"]), textarea').count(),
    ).toBe(0)
    expect(await bodyEditor(pressPage).getAttribute('contenteditable')).toBe('false')
    const before = await editorText(north.page)
    await bodyEditor(pressPage).click()
    await pressPage.keyboard.type('press was here')
    await pressPage.getByTestId('canvas').dblclick({ position: { x: 40, y: 40 } })
    await pressPage.keyboard.press('Delete')
    await new Promise((r) => setTimeout(r, 500))
    expect(await editorText(north.page)).toBe(before)
    expect(await editorText(pressPage)).toBe(before)
    expect(await pressPage.getByTestId('note-card').count()).toBe(0)

    // Both delegations accept the same text: agreed and locked on all three screens.
    const acceptance = (page: Page, party: string) =>
      card(page, 'Quota').locator(`[data-party="${party}"]`).getAttribute('data-acceptance')
    await north.page.getByTestId('accept').click()
    await north.page.getByTestId('you-accepted').waitFor()
    for (const p of [north, south, press]) await expect.poll(() => acceptance(p.page, 'north')).toBe('current')
    await expect.poll(() => cardState(south.page, 'Quota')).toBe('accepted')

    // Southland changes the text: Northland's acceptance is now of an earlier text, and shown so.
    await bodyEditor(south.page).click()
    await south.page.keyboard.press('Control+End')
    await south.page.keyboard.type(' Final.')
    for (const p of [north, south, press]) await expect.poll(() => acceptance(p.page, 'north')).toBe('stale')
    await north.page.getByTestId('accept').click()
    await north.page.getByTestId('you-accepted').waitFor()
    await south.page.getByTestId('accept').click()
    for (const p of [north, south, press]) {
      await expect.poll(() => cardState(p.page, 'Quota'), { timeout: 10_000 }).toBe('agreed')
    }
    // Agreed text is locked: the editor refuses typing and offers to reopen first.
    await north.page.getByTestId('lock-banner').waitFor()
    await expect.poll(() => bodyEditor(north.page).getAttribute('contenteditable')).toBe('false')
    await north.page.getByTestId('reopen-to-edit').waitFor()
    expect(await pressPage.getByTestId('reopen-to-edit').count()).toBe(0)

    // Reopening unlocks it for everyone.
    await north.page.getByTestId('reopen-to-edit').click()
    await north.page.fill('#reason', 'Annex B changed.')
    await north.page.getByRole('button', { name: 'Reopen term' }).click()
    for (const p of [north, south, press])
      await expect.poll(() => cardState(p.page, 'Quota'), { timeout: 10_000 }).toBe('reopened')
    await expect.poll(() => bodyEditor(north.page).getAttribute('contenteditable')).toBe('true')
    expect(await bodyEditor(pressPage).getAttribute('contenteditable')).toBe('false')

    for (const p of [north, south, press]) expect(p.errors).toEqual([])
  }, 180_000)

  it('[E2] a new proposal reaches everyone live, and a refused command is shown, not swallowed', async () => {
    const neg = await negotiation([])
    const { north, south, press } = await three({
      north: neg.links.negotiator.north!,
      south: neg.links.negotiator.south!,
      observer: neg.links.observer,
    })
    await press.page.getByTestId('empty-board').waitFor()

    await north.page.getByTestId('new-term').click()
    await north.page.fill('#new-term-title', 'Bycatch')
    await north.page.fill('#new-term-body', 'Bycatch above 5 % closes the zone for a week.')
    await north.page.getByTestId('create-term').click()
    for (const p of [south, press]) {
      await card(p.page, 'Bycatch').waitFor({ timeout: 10_000 })
      expect(await card(p.page, 'Bycatch').textContent()).toContain('Proposed by Northland')
    }

    // Southland starts to reject; meanwhile Northland withdraws the term. The server refuses the rejection.
    await openTerm(south.page, 'Bycatch')
    await south.page.getByTestId('reject').click()
    await openTerm(north.page, 'Bycatch')
    await north.page.getByTestId('withdraw').click()
    await north.page.getByRole('button', { name: 'Withdraw term' }).click()
    await expect.poll(() => cardState(south.page, 'Bycatch')).toBe('withdrawn')
    await south.page.getByRole('button', { name: 'Reject term' }).click()
    expect(await south.page.getByTestId('refusal').textContent()).toContain('withdrawn')
    await expect.poll(() => cardState(press.page, 'Bycatch')).toBe('withdrawn')

    for (const p of [north, south, press]) expect(p.errors).toEqual([])
  }, 180_000)

  it('[E3] a drag shows live to others and is written once, on drop; a participant can be followed; a revoked link is told so', async () => {
    const neg = await negotiation([{ title: 'Port fees', body: 'Fees are halved for licensed vessels.' }])
    const { north, south, press } = await three({
      north: neg.links.negotiator.north!,
      south: neg.links.negotiator.south!,
      observer: neg.links.observer,
    })
    const board = () => server.parley.registry.peek(`${neg.id}/board`)!
    const position = (page: Page) => card(page, 'Port fees').evaluate((el) => (el as HTMLElement).style.transform)
    const start = await position(south.page)

    // Drag the card on Northland's screen and hold it: Southland sees it move, nothing is written yet.
    const seqBefore = board().committedSeq
    const box = (await card(north.page, 'Port fees').locator('button.open').boundingBox())!
    await north.page.mouse.move(box.x + 40, box.y + 10)
    await north.page.mouse.down()
    for (let i = 1; i <= 12; i++) await north.page.mouse.move(box.x + 40 + i * 20, box.y + 10 + i * 10)
    await expect.poll(() => position(south.page), { timeout: 10_000 }).not.toBe(start)
    expect(await card(south.page, 'Port fees').textContent()).toContain('Moving: Ana North')
    await new Promise((r) => setTimeout(r, 300))
    expect(board().committedSeq).toBe(seqBefore)
    await north.page.mouse.up()
    await expect.poll(() => board().committedSeq, { timeout: 10_000 }).toBe(seqBefore + 1)
    const dropped = await position(north.page)
    for (const p of [south, press]) await expect.poll(() => position(p.page), { timeout: 10_000 }).toBe(dropped)
    await new Promise((r) => setTimeout(r, 300))
    expect(board().committedSeq).toBe(seqBefore + 1)

    // The observer follows Northland's view: when Northland pans, the observer's view goes along.
    await press.page.getByTestId('presence').getByRole('button').first().click()
    await press.page.locator('#presence-list li', { hasText: 'Ana North' }).getByRole('button', { name: 'Follow' }).click()
    await press.page.getByTestId('following').waitFor()
    const world = (page: Page) => page.locator('.world').evaluate((el) => (el as HTMLElement).style.transform)
    const before = await world(press.page)
    const canvasBox = (await north.page.getByTestId('canvas').boundingBox())!
    await north.page.mouse.move(canvasBox.x + canvasBox.width * 0.3, canvasBox.y + canvasBox.height - 20)
    await north.page.mouse.down()
    await north.page.mouse.move(canvasBox.x + canvasBox.width * 0.3 + 200, canvasBox.y + canvasBox.height - 120, { steps: 5 })
    await north.page.mouse.up()
    await expect.poll(() => world(press.page), { timeout: 10_000 }).not.toBe(before)

    // Revoking the observer's link ends its session with a clear message within 5 s.
    const jti = JSON.parse(Buffer.from(neg.tokens.observer.split('.')[1]!, 'base64url').toString()).jti as string
    const res = await server.api(`/api/tokens/${jti}`, { method: 'DELETE', token: server.parley.adminToken })
    expect(res.status).toBe(204)
    await press.page.getByTestId('session-ended').waitFor({ timeout: 15_000 })
    expect(await press.page.getByTestId('session-ended').textContent()).toContain('Your access has ended')

    for (const p of [north, south, press]) expect(p.errors).toEqual([])
  }, 180_000)
})

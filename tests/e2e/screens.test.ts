/**
 * The main screens, audited with axe-core (issue 4, item 8: no serious or
 * critical violation) on the demo negotiation. With PARLEY_SCREENSHOTS=1 (or
 * when a file is missing) it also refreshes docs/screenshots/.
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
import { chromiumForTests, newParticipant, openParticipant, type Participant } from './helpers/browser'
import { bodyEditor, card, openTerm } from './helpers/board'

const ROOT = new URL('../../', import.meta.url).pathname
const SHOTS = join(ROOT, 'docs/screenshots')
const SIZE = { width: 1440, height: 900 }

let server: TestServer
let browser: Browser
const people: Participant[] = []

async function shot(page: Page, file: string): Promise<void> {
  const path = join(SHOTS, file)
  if (process.env.PARLEY_SCREENSHOTS !== '1' && existsSync(path)) return
  await page.mouse.move(0, SIZE.height - 1) // no hover effects in the picture
  await page.screenshot({ path })
}

/** Lets fonts, layout and the first sync settle before a picture or an audit. */
const settle = (page: Page, ms = 400) => page.waitForTimeout(ms)

describe.skipIf(!chromiumForTests('e2e/screens'))('main screens', () => {
  let demo: CreatedNegotiation
  let us: Participant, ru: Participant, press: Participant, review: Participant

  beforeAll(async () => {
    ;[server, browser] = await startBrowserSuite()
    mkdirSync(SHOTS, { recursive: true })
    demo = await createDemo(server.parley.service)
    ;[us, ru, press, review] = await Promise.all([
      openParticipant(browser, demo.links.negotiator.us!, 'J. Carter', SIZE),
      openParticipant(browser, demo.links.negotiator.ru!, 'A. Volkova', SIZE),
      openParticipant(browser, demo.links.observer, 'Press pool', SIZE),
      openParticipant(browser, demo.links.reviewer, 'L. Okafor', SIZE),
    ])
    people.push(us, ru, press, review)
  }, 180_000)

  afterAll(() => closeBrowserSuite(people, browser, server))

  it("[E7a] the negotiator's board and term editing with remote carets: no serious or critical axe violation", async () => {
    const problems: string[] = []
    await card(us.page, 'Dual criminality').waitFor()
    await settle(us.page)
    problems.push(...(await audit(us.page, 'board (negotiator)')))
    await shot(us.page, 'board-negotiator.png')

    // The other delegation's caret and selection, in its colour.
    await openTerm(us.page, 'Evidence')
    await openTerm(ru.page, 'Evidence')
    await bodyEditor(ru.page).click()
    await ru.page.keyboard.press('Control+End')
    await ru.page.keyboard.type(' and a certified translation')
    for (let i = 0; i < 'certified translation'.length; i++) await ru.page.keyboard.press('Shift+ArrowLeft')
    await bodyEditor(us.page).click()
    await us.page.keyboard.press('Control+Home')
    await us.page.locator('.cm-ySelectionCaret').first().waitFor({ timeout: 15_000 })
    await settle(us.page)
    problems.push(...(await audit(us.page, 'term editing')))
    await shot(us.page, 'term-editing.png')
    expect(problems, problems.join('\n')).toEqual([])
  }, 180_000)

  it("[E7b] the observer's board, term panel and the term sheet: no serious or critical axe violation", async () => {
    const problems: string[] = []
    await card(press.page, 'Dual criminality').waitFor()
    await settle(press.page)
    problems.push(...(await audit(press.page, 'observer board')))
    await shot(press.page, 'observer.png')
    await openTerm(press.page, 'Evidence')
    problems.push(...(await audit(press.page, 'observer term panel')))

    await press.page.getByRole('button', { name: 'Close term' }).click()
    await press.page.getByTestId('view-sheet').click()
    await press.page.getByTestId('term-sheet').waitFor()
    await settle(press.page)
    problems.push(...(await audit(press.page, 'term sheet')))
    await shot(press.page, 'term-sheet.png')
    expect(problems, problems.join('\n')).toEqual([])
  }, 180_000)

  it("[E7c] the caucus board and the reviewer's history: no serious or critical axe violation", async () => {
    const problems: string[] = []
    const page = us.page
    if (await page.getByRole('button', { name: 'Close term' }).count())
      await page.getByRole('button', { name: 'Close term' }).click()
    await page.getByTestId('surface-caucus').click()
    await page.getByTestId('new-note').click()
    await page.getByTestId('note-card').locator('button.as-button').click()
    await page.locator('[data-testid="note-editor"][data-ready="true"] .cm-content').waitFor()
    await page.keyboard.type('Red line: no political-offence exception for ransomware. Fallback: 60 days.')
    await page.keyboard.press('Escape')
    await page.getByTestId('new-term').click()
    await page.fill('#new-term-title', 'Joint investigation teams')
    await page.fill('#new-term-body', 'Either party may request a joint team for an attack on both.')
    await page.getByTestId('create-term').click()
    await page.getByTestId('term-panel').waitFor()
    await settle(page)
    problems.push(...(await audit(page, 'caucus')))
    await shot(page, 'caucus.png')

    await review.page.getByTestId('history-button').click()
    await review.page.getByTestId('history-panel').locator('ol').waitFor()
    await settle(review.page)
    problems.push(...(await audit(review.page, 'reviewer history')))
    await shot(review.page, 'history.png')
    expect(problems, problems.join('\n')).toEqual([])
  }, 180_000)

  it('[E7d] the admin lobby, the name prompt and a broken link: no serious or critical axe violation', async () => {
    const problems: string[] = []
    const admin = await newParticipant(browser, SIZE)
    people.push(admin)
    await admin.page.goto(`${server.url}/admin`)
    problems.push(...(await audit(admin.page, 'admin sign-in')))
    await admin.page.fill('#admin-token', server.parley.adminToken)
    await admin.page.getByTestId('admin-sign-in-submit').click()
    await admin.page.getByTestId('admin-lobby').waitFor()
    await admin.page.fill('#neg-title', 'Fisheries access, 2026 round')
    const names = admin.page.getByTestId('party-name')
    await names.nth(0).fill('Northland')
    await names.nth(1).fill('Southland')
    await admin.page.getByTestId('create-negotiation').click()
    await admin.page.getByTestId('invite-link').first().waitFor()
    expect(await admin.page.getByTestId('invite-link').count()).toBeGreaterThanOrEqual(4)
    await settle(admin.page, 800)
    problems.push(...(await audit(admin.page, 'admin lobby')))
    await shot(admin.page, 'admin-lobby.png')

    const guest = await newParticipant(browser, SIZE)
    people.push(guest)
    await guest.page.goto(demo.links.observer)
    await guest.page.getByTestId('name-prompt').waitFor()
    problems.push(...(await audit(guest.page, 'name prompt')))
    await shot(guest.page, 'name-prompt.png')
    await guest.page.goto(`${server.url}/n/no-such-talks#token=not-a-token`)
    await guest.page.getByTestId('link-error').waitFor()
    problems.push(...(await audit(guest.page, 'bad link')))
    expect(problems, problems.join('\n')).toEqual([])

    for (const p of people) expect(p.errors).toEqual([])
  }, 180_000)
})

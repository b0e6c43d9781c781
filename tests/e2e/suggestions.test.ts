/**
 * Tracked changes in the browser (issue 15; CONTRACT.md "Suggestions and
 * authorship"): the US suggests "45" for "30" in Suggest mode, Russia sees it
 * in the US colour with who and when, and accepts it — the text changes as an
 * edit of Russia's, and the acceptances given to the old text go stale. Both
 * delegations' suggestions sit in one term; typing inside the other side's
 * suggestion is refused with a clear message; the mode is remembered. axe-core
 * on the panel. Refreshes docs/screenshots/suggestions.png (PARLEY_SCREENSHOTS=1,
 * or when missing).
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import type { TestServer } from '../helpers/server'
import { closeBrowserSuite, startBrowserSuite } from './helpers/suite'
import { audit } from './helpers/axe'
import { chromiumForTests, openParticipant, type Participant } from './helpers/browser'
import { card, caretAt, editorText, openTerm, selectWords, US_AND_RU } from './helpers/board'

const ROOT = new URL('../../', import.meta.url).pathname
const SHOTS = join(ROOT, 'docs/screenshots')
const SIZE = { width: 1440, height: 900 }
const T = 15_000
const DEADLINE = 'Requests are answered within 30 days of receipt.'

let server: TestServer
let browser: Browser
const people: Participant[] = []

const shoot = (name: string) => process.env.PARLEY_SCREENSHOTS === '1' || !existsSync(join(SHOTS, name))

/** The suggestion runs drawn in the open term's text: kind, party and words. */
const drawn = (page: Page) =>
  page
    .locator('[data-testid="body-editor"] .cm-sugg')
    .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-suggestion-kind')}:${e.getAttribute('data-party')}:${e.textContent}`))

const acceptance = (page: Page, party: string) =>
  page.locator(`[data-testid="term-panel"] [data-party="${party}"][data-acceptance]`).getAttribute('data-acceptance')

describe.skipIf(!chromiumForTests('e2e/suggestions'))('suggestions in the browser', () => {
  let neg: CreatedNegotiation
  let us: Participant
  let ru: Participant

  beforeAll(async () => {
    ;[server, browser] = await startBrowserSuite()
    neg = await server.createNegotiation({
      title: 'Cybercrime cooperation',
      parties: US_AND_RU,
      terms: [{ title: 'Response deadline', body: DEADLINE }],
    })
    ;[us, ru] = await Promise.all([
      openParticipant(browser, neg.links.negotiator.us!, 'Jane Carter', SIZE),
      openParticipant(browser, neg.links.negotiator.ru!, 'Ivan Petrov', SIZE),
    ])
    people.push(us, ru)
  }, 180_000)

  afterAll(() => closeBrowserSuite(people, browser, server))

  it('[SE1] US suggests “45” for “30”, Russia accepts it, the acceptances go stale', async () => {
    await Promise.all([openTerm(us.page, 'Response deadline'), openTerm(ru.page, 'Response deadline')])
    // The US accepts the opening text (both would agree and lock it): the acceptance the suggestion must reset.
    await us.page.getByTestId('accept').click()
    await us.page.getByTestId('you-accepted').waitFor({ timeout: T })
    await expect.poll(() => acceptance(ru.page, 'us'), { timeout: T }).toBe('current')

    await us.page.getByTestId('suggest-mode').check()
    await selectWords(us.page, '30')
    await us.page.keyboard.type('45')
    // The old words stay, struck; the new ones follow, underlined; one suggestion in the US colour.
    await expect.poll(() => drawn(us.page), { timeout: T }).toEqual(['del:us:30', 'ins:us:45'])
    expect(await editorText(us.page)).toBe('Requests are answered within 3045 days of receipt.')
    await expect.poll(() => drawn(ru.page), { timeout: T }).toEqual(['del:us:30', 'ins:us:45'])
    // A pending suggestion is not the text: nobody's acceptance moved. The card says one waits.
    expect(await acceptance(ru.page, 'us')).toBe('current')
    await expect.poll(() => card(ru.page, 'Response deadline').getByTestId('card-suggestions').textContent(), { timeout: T }).toBe('1')

    // Who and when, on the mark and in the list; Russia may accept, the US only withdraw.
    const mark = ru.page.locator('[data-testid="body-editor"] .cm-sugg-ins')
    expect(await mark.getAttribute('title')).toMatch(/^Suggested insertion by United States \(Jane Carter\), /)
    const item = ru.page.getByTestId('suggestion-list').locator('li')
    await expect.poll(() => item.locator('.what').textContent(), { timeout: T }).toBe('Replace “30” with “45”')
    expect(await us.page.getByTestId('suggestion-list').getByRole('button', { name: 'Accept' }).count()).toBe(0)
    expect(await audit(ru.page, 'term panel with a suggestion')).toEqual([])

    await item.getByRole('button', { name: 'Accept' }).click()
    const accepted = 'Requests are answered within 45 days of receipt.'
    for (const p of [us, ru]) {
      await expect.poll(() => editorText(p.page), { timeout: T }).toBe(accepted)
      await expect.poll(() => drawn(p.page), { timeout: T }).toEqual([])
    }
    // The text changed: the acceptance given to the old one is stale, on both screens.
    await expect.poll(() => acceptance(us.page, 'us'), { timeout: T }).toBe('stale')
    await expect.poll(() => acceptance(ru.page, 'us'), { timeout: T }).toBe('stale')
    expect(await card(ru.page, 'Response deadline').locator('.body').textContent()).toContain('45 days')
    expect(await card(ru.page, 'Response deadline').getByTestId('card-suggestions').count()).toBe(0)
  }, 120_000)

  it('[SE2] suggestions of both delegations in one term; typing inside the other’s is refused; the mode is remembered; who wrote what', async () => {
    // Russia suggests in its own colour.
    await ru.page.getByTestId('suggest-mode').check()
    const text = await editorText(ru.page)
    await caretAt(ru.page, text.indexOf(' days'))
    await ru.page.keyboard.type(' calendar')
    // All of it at the US before the US reads where its words are.
    await expect.poll(() => drawn(us.page), { timeout: T }).toEqual(['ins:ru: calendar'])
    await selectWords(us.page, 'of receipt')
    await us.page.keyboard.press('Backspace')
    await expect.poll(() => drawn(us.page), { timeout: T }).toEqual(['ins:ru: calendar', 'del:us:of receipt'])
    await expect.poll(() => drawn(ru.page), { timeout: T }).toEqual(['ins:ru: calendar', 'del:us:of receipt'])

    // The US types inside Russia's suggestion: refused, said, nothing written.
    const before = await editorText(us.page)
    await caretAt(us.page, before.indexOf('calendar') + 3)
    await us.page.keyboard.type('x')
    await us.page.getByText('another delegation’s suggestion').first().waitFor({ timeout: T })
    expect(await editorText(us.page)).toBe(before)
    expect(await editorText(ru.page)).toBe(before)

    // Who wrote what: the US's "45" (accepted, still its words) and Russia's " calendar" in their colours;
    // the opening draft, which the server wrote, untinted.
    await us.page.getByTestId('authorship-mode').check()
    const tinted = () =>
      us.page
        .locator('[data-testid="body-editor"] .cm-author')
        .evaluateAll((els) => els.map((e) => `${e.getAttribute('data-author-party')}:${e.textContent}`))
    await expect.poll(tinted, { timeout: T }).toEqual(['us:45', 'ru: calendar'])
    await us.page.getByTestId('authorship-mode').uncheck()
    await expect.poll(tinted, { timeout: T }).toEqual([])

    if (shoot('suggestions.png')) {
      mkdirSync(SHOTS, { recursive: true })
      await ru.page.locator('[data-testid="body-editor"] .cm-sugg-ins').first().hover()
      await ru.page.locator('.cm-sugg-tip').waitFor({ timeout: T })
      await ru.page.screenshot({ path: join(SHOTS, 'suggestions.png') })
    }

    // Who wrote what in the replay, at the latest version: the sheet's text (Russia's pending " calendar" is not
    // in it yet), the US's accepted "45" in the US colour.
    await ru.page.getByTestId('history-button').click()
    await ru.page.getByTestId('open-replay').click()
    await ru.page.getByTestId('replay-board').waitFor({ timeout: T })
    await ru.page.getByTestId('replay-authorship').check()
    const replayed = ru.page.locator('[data-testid="replay-board"] [data-testid="card-authors"]')
    await expect.poll(() => replayed.textContent(), { timeout: T }).toBe('Requests are answered within 45 days of receipt.')
    expect(await replayed.locator('[data-author-party]').evaluateAll((els) => els.map((e) => `${e.getAttribute('data-author-party')}:${e.textContent}`))).toEqual(['us:45'])

    // Suggest mode comes back on after a reload.
    await us.page.reload()
    await us.page.locator('[data-testid="connection-status"][data-state="live"]').waitFor({ timeout: 45_000 })
    await openTerm(us.page, 'Response deadline')
    expect(await us.page.getByTestId('suggest-mode').isChecked()).toBe(true)
    expect(us.errors).toEqual([])
    expect(ru.errors).toEqual([])
  }, 120_000)
})

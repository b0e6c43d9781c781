/**
 * Real delegations in the browser (issue 18, items 1 and 3): the admin creates a negotiation between
 * the United States, the Russian Federation (named in Russian) and the United Arab Emirates (named in
 * Arabic). The form suggests US, RU and AE as codes (the first is edited to USA), each delegation
 * gets a colour of its own; the cards' acceptance chips show the codes and fit the card. Russia rejects
 * a term with a reason: the US page says "Rejected by RU: Too broad" on the card, tells it in a toast
 * (a live region), and the panel says who in full and what Russia's acceptance row now means.
 * axe-core finds nothing serious on the admin form nor on the board with the card and the panel.
 *
 * [PC10] the admin form: suggested codes, an edited code, a duplicate refused, colours, readable ids;
 * [PC11] chips show codes and stay inside the card with three delegations;
 * [DC6] a rejection with its reason on the other delegation's card, panel and acceptance row, and a toast.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { TestServer } from '../helpers/server'
import { closeBrowserSuite, startBrowserSuite } from './helpers/suite'
import { audit } from './helpers/axe'
import { chromiumForTests, join, newParticipant, type Participant } from './helpers/browser'
import { card, cardState, openTerm } from './helpers/board'

const RUSSIA = 'Российская Федерация'
const EMIRATES = 'الإمارات العربية المتحدة'
const SCOPE = 'Scope of extradition'
const T = 15_000

let server: TestServer
let browser: Browser
const people: Participant[] = []

/** Whether every acceptance chip of a card lies inside the card's box (and the card does not scroll sideways). */
async function chipsInside(page: Page, title: string): Promise<{ inside: boolean; codes: string[] }> {
  return card(page, title).evaluate((el) => {
    const box = el.getBoundingClientRect()
    const chips = [...el.querySelectorAll<HTMLElement>('.bottom [data-acceptance]')]
    const inside = chips.every((c) => {
      const r = c.getBoundingClientRect()
      return r.left >= box.left - 0.5 && r.right <= box.right + 0.5 && r.top >= box.top - 0.5 && r.bottom <= box.bottom + 0.5
    })
    return {
      inside: inside && el.scrollWidth <= el.clientWidth + 1,
      codes: chips.map((c) => c.querySelector('[aria-hidden="true"]:not(svg)')?.textContent?.trim() ?? ''),
    }
  })
}

describe.skipIf(!chromiumForTests('e2e/delegations'))('three delegations with codes, and decisions on the term', () => {
  beforeAll(async () => {
    ;[server, browser] = await startBrowserSuite()
  }, 180_000)

  afterAll(() => closeBrowserSuite(people, browser, server))

  it('[PC10] [PC11] [DC6] codes suggested in the admin form, shown on chips that fit; a rejection told on the other side', async () => {
    // ── the admin form ──
    const admin = await newParticipant(browser, { width: 1280, height: 900 })
    people.push(admin)
    const a = admin.page
    await a.goto(`${server.url}/admin`)
    await a.fill('#admin-token', server.parley.adminToken)
    await a.getByTestId('admin-sign-in-submit').click()
    await a.getByTestId('admin-lobby').waitFor()

    await a.fill('#neg-title', 'Extradition treaty, third round')
    await a.getByRole('button', { name: 'Add delegation' }).click()
    const names = a.getByTestId('party-name')
    await names.nth(0).fill('United States')
    await names.nth(1).fill(RUSSIA)
    await names.nth(2).fill(EMIRATES)
    const codes = a.getByTestId('party-code')
    const codeValues = () => codes.evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value))
    await expect.poll(codeValues, { timeout: T }).toEqual(['US', 'RU', 'AE'])

    // each delegation has a colour of its own; the third takes teal instead
    const checked = () =>
      a
        .getByTestId('party-colors')
        .evaluateAll((groups) => groups.map((g) => g.querySelector<HTMLInputElement>('input:checked')?.value))
    expect(new Set(await checked()).size).toBe(3)
    await a.getByRole('radiogroup', { name: 'Colour of delegation 3' }).getByRole('radio', { name: /^Teal/ }).check()
    expect((await checked())[2]).toBe('#00727a')

    // a code is the admin's to change: typed in lower case it reads in capitals, and suggestions make way
    await codes.nth(1).fill('ae')
    expect(await codeValues()).toEqual(['US', 'AE', 'AE2'])
    // the same code typed twice is refused
    await codes.nth(2).fill('AE')
    await a.getByTestId('party-code-error').waitFor()
    expect(await a.getByTestId('party-code-error').textContent()).toBe('Another delegation has this code')
    expect(await codes.nth(2).getAttribute('aria-invalid')).toBe('true')
    expect(await a.getByTestId('create-negotiation').isDisabled()).toBe(true)
    await codes.nth(1).fill('ru')
    await codes.nth(0).fill('usa')
    expect(await codeValues()).toEqual(['USA', 'RU', 'AE'])
    expect(await a.getByTestId('party-code-error').count()).toBe(0)

    await a.getByRole('button', { name: 'Add a term' }).click()
    await a.getByTestId('term-title').fill(SCOPE)
    await a.getByTestId('term-body').fill('Persons charged with ransomware attacks against either party.')
    expect(await audit(a, 'admin form')).toEqual([])

    await a.getByTestId('create-negotiation').click()
    await a.getByTestId('invite-link').first().waitFor({ timeout: T })
    const link = (party: string) =>
      a.locator(`[data-testid="invite-link"][data-role="negotiator"][data-party="${party}"] input`).inputValue()
    // readable ids: the Russian name transliterated
    const [usLink, ruLink] = await Promise.all([link('united-states'), link('rossiyskaya-federatsiya')])
    const partyIds = await a
      .locator('[data-testid="invite-link"][data-role="negotiator"]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-party')))
    expect(partyIds).toHaveLength(3)
    for (const id of partyIds) expect(id).toMatch(/^[a-z][a-z0-9-]+$/)
    expect(partyIds).not.toContain('party')

    // ── the board: codes on chips, inside the card ──
    const us = await newParticipant(browser, { width: 1280, height: 800 })
    const ru = await newParticipant(browser, { width: 1280, height: 800 })
    people.push(us, ru)
    await Promise.all([join(us, usLink, 'Ann Carter'), join(ru, ruLink, 'Boris Ivanov')])
    for (const p of [us, ru]) await card(p.page, SCOPE).waitFor({ timeout: T })
    const fit = await chipsInside(us.page, SCOPE)
    expect(fit.codes).toEqual(['USA', 'RU', 'AE'])
    expect(fit.inside).toBe(true)
    // the chip's full name is there for a pointer and a screen reader
    expect(await card(us.page, SCOPE).locator('[data-party="rossiyskaya-federatsiya"]').getAttribute('title')).toContain(RUSSIA)

    // ── Russia rejects, with a reason ──
    await openTerm(ru.page, SCOPE)
    await ru.page.getByTestId('reject').click()
    await ru.page.getByLabel('Why reject? (optional)').fill('Too broad')
    await ru.page.getByRole('button', { name: 'Reject term' }).click()

    const decision = card(us.page, SCOPE).getByTestId('card-decision')
    await decision.waitFor({ timeout: T })
    expect((await decision.textContent())?.trim()).toBe('Rejected by RU: Too broad')
    expect(await cardState(us.page, SCOPE)).toBe('rejected')
    // a toast, in a live region, names the delegation and the term
    const toast = us.page.getByTestId('toast').filter({ hasText: 'rejected' })
    await toast.waitFor({ timeout: T })
    expect(await toast.textContent()).toContain(`${RUSSIA} rejected “${SCOPE}”: Too broad.`)
    expect(await toast.getAttribute('role')).toBe('status')
    expect(await us.page.locator('[aria-live="polite"]', { has: toast }).count()).toBe(1)
    // Russia's own page tells its own decision as done, not as news
    expect(
      await ru.page
        .getByTestId('toast')
        .filter({ hasText: `${RUSSIA} rejected` })
        .count(),
    ).toBe(0)

    // the card's accessible name carries it with the full name; the chip says what Russia did
    expect(await card(us.page, SCOPE).locator('button.open').getAttribute('aria-label')).toContain(
      `Rejected by ${RUSSIA}: Too broad`,
    )
    expect(await card(us.page, SCOPE).locator('[data-party="rossiyskaya-federatsiya"]').getAttribute('data-acceptance')).toBe(
      'rejected',
    )
    expect((await chipsInside(us.page, SCOPE)).inside).toBe(true)

    // the panel: the sentence with the name, who and when; Russia's row says it rejected, and why
    await openTerm(us.page, SCOPE)
    const panelDecision = us.page.getByTestId('panel-decision')
    expect(await panelDecision.textContent()).toContain(`Rejected by ${RUSSIA}: Too broad`)
    expect(await panelDecision.textContent()).toContain('Boris Ivanov')
    const row = us.page.locator('[data-testid="term-panel"] li[data-party="rossiyskaya-federatsiya"]')
    expect(await row.getAttribute('data-acceptance')).toBe('rejected')
    expect(await row.textContent()).toContain('Rejected it: Too broad')
    expect(await us.page.locator('[data-testid="term-panel"] li[data-party="united-states"]').textContent()).toContain('Not yet')
    expect(await audit(us.page, 'board with a rejected term')).toEqual([])

    // the United States accepts after all: the decision is no longer the term's last word
    await us.page.getByTestId('accept').click()
    await expect.poll(() => cardState(ru.page, SCOPE), { timeout: T }).toBe('accepted')
    expect(await card(ru.page, SCOPE).getByTestId('card-decision').count()).toBe(0)

    for (const p of [admin, us, ru]) expect(p.errors).toEqual([])
  }, 240_000)
})

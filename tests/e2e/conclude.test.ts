/**
 * Concluding a negotiation in the browser (issue 17; CONTRACT.md "Concluding a
 * negotiation"): two delegations and an observer in three browsers. A term in
 * brackets cannot be accepted until an option is chosen (the card, the meter,
 * the editor's marks, the panel's choices); Russia accepts ad referendum, the
 * cards say subject to whom and by when (overdue ones flagged), then confirms;
 * the Conclude panel lists what is open, then the package — its acceptances
 * voided visibly when a term is reopened, accepted again by both, initialled
 * by both — and the negotiation is concluded: a banner on every board, no
 * editor, control or action left on the shared board (the caucus stays open),
 * typing changes nothing for anyone, a note left offline before the conclusion
 * is refused when it arrives (the page explains it and lets it go), and the
 * signed record downloads.
 * Refreshes docs/screenshots/conclude-panel.png (PARLEY_SCREENSHOTS=1, or when
 * missing).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import type { TestServer } from '../helpers/server'
import { connected, controlClient, type ControlClient } from '../helpers/control'
import { closeBrowserSuite, startBrowserSuite } from './helpers/suite'
import { audit } from './helpers/axe'
import { chromiumForTests, openParticipant, type Participant } from './helpers/browser'
import { bodyEditor, card, cardBody, cardState, connection, editorText, openTerm, US_AND_RU } from './helpers/board'

const ROOT = new URL('../../', import.meta.url).pathname
const SHOTS = join(ROOT, 'docs/screenshots')
const SIZE = { width: 1440, height: 900 }
const T = 15_000
const DEADLINE = 'Response deadline'
const SCOPE = 'Scope'

let server: TestServer
let browser: Browser
const people: Participant[] = []
let control: ControlClient | null = null

const shoot = (name: string) => process.env.PARLEY_SCREENSHOTS === '1' || !existsSync(join(SHOTS, name))

/** A date `days` from now as YYYY-MM-DD (the date input's value). */
const inDays = (days: number) => {
  const d = new Date(Date.now() + days * 86_400_000)
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`
}

const acceptance = (page: Page, party: string) =>
  page.locator(`[data-testid="term-panel"] [data-party="${party}"][data-acceptance]`).getAttribute('data-acceptance')

const panel = (page: Page) => page.getByTestId('conclude-panel')

/** Dismisses the toasts on screen (a screenshot shows the panel, not what just happened). */
async function dismissToasts(page: Page): Promise<void> {
  const dismiss = page.locator('.toasts').getByRole('button', { name: 'Dismiss' })
  while ((await dismiss.count()) > 0) await dismiss.first().click()
}

async function openConclude(page: Page): Promise<void> {
  if (!(await panel(page).isVisible())) await page.getByTestId('conclude-button').click()
  await panel(page).waitFor({ timeout: T })
}

describe.skipIf(!chromiumForTests('e2e/conclude'))('concluding a negotiation in the browser', () => {
  let neg: CreatedNegotiation
  let us: Participant
  let ru: Participant
  let press: Participant

  beforeAll(async () => {
    ;[server, browser] = await startBrowserSuite()
    neg = await server.createNegotiation({
      title: 'Extradition of ransomware operators',
      parties: US_AND_RU,
      terms: [
        { title: DEADLINE, body: 'Requests are answered within [30][45] days.' },
        { title: SCOPE, body: 'Ransomware operators named in a request.' },
      ],
    })
    ;[us, ru, press] = await Promise.all([
      openParticipant(browser, neg.links.negotiator.us!, 'Jane Carter', SIZE),
      openParticipant(browser, neg.links.negotiator.ru!, 'Ivan Petrov', SIZE),
      openParticipant(browser, neg.links.observer, 'Press pool', SIZE),
    ])
    people.push(us, ru, press)
  }, 180_000)

  afterAll(async () => {
    control?.close()
    await closeBrowserSuite(people, browser, server)
  })

  it('[CU1] a bracketed term: marked on the card and in the editor, counted, not acceptable until an option is chosen', async () => {
    for (const p of [us, ru, press]) {
      await expect
        .poll(() => card(p.page, DEADLINE).getByTestId('card-brackets').textContent(), { timeout: T })
        .toBe('1 open [ ]')
      expect(await card(p.page, DEADLINE).getByTestId('bracket-group').textContent()).toBe('[30][45]')
      expect(await p.page.getByTestId('bracket-meter').textContent()).toContain('Brackets: 1 open in 1 term')
    }
    expect(await card(us.page, SCOPE).getByTestId('card-brackets').count()).toBe(0)

    await Promise.all([openTerm(us.page, DEADLINE), openTerm(press.page, DEADLINE)])
    // The editor marks the group; Accept (outright or ad referendum) is disabled, and says why.
    await expect
      .poll(() => us.page.locator('[data-testid="body-editor"] .cm-bracket-group').textContent(), { timeout: T })
      .toBe('[30][45]')
    expect(await us.page.getByTestId('accept').isDisabled()).toBe(true)
    expect(await us.page.getByTestId('accept-ad-referendum').isDisabled()).toBe(true)
    expect(await us.page.getByTestId('accept-blocked').textContent()).toContain('Choose an option for each bracketed group first')
    expect(await us.page.getByTestId('accept').getAttribute('aria-describedby')).toBe('accept-blocked')
    // The observer reads the options, and has nothing to press.
    expect(await press.page.getByTestId('bracket-option').allTextContents()).toEqual(['30', '45'])
    expect(await press.page.getByTestId('choose-option').count()).toBe(0)
    expect(await press.page.getByTestId('accept').count()).toBe(0)
    expect(await audit(us.page, 'term panel with open brackets')).toEqual([])

    // The US settles on 45: the brackets go everywhere.
    await us.page.getByTestId('choose-option').filter({ hasText: '45' }).click()
    for (const p of [us, press])
      await expect.poll(() => editorText(p.page), { timeout: T }).toBe('Requests are answered within 45 days.')
    await expect.poll(() => cardBody(ru.page, DEADLINE), { timeout: T }).toBe('Requests are answered within 45 days.')
    for (const p of [us, ru, press]) {
      await expect.poll(() => p.page.getByTestId('bracket-meter').count(), { timeout: T }).toBe(0)
      expect(await card(p.page, DEADLINE).getByTestId('card-brackets').count()).toBe(0)
    }
    expect(await us.page.locator('[data-testid="body-editor"] .cm-bracket-group').count()).toBe(0)
    expect(await us.page.getByTestId('accept').isDisabled()).toBe(false)
  }, 120_000)

  it('[CU2] Russia accepts ad referendum, subject to Moscow: shown apart from a full acceptance, overdue ones flagged, then confirmed', async () => {
    await us.page.getByTestId('accept').click()
    await us.page.getByTestId('you-accepted').waitFor({ timeout: T })

    await openTerm(ru.page, DEADLINE)
    const until = inDays(40)
    await ru.page.getByTestId('accept-ad-referendum').click()
    // The principal is required: nothing is sent without it.
    expect(await ru.page.getByTestId('ad-referendum-submit').isDisabled()).toBe(true)
    await ru.page.getByTestId('ad-referendum-principal').fill('Moscow')
    await ru.page.getByTestId('ad-referendum-until').fill(until)
    await ru.page.getByTestId('ad-referendum-submit').click()
    await ru.page.getByTestId('you-accepted-ad-referendum').waitFor({ timeout: T })
    expect(await ru.page.getByTestId('you-accepted-ad-referendum').textContent()).toContain('subject to Moscow')

    // Everyone's card says it; the panels list it apart from the US's full acceptance; the term is not agreed.
    for (const p of [us, ru, press]) {
      const line = card(p.page, DEADLINE).getByTestId('card-ad-referendum')
      await expect.poll(() => line.textContent(), { timeout: T }).toMatch(/Accepted ad referendum by RU, subject to Moscow, by /)
      expect(await line.getAttribute('class')).not.toContain('overdue')
      expect(await cardState(p.page, DEADLINE)).toBe('accepted')
    }
    await expect.poll(() => acceptance(press.page, 'ru'), { timeout: T }).toBe('ad-referendum')
    expect(await acceptance(press.page, 'us')).toBe('current')
    expect(await press.page.getByTestId('ad-referendum-state').textContent()).toContain('subject to Moscow')
    // Only the accepting delegation confirms.
    expect(await ru.page.getByTestId('confirm-ad-referendum').count()).toBe(1)
    expect(await us.page.getByTestId('confirm-ad-referendum').count()).toBe(0)
    expect(await press.page.getByTestId('confirm-ad-referendum').count()).toBe(0)

    // One whose date has passed unconfirmed is flagged (sent as a client would: the form offers no past date).
    const scopeId = (await card(us.page, SCOPE).getAttribute('data-term-id'))!
    control = controlClient(server.url, neg.tokens.negotiator.ru!, 'Ivan Petrov')
    await connected(control)
    expect(
      await control.command('term:accept', { termId: scopeId, adReferendum: { principal: 'the Duma', until: '2020-01-31' } }),
    ).toEqual({
      ok: true,
    })
    const overdue = card(press.page, SCOPE).getByTestId('card-ad-referendum')
    await expect.poll(() => overdue.textContent(), { timeout: T }).toContain('confirmation overdue')
    expect(await overdue.getAttribute('class')).toContain('overdue')
    expect(await card(press.page, SCOPE).locator('[data-acceptance="ad-referendum"]').getAttribute('title')).toContain(
      'confirmation overdue',
    )

    // Moscow confirms: the acceptance binds, and with the US's the term is agreed.
    await ru.page.getByTestId('confirm-ad-referendum').click()
    for (const p of [us, ru, press]) {
      await expect.poll(() => cardState(p.page, DEADLINE), { timeout: T }).toBe('agreed')
      expect(await card(p.page, DEADLINE).getByTestId('card-ad-referendum').count()).toBe(0)
    }
  }, 120_000)

  it('[CU3] the Conclude panel: what is open, then the package — voided visibly by a reopen, accepted by both', async () => {
    // Before the package: the open term is listed, and leads to the term.
    await openConclude(us.page)
    expect(await panel(us.page).getByTestId('package-hash').count()).toBe(0)
    const open = panel(us.page).getByTestId('open-term')
    expect(await open.allTextContents()).toEqual([expect.stringContaining(SCOPE)])
    await open.click()
    await us.page.locator(`[data-testid="term-panel"]`).waitFor({ timeout: T })
    expect(await us.page.getByTestId('term-panel').getAttribute('data-term-id')).toBe(
      await card(us.page, SCOPE).getAttribute('data-term-id'),
    )
    await us.page.getByTestId('accept').click()
    await us.page.getByTestId('you-accepted').waitFor({ timeout: T })
    // Russia's overdue acceptance ad referendum of Scope: its panel offers Confirm (late, but binding), not Accept.
    await openTerm(ru.page, SCOPE)
    expect(await ru.page.getByTestId('you-accepted-ad-referendum').textContent()).toContain('confirmation overdue')
    expect(await ru.page.getByTestId('accept').count()).toBe(0)
    await ru.page.getByTestId('confirm-ad-referendum').click()
    for (const p of [us, ru, press]) await expect.poll(() => cardState(p.page, SCOPE), { timeout: T }).toBe('agreed')

    // The package: its hash, its terms in board order, nobody's acceptance yet, Initial not yet possible.
    for (const p of [us, ru, press]) {
      await openConclude(p.page)
      await panel(p.page).getByTestId('package-hash').waitFor({ timeout: T })
    }
    const hash = (await panel(us.page).getByTestId('package-hash').getAttribute('data-hash'))!
    expect(hash).toMatch(/^[0-9a-f]{64}$/)
    expect(await panel(us.page).getByTestId('package-hash').textContent()).toBe(hash.slice(0, 12))
    expect(await panel(us.page).getByTestId('package-terms').locator('li').allTextContents()).toEqual([
      expect.stringContaining(DEADLINE),
      expect.stringContaining(SCOPE),
    ])
    expect(await panel(us.page).getByTestId('initial').isDisabled()).toBe(true)
    expect(await panel(us.page).getByTestId('initial-why').textContent()).toContain('Every delegation must accept the package')
    expect(await panel(press.page).getByTestId('accept-package').count()).toBe(0)
    expect(await panel(press.page).getByTestId('initial').count()).toBe(0)

    // The US accepts the package; Russia reopens a term: the acceptance is void, and everyone is told.
    await panel(us.page).getByTestId('accept-package').click()
    await expect
      .poll(() => panel(ru.page).locator('[data-testid="package-party"][data-party="us"]').getAttribute('data-accepted'), {
        timeout: T,
      })
      .toBe('true')
    await ru.page.getByTestId('conclude-button').click() // closes the panel
    await openTerm(ru.page, SCOPE)
    await ru.page.getByTestId('reopen-to-edit').click()
    await ru.page.getByRole('button', { name: 'Reopen term' }).click()
    await us.page.getByText('Package acceptances voided').first().waitFor({ timeout: T })
    await expect.poll(() => panel(us.page).getByTestId('package-hash').count(), { timeout: T }).toBe(0)
    expect(await panel(us.page).getByTestId('package-voided').textContent()).toContain('Ivan Petrov')

    // Agreed again: the same text makes the same package, with no acceptance and the voiding still shown.
    await ru.page.getByTestId('accept').click()
    await openTerm(us.page, SCOPE)
    await us.page.getByTestId('accept').click()
    for (const p of [us, ru]) {
      await openConclude(p.page)
      await expect.poll(() => panel(p.page).getByTestId('package-hash').getAttribute('data-hash'), { timeout: T }).toBe(hash)
    }
    expect(await panel(us.page).getByTestId('package-voided').isVisible()).toBe(true)
    await panel(us.page).getByTestId('accept-package').click()
    await panel(ru.page).getByTestId('accept-package').click()
    for (const p of [us, ru, press]) {
      for (const party of ['us', 'ru'])
        await expect
          .poll(
            () => panel(p.page).locator(`[data-testid="package-party"][data-party="${party}"]`).getAttribute('data-accepted'),
            {
              timeout: T,
            },
          )
          .toBe('true')
    }
    await expect.poll(() => panel(us.page).getByTestId('initial').isDisabled(), { timeout: T }).toBe(false)
    expect(await panel(us.page).getByTestId('package-voided').count()).toBe(0)
    expect(await audit(us.page, 'conclude panel with a package')).toEqual([])

    if (shoot('conclude-panel.png')) {
      mkdirSync(SHOTS, { recursive: true })
      await dismissToasts(us.page)
      await us.page.screenshot({ path: join(SHOTS, 'conclude-panel.png') })
    }
  }, 180_000)

  it('[CU4] both initial: concluded on every screen, the shared board final and the caucus open, a late write refused and explained; observers have no buttons', async () => {
    await panel(us.page).getByTestId('initial').click()
    await expect
      .poll(() => panel(ru.page).locator('[data-testid="package-initial"][data-party="us"]').getAttribute('data-initialled'), {
        timeout: T,
      })
      .toBe('true')
    expect(await panel(us.page).getByTestId('initial').count()).toBe(0)

    // Meanwhile the US is offline and leaves a note on the board: it reaches the server only after the conclusion.
    await us.context.setOffline(true)
    await expect.poll(async () => (await connection(us.page)).state, { timeout: T }).toBe('offline')
    await us.page.getByTestId('new-note').click()
    await us.page.getByTestId('note-card').waitFor({ timeout: T })
    expect((await connection(us.page)).unsaved).toBeGreaterThan(0)

    await panel(ru.page).getByTestId('initial').click()
    await ru.page.getByTestId('concluded-banner').waitFor({ timeout: T })
    await us.context.setOffline(false)
    // The board refuses the late note (permission-denied `concluded`): the page says so instead of waiting to save
    // it, nobody else sees it, and this device's copy lets it go — after a reload it is gone here too.
    await us.page.getByTestId('concluded-refused').waitFor({ timeout: 40_000 })
    await expect.poll(async () => (await connection(us.page)).unsaved, { timeout: T }).toBe(0)
    expect(await ru.page.getByTestId('note-card').count()).toBe(0)
    expect(await press.page.getByTestId('note-card').count()).toBe(0)
    const boardCopy = () =>
      us.page.evaluate(async (id) => (await indexedDB.databases()).some((d) => d.name?.startsWith(`parley:${id}/board:`)), neg.id)
    await expect.poll(boardCopy, { timeout: T }).toBe(false)
    await us.page.reload()
    await us.page.locator('[data-testid="connection-status"][data-state="live"]').waitFor({ timeout: 45_000 })
    await us.page.getByTestId('concluded-banner').waitFor({ timeout: T })
    expect(await us.page.getByTestId('note-card').count()).toBe(0)
    expect(await us.page.getByTestId('concluded-refused').count()).toBe(0)

    for (const p of [us, ru, press]) {
      const banner = p.page.getByTestId('concluded-banner')
      await banner.waitFor({ timeout: T })
      await openConclude(p.page)
      expect(await banner.textContent()).toMatch(/Concluded on .+ — the text is final/)
      await expect
        .poll(() => panel(p.page).getByTestId('concluded-summary').textContent(), { timeout: T })
        .toMatch(/Concluded on .+ — package/)
      expect(await p.page.getByTestId('new-term').count()).toBe(0)
      expect(await p.page.getByTestId('new-note').count()).toBe(0)
      expect(await panel(p.page).getByTestId('accept-package').count()).toBe(0)
      expect(await panel(p.page).getByTestId('initial').count()).toBe(0)
    }
    expect(await us.page.getByTestId('concluded-banner').textContent()).toContain('your delegation’s caucus stays open')
    expect(await press.page.getByTestId('concluded-banner').textContent()).not.toContain('caucus')
    // The observer sees the record's buttons, no decision anywhere.
    expect(await panel(press.page).getByTestId('download-record').count()).toBe(1)
    expect(await panel(press.page).getByTestId('download-pdf').count()).toBe(0) // an export: history readers only
    await openTerm(press.page, DEADLINE)
    for (const id of ['accept', 'accept-ad-referendum', 'reject', 'reopen-to-edit', 'choose-option'])
      expect(await press.page.getByTestId(id).count(), id).toBe(0)

    // A negotiator's term panel: the text final, no action left.
    await openTerm(us.page, SCOPE)
    expect(await us.page.getByTestId('final-note').isVisible()).toBe(true)
    for (const id of ['accept', 'reject', 'reopen-to-edit', 'suggest-mode'])
      expect(await us.page.getByTestId(id).count(), id).toBe(0)
    expect(await bodyEditor(us.page).getAttribute('contenteditable')).toBe('false')

    // Typing on the board changes nothing, here or for anyone else.
    const before = await editorText(us.page)
    await bodyEditor(us.page).click()
    await us.page.keyboard.press('Control+End')
    await us.page.keyboard.type(' NOT AGREED')
    await us.page.waitForTimeout(800)
    expect(await editorText(us.page)).toBe(before)
    expect(await cardBody(ru.page, SCOPE)).toBe(before)
    expect(await cardBody(press.page, SCOPE)).toBe(before)
    expect(us.errors).toEqual([])

    // The caucus stays the delegation's to write in.
    await us.page.getByTestId('surface-caucus').click()
    await us.page.getByTestId('new-term').waitFor({ timeout: T })
    expect(await us.page.getByTestId('concluded-banner').count()).toBe(0)
    await us.page.getByTestId('surface-board').click()
    await us.page.getByTestId('concluded-banner').waitFor({ timeout: T })
  }, 120_000)

  it('[CU5] the signed record and its PDF download from the Conclude panel', async () => {
    await openConclude(us.page)
    const hash = (await panel(us.page).getByTestId('package-hash').getAttribute('data-hash'))!
    const [download] = await Promise.all([
      us.page.waitForEvent('download', { timeout: T }),
      panel(us.page).getByTestId('download-record').click(),
    ])
    const record = JSON.parse(readFileSync((await download.path())!, 'utf8')) as Record<string, unknown>
    expect(record.packageHash).toBe(hash)
    expect(record.signature).toEqual(expect.stringMatching(/^[A-Za-z0-9_-]{40,}$/))
    expect(record.negotiationId).toBe(neg.id)

    const [pdf] = await Promise.all([
      us.page.waitForEvent('download', { timeout: T }),
      panel(us.page).getByTestId('download-pdf').click(),
    ])
    expect(pdf.suggestedFilename()).toMatch(/\.pdf$/)
    expect(
      readFileSync((await pdf.path())!)
        .subarray(0, 5)
        .toString('latin1'),
    ).toBe('%PDF-')
    expect(us.errors).toEqual([])
    expect(press.errors).toEqual([])
  }, 60_000)
})

/**
 * Polish seen by a new user (issue 18, item 7), in Chromium: a withdrawn term's disabled Accept says why;
 * Escape gives the focus back to what opened the panel, the step or the list (a term's panel and its steps,
 * the Comments panel, who is here), never to the page; the Copy button keeps its size when it says "Copied";
 * "You accepted this text" goes once the text is another; a remote caret's name stays inside the term panel
 * at its right edge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { TestServer } from '../helpers/server'
import { synced, waitFor, yClient, type YClient } from '../helpers/clients'
import { connected, controlClient, type ControlClient } from '../helpers/control'
import { insertTerm, setTermText, termsInOrder } from '../../shared/docLayout'
import { closeBrowserSuite, startBrowserSuite } from './helpers/suite'
import { chromiumForTests, openParticipant, type Participant } from './helpers/browser'
import { US_AND_RU, card, caretTo, openTerm } from './helpers/board'

const T = 10_000
let server: TestServer
let browser: Browser
const people: Participant[] = []
const clients: Array<YClient | ControlClient> = []

/** What has the focus: its test id, or its tag, or `body`. */
const focused = (page: Page) =>
  page.evaluate(() => {
    const el = document.activeElement
    if (!el || el === document.body) return 'body'
    return (el as HTMLElement).dataset.testid ?? `${el.tagName.toLowerCase()}${el.className ? '.' + el.className : ''}`
  })

describe.skipIf(!chromiumForTests('e2e/polish'))('polish', () => {
  beforeAll(async () => {
    ;[server, browser] = await startBrowserSuite()
  }, 180_000)

  afterAll(async () => {
    for (const c of clients) 'destroy' in c ? c.destroy() : c.close()
    await closeBrowserSuite(people, browser, server)
  })

  async function negotiation(terms: Array<{ title: string; body: string }>) {
    return server.createNegotiation({ title: 'Polish', parties: US_AND_RU, terms })
  }

  async function join(link: string, name: string) {
    const p = await openParticipant(browser, link, name)
    people.push(p)
    return p
  }

  /** A delegation's board as the stock client holds it, to write as another person would. */
  async function boardOf(token: string, name: string, id: string): Promise<YClient> {
    const c = yClient(server.wsUrl, `${id}/board`, { token, name })
    clients.push(c)
    await synced(c)
    return c
  }

  async function control(token: string, name: string): Promise<ControlClient> {
    const c = controlClient(server.url, token, name)
    clients.push(c)
    await connected(c)
    return c
  }

  it('[PO1] a withdrawn term: Accept is disabled and says why (described by the reason), for either delegation', async () => {
    const neg = await negotiation([{ title: 'Scope', body: 'Each party extradites persons charged with ransomware.' }])
    // The United States proposes a term (as its client would) and withdraws it.
    const us = await boardOf(neg.tokens.negotiator.us!, 'J. Carter', neg.id)
    us.doc.transact(() =>
      insertTerm(us.doc, 't-costs', { title: 'Costs', body: 'Each party bears its own costs.', x: 400, y: 80 }),
    )
    const usControl = await control(neg.tokens.negotiator.us!, 'J. Carter')
    await waitFor(async () => (await usControl.command('term:withdraw', { termId: 't-costs' })).ok, {
      timeout: T,
      what: 'withdrawn',
    })

    const ru = await join(neg.links.negotiator.ru!, 'A. Volkova')
    await card(ru.page, 'Costs').waitFor({ timeout: T })
    await openTerm(ru.page, 'Costs')
    const accept = ru.page.getByTestId('accept')
    expect(await accept.isDisabled()).toBe(true)
    const why = ru.page.getByTestId('accept-blocked')
    expect(await why.textContent()).toContain('This term was withdrawn. Reopen it to put it back on the table')
    expect(await accept.getAttribute('aria-describedby')).toBe(await why.getAttribute('id'))
    expect(await ru.page.getByTestId('accept-ad-referendum').isDisabled()).toBe(true)
    // Reopened, it can be accepted again, and the reason is gone.
    await ru.page.getByTestId('reopen-to-edit').click()
    await ru.page.getByRole('button', { name: 'Reopen term' }).click()
    await waitFor(async () => !(await accept.isDisabled()), { timeout: T, what: 'Accept enabled' })
    expect(await why.count()).toBe(0)
  }, 120_000)

  it('[PO2] Escape gives the focus back: a step to the button that opened it, the panel to the card', async () => {
    const neg = await negotiation([{ title: 'Evidence', body: 'A request includes the charging document.' }])
    const us = await join(neg.links.negotiator.us!, 'J. Carter')
    const open = card(us.page, 'Evidence').locator('button.open')
    await open.waitFor({ timeout: T })
    // With the keyboard, as a keyboard user opens it.
    await open.focus()
    await us.page.keyboard.press('Enter')
    await us.page.getByTestId('term-panel').waitFor({ timeout: T })
    await us.page.locator('[data-testid="body-editor"][data-ready="true"]').waitFor({ timeout: 45_000 })

    // Reject asks for a reason; Escape cancels the step and the focus is on Reject again.
    await us.page.getByTestId('reject').focus()
    await us.page.keyboard.press('Enter')
    await us.page.locator('#reason').waitFor({ timeout: T })
    expect(await focused(us.page)).toBe('textarea.textarea')
    await us.page.keyboard.press('Escape')
    await us.page.locator('#reason').waitFor({ state: 'detached', timeout: T })
    await waitFor(async () => (await focused(us.page)) === 'reject', { timeout: T, what: 'focus on Reject' })
    expect(await us.page.getByTestId('term-panel').count()).toBe(1)

    // The same from Cancel.
    await us.page.keyboard.press('Enter')
    await us.page.getByRole('button', { name: 'Cancel' }).click()
    await waitFor(async () => (await focused(us.page)) === 'reject', { timeout: T, what: 'focus on Reject after Cancel' })

    // Escape in the text closes the panel: the focus is on the card that opened it, not the page.
    await caretTo(us.page, 'end')
    await us.page.keyboard.press('Escape')
    await us.page.getByTestId('term-panel').waitFor({ state: 'detached', timeout: T })
    await waitFor(
      async () => await us.page.evaluate(() => document.activeElement?.closest('[data-testid="term-card"]') !== null),
      {
        timeout: T,
        what: 'focus on the card',
      },
    )
    expect(await open.evaluate((el) => el === document.activeElement)).toBe(true)

    // The Comments panel, opened from the toolbar with the keyboard: it takes the focus, Escape closes it, the focus
    // is on the Comments button again.
    await us.page.getByTestId('comments-button').focus()
    await us.page.keyboard.press('Enter')
    await us.page.getByTestId('comments-panel').waitFor({ timeout: T })
    await waitFor(async () => (await focused(us.page)) === 'comments-panel', { timeout: T, what: 'focus in the panel' })
    await us.page.keyboard.press('Escape')
    await us.page.getByTestId('comments-panel').waitFor({ state: 'detached', timeout: T })
    await waitFor(async () => (await focused(us.page)) === 'comments-button', { timeout: T, what: 'focus on Comments' })
  }, 120_000)

  it('[PO3] Copy keeps its size when it says "Copied": nothing beside it moves', async () => {
    const neg = await negotiation([{ title: 'Scope', body: 'Each party extradites persons charged with ransomware.' }])
    for (const party of ['us', 'ru'] as const) {
      const c = await control(neg.tokens.negotiator[party]!, party)
      const id = termsInOrder((await boardOf(neg.tokens.negotiator[party]!, party, neg.id)).doc)[0]!.id
      expect(await c.command('term:accept', { termId: id })).toEqual({ ok: true })
    }
    const us = await join(neg.links.negotiator.us!, 'J. Carter')
    await us.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url })
    await us.page.getByTestId('conclude-button').click()
    const copy = us.page.getByTestId('copy-package-hash')
    await copy.waitFor({ timeout: T })
    const box = () =>
      copy.evaluate((el) => {
        const r = el.getBoundingClientRect()
        const next = el.parentElement!.getBoundingClientRect()
        return {
          width: r.width,
          height: r.height,
          left: r.left,
          row: next.height,
          text: el.textContent?.replace(/\s+/g, ' ').trim(),
        }
      })
    const before = await box()
    expect(before.text).toBe('Copy Copied')
    await copy.click()
    await waitFor(async () => (await copy.getAttribute('data-copied')) === 'true', { timeout: T, what: 'Copied shown' })
    const after = await box()
    expect(after.width).toBe(before.width)
    expect(after.height).toBe(before.height)
    expect(after.left).toBe(before.left)
    expect(after.row).toBe(before.row)
    // What is seen: one word at a time; what is heard: "Copied", once.
    const shown = await copy.evaluate((el) =>
      [...el.querySelectorAll('.words > span')]
        .filter((s) => getComputedStyle(s).visibility === 'visible')
        .map((s) => s.textContent),
    )
    expect(shown).toEqual(['Copied'])
    expect(await us.page.getByRole('status').filter({ hasText: 'Copied' }).count()).toBe(1)
    expect(await us.page.evaluate(() => navigator.clipboard.readText())).toBe(
      await us.page.getByTestId('package-hash').getAttribute('data-hash'),
    )
    expect(await copy.getAttribute('aria-label')).toBe('Copy the full package hash')
  }, 120_000)

  it('[PO4] "You accepted this text" goes once the text is another, and says so', async () => {
    const neg = await negotiation([{ title: 'Deadline', body: 'Requests are answered within 30 days.' }])
    const us = await join(neg.links.negotiator.us!, 'J. Carter')
    const ru = await boardOf(neg.tokens.negotiator.ru!, 'A. Volkova', neg.id)
    await openTerm(us.page, 'Deadline')
    await us.page.getByTestId('accept').click()
    const accepted = us.page.locator('.toast', { hasText: 'You accepted this text.' })
    await accepted.waitFor({ timeout: T })
    // Russia changes the text while the toast is up.
    const id = termsInOrder(ru.doc)[0]!.id
    ru.doc.transact(() => setTermText(ru.doc, id, { title: 'Deadline', body: 'Requests are answered within 45 days.' }))
    await accepted.waitFor({ state: 'detached', timeout: 2000 })
    await us.page.locator('.toast', { hasText: 'The text changed after you accepted it' }).waitFor({ timeout: T })
  }, 120_000)

  it('[PO5] a remote caret at the panel’s right edge keeps its name inside the panel', async () => {
    const words = Array.from({ length: 60 }, (_, i) => `clause${i}`).join(' ')
    const neg = await negotiation([{ title: 'Annex', body: words }])
    const longName = 'Alexandra Konstantinovna Rimskaya-Korsakova'
    const [us, ru] = await Promise.all([join(neg.links.negotiator.us!, 'J. Carter'), join(neg.links.negotiator.ru!, longName)])
    await Promise.all([openTerm(us.page, 'Annex'), openTerm(ru.page, 'Annex')])
    // Russia's caret at the end of the text's first line, by the panel's right edge.
    // (End puts it where the wrapped line ends, which is also where the next begins: one step back is this line's.)
    await caretTo(ru.page, 'start')
    await ru.page.keyboard.press('End')
    await ru.page.keyboard.press('ArrowLeft')
    const label = us.page.locator('[data-testid="body-editor"] .cm-ySelectionInfo', { hasText: longName })
    await label.waitFor({ timeout: T })
    const fits = () =>
      label.evaluate((el) => {
        const side = el.closest('aside')!
        const s = side.getBoundingClientRect()
        const right = s.left + side.clientLeft + side.clientWidth
        const r = el.getBoundingClientRect()
        const caret = el.parentElement!.getBoundingClientRect()
        return { inside: r.left >= s.left && r.right <= right, caretNearEdge: right - caret.left < 160, width: r.width }
      })
    // Where the label used to be cut: the caret by the edge, the name wider than what is left of the line.
    await waitFor(async () => (await fits()).caretNearEdge, { timeout: T, what: 'the remote caret at the end of the line' })
    await waitFor(async () => (await fits()).inside, { timeout: T, what: 'the label inside the panel' })
    expect((await fits()).width).toBeGreaterThan(160)
  }, 120_000)

  it('[PO6] Escape in the list of who is here gives the focus back to its button', async () => {
    const neg = await negotiation([{ title: 'Scope', body: 'Each party extradites persons charged with ransomware.' }])
    const [us] = await Promise.all([join(neg.links.negotiator.us!, 'J. Carter'), join(neg.links.negotiator.ru!, 'A. Volkova')])
    const toggle = us.page.locator('[data-testid="presence"] button[aria-controls="presence-list"]')
    await waitFor(async () => (await us.page.locator('[data-testid="presence"] .slot').count()) === 2, {
      timeout: T,
      what: 'both here',
    })
    await toggle.focus()
    await us.page.keyboard.press('Enter')
    const follow = us.page.locator('#presence-list').getByRole('button', { name: 'Follow' })
    await follow.waitFor({ timeout: T })
    await follow.focus()
    await us.page.keyboard.press('Escape')
    await us.page.locator('#presence-list').waitFor({ state: 'detached', timeout: T })
    expect(await toggle.evaluate((el) => el === document.activeElement)).toBe(true)
  }, 120_000)
  it('[PO7] a locked card says who is reading it, not who is editing it', async () => {
    const neg = await negotiation([
      { title: 'Scope', body: 'Each party extradites persons charged with ransomware.' },
      { title: 'Costs', body: 'Each party bears its own costs.' },
    ])
    const [us, ru] = await Promise.all([join(neg.links.negotiator.us!, 'J. Carter'), join(neg.links.negotiator.ru!, 'A. Volkova')])
    const usControl = await control(neg.tokens.negotiator.us!, 'J. Carter')
    const ruControl = await control(neg.tokens.negotiator.ru!, 'A. Volkova')
    const ids = termsInOrder((await boardOf(neg.tokens.observer, 'press', neg.id)).doc).map((t) => t.id)
    for (const c of [usControl, ruControl]) expect(await c.command('term:accept', { termId: ids[0] })).toEqual({ ok: true })
    const who = (title: string) => card(ru.page, title).locator('.activity .who')
    // Agreed, so locked: whoever has its panel open reads it.
    await openTerm(us.page, 'Scope')
    await waitFor(async () => (await who('Scope').count()) === 1, { timeout: T, what: 'the reader on the card' })
    expect(await who('Scope').getAttribute('title')).toBe('J. Carter is reading it')
    // An open term: whoever has its panel open edits it.
    await us.page.keyboard.press('Escape')
    await openTerm(us.page, 'Costs')
    await waitFor(async () => (await who('Costs').count()) === 1, { timeout: T, what: 'the editor on the card' })
    expect(await who('Costs').getAttribute('title')).toBe('J. Carter is editing')
  }, 120_000)
})

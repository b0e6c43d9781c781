/**
 * [H2] The Content-Security-Policy every answer carries (server/http/securityHeaders.ts)
 * leaves the client fully working: a negotiator opens the board, a term's
 * editor (CodeMirror, loaded on demand, with its injected styles), types, and
 * opens the History panel, and the browser reports no violation at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import type { TestServer } from '../helpers/server'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { closeBrowserSuite, startBrowserSuite } from './helpers/suite'
import { chromiumForTests, join, newParticipant, type Participant } from './helpers/browser'
import { caretTo, editorText, openTerm } from './helpers/board'
import { recordCspViolations } from './helpers/csp'

let server: TestServer
let browser: Browser
const people: Participant[] = []

describe.skipIf(!chromiumForTests('e2e/csp'))('the client under its Content-Security-Policy', () => {
  let neg: CreatedNegotiation

  beforeAll(async () => {
    ;[server, browser] = await startBrowserSuite()
    neg = await server.createNegotiation({
      title: 'Policy talks',
      parties: [
        { id: 'a', name: 'Alpha' },
        { id: 'b', name: 'Beta' },
      ],
      terms: [{ title: 'Scope', body: 'Each party cooperates.' }],
    })
  }, 180_000)

  afterAll(() => closeBrowserSuite(people, browser, server))

  it('[H2] board, term editor, typing and the History panel: no CSP violation', async () => {
    const alpha = await newParticipant(browser)
    people.push(alpha)
    const violations = await recordCspViolations(alpha.page)
    const page = await join(alpha, neg.links.negotiator.a!, 'A. Negotiator')
    const policy = (await page.request.get(page.url())).headers()['content-security-policy']
    expect(policy, 'the page is served with its policy').toContain("script-src 'self'")

    await openTerm(page, 'Scope')
    await caretTo(page, 'end')
    await page.keyboard.type(' In good faith.')
    await expect.poll(() => editorText(page), { timeout: 15_000 }).toBe('Each party cooperates. In good faith.')
    // CodeMirror's injected styles apply: its editor is a flex column, not an unstyled block.
    expect(await page.locator('[data-testid="body-editor"] .cm-editor').evaluate((el) => getComputedStyle(el).display)).toBe(
      'flex',
    )

    await page.getByTestId('history-button').click()
    await page.locator('[data-testid="versions-none"], [data-testid="open-replay"]').first().waitFor({ timeout: 15_000 })
    await page.waitForTimeout(300)
    expect(violations).toEqual([])
    expect(alpha.errors).toEqual([])
  }, 120_000)
})

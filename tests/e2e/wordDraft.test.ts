/**
 * "Bring in a Word draft" in Chromium (issue 16, item 3): the US negotiator
 * uploads the .docx their lawyers edited; the dialog lists the term that now
 * carries their suggestion and the clause added, a link opens the term, and
 * its panel draws the suggestion in the US colour — for Russia too. A file
 * that is no .docx is refused with the server's reason; observers have no
 * such action. axe-core on the dialog.
 */
import { HeadingLevel, Paragraph } from 'docx'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import type { TestServer } from '../helpers/server'
import { docxOf } from '../helpers/docx'
import { closeBrowserSuite, startBrowserSuite } from './helpers/suite'
import { audit } from './helpers/axe'
import { chromiumForTests, openParticipant, type Participant } from './helpers/browser'
import { card, openTerm, US_AND_RU } from './helpers/board'

const SIZE = { width: 1440, height: 900 }
const T = 15_000
const SHEET = [
  { title: 'Scope', body: 'Each party extradites persons charged with ransomware attacks against the other.' },
  { title: 'Response deadline', body: 'Requests are answered within 30 days.' },
]

let server: TestServer
let browser: Browser
const people: Participant[] = []

/** The suggestion runs drawn in the open term's text: kind, party and words. */
const drawn = (page: Page) =>
  page
    .locator('[data-testid="body-editor"] .cm-sugg')
    .evaluateAll((els) =>
      els.map((e) => `${e.getAttribute('data-suggestion-kind')}:${e.getAttribute('data-party')}:${e.textContent}`),
    )

describe.skipIf(!chromiumForTests('e2e/wordDraft'))('a Word draft brought in from the board', () => {
  let neg: CreatedNegotiation

  beforeAll(async () => {
    ;[server, browser] = await startBrowserSuite()
    neg = await server.createNegotiation({ title: 'Extradition', parties: US_AND_RU, terms: SHEET })
  }, 180_000)

  afterAll(() => closeBrowserSuite(people, browser, server))

  it('[WD7] upload, the dialog lists the terms, a link opens one and its panel shows the suggestion; observers see no action', async () => {
    const [us, ru, press] = await Promise.all([
      openParticipant(browser, neg.links.negotiator.us!, 'Jane Carter', SIZE),
      openParticipant(browser, neg.links.negotiator.ru!, 'Ivan Petrov', SIZE),
      openParticipant(browser, neg.links.observer, 'Press pool', SIZE),
    ])
    people.push(us, ru, press)
    const { page } = us
    await card(page, 'Response deadline').waitFor()
    expect(await press.page.getByTestId('word-draft-button').count()).toBe(0)

    await page.getByRole('button', { name: 'Bring in a Word draft' }).click()
    const dialog = page.getByTestId('word-draft-dialog')
    const file = dialog.getByTestId('word-draft-file')
    await file.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a Word file') })
    await expect
      .poll(() => dialog.getByTestId('word-draft-error').textContent(), { timeout: T })
      .toBe('notes.txt was not brought in: not a Word document: the file is not a zip archive')

    const docx = await docxOf([
      new Paragraph({ text: 'Extradition (counsel’s draft)', heading: HeadingLevel.TITLE }),
      new Paragraph({ text: '§1 Scope', heading: HeadingLevel.HEADING_1 }),
      new Paragraph(SHEET[0]!.body),
      new Paragraph({ text: '§2 Response deadline', heading: HeadingLevel.HEADING_1 }),
      new Paragraph('Requests are answered within 45 days.'),
      new Paragraph({ text: '§3 Dual criminality', heading: HeadingLevel.HEADING_1 }),
      new Paragraph('Extradition requires the conduct to be an offence under the laws of both parties.'),
    ])
    await file.setInputFiles({ name: 'draft.docx', mimeType: 'application/octet-stream', buffer: Buffer.from(docx) })
    const result = dialog.getByTestId('word-draft-result')
    await result.waitFor({ timeout: T })
    expect(await result.locator('.lead').textContent()).toContain('draft.docx: 1 term now carries your suggestions; 1 term added.')
    expect(await dialog.getByTestId('word-draft-suggested').textContent()).toBe('Response deadline')
    expect(await dialog.getByTestId('word-draft-added').textContent()).toBe('Dual criminality')
    expect(await audit(page, 'word draft dialog')).toEqual([])

    // The link opens the term; the panel draws the suggestion as the US's, on both screens.
    await dialog.getByRole('button', { name: 'Response deadline' }).click()
    await page.getByTestId('term-panel').waitFor()
    await page.locator('[data-testid="body-editor"][data-ready="true"]').waitFor({ timeout: 45_000 })
    await expect.poll(() => drawn(page), { timeout: T }).toEqual(['del:us:30', 'ins:us:45'])
    await openTerm(ru.page, 'Response deadline')
    await expect.poll(() => drawn(ru.page), { timeout: T }).toEqual(['del:us:30', 'ins:us:45'])
    await card(ru.page, 'Dual criminality').waitFor({ timeout: T })
    for (const p of [us, ru, press]) expect(p.errors).toEqual([])
  })
})

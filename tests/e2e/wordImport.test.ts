/**
 * The admin's "New negotiation" form from a Word document (issue 16, item 2),
 * in Chromium: a file that is no .docx is refused with the server's reason; a
 * term sheet is read into terms for review (with the tracked change it holds
 * reported), one is edited and one removed, and the negotiation created from
 * them shows exactly those on its board.
 */
import { DeletedTextRun, HeadingLevel, InsertedTextRun, Paragraph, TextRun } from 'docx'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import type { TestServer } from '../helpers/server'
import { docxOf } from '../helpers/docx'
import { closeBrowserSuite, startBrowserSuite } from './helpers/suite'
import { chromiumForTests, join, newParticipant, type Participant } from './helpers/browser'
import { card, cardBody } from './helpers/board'

let server: TestServer
let browser: Browser
const people: Participant[] = []

describe.skipIf(!chromiumForTests('e2e/wordImport'))('a negotiation started from a Word document', () => {
  beforeAll(async () => {
    ;[server, browser] = await startBrowserSuite()
  }, 180_000)

  afterAll(() => closeBrowserSuite(people, browser, server))

  it('[WI11] upload, review (edit, remove), create: the board shows the reviewed terms', async () => {
    const admin = await newParticipant(browser, { width: 1440, height: 900 })
    people.push(admin)
    const { page } = admin
    await page.goto(`${server.url}/admin`)
    await page.fill('#admin-token', server.parley.adminToken)
    await page.getByTestId('admin-sign-in-submit').click()
    await page.getByTestId('admin-lobby').waitFor()

    const file = page.getByTestId('word-file')
    await file.setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a Word file') })
    await expect
      .poll(() => page.getByTestId('word-error').textContent())
      .toBe('Could not read notes.txt: not a Word document: the file is not a zip archive')

    const docx = await docxOf([
      new Paragraph({ text: 'Turbine supply', heading: HeadingLevel.TITLE }),
      new Paragraph('Draft of 3 March.'),
      new Paragraph({ text: 'Price', heading: HeadingLevel.HEADING_1 }),
      new Paragraph({
        children: [
          new TextRun('The price is '),
          new DeletedTextRun({ text: '10', id: 1, author: 'Counsel', date: '2026-03-01T10:00:00Z' }),
          new InsertedTextRun({ text: '12', id: 2, author: 'Counsel', date: '2026-03-01T10:00:00Z' }),
          new TextRun(' million.'),
        ],
      }),
      new Paragraph({ text: 'Delivery', heading: HeadingLevel.HEADING_1 }),
      new Paragraph('Within 30 days.'),
    ])
    await file.setInputFiles({ name: 'term sheet.docx', mimeType: 'application/octet-stream', buffer: Buffer.from(docx) })
    await expect.poll(() => page.getByTestId('word-status').textContent()).toContain('3 terms read from term sheet.docx')
    expect(await page.getByTestId('word-warnings').textContent()).toContain('2 tracked changes were read as accepted')
    expect(await page.inputValue('#neg-title')).toBe('Turbine supply')
    const titles = page.getByTestId('term-title')
    expect(await titles.evaluateAll((els) => els.map((e) => (e as HTMLInputElement).value))).toEqual(['Preamble', 'Price', 'Delivery'])

    // review: drop the preamble, rename a term
    await page.getByRole('button', { name: 'Remove term 1' }).click()
    await titles.nth(1).fill('Delivery time')
    const names = page.getByTestId('party-name')
    await names.nth(0).fill('Alpha')
    await names.nth(1).fill('Beta')
    await page.getByTestId('create-negotiation').click()
    await page.getByTestId('invite-link').first().waitFor()

    const link = await page.locator('[data-testid="invite-link"][data-role="negotiator"] input').first().inputValue()
    const negotiator = await newParticipant(browser)
    people.push(negotiator)
    await join(negotiator, link, 'Counsel')
    await card(negotiator.page, 'Price').waitFor()
    expect(await cardBody(negotiator.page, 'Price')).toContain('The price is 12 million.')
    expect(await cardBody(negotiator.page, 'Delivery time')).toContain('Within 30 days.')
    expect(await negotiator.page.getByTestId('term-card').count()).toBe(2)
    expect([...admin.errors, ...negotiator.errors]).toEqual([])
  }, 120_000)
})

/**
 * [WX10] The Word downloads in Chromium (issue 16, item 1): a reviewer saves
 * the term sheet from the History panel, and the sheet at a version and the
 * redline between two versions from the replay's redline (both in the
 * Download menu, issue 18 item 5); the files come
 * from the API with the session's token (never in a link) and are real
 * Word files with the changes in the names of who made them. axe-core finds
 * nothing serious in either place.
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { Version } from '../../shared/schemas'
import { createDemo } from '../../server/demo'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import type { TestServer } from '../helpers/server'
import { readDocx, resolveAll, revisions, termsOf } from '../helpers/docxRevisions'
import { closeBrowserSuite, startBrowserSuite } from './helpers/suite'
import { audit } from './helpers/axe'
import { chromiumForTests, openParticipant, type Participant } from './helpers/browser'

const T = 45_000

let server: TestServer
let browser: Browser
const people: Participant[] = []

/** Chooses `item` in the Download menu and reads the file the browser saves: its suggested name and what Word would read. */
async function downloaded(page: Page, item: string) {
  await page.getByTestId('download-menu').first().click()
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: T }), page.getByTestId(item).first().click()])
  const path = await download.path()
  return { name: download.suggestedFilename(), doc: await readDocx(readFileSync(path)) }
}

describe.skipIf(!chromiumForTests('e2e/word.export'))('Word files from the history', () => {
  let demo: CreatedNegotiation
  let versions: Version[]
  let review: Participant

  beforeAll(async () => {
    ;[server, browser] = await startBrowserSuite()
    demo = await createDemo(server.parley.service)
    const res = await server.api(`/api/negotiations/${demo.id}/versions`, { token: demo.tokens.reviewer })
    versions = ((await res.json()) as { versions: Version[] }).versions
    review = await openParticipant(browser, demo.links.reviewer, 'L. Okafor', { width: 1440, height: 900 })
    people.push(review)
  }, 180_000)

  afterAll(() => closeBrowserSuite(people, browser, server))

  it('[WX10] History: the Download menu’s .docx is the sheet now; in the replay, the sheet at the version shown and the redline between the two compared', async () => {
    const page = review.page
    const latest = versions.at(-1)!.n
    await page.getByTestId('history-button').click()
    const panel = page.getByTestId('history-panel')
    await panel.waitFor({ timeout: T })
    await panel.getByTestId('download-menu').click()
    expect(await panel.getByTestId('download-docx').textContent()).toBe('Word document (.docx) — the term sheet')
    await panel.getByTestId('download-menu').click()
    const now = await downloaded(page, 'download-docx')
    expect(now.name).toBe(`${demo.id}-v${latest}.docx`)
    const sheet = await (
      await server.api(`/api/negotiations/${demo.id}/versions/${latest}`, { token: demo.tokens.reviewer })
    ).json()
    expect(termsOf(resolveAll(now.doc, 'accept'))).toEqual(
      (sheet as { terms: Array<{ title: string; body: string }> }).terms.map(({ title, body }) => ({ title, body })),
    )
    expect(await audit(page, 'history panel with Word downloads')).toEqual([])

    // The replay at the version where the Russian Federation edited the deadline, compared with the one before.
    const edit = versions.find((v) => v.kind === 'edit' && v.party === 'ru' && v.summary.includes('Response deadline'))!
    await page.getByTestId('open-replay').click()
    await page.getByTestId('replay').waitFor({ timeout: T })
    await page.locator(`[data-testid="replay-versions"] button[data-n="${edit.n}"]`).click()
    await page.locator(`[data-testid="replay"][data-v="${edit.n}"][data-from="${edit.n - 1}"]`).waitFor({ timeout: T })
    const redline = page.getByTestId('redline')
    await redline.getByTestId('download-menu').click()
    expect(await redline.getByTestId('download-redline-docx').textContent()).toBe(
      `Word redline (.docx) — the changes from v${edit.n - 1} to v${edit.n} as tracked changes`,
    )
    await redline.getByTestId('download-menu').click()
    const at = await downloaded(page, 'download-docx')
    expect(at.name).toBe(`${demo.id}-v${edit.n}.docx`)
    const red = await downloaded(page, 'download-redline-docx')
    expect(red.name).toBe(`${demo.id}-v${edit.n - 1}-v${edit.n}-redline.docx`)
    const revs = revisions(red.doc).map((r) => [r.ins ? 'ins' : 'del', r.text, (r.ins ?? r.del)!.author.replace(/ \(.*\)$/, '')])
    expect(revs).toEqual([
      ['del', '30', 'Russian Federation'],
      ['ins', '45', 'Russian Federation'],
    ])
    expect(await audit(page, 'replay with Word downloads')).toEqual([])
    expect(review.errors).toEqual([])
  }, 180_000)
})

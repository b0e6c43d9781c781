/**
 * Reviewers download from the UI (issue 18, item 5): History's one "Download" menu gives the term sheet as it
 * stands now as Markdown, a web page and JSON (in the replay: as of the version shown), the sheet at the version
 * shown and the redline between the two compared as Word files, and once the negotiation is concluded its PDF and
 * signed record. Every file comes from the API with the session's token, with its content type, and is saved under
 * the server's name. Observers cannot read the history: no History, no Download.
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { Version } from '../../shared/schemas'
import { createConcludingDemo, createDemo } from '../../server/demo'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import type { TestServer } from '../helpers/server'
import { readDocx, resolveAll, termsOf } from '../helpers/docxRevisions'
import { closeBrowserSuite, startBrowserSuite } from './helpers/suite'
import { audit } from './helpers/axe'
import { chromiumForTests, openParticipant, type Participant } from './helpers/browser'

const T = 45_000
const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'

let server: TestServer
let browser: Browser
const people: Participant[] = []

/**
 * Opens the Download menu in `scope`, chooses `item`, and returns what the browser saved with the content type the
 * API answered it with.
 */
async function download(page: Page, scope: string, item: string) {
  const root = page.locator(scope)
  await root.getByTestId('download-menu').click()
  await root.getByTestId('download-menu-items').waitFor({ timeout: T })
  const [res, file] = await Promise.all([
    page.waitForResponse((r) => r.url().includes('/export?') || r.url().endsWith('/record'), { timeout: T }),
    page.waitForEvent('download', { timeout: T }),
    root.getByTestId(item).click(),
  ])
  // choosing an item closes the menu
  await root.getByTestId('download-menu-items').waitFor({ state: 'detached', timeout: T })
  const bytes = readFileSync((await file.path())!)
  return {
    name: file.suggestedFilename(),
    type: res.headers()['content-type'],
    url: res.url(),
    bytes,
    text: bytes.toString('utf8'),
  }
}

describe.skipIf(!chromiumForTests('e2e/download'))("History's Download menu", () => {
  let demo: CreatedNegotiation
  let done: CreatedNegotiation
  let versions: Version[]
  let review: Participant

  beforeAll(async () => {
    ;[server, browser] = await startBrowserSuite()
    const service = server.parley.service
    demo = await createDemo(service)
    done = await createConcludingDemo(service)
    // Russia's initial concludes the second demo.
    await service.conclusion.initial({
      negotiationId: done.id,
      role: 'negotiator',
      party: 'ru',
      user: 'A. Volkova (RU)',
      session: 'test-ru',
    })
    const res = await server.api(`/api/negotiations/${demo.id}/versions`, { token: demo.tokens.reviewer })
    versions = ((await res.json()) as { versions: Version[] }).versions
    review = await openParticipant(browser, demo.links.reviewer, 'L. Okafor', { width: 1280, height: 800 })
    people.push(review)
  }, 180_000)

  afterAll(() => closeBrowserSuite(people, browser, server))

  it('[DL1] History → Download: Markdown, web page, JSON and .docx of the sheet now, each with its content type', async () => {
    const page = review.page
    await page.getByTestId('history-button').click()
    const panel = '[data-testid="history-panel"]'
    await page.locator(panel).waitFor({ timeout: T })

    // The menu button pattern.
    const button = page.locator(panel).getByTestId('download-menu')
    expect(await button.getAttribute('aria-haspopup')).toBe('menu')
    expect(await button.getAttribute('aria-expanded')).toBe('false')
    await button.focus()
    await page.keyboard.press('Enter')
    const menu = page.getByRole('menu', { name: 'Download' })
    await menu.waitFor({ timeout: T })
    expect(await button.getAttribute('aria-expanded')).toBe('true')
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('download-docx')
    expect(await menu.getByRole('menuitem').allTextContents()).toEqual([
      'Word document (.docx) — the term sheet',
      'Markdown (.md) — the sheet with its history',
      'Web page (.html) — to read or print',
      'Data (.json) — for other tools',
    ])
    expect(await audit(page, 'history download menu')).toEqual([])
    await page.keyboard.press('End')
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('download-json')
    await page.keyboard.press('ArrowDown')
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('download-docx')
    await page.keyboard.press('Escape')
    await menu.waitFor({ state: 'detached', timeout: T })
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-testid'))).toBe('download-menu')

    const md = await download(page, panel, 'download-md')
    expect(md.type).toBe('text/markdown; charset=utf-8')
    expect(md.name).toBe(`${demo.id}.md`)
    expect(md.text).toContain('Response deadline')
    expect(md.text.startsWith('# ')).toBe(true)

    const html = await download(page, panel, 'download-html')
    expect(html.type).toBe('text/html; charset=utf-8')
    expect(html.name).toBe(`${demo.id}.html`)
    expect(html.text).toMatch(/^<!doctype html>/i)
    expect(html.text).toContain('Response deadline')

    const json = await download(page, panel, 'download-json')
    expect(json.type).toMatch(/^application\/json/)
    expect(json.name).toBe(`${demo.id}.json`)
    const doc = JSON.parse(json.text) as { negotiation: { id: string }; terms: Array<{ title: string }> }
    expect(doc.negotiation.id).toBe(demo.id)
    expect(doc.terms.map((t) => t.title)).toContain('Response deadline')

    const docx = await download(page, panel, 'download-docx')
    expect(docx.type).toBe(DOCX)
    expect(docx.url).not.toContain('&n=')
    expect(docx.name).toBe(`${demo.id}-v${versions.at(-1)!.n}.docx`)
    expect(termsOf(resolveAll(await readDocx(docx.bytes), 'accept')).map((t) => t.title)).toEqual(doc.terms.map((t) => t.title))
    expect(review.errors).toEqual([])
  }, 120_000)

  it('[DL2] in the replay, the Download menu gives the version shown (Word, Markdown, HTML, JSON) and the redline compared', async () => {
    const page = review.page
    const edit = versions.find((v) => v.kind === 'edit' && v.party === 'ru' && v.summary.includes('Response deadline'))!
    await page.getByTestId('open-replay').click()
    await page.getByTestId('replay').waitFor({ timeout: T })
    await page.locator(`[data-testid="replay-versions"] button[data-n="${edit.n}"]`).click()
    await page.locator(`[data-testid="replay"][data-v="${edit.n}"][data-from="${edit.n - 1}"]`).waitFor({ timeout: T })
    const redline = '[data-testid="redline"]'
    await page.locator(redline).getByTestId('download-menu').click()
    const menu = page.getByRole('menu', { name: 'Download' })
    await menu.waitFor({ timeout: T })
    expect((await menu.getByRole('menuitem').allTextContents()).slice(0, 3)).toEqual([
      `Word document (.docx) — the term sheet at v${edit.n}`,
      `Word redline (.docx) — the changes from v${edit.n - 1} to v${edit.n} as tracked changes`,
      `Markdown (.md) — the sheet at v${edit.n} with its history to then`,
    ])
    // The menu lies over the redline, inside the window.
    const box = (await menu.boundingBox())!
    expect(box.x + box.width).toBeLessThanOrEqual(1280)
    expect(await audit(page, 'replay download menu')).toEqual([])
    await page.keyboard.press('Escape')

    const at = await download(page, redline, 'download-docx')
    expect(at.type).toBe(DOCX)
    expect(at.name).toBe(`${demo.id}-v${edit.n}.docx`)
    const red = await download(page, redline, 'download-redline-docx')
    expect(red.type).toBe(DOCX)
    expect(red.url).toContain(`from=${edit.n - 1}&to=${edit.n}`)
    expect(red.name).toBe(`${demo.id}-v${edit.n - 1}-v${edit.n}-redline.docx`)
    const json = await download(page, redline, 'download-json')
    expect(json.url).toContain(`format=json&n=${edit.n}`)
    const asOf = JSON.parse(json.text) as { asOf: { n: number }; versions: unknown[] }
    expect(asOf.asOf.n).toBe(edit.n)
    expect(asOf.versions).toHaveLength(edit.n)
    await page.getByTestId('replay-close').click()
    expect(review.errors).toEqual([])
  }, 120_000)

  it('[DL3] once concluded, the menu adds the PDF and the signed record; an observer has no History and no Download', async () => {
    const reviewer = await openParticipant(browser, done.links.reviewer, 'L. Okafor', { width: 1280, height: 800 })
    const press = await openParticipant(browser, done.links.observer, 'Press pool', { width: 1280, height: 800 })
    people.push(reviewer, press)
    const page = reviewer.page
    await page.getByTestId('history-button').click()
    const panel = '[data-testid="history-panel"]'
    await page.locator(panel).waitFor({ timeout: T })

    const pdf = await download(page, panel, 'download-pdf')
    expect(pdf.type).toBe('application/pdf')
    expect(pdf.name).toBe(`${done.id}-record.pdf`)
    expect(pdf.bytes.subarray(0, 5).toString('latin1')).toBe('%PDF-')

    const record = await download(page, panel, 'download-record')
    expect(record.type).toMatch(/^application\/json/)
    const signed = JSON.parse(record.text) as { negotiationId: string; signature: string }
    expect(signed.negotiationId).toBe(done.id)
    expect(signed.signature).toMatch(/^[A-Za-z0-9_-]{40,}$/)

    // The observer: no History, so no Download, on any width.
    await press.page.getByTestId('term-card').first().waitFor({ timeout: T })
    expect(await press.page.getByTestId('history-button').count()).toBe(0)
    expect(await press.page.getByTestId('more-history').count()).toBe(0)
    expect(await press.page.getByTestId('download-menu').count()).toBe(0)
    expect(reviewer.errors).toEqual([])
    expect(press.errors).toEqual([])
  }, 120_000)
})

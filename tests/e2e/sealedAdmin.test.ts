/**
 * The admin side of the sealed caucus (issue 21; CONTRACT.md "Sealed caucus"): the admin seals one
 * delegation's caucus. The key is made in the admin's browser and never sent to the server; the dialog says
 * so, says that a lost key is a lost caucus (nobody, the operator neither, can recover it), and downloads the
 * key as a file. From then on that delegation's negotiator links (those issued before and after) carry the
 * key in their fragment, marked; the other delegation's, the observer's and the reviewer's do not. A reload
 * keeps it all (the key lives in the admin browser's localStorage).
 *
 * [SA1] seal → the dialog warns and downloads the key;
 * [SA2] only the sealed delegation's negotiator links carry `&key=`, marked, copied with it; new ones too;
 * [SA3] after a reload, the same key in the same links, and the key offered again;
 * [SA4] the key never goes into a request.
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { TestServer } from '../helpers/server'
import { closeBrowserSuite, startBrowserSuite } from './helpers/suite'
import { audit } from './helpers/axe'
import { chromiumForTests, newParticipant, type Participant } from './helpers/browser'
import { sealedClient } from '../helpers/sealedClient'
import { importSealedKey, newSealedKeyBytes } from '../../shared/sealedCrypto'
import { sealedDocName } from '../../shared/docNames'

const T = 20_000
const KEY_IN_LINK = /#token=[^&]+&key=([A-Za-z0-9_-]{43})$/

let server: TestServer
let browser: Browser
const people: Participant[] = []

/** Every invite link in the list: role, party, the URL shown, whether it is marked as carrying the key. */
async function links(page: Page) {
  return page.getByTestId('invite-link').evaluateAll((rows) =>
    rows.map((row) => ({
      role: row.getAttribute('data-role') ?? '',
      party: row.getAttribute('data-party') ?? '',
      url: row.querySelector('input')!.value,
      sealed: row.getAttribute('data-sealed') === 'true',
      marked: row.querySelector('[data-testid="link-sealed-key"]') !== null,
    })),
  )
}

async function saveKey(page: Page, button: string) {
  const [file] = await Promise.all([page.waitForEvent('download', { timeout: T }), page.getByTestId(button).click()])
  return { name: file.suggestedFilename(), text: readFileSync((await file.path())!, 'utf8') }
}

describe.skipIf(!chromiumForTests('e2e/sealedAdmin'))("the admin seals a delegation's caucus", () => {
  let admin: Participant
  let a: Page
  let id: string
  let usa: string
  let rus: string
  let key: string
  const requests: string[] = []

  beforeAll(async () => {
    ;[server, browser] = await startBrowserSuite()
    admin = await newParticipant(browser, { width: 1280, height: 900 })
    people.push(admin)
    a = admin.page
    await admin.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: server.url })
    a.on('request', (r) => requests.push(`${r.method()} ${r.url()} ${r.headers()['referer'] ?? ''} ${r.postData() ?? ''}`))
    await a.goto(`${server.url}/admin`)
    await a.fill('#admin-token', server.parley.adminToken)
    await a.getByTestId('admin-sign-in-submit').click()
    await a.getByTestId('admin-lobby').waitFor({ timeout: T })
    await a.fill('#neg-title', 'Fisheries access, sealed round')
    const names = a.getByTestId('party-name')
    await names.nth(0).fill('United States')
    await names.nth(1).fill('Russian Federation')
    await a.getByTestId('create-negotiation').click()
    await a.getByTestId('invite-link').first().waitFor({ timeout: T })
    id = (await a.getByTestId('negotiation-item').first().getAttribute('data-negotiation-id'))!
    const parties = await a
      .locator('[data-testid="invite-link"][data-role="negotiator"]')
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-party')!))
    ;[usa, rus] = parties as [string, string]
    expect(parties).toHaveLength(2)
  }, 180_000)

  afterAll(() => closeBrowserSuite(people, browser, server))

  it('[SA1] sealing makes the key in the browser; the dialog warns that a lost key is a lost caucus and downloads it', async () => {
    // nothing sealed yet: no link carries a key
    for (const l of await links(a)) {
      expect(l.url).not.toContain('key=')
      expect(l.sealed || l.marked).toBe(false)
    }
    const item = a.getByTestId('negotiation-item').first()
    expect(await item.locator(`[data-testid="sealed-caucus"][data-party="${usa}"]`).getAttribute('data-sealed')).toBe('false')

    const seal = a.getByTestId(`seal-caucus-${usa}`)
    expect((await seal.textContent())?.trim()).toBe("Seal United States's caucus")
    await seal.click()
    const dialog = a.getByTestId('sealed-key-dialog')
    await dialog.getByRole('heading').waitFor({ timeout: T })
    expect(await dialog.getByRole('heading').textContent()).toBe("The key to United States's sealed caucus")
    const said = (await dialog.textContent()) ?? ''
    expect(said).toContain('made in this browser')
    expect(said).toContain('never sent to the Parley server')
    expect(said).toContain('Only invite links that carry the key open the sealed caucus')
    const warning = (await dialog.getByTestId('sealed-key-warning').textContent()) ?? ''
    expect(warning).toContain('lost for good')
    expect(warning).toContain("not the server's operator either, can recover it")

    key = await dialog.getByTestId('sealed-key-text').inputValue()
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/)
    expect(await a.evaluate((k) => localStorage.getItem(k), `parley:admin-sealed-key:${id}:${usa}`)).toBe(key)

    expect(await audit(a, 'sealed key dialog')).toEqual([])

    await dialog.getByTestId('sealed-key-copy').click()
    expect(await a.evaluate(() => navigator.clipboard.readText())).toBe(key)

    const file = await saveKey(a, 'sealed-key-download')
    expect(file.name).toBe(`${id}-${usa}-sealed-key.txt`)
    expect(file.text).toContain(`key: ${key}`)
    expect(file.text).toContain(`negotiation: ${id}`)
    expect(file.text).toContain(`delegation: ${usa}`)
    expect(file.text).toContain('lost for good')

    await dialog.getByRole('button', { name: 'Done' }).click()
    await dialog.getByRole('heading').waitFor({ state: 'detached', timeout: T })
    const row = item.locator(`[data-testid="sealed-caucus"][data-party="${usa}"]`)
    expect(await row.getAttribute('data-sealed')).toBe('true')
    // sealed once: no second key is offered, only this one again
    expect(await a.getByTestId(`seal-caucus-${usa}`).count()).toBe(0)
    expect(await a.getByTestId(`seal-caucus-${rus}`).count()).toBe(1)
  }, 60_000)

  it("[SA2] only the sealed delegation's negotiator links carry the key, marked, and copy with it; new ones too", async () => {
    let all = await links(a)
    const mine = all.filter((l) => l.role === 'negotiator' && l.party === usa)
    const others = all.filter((l) => !(l.role === 'negotiator' && l.party === usa))
    expect(mine).toHaveLength(1)
    expect(others.map((l) => l.role).sort()).toEqual(['negotiator', 'observer', 'reviewer'])
    for (const l of mine) {
      expect(l.url).toMatch(KEY_IN_LINK)
      expect(KEY_IN_LINK.exec(l.url)![1]).toBe(key)
      expect(l.sealed && l.marked).toBe(true)
    }
    for (const l of others) {
      expect(l.url).not.toContain('key=')
      expect(l.sealed || l.marked).toBe(false)
    }
    const usRow = a.locator(`[data-testid="invite-link"][data-role="negotiator"][data-party="${usa}"]`)
    expect(await usRow.getByTestId('link-sealed-key').textContent()).toContain('with the sealed-caucus key')
    await usRow.getByTestId('copy-link').click()
    expect(await a.evaluate(() => navigator.clipboard.readText())).toBe(mine[0]!.url)
    const ruRow = a.locator(`[data-testid="invite-link"][data-role="negotiator"][data-party="${rus}"]`)
    await ruRow.getByTestId('copy-link').click()
    expect(await a.evaluate(() => navigator.clipboard.readText())).not.toContain('key=')

    // a negotiator link issued later for the sealed delegation carries the key as well
    await a.getByRole('button', { name: 'Issue a new link' }).click()
    await a.locator(`#mint-${id}-party`).selectOption(usa)
    await a.getByRole('button', { name: 'Issue link' }).click()
    await expect
      .poll(async () => (await links(a)).filter((l) => l.role === 'negotiator' && l.party === usa).length, { timeout: T })
      .toBe(2)
    all = await links(a)
    for (const l of all.filter((l) => l.role === 'negotiator' && l.party === usa)) {
      expect(KEY_IN_LINK.exec(l.url)?.[1]).toBe(key)
      expect(l.marked).toBe(true)
    }
  }, 60_000)

  it('[SA3] after a reload the links still carry the key, and the key is offered for download again', async () => {
    await a.reload()
    await a.getByTestId('invite-link').first().waitFor({ timeout: T })
    const all = await links(a)
    for (const l of all) {
      if (l.role === 'negotiator' && l.party === usa) {
        expect(KEY_IN_LINK.exec(l.url)?.[1]).toBe(key)
        expect(l.marked).toBe(true)
      } else {
        expect(l.url).not.toContain('key=')
        expect(l.marked).toBe(false)
      }
    }
    const file = await saveKey(a, `sealed-key-download-${usa}`)
    expect(file.name).toBe(`${id}-${usa}-sealed-key.txt`)
    expect(file.text).toContain(`key: ${key}`)
    // shown again, without a new key
    await a.getByTestId(`sealed-key-show-${usa}`).click()
    const dialog = a.getByTestId('sealed-key-dialog')
    await dialog.getByTestId('sealed-key-text').waitFor({ timeout: T })
    expect(await dialog.getByTestId('sealed-key-text').inputValue()).toBe(key)
    await a.keyboard.press('Escape')
    await dialog.getByRole('heading').waitFor({ state: 'detached', timeout: T })
    expect(admin.errors).toEqual([])
  }, 60_000)

  it('[SA4] the key never went into a request', () => {
    expect(requests.length).toBeGreaterThan(3)
    expect(requests.filter((r) => r.includes(key))).toEqual([])
  })

  it('[SA5] a caucus its negotiators sealed with a key of their own is shown sealed, and no second key is offered', async () => {
    const neg = await server.createNegotiation({
      title: 'Sealed by its negotiators',
      parties: [
        { id: 'us', name: 'United States' },
        { id: 'ru', name: 'Russian Federation' },
      ],
    })
    // A US negotiator's browser seals the caucus with its own key: one sealed row in the store.
    const negotiatorKey = await importSealedKey(newSealedKeyBytes())
    const writer = sealedClient(server.wsUrl, sealedDocName(neg.id, 'us'), neg.tokens.negotiator.us!, negotiatorKey)
    await writer.opened
    await writer.sealAndWait('an update only the delegation can read')
    writer.close()

    await a.reload()
    const item = a.locator(`[data-testid="negotiation-item"][data-negotiation-id="${neg.id}"]`)
    await item.waitFor({ timeout: T })
    await item.getByTestId('sealed-by-negotiators-us').waitFor({ timeout: T })
    expect(await item.locator('[data-testid="sealed-caucus"][data-party="us"]').getAttribute('data-sealed')).toBe('true')
    expect(await item.getByTestId('seal-caucus-us').count()).toBe(0)
    expect(await item.getByTestId('seal-caucus-ru').count()).toBe(1)
    expect(await a.evaluate((k) => localStorage.getItem(k), `parley:admin-sealed-key:${neg.id}:us`)).toBeNull()
    expect(admin.errors).toEqual([])
  }, 60_000)
})

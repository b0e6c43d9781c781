/**
 * The sealed caucus in Chromium (issue 21): a US negotiator seals her
 * delegation's caucus with a key made in her browser; a colleague opens his
 * invite link with the key and both edit the sealed caucus live; a third US
 * link without the key is told the caucus is sealed and gets in by pasting
 * the key; the Russian delegation, an observer and the operator (reading the
 * server's SQLite file) never see a byte of what was typed. A wrong key is
 * detected and said, and nothing is applied.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join as joinPath } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { TestServer } from '../helpers/server'
import { closeBrowserSuite, startBrowserSuite } from './helpers/suite'
import { addNote, newLink, noteWith, withKey } from './helpers/sealed'
import { chromiumForTests, join, newParticipant, openParticipant, type Participant } from './helpers/browser'
import { audit } from './helpers/axe'
import WebSocket from 'ws'
import { encodeSealedKey, newSealedKeyBytes } from '../../shared/sealedCrypto'
import { sealedDocName } from '../../shared/docNames'
import { sealedHead } from '../../client/src/lib/sealed/sealedProvider'

let server: TestServer
let browser: Browser
const people: Participant[] = []
const T = 15_000
const SHOTS = new URL('../../docs/screenshots/', import.meta.url).pathname
/** The README's pictures, refreshed with PARLEY_SCREENSHOTS=1 or when missing. */
async function shoot(page: Page, name: string): Promise<void> {
  const path = joinPath(SHOTS, name)
  if (process.env.PARLEY_SCREENSHOTS === '1' || !existsSync(path)) await page.screenshot({ path })
}

const tokenOf = (link: string) => new URLSearchParams(link.split('#')[1]).get('token')!

/** Every byte the server keeps on disk: the SQLite files (database, WAL) of its data dir. */
function storeBytes(): Buffer {
  const files = readdirSync(server.dataDir, { recursive: true, withFileTypes: true })
    .filter((f) => f.isFile())
    .map((f) => joinPath(f.parentPath, f.name))
  return Buffer.concat(files.map((f) => readFileSync(f)))
}



describe.skipIf(!chromiumForTests('e2e/sealed'))('sealed caucus', () => {
  beforeAll(async () => {
    ;[server, browser] = await startBrowserSuite()
  }, 180_000)

  afterAll(() => closeBrowserSuite(people, browser, server))

  it('[SC1] two US negotiators share the sealed caucus through links with the key; the Russian side, an observer and the operator see nothing', async () => {
    const neg = await server.createNegotiation({
      title: 'Extradition of ransomware operators',
      parties: [
        { id: 'us', name: 'United States' },
        { id: 'ru', name: 'Russian Federation' },
      ],
      terms: [{ title: 'Scope', body: 'Operators of ransomware named in a request.' }],
    })
    const usLink = neg.links.negotiator.us!
    const secret = `redline-${Math.random().toString(36).slice(2, 10)}`
    const [uma, ru, press] = await Promise.all([
      openParticipant(browser, usLink, 'Uma US'),
      openParticipant(browser, neg.links.negotiator.ru!, 'Rina RU', { recordFrames: true }),
      openParticipant(browser, neg.links.observer, 'Press', { recordFrames: true }),
    ])
    people.push(uma, ru, press)

    // Uma seals the caucus: the key is made in her browser, with the warning and the download at hand.
    await uma.page.getByTestId('surface-caucus').click()
    await uma.page.getByTestId('seal-caucus').click()
    const dialog = uma.page.getByTestId('seal-dialog')
    await dialog.waitFor()
    expect(await dialog.textContent()).toContain('lost for good')
    expect(await uma.page.getByTestId('seal-confirm').isDisabled()).toBe(true)
    expect(await audit(uma.page, 'seal dialog')).toEqual([])
    await shoot(uma.page, 'seal-dialog.png')
    const key = await uma.page.getByTestId('sealed-key-text').inputValue()
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/)
    const download = uma.page.waitForEvent('download')
    await uma.page.getByTestId('sealed-key-download').click()
    const file = await download
    expect(readFileSync((await file.path())!, 'utf8')).toContain(`key: ${key}`)
    await uma.page.getByTestId('seal-confirm').click()
    await uma.page.locator('[data-testid="caucus-banner"][data-sealed="true"]').waitFor({ timeout: T })

    await addNote(uma.page, `Our ${secret}: no extradition of nationals.`)
    // The key can be looked up again, to give a colleague.
    await uma.page.getByTestId('sealed-key-open').click()
    expect(await uma.page.getByTestId('sealed-key-dialog').getByTestId('sealed-key-text').inputValue()).toBe(key)
    await uma.page.keyboard.press('Escape')

    // Ulf opens his link with the key: the sealed caucus, with Uma's note, live both ways.
    const ulfLink = await newLink(server, neg.id, 'us')
    // Everything Ulf's page sends — requests (URL, headers, body) and websocket frames — is recorded to show the key never leaves it.
    const ulf = await newParticipant(browser)
    const sent: string[] = []
    ulf.page.on('request', (r) => sent.push(r.url(), JSON.stringify(r.headers()), r.postData() ?? ''))
    ulf.page.on('websocket', (ws) => {
      sent.push(ws.url())
      ws.on('framesent', (f) => sent.push(typeof f.payload === 'string' ? f.payload : f.payload.toString('latin1')))
    })
    await join(ulf, withKey(ulfLink, key), 'Ulf US')
    people.push(ulf)
    expect(ulf.page.url()).not.toContain(key) // the fragment left the address bar
    await ulf.page.getByTestId('surface-caucus').click()
    await ulf.page.locator('[data-testid="caucus-banner"][data-sealed="true"]').waitFor({ timeout: T })
    await noteWith(ulf.page, secret).waitFor({ timeout: T })
    await addNote(ulf.page, `Fallback ${secret}-2: 90 days.`)
    await noteWith(uma.page, `${secret}-2`).waitFor({ timeout: T })

    // The history, kept in the browser, says who changed what.
    await ulf.page.getByTestId('sealed-history-open').click()
    await ulf.page.getByTestId('sealed-history-entry').first().waitFor({ timeout: T })
    expect(await ulf.page.getByTestId('sealed-history').textContent()).toContain('Ulf US')
    await uma.page.getByTestId('sealed-history-open').click()
    await uma.page.getByTestId('sealed-history-entry').filter({ hasText: 'Ulf US' }).first().waitFor({ timeout: T })
    expect(await audit(uma.page, 'sealed caucus with its history')).toEqual([])
    await shoot(uma.page, 'sealed-caucus.png')

    // A US link without the key: the shared board works; the caucus says it is sealed and takes the key.
    const vicLink = await newLink(server, neg.id, 'us')
    const vic = await openParticipant(browser, vicLink, 'Vic US')
    people.push(vic)
    await vic.page.locator('[data-testid="surface-caucus"][data-sealed="true"]').waitFor({ timeout: T })
    await vic.page.getByText('open the caucus to see how to get it').waitFor({ timeout: T })
    await vic.page.getByTestId('surface-caucus').click()
    await vic.page.getByTestId('sealed-no-key').waitFor()
    expect(await audit(vic.page, 'sealed, no key')).toEqual([])
    expect(await vic.page.getByTestId('note-card').count()).toBe(0)
    await vic.page.fill('#sealed-key-paste', 'not a key')
    await vic.page.getByTestId('sealed-key-use').click()
    await vic.page.locator('#sealed-key-error').waitFor()
    await vic.page.fill('#sealed-key-paste', withKey(vicLink, key))
    await vic.page.getByTestId('sealed-key-use').click()
    await noteWith(vic.page, `${secret}-2`).waitFor({ timeout: T })

    // The Russian delegation and the observer: nothing on screen, nothing over their sockets.
    await ru.page.getByTestId('surface-caucus').click()
    await ru.page.getByTestId('empty-board').waitFor()
    expect(await ru.page.locator('[data-testid="surface-caucus"][data-sealed="true"]').count()).toBe(0)
    await new Promise((r) => setTimeout(r, 1000))
    for (const p of [ru, press]) {
      expect(await p.page.content()).not.toContain(secret)
      expect(p.frames.length).toBeGreaterThan(0)
      expect(p.frames.some((f) => f.includes(secret))).toBe(false)
    }
    // The operator: the store holds the sealed rows, and not a byte of what was typed.
    const head = await sealedHead(server.wsUrl, sealedDocName(neg.id, 'us'), tokenOf(ulfLink), WebSocket as unknown as typeof globalThis.WebSocket)
    expect(head).toBeGreaterThan(4)
    const bytes = storeBytes()
    expect(bytes.length).toBeGreaterThan(0)
    expect(bytes.includes(secret)).toBe(false)
    expect(bytes.includes(key)).toBe(false)
    expect(sent.length).toBeGreaterThan(0)
    expect(sent.filter((x) => x.includes(key))).toEqual([])

    for (const p of people) expect(p.errors).toEqual([])
  }, 240_000)

  it('[SC2] a key that does not open the caucus is said, nothing is applied, and it can be forgotten', async () => {
    const neg = await server.createNegotiation({
      title: 'Wrong key',
      parties: [
        { id: 'us', name: 'United States' },
        { id: 'ru', name: 'Russian Federation' },
      ],
    })
    const secret = `wrongkey-${Math.random().toString(36).slice(2, 10)}`
    const uma = await openParticipant(browser, neg.links.negotiator.us!, 'Uma US')
    people.push(uma)
    await uma.page.getByTestId('surface-caucus').click()
    await uma.page.getByTestId('seal-caucus').click()
    await uma.page.getByTestId('seal-kept').check()
    await uma.page.getByTestId('seal-confirm').click()
    await addNote(uma.page, secret)

    const other = encodeSealedKey(newSealedKeyBytes())
    const eveLink = await newLink(server, neg.id, 'us')
    const eve = await openParticipant(browser, withKey(eveLink, other), 'Eve US')
    people.push(eve)
    await eve.page.getByTestId('surface-caucus').click()
    const problem = eve.page.getByTestId('sealed-problem')
    await problem.waitFor({ timeout: T })
    expect(await problem.textContent()).toContain('does not open this caucus')
    expect(await eve.page.content()).not.toContain(secret)
    expect(await eve.page.getByTestId('note-card').count()).toBe(0)
    await eve.page.getByTestId('sealed-forget-key').click()
    await eve.page.getByTestId('sealed-no-key').waitFor()
    expect(await eve.page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('parley:sealed-key:')))).toEqual([])
  }, 180_000)
})

/**
 * Offline and reload (issue 14, item 4). The board and the caucus are kept in
 * the browser (y-indexeddb), one copy per doc and link:
 *
 * - a negotiator types while the server is down; with the server back but the
 *   page's sync sockets still blocked, the browser is restarted and the page
 *   reloaded: the text is there, counted as unsaved. Once the sockets pass,
 *   the provider's sync carries it to the server, and the count clears when
 *   the server's receipts arrive;
 * - a revoked link removes its copies from the browser (clearData), says so,
 *   and leaves the copies of another party's link in the same browser alone;
 *   a link revoked while its page was closed loses its copies when reopened.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core'
import { startServer, type ServerProcess, type TestServer } from '../helpers/server'
import { synced, waitFor, yClient } from '../helpers/clients'
import { boardDocName } from '../../shared/docNames'
import { termsInOrder } from '../../shared/docLayout'
import { ensureClientBuilt } from './helpers/build'
import { CHROMIUM, chromiumForTests, launchBrowser, newParticipant, join as joinLink, type Participant } from './helpers/browser'
import { caretTo, cardBody, connection, editorText, openTerm } from './helpers/board'

const servers: ServerProcess[] = []
const profiles: string[] = []
const contexts: BrowserContext[] = []
let browser: Browser | undefined
let server: TestServer | undefined
const people: Participant[] = []

/** The jti of a token: the identity its local copies are named by. */
const jtiOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).jti as string

/** The names of the IndexedDB databases of the page's origin. */
const databases = (page: Page) => page.evaluate(async () => (await indexedDB.databases()).map((d) => d.name ?? '').sort())

/** A browser with a profile on disk, so IndexedDB outlives a restart (launchBrowser's contexts are in memory). */
async function persistentBrowser(profile: string): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1280, height: 800 },
    args: [
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-quic',
      '--no-first-run',
      '--disable-gpu',
      '--disable-dev-shm-usage',
    ],
  })
  contexts.push(context)
  const page = context.pages()[0] ?? (await context.newPage())
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error' && !/WebSocket|ERR_CONNECTION|Failed to load resource|socket\.io/i.test(m.text())) {
      errors.push(`console: ${m.text()}`)
    }
  })
  return { context, page, errors }
}

/**
 * The page's Yjs sockets (/yjs/…) fail as if the network dropped them while `blocked()`;
 * otherwise they reach the server. The control channel and HTTP are untouched.
 */
async function gateSyncSockets(context: BrowserContext, blocked: () => boolean): Promise<void> {
  await context.routeWebSocket(/\/yjs\//, (ws) => {
    if (blocked()) ws.close({ code: 1006, reason: 'blocked by the test' })
    else ws.connectToServer()
  })
}

describe.skipIf(!chromiumForTests('e2e/offline'))('offline and reload', () => {
  afterAll(async () => {
    await Promise.all(people.map((p) => p.close().catch(() => {})))
    for (const c of contexts) await c.close().catch(() => {})
    await browser?.close()
    await server?.close()
    for (const s of servers) await s.kill('SIGTERM').catch(() => {})
    for (const d of [...profiles, ...new Set(servers.map((s) => s.dataDir))]) rmSync(d, { recursive: true, force: true })
  })

  it('[E7] edits typed while the server is down survive a browser restart and a reload offline, then reach the server', async () => {
    await ensureClientBuilt()
    const first = await startServer({ spawn: true })
    servers.push(first)
    const neg = await first.createNegotiation({
      title: 'Fisheries',
      parties: [
        { id: 'north', name: 'Northland' },
        { id: 'south', name: 'Southland' },
      ],
      terms: [{ title: 'Quota', body: 'Catch is capped.' }],
    })
    const profile = mkdtempSync(join(tmpdir(), 'parley-offline-'))
    profiles.push(profile)

    // Online: join and type; saved.
    let nora = await persistentBrowser(profile)
    await joinLink({ page: nora.page } as Participant, neg.links.negotiator.north!, 'Nora North')
    await openTerm(nora.page, 'Quota')
    await caretTo(nora.page, 'end')
    await nora.page.keyboard.type(' Per season.', { delay: 10 })
    await waitFor(async () => (await connection(nora.page)).unsaved === 0, { timeout: 15_000, what: 'online words saved' })
    const copies = await databases(nora.page)
    const identity = jtiOf(neg.tokens.negotiator.north!)
    expect(copies).toContain(`parley:${neg.id}/board:${identity}`)
    expect(copies).toContain(`parley:${neg.id}/caucus/north:${identity}`)
    expect(copies.some((n) => n.includes('/ledger'))).toBe(false)

    // The server goes away; she keeps typing.
    await first.kill('SIGKILL')
    await nora.page.keyboard.type(' Offline line.', { delay: 10 })
    await waitFor(async () => (await connection(nora.page)).state === 'reconnecting', { timeout: 20_000, what: 'reconnecting' })
    expect((await connection(nora.page)).unsaved).toBeGreaterThan(0)
    const expected = 'Catch is capped. Per season. Offline line.'
    expect(await editorText(nora.page)).toBe(expected)
    await new Promise((r) => setTimeout(r, 800)) // the copy's bookkeeping is written every 300 ms

    // The server is back, but this browser cannot reach its sync sockets. The browser restarts.
    let blocked = true
    const second = await startServer({ spawn: true, port: first.port, dataDir: first.dataDir })
    servers.push(second)
    await nora.context.close()
    nora = await persistentBrowser(profile)
    await gateSyncSockets(nora.context, () => blocked)
    // The token and the name come from this browser's storage: the bare address opens the board.
    await nora.page.goto(`${second.url}/n/${neg.id}`)
    await expect.poll(() => cardBody(nora.page, 'Quota'), { timeout: 20_000 }).toBe(expected)
    let status = await connection(nora.page)
    expect(status.state).not.toBe('live')
    expect(status.unsaved).toBeGreaterThan(0)

    // A reload, still without the sockets: the same.
    await nora.page.reload()
    await expect.poll(() => cardBody(nora.page, 'Quota'), { timeout: 20_000 }).toBe(expected)
    await openTerm(nora.page, 'Quota')
    expect(await editorText(nora.page)).toBe(expected)
    status = await connection(nora.page)
    expect(status.state).toBe('reconnecting')
    expect(status.unsaved).toBeGreaterThan(0)
    expect(await nora.page.getByTestId('connection-status').textContent()).toMatch(/Reconnecting · \d+ unsynced change/)

    // The sockets pass again: the provider's sync carries the edit; the receipts clear the count.
    blocked = false
    await waitFor(
      async () => {
        const c = await connection(nora.page)
        return c.state === 'live' && c.unsaved === 0
      },
      { timeout: 40_000, what: 'live with everything saved' },
    )
    expect(await editorText(nora.page)).toBe(expected)

    // It is on the server: a second client reads it from there.
    const reader = yClient(second.wsUrl, boardDocName(neg.id), { token: neg.tokens.observer, name: 'reader' })
    try {
      await synced(reader)
      expect(termsInOrder(reader.doc).map((t) => t.body)).toEqual([expected])
    } finally {
      reader.destroy()
    }
    // Nothing waits for a receipt after a reload that found nothing unsaved.
    await nora.page.reload()
    await nora.page.locator('[data-testid="connection-status"][data-state="live"]').waitFor({ timeout: 30_000 })
    expect((await connection(nora.page)).unsaved).toBe(0)
    expect(nora.errors).toEqual([])
  }, 240_000)

  it('[E8] a revoked link removes its local copies, and says so; another party’s copies in the same browser stay', async () => {
    await ensureClientBuilt()
    ;[server, browser] = await Promise.all([startServer(), launchBrowser()])
    const srv = server
    const neg = await srv.createNegotiation({
      title: 'Water rights',
      parties: [
        { id: 'up', name: 'Upriver' },
        { id: 'down', name: 'Downriver' },
      ],
      terms: [{ title: 'Flow', body: 'A minimum flow is kept.' }],
    })
    const upId = jtiOf(neg.tokens.negotiator.up!)
    const downId = jtiOf(neg.tokens.negotiator.down!)
    const revoke = async (jti: string) => {
      const res = await srv.api(`/api/tokens/${jti}`, { method: 'DELETE', token: srv.parley.adminToken })
      expect(res.status).toBe(204)
    }

    // Both delegations' links in one browser (one IndexedDB), each in its own tab.
    const up = await newParticipant(browser)
    people.push(up)
    await joinLink(up, neg.links.negotiator.up!, 'Uma Up')
    await openTerm(up.page, 'Flow')
    await caretTo(up.page, 'end')
    await up.page.keyboard.type(' Upstream.', { delay: 10 })
    await waitFor(async () => (await connection(up.page)).unsaved === 0, { timeout: 15_000, what: 'saved' })
    const downPage = await up.context.newPage()
    await joinLink({ page: downPage } as Participant, neg.links.negotiator.down!, 'Dan Down')

    const mine = [`parley:${neg.id}/board:${upId}`, `parley:${neg.id}/caucus/up:${upId}`]
    const theirs = [`parley:${neg.id}/board:${downId}`, `parley:${neg.id}/caucus/down:${downId}`]
    await expect.poll(() => databases(up.page), { timeout: 10_000 }).toEqual(expect.arrayContaining([...mine, ...theirs]))

    // Upriver's link is revoked while its page is open.
    await revoke(upId)
    const ended = up.page.getByTestId('session-ended')
    await ended.waitFor({ timeout: 15_000 })
    expect(await ended.textContent()).toContain('Your access has ended')
    await up.page.getByTestId('local-copy-removed').waitFor({ timeout: 10_000 })
    expect(await up.page.getByTestId('local-copy-removed').textContent()).toBe('The local copy on this device was removed.')
    let left = await databases(up.page)
    for (const n of mine) expect(left).not.toContain(n)
    for (const n of theirs) expect(left).toContain(n)

    // Reopened, the link is refused and there is still no copy.
    await up.page.reload()
    await up.page.getByTestId('link-error').waitFor({ timeout: 15_000 })
    left = await databases(up.page)
    expect(left.filter((n) => n.endsWith(`:${upId}`))).toEqual([])

    // Downriver's link is revoked while its tab is closed: reopening it removes its copies.
    await downPage.close()
    await revoke(downId)
    const again = await up.context.newPage()
    await again.goto(neg.links.negotiator.down!)
    await again.getByTestId('link-error').waitFor({ timeout: 15_000 })
    await expect
      .poll(async () => (await databases(again)).filter((n) => n.endsWith(`:${downId}`)), { timeout: 10_000 })
      .toEqual([])
    expect(up.errors).toEqual([])
  }, 180_000)
})

/**
 * Issue #11 in the browser: [E11a] a board whose stored log holds a
 * malformed entry (written before the server refused them) still draws for
 * negotiators and observers alike, with a notice naming what was skipped —
 * it used to hang on "Loading the board…"; [E11b] the client's websockets
 * carry no token in their URL (it rides in Sec-WebSocket-Protocol).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import * as Y from 'yjs'
import { board } from '../../shared/docLayout'
import { SqliteStore } from '../../server/store/sqlite'
import { startServer, type TestServer } from '../helpers/server'
import { yClient, synced, updateFrom } from '../helpers/clients'
import { ensureClientBuilt } from './helpers/build'
import { chromiumForTests, launchBrowser, newParticipant, openParticipant, type Participant } from './helpers/browser'
import { card } from './helpers/board'

let server: TestServer | undefined
let browser: Browser
const people: Participant[] = []

describe.skipIf(!chromiumForTests('e2e/hardening'))('hardening in the browser', () => {
  beforeAll(async () => {
    await ensureClientBuilt()
    browser = await launchBrowser()
  }, 180_000)

  afterAll(async () => {
    await Promise.all(people.map((p) => p.close().catch(() => {})))
    await browser?.close()
    await server?.close()
  })

  it('[E11a] a stored malformed entry is skipped visibly; the board draws for negotiators and observers', async () => {
    // A store written before the layout check: the malformed row goes straight into its file.
    const first = await startServer()
    const neg = await first.createNegotiation({
      title: 'Old store',
      parties: [
        { id: 'us', name: 'United States' },
        { id: 'ru', name: 'Russian Federation' },
      ],
      terms: [{ title: 'Scope', body: 'Each party extradites persons charged with ransomware attacks.' }],
    })
    const name = `${neg.id}/board`
    const c = yClient(first.wsUrl, name, { token: neg.tokens.observer, name: 'probe' })
    await synced(c)
    const base = Y.encodeStateAsUpdate(c.doc)
    c.destroy()
    await first.close()
    const store = new SqliteStore(`${first.dataDir}/parley.db`)
    await store.appendUpdates([
      {
        doc: name,
        at: Date.now(),
        author: { user: 'Mallory', party: 'us', role: 'negotiator', conn: 'c-old' },
        update: updateFrom((d) => board(d).terms.set('bad', 'not a map' as never), { base, clientID: 99 }),
      },
    ])
    await store.close()
    server = await startServer({ dataDir: first.dataDir })

    const [ru, press] = await Promise.all([
      openParticipant(browser, neg.links.negotiator.ru!.replace(first.url, server.url), 'Anna'),
      openParticipant(browser, neg.links.observer.replace(first.url, server.url), 'Press'),
    ])
    people.push(ru, press)
    for (const p of [ru, press]) {
      await card(p.page, 'Scope').waitFor()
      const banner = p.page.getByTestId('malformed-banner')
      await banner.waitFor()
      expect(await banner.textContent()).toContain('terms/bad')
      expect(p.errors).toEqual([])
    }
  })

  it('[E11b] the client opens its websockets without a token in the URL', async () => {
    const s = server ?? (server = await startServer())
    const neg = await s.createNegotiation({
      title: 'Tokens',
      parties: [
        { id: 'a', name: 'Alpha' },
        { id: 'b', name: 'Beta' },
      ],
      terms: [{ title: 'Term', body: 'Text' }],
    })
    const p = await newParticipant(browser)
    people.push(p)
    const urls: string[] = []
    p.page.on('websocket', (ws) => urls.push(ws.url()))
    await p.page.goto(neg.links.negotiator.a!)
    const prompt = p.page.getByTestId('name-prompt')
    const live = p.page.locator('[data-testid="connection-status"][data-state="live"]')
    await prompt.or(live).first().waitFor({ timeout: 45_000 })
    if (await prompt.isVisible()) {
      await p.page.fill('#display-name', 'Al')
      await p.page.getByTestId('join').click()
    }
    await live.waitFor({ timeout: 45_000 })
    const yjs = urls.filter((u) => u.includes('/yjs/'))
    expect(yjs.length).toBeGreaterThanOrEqual(2)
    for (const u of urls) expect(u).not.toContain(neg.tokens.negotiator.a!)
    for (const u of yjs) expect(new URL(u).searchParams.has('token')).toBe(false)
  })
})

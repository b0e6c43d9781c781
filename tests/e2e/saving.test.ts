/**
 * Offline edits and "saving paused" (issue 4, item 4). With the network gone
 * the page says "offline" with the number of unsynced changes and sends them
 * when it is back. When the server cannot write to its
 * store it refuses updates with the `store-unavailable` permission-denied
 * message. The page says saving is paused and keeps counting the unsaved
 * changes; once the store answers again everything is sent and saved.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import type { TestServer } from '../helpers/server'
import { waitFor } from '../helpers/clients'
import { closeBrowserSuite, startBrowserSuite } from './helpers/suite'
import { chromiumForTests, openParticipant, type Participant } from './helpers/browser'
import { caretTo, cardBody, connection, editorText, openTerm } from './helpers/board'

let server: TestServer
let browser: Browser
const people: Participant[] = []

describe.skipIf(!chromiumForTests('e2e/saving'))('saving paused', () => {
  beforeAll(async () => {
    ;[server, browser] = await startBrowserSuite()
  }, 180_000)

  afterAll(() => closeBrowserSuite(people, browser, server))

  it('[E6] offline and a store outage show the unsaved count ("offline", "saving paused"); everything is saved once they pass', async () => {
    const neg = await server.createNegotiation({
      title: 'Airspace',
      parties: [
        { id: 'a', name: 'Avia' },
        { id: 'b', name: 'Borea' },
      ],
      terms: [{ title: 'Overflight', body: 'Civil flights may cross.' }],
    })
    const a = await openParticipant(browser, neg.links.negotiator.a!, 'Ada')
    people.push(a)
    await openTerm(a.page, 'Overflight')
    await caretTo(a.page, 'end')

    // The network goes away: the page says so, counts the unsynced changes, and sends them when it is back.
    await a.context.setOffline(true)
    await a.page.keyboard.type(' Civil', { delay: 10 })
    await waitFor(async () => (await connection(a.page)).state === 'offline', { timeout: 15_000, what: 'offline shown' })
    expect((await connection(a.page)).unsaved).toBeGreaterThan(0)
    expect(await a.page.getByTestId('connection-status').textContent()).toMatch(/Offline · \d+ unsynced change/)
    await a.context.setOffline(false)
    await waitFor(
      async () => {
        const c = await connection(a.page)
        return c.state === 'live' && c.unsaved === 0
      },
      { timeout: 40_000, what: 'back online with everything saved' },
    )

    // The store stops answering.
    const store = server.parley.store
    const append = store.appendUpdates
    const ping = store.ping
    const down = () => Promise.reject(new Error('disk unplugged'))
    store.appendUpdates = down
    store.ping = down
    try {
      await a.page.keyboard.type(' Military flights need', { delay: 10 })
      await waitFor(async () => (await connection(a.page)).state === 'paused', { timeout: 15_000, what: 'saving paused' })
      await a.page.keyboard.type(' a permit.', { delay: 10 })
      const during = await connection(a.page)
      expect(during.unsaved).toBeGreaterThan(0)
      expect(await a.page.getByTestId('connection-status').textContent()).toMatch(/Saving paused · \d+ unsynced/)
    } finally {
      store.appendUpdates = append
      store.ping = ping
    }

    // It answers again: the server asks for what it missed, the page sends it, everything is saved.
    await waitFor(
      async () => {
        const c = await connection(a.page)
        return c.state === 'live' && c.unsaved === 0
      },
      { timeout: 40_000, what: 'saved after recovery' },
    )
    const expected = 'Civil flights may cross. Civil Military flights need a permit.'
    expect(await editorText(a.page)).toBe(expected)
    const press = await openParticipant(browser, neg.links.observer, 'Press')
    people.push(press)
    await expect.poll(() => cardBody(press.page, 'Overflight'), { timeout: 15_000 }).toBe(expected)
    expect(a.errors).toEqual([])
  }, 180_000)
})

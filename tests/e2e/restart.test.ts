/**
 * Killing the server while a negotiator keeps typing loses nothing (issue 4,
 * item 7): the server runs as a child process, is SIGKILLed mid-sentence and
 * started again on the same port and data dir. Meanwhile the page says it is
 * reconnecting with N unsynced changes; afterwards every keystroke is on the
 * server, as a fresh browser sees it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import { startServer, type ServerProcess } from '../helpers/server'
import { waitFor } from '../helpers/clients'
import { ensureClientBuilt } from './helpers/build'
import { chromiumForTests, launchBrowser, openParticipant, type Participant } from './helpers/browser'
import { caretTo, cardBody, connection, editorText, openTerm } from './helpers/board'

let browser: Browser
const servers: ServerProcess[] = []
const people: Participant[] = []

describe.skipIf(!chromiumForTests('e2e/restart'))('server restart', () => {
  beforeAll(async () => {
    await ensureClientBuilt()
    browser = await launchBrowser()
  }, 240_000)

  afterAll(async () => {
    await Promise.all(people.map((p) => p.close().catch(() => {})))
    await browser?.close()
    for (const s of servers) await s.kill('SIGTERM').catch(() => {})
  })

  it('[E5] SIGKILL and restart on the same port and data dir while a negotiator types: nothing is lost', async () => {
    const first = await startServer({ spawn: true })
    servers.push(first)
    const neg = await first.createNegotiation({
      title: 'Grain corridor',
      parties: [
        { id: 'east', name: 'Eastland' },
        { id: 'west', name: 'Westland' },
      ],
      terms: [{ title: 'Inspections', body: 'Ships are inspected once.' }],
    })

    const east = await openParticipant(browser, neg.links.negotiator.east!, 'Eve East')
    people.push(east)
    const page = east.page
    await openTerm(page, 'Inspections')
    await caretTo(page, 'end')

    const typed: string[] = []
    const type = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const word = ` w${typed.length}`
        await page.keyboard.type(word, { delay: 8 })
        typed.push(word)
      }
    }

    await type(6)
    await waitFor(async () => (await connection(page)).unsaved === 0, { timeout: 15_000, what: 'first words saved' })

    // Kill the server mid-sentence; keep typing while it is gone.
    const killing = first.kill('SIGKILL')
    await type(4)
    await killing
    await type(6)
    await waitFor(async () => (await connection(page)).state === 'reconnecting', { timeout: 20_000, what: 'reconnecting shown' })
    const during = await connection(page)
    expect(during.unsaved).toBeGreaterThan(0)
    expect(await page.getByTestId('connection-status').textContent()).toMatch(/\d+ unsynced change/)

    // Start it again on the same port and data dir, typing all the while.
    let restarted = false
    const restarting = startServer({ spawn: true, port: first.port, dataDir: first.dataDir }).then((s) => {
      servers.push(s)
      restarted = true
      return s
    })
    while (!restarted) await type(1)
    await restarting
    await type(5)

    await waitFor(
      async () => {
        const c = await connection(page)
        return c.state === 'live' && c.unsaved === 0
      },
      { timeout: 60_000, what: 'live again with everything saved' },
    )
    const expected = 'Ships are inspected once.' + typed.join('')
    expect(await editorText(page)).toBe(expected)

    // A newcomer sees exactly the same text: it is on the server, not just in the typist's tab.
    const press = await openParticipant(browser, neg.links.observer, 'Press')
    people.push(press)
    await expect.poll(() => cardBody(press.page, 'Inspections'), { timeout: 15_000 }).toBe(expected)

    expect(east.errors).toEqual([])
    expect(press.errors).toEqual([])
  }, 240_000)
})

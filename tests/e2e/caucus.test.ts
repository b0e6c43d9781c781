/**
 * Caucus boards (issue 4, item 6): each delegation's private board beside the
 * shared one, one click away. A caucus note reaches the delegation's other
 * members live and never the other delegation or an observer — not on
 * screen, and not a byte of it over their websockets.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser } from 'playwright-core'
import type { TestServer } from '../helpers/server'
import { closeBrowserSuite, startBrowserSuite } from './helpers/suite'
import { chromiumForTests, openParticipant, type Participant } from './helpers/browser'
import { card } from './helpers/board'

let server: TestServer
let browser: Browser
const people: Participant[] = []

describe.skipIf(!chromiumForTests('e2e/caucus'))('caucus', () => {
  beforeAll(async () => {
    ;[server, browser] = await startBrowserSuite()
  }, 180_000)

  afterAll(() => closeBrowserSuite(people, browser, server))

  it('[E4] a caucus note reaches the own delegation only: never the other delegation or the observer', async () => {
    const neg = await server.createNegotiation({
      title: 'Water sharing',
      parties: [
        { id: 'up', name: 'Upstream' },
        { id: 'down', name: 'Downstream' },
      ],
      terms: [{ title: 'Minimum flow', body: 'The river keeps 40 m³/s at the border.' }],
    })
    const secret = `fallback-${Math.random().toString(36).slice(2, 10)}`
    const [up1, up2, down, press] = await Promise.all([
      openParticipant(browser, neg.links.negotiator.up!, 'Uma Up'),
      openParticipant(browser, neg.links.negotiator.up!, 'Ulf Up'),
      openParticipant(browser, neg.links.negotiator.down!, 'Dan Down', { recordFrames: true }),
      openParticipant(browser, neg.links.observer, 'Press', { recordFrames: true }),
    ])
    people.push(up1, up2, down, press)

    // Watchers have no caucus control at all.
    expect(await press.page.getByTestId('surface-caucus').count()).toBe(0)

    // One click to the caucus; the banner says who can see it.
    await up1.page.getByTestId('surface-caucus').click()
    await up1.page.getByTestId('caucus-banner').waitFor()
    expect(await up1.page.getByTestId('canvas').getAttribute('data-surface')).toBe('caucus')
    await up2.page.getByTestId('surface-caucus').click()

    // A note on the caucus board, written in the collaborative editor.
    await up1.page.getByTestId('new-note').click()
    await up1.page.getByTestId('note-card').locator('button.as-button').click()
    await up1.page.locator('[data-testid="note-editor"][data-ready="true"] .cm-content').waitFor()
    // Mixed scripts: the note keeps Cyrillic and Arabic exactly, each line in its own direction.
    await up1.page.keyboard.type(`Our ${secret}: accept 35 m³/s. Наша позиция — موقفنا النهائي`)
    await up1.page.keyboard.press('Escape')

    // The other member of the delegation sees it live; the caucus draft can go to the shared board.
    // (waited for whole: the note arrives as it is typed)
    await up2.page.getByTestId('note-card').filter({ hasText: 'موقفنا النهائي' }).waitFor({ timeout: 10_000 })
    expect(await up2.page.getByTestId('note-card').locator('button.as-button').textContent()).toContain(
      'Наша позиция — موقفنا النهائي',
    )
    expect(await up2.page.getByTestId('note-card').locator('button.as-button').getAttribute('dir')).toBe('auto')
    await up1.page.getByTestId('new-term').click()
    await up1.page.fill('#new-term-title', 'Dry-season clause')
    await up1.page.fill('#new-term-body', 'Below 30 m³/s both sides cut withdrawals by half.')
    await up1.page.getByTestId('create-term').click()
    await up1.page.getByTestId('propose-draft').click()
    expect(await up1.page.getByTestId('canvas').getAttribute('data-surface')).toBe('board')
    await card(down.page, 'Dry-season clause').waitFor({ timeout: 10_000 })
    expect(await card(down.page, 'Dry-season clause').textContent()).toContain('Proposed by Upstream')

    // The other delegation's own caucus is a different, empty board.
    await down.page.getByTestId('surface-caucus').click()
    await down.page.getByTestId('empty-board').waitFor()
    await down.page.getByTestId('surface-board').click()

    // Give any leak time to arrive, then look everywhere it could show.
    await new Promise((r) => setTimeout(r, 1500))
    for (const p of [down, press]) {
      expect(await p.page.content()).not.toContain(secret)
      expect(p.frames.length).toBeGreaterThan(0)
      expect(p.frames.some((f) => f.includes(secret))).toBe(false)
    }
    expect(await down.page.getByTestId('note-card').count()).toBe(0)
    expect(await press.page.getByTestId('note-card').count()).toBe(0)

    for (const p of people) expect(p.errors).toEqual([])
  }, 180_000)
})

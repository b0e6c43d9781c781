/**
 * Comment threads and catch-up in the browser (issue 14, items 1 and 3;
 * CONTRACT.md "Comments and catch-up"): two delegations discuss a clause —
 * words selected in the term's text, a reply arriving live, @mentions,
 * edit, delete, resolve —; a delegation's internal thread never reaches the
 * other side (not even a byte over its websockets); an observer reads the
 * shared threads with no way to write; a negotiator coming back after the
 * other side edited and commented is shown what changed since. axe-core on
 * every new surface. Refreshes docs/screenshots/comments.png and catchup.png
 * (with PARLEY_SCREENSHOTS=1, or when they are missing).
 */
import { existsSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import type { TestServer } from '../helpers/server'
import { closeBrowserSuite, startBrowserSuite } from './helpers/suite'
import { audit } from './helpers/axe'
import { chromiumForTests, openParticipant, type Participant } from './helpers/browser'
import { card, cardBody, openTerm, selectWords, US_AND_RU } from './helpers/board'

const ROOT = new URL('../../', import.meta.url).pathname
const SHOTS = join(ROOT, 'docs/screenshots')
const SIZE = { width: 1440, height: 900 }
const T = 15_000

const SCOPE = 'Each party extradites persons charged with ransomware attacks on critical infrastructure.'
const DEADLINE = 'Requests are answered within 30 days.'

let server: TestServer
let browser: Browser
const people: Participant[] = []

const shoot = (name: string) => process.env.PARLEY_SCREENSHOTS === '1' || !existsSync(join(SHOTS, name))

async function enter(link: string, name: string, opts: { recordFrames?: boolean } = {}): Promise<Participant> {
  const p = await openParticipant(browser, link, name, { ...SIZE, ...opts })
  people.push(p)
  return p
}

const thread = (page: Page, hasText: string) => page.getByTestId('thread').filter({ hasText })

/** The words marked in the open term's text. */
const marked = (page: Page) =>
  page.locator('[data-testid="body-editor"] .cm-thread-mark').evaluateAll((els) => els.map((e) => e.textContent ?? ''))

/** Opens a thread on the whole open term and posts `body` in `scope`. */
async function commentOnTerm(page: Page, body: string, scope: 'shared' | 'delegation' = 'shared'): Promise<void> {
  await page.getByTestId('comment-term').click()
  await page.getByTestId('new-thread').waitFor()
  if (scope === 'delegation') await page.getByTestId('scope-delegation').check()
  await page.getByTestId('new-thread').getByTestId('comment-input').fill(body)
  await page.getByTestId('new-thread').getByTestId('comment-submit').click()
  await thread(page, body).waitFor({ timeout: T })
}

describe.skipIf(!chromiumForTests('e2e/comments'))('comment threads and catch-up', () => {
  let neg: CreatedNegotiation
  let us: Participant
  let ru: Participant
  let press: Participant

  beforeAll(async () => {
    ;[server, browser] = await startBrowserSuite()
    neg = await server.createNegotiation({
      title: 'Cybercrime cooperation',
      parties: US_AND_RU,
      terms: [
        { title: 'Scope', body: SCOPE },
        { title: 'Response deadline', body: DEADLINE },
      ],
    })
    ;[us, ru, press] = await Promise.all([
      enter(neg.links.negotiator.us!, 'Jane Carter'),
      enter(neg.links.negotiator.ru!, 'Ivan Petrov', { recordFrames: true }),
      enter(neg.links.observer, 'Press pool', { recordFrames: true }),
    ])
  }, 180_000)

  afterAll(() => closeBrowserSuite(people, browser, server))

  it('[CE1] US opens a thread on selected words, RU replies live, edits and deletes show, US resolves', async () => {
    const question = 'Does this cover groups acting for a state?'
    await openTerm(us.page, 'Scope')
    expect(await us.page.getByTestId('comment-selection').isDisabled()).toBe(true)
    await selectWords(us.page, 'ransomware attacks')
    await us.page.getByTestId('comment-selection').click()
    const draft = us.page.getByTestId('new-thread')
    expect(await draft.locator('q').textContent()).toBe('ransomware attacks')
    // Shared is the default; the choice is there.
    expect(await us.page.getByTestId('scope-shared').isChecked()).toBe(true)
    // @ offers the participants; Enter picks one.
    const box = draft.getByTestId('comment-input')
    await box.pressSequentially('@Iv')
    await us.page.getByTestId('mention-list').waitFor({ timeout: T })
    expect((await us.page.getByTestId('mention-option').allTextContents()).map((t) => t.trim())).toEqual(['Ivan Petrov'])
    await us.page.keyboard.press('Enter')
    await box.pressSequentially(question)
    expect(await box.inputValue()).toBe(`@Ivan Petrov ${question}`)
    await draft.getByTestId('comment-submit').click()

    // The thread shows beside the text, its words marked in the editor.
    await thread(us.page, question).waitFor({ timeout: T })
    // From here on by its id: its text changes (edits, the edit box).
    const key = await thread(us.page, question).getAttribute('data-thread-key')
    const byKey = (page: Page) => page.locator(`[data-testid="thread"][data-thread-key="${key}"]`)
    const mine = byKey(us.page)
    expect(await mine.getByTestId('thread-quote').textContent()).toContain('ransomware attacks')
    await expect.poll(() => marked(us.page), { timeout: T }).toEqual(['ransomware attacks'])
    expect(await mine.locator('.mention').textContent()).toBe('@Ivan Petrov')

    // RU sees the count on the card, opens the term and replies.
    await card(ru.page, 'Scope').getByTestId('card-threads').waitFor({ timeout: T })
    expect((await card(ru.page, 'Scope').getByTestId('card-threads').textContent())?.trim()).toBe('1')
    await openTerm(ru.page, 'Scope')
    await expect.poll(() => marked(ru.page), { timeout: T }).toEqual(['ransomware attacks'])
    const theirs = byKey(ru.page)
    await theirs.waitFor({ timeout: T })
    const answer = 'Only when the group is named in the request.'
    await theirs.getByTestId('reply-button').click()
    await theirs.getByTestId('comment-input').fill(answer)
    await theirs.getByTestId('comment-submit').click()

    // Live on the US screen, no reload.
    await mine.getByTestId('comment').filter({ hasText: answer }).waitFor({ timeout: T })
    expect(await mine.getByTestId('comment').count()).toBe(2)

    // Comment bodies are plain text: markup arrives as text.
    const markup = '<img src=x onerror="window.__pwned=1"> <b>bold?</b>'
    await mine.getByTestId('reply-button').click()
    await mine.getByTestId('comment-input').fill(markup)
    await mine.getByTestId('comment-submit').click()
    const typed = theirs.getByTestId('comment').filter({ hasText: '<b>bold?</b>' })
    await typed.waitFor({ timeout: T })
    expect(await typed.getByTestId('comment-body').textContent()).toBe(markup)
    expect(await ru.page.evaluate(() => (window as { __pwned?: number }).__pwned)).toBeUndefined()
    expect(await theirs.locator('[data-testid="comment-body"] img, [data-testid="comment-body"] b').count()).toBe(0)

    // Only its author may edit or delete a comment; a deleted one says so.
    const own = mine.getByTestId('comment').filter({ hasText: '<b>bold?</b>' })
    expect(
      await theirs.getByTestId('comment').filter({ hasText: '<b>bold?</b>' }).getByTestId('comment-edit-button').count(),
    ).toBe(0)
    await own.getByTestId('comment-delete-button').click()
    await own.getByTestId('comment-delete-confirm').click()
    await theirs.getByTestId('comment-deleted').waitFor({ timeout: T })
    expect(await theirs.getByTestId('comment-deleted').textContent()).toBe('Comment deleted')
    const first = mine.getByTestId('comment').first()
    await first.getByTestId('comment-edit-button').click()
    await first.getByTestId('comment-input').fill(`@Ivan Petrov ${question} Including contractors?`)
    await first.getByTestId('comment-submit').click()
    await theirs.getByTestId('comment').first().filter({ hasText: 'Including contractors?' }).waitFor({ timeout: T })
    expect(await theirs.getByTestId('comment').first().textContent()).toContain('(edited)')

    // The observer reads it, with the same marks.
    await card(press.page, 'Scope').getByTestId('card-threads').waitFor({ timeout: T })
    await openTerm(press.page, 'Scope')
    await thread(press.page, answer).waitFor({ timeout: T })
    await expect.poll(() => marked(press.page), { timeout: T }).toEqual(['ransomware attacks'])

    // The discussed clause, as the US delegation sees it.
    // The thread just opened is the one marked strongest; its quote toggles that.
    const quote = mine.getByTestId('thread-quote')
    expect(await quote.getAttribute('aria-pressed')).toBe('true')
    await expect.poll(() => us.page.locator('.cm-thread-active').count()).toBeGreaterThan(0)
    await quote.click()
    await expect.poll(() => us.page.locator('.cm-thread-active').count()).toBe(0)
    await quote.click()
    await expect.poll(() => us.page.locator('.cm-thread-active').count()).toBeGreaterThan(0)
    const problems = await audit(us.page, 'term panel with a thread')
    if (shoot('comments.png')) {
      mkdirSync(SHOTS, { recursive: true })
      // The text with its marked words at the top, the thread under it.
      await us.page.locator('aside.side').evaluate((el) => el.scrollTo(0, 0))
      await us.page.mouse.move(0, SIZE.height - 1)
      await us.page.screenshot({ path: join(SHOTS, 'comments.png') })
    }

    // US resolves: the thread folds away on both screens, the card's count goes.
    await mine.getByTestId('resolve-button').click()
    await ru.page
      .locator('[data-testid="thread"][data-resolved="true"]')
      .filter({ hasText: answer })
      .waitFor({ state: 'attached', timeout: T })
    await expect.poll(() => card(ru.page, 'Scope').getByTestId('card-threads').count(), { timeout: T }).toBe(0)
    await expect.poll(() => marked(ru.page), { timeout: T }).toEqual([])
    await ru.page.getByTestId('resolved-threads').locator('summary').click()
    await thread(ru.page, answer).getByTestId('thread-resolved').waitFor()
    // ... and anyone may reopen it.
    await thread(ru.page, answer).getByTestId('reopen-thread-button').click()
    await us.page.locator('[data-testid="thread"][data-resolved="false"]').filter({ hasText: answer }).waitFor({ timeout: T })
    await thread(us.page, answer).getByTestId('resolve-button').click()
    await us.page
      .locator('[data-testid="thread"][data-resolved="true"]')
      .filter({ hasText: answer })
      .waitFor({ state: 'attached', timeout: T })

    // Words deleted under a thread: it says so and keeps its quote.
    await us.page.getByTestId('comment-term').waitFor()
    await selectWords(us.page, 'critical infrastructure')
    await us.page.getByTestId('comment-selection').click()
    await us.page.getByTestId('new-thread').getByTestId('comment-input').fill('Too broad.')
    await us.page.getByTestId('new-thread').getByTestId('comment-submit').click()
    await expect.poll(() => marked(ru.page), { timeout: T }).toEqual(['critical infrastructure'])
    await selectWords(ru.page, ' on critical infrastructure')
    await ru.page.keyboard.press('Delete')
    const gone = thread(us.page, 'Too broad.').getByTestId('thread-words-deleted')
    await gone.waitFor({ timeout: T })
    expect(await gone.textContent()).toContain('critical infrastructure')

    problems.push(...(await audit(ru.page, 'term panel with resolved and deleted-words threads')))
    expect(problems, problems.join('\n')).toEqual([])
    for (const p of [us, ru, press]) expect(p.errors).toEqual([])
  }, 240_000)

  it('[CE2] an internal thread reaches the own delegation only: never the other side or the observer, not even its frames', async () => {
    const secret = `walk-away-${Math.random().toString(36).slice(2, 10)}`
    const colleague = await enter(neg.links.negotiator.us!, 'Ulf Berg')
    await openTerm(us.page, 'Response deadline')
    await us.page.getByTestId('comment-term').click()
    // The choice says who reads it.
    expect(await us.page.getByTestId('new-thread').textContent()).toContain('Only United States (internal)')
    await us.page.getByTestId('new-thread').getByTestId('comment-input').fill(`Our ${secret}: accept 45 days.`)
    await us.page.getByTestId('scope-delegation').check()
    await us.page.getByTestId('new-thread').getByTestId('comment-submit').click()
    await thread(us.page, secret).getByTestId('thread-internal').waitFor({ timeout: T })

    // The colleague of the same delegation gets it live.
    await colleague.page.getByTestId('comments-button').click()
    await colleague.page.getByTestId('comments-panel').waitFor()
    await thread(colleague.page, secret).waitFor({ timeout: T })
    expect(await thread(colleague.page, secret).textContent()).toContain('Internal · United States')

    // A shared comment posted after it, so the other side's channels have certainly carried later traffic.
    await commentOnTerm(us.page, 'Could 45 days work for both?')
    await card(ru.page, 'Response deadline').getByTestId('card-threads').waitFor({ timeout: T })
    await ru.page.getByTestId('comments-button').click()
    await ru.page.getByTestId('comments-panel').waitFor()
    await thread(ru.page, 'Could 45 days work for both?').waitFor({ timeout: T })
    await new Promise((r) => setTimeout(r, 1500))
    for (const p of [ru, press]) {
      expect(await p.page.content()).not.toContain(secret)
      expect(p.frames.length).toBeGreaterThan(0)
      expect(p.frames.some((f) => f.includes(secret))).toBe(false)
    }
    expect(await thread(ru.page, 'Could 45 days work for both?').getByTestId('thread-internal').count()).toBe(0)
    // RU's card counts the shared thread only.
    expect((await card(ru.page, 'Response deadline').getByTestId('card-threads').textContent())?.trim()).toBe('1')

    // The thread list filters by term, by status and by "mine".
    const panel = ru.page.getByTestId('comments-panel')
    await panel.getByTestId('comments-filter-status').selectOption('all')
    await expect.poll(() => panel.getByTestId('thread').count()).toBe(3)
    await panel.getByTestId('comments-filter-term').selectOption({ label: '§2 Response deadline' })
    await expect.poll(() => panel.getByTestId('thread').count()).toBe(1)
    await panel.getByTestId('comments-filter-term').selectOption('')
    await panel.getByTestId('comments-filter-status').selectOption('resolved')
    await expect.poll(() => panel.getByTestId('thread').count()).toBe(1)
    await panel.getByTestId('comments-filter-status').selectOption('all')
    await panel.getByTestId('comments-filter-mine').check()
    // Ivan answered the first thread and is mentioned in it; the others are the US delegation's.
    await expect.poll(() => panel.getByTestId('thread').count()).toBe(1)
    const problems = await audit(ru.page, 'thread list')
    // From the list to the thread in its term.
    await panel.getByTestId('thread-open-term').first().click()
    await ru.page.getByTestId('term-panel').waitFor()
    expect(await ru.page.getByTestId('term-panel').getAttribute('data-term-id')).toBe(
      await card(ru.page, 'Scope').getAttribute('data-term-id'),
    )
    expect(problems, problems.join('\n')).toEqual([])
    for (const p of [us, ru, press, colleague]) expect(p.errors).toEqual([])
  }, 240_000)

  it('[CE3] an observer reads the shared threads and has no way to comment', async () => {
    const page = press.page
    await page.getByTestId('comments-button').click()
    await page.getByTestId('comments-panel').waitFor()
    await page.getByTestId('comments-filter-status').selectOption('all')
    await expect.poll(() => page.getByTestId('comments-panel').getByTestId('thread').count(), { timeout: T }).toBe(3)
    for (const id of [
      'reply-button',
      'resolve-button',
      'reopen-thread-button',
      'comment-edit-button',
      'comment-delete-button',
      'comment-input',
      'comments-filter-mine',
    ]) {
      expect(await page.getByTestId(id).count(), `observer sees ${id}`).toBe(0)
    }
    const problems = await audit(page, 'thread list, observer')
    await openTerm(page, 'Response deadline')
    await thread(page, 'Could 45 days work for both?').waitFor({ timeout: T })
    for (const id of ['comment-term', 'comment-selection', 'new-thread', 'reply-button', 'resolve-button', 'comment-input']) {
      expect(await page.getByTestId(id).count(), `observer sees ${id}`).toBe(0)
    }
    // Watchers have no catch-up (it is the history's, which they cannot read).
    expect(await page.getByTestId('catchup-banner').count()).toBe(0)
    expect(problems, problems.join('\n')).toEqual([])
    expect(press.errors).toEqual([])
  }, 180_000)

  /** What the server keeps for Uma (the US link, her name): her last seen version and the latest. */
  async function umaCatchUp(): Promise<{ lastSeen: number | null; latest: number }> {
    const res = await server.api(`/api/negotiations/${neg.id}/catchup?name=${encodeURIComponent('Uma Jones')}`, {
      token: neg.tokens.negotiator.us!,
    })
    return (await res.json()) as { lastSeen: number | null; latest: number }
  }

  it('[CE4] a negotiator coming back after the other side edited and commented is shown what changed since', async () => {
    // Uma (US) visits, opens a thread, and leaves.
    let uma = await enter(neg.links.negotiator.us!, 'Uma Jones')
    // A first visit has nothing to catch up on: what is there is seen at once.
    await expect.poll(async () => (await umaCatchUp()).lastSeen, { timeout: T }).not.toBeNull()
    await openTerm(uma.page, 'Response deadline')
    const ask = 'Can we live with 30 days?'
    await commentOnTerm(uma.page, ask)
    // ... and so is what happens while she is there (her own comment's version).
    await expect
      .poll(
        async () => {
          const c = await umaCatchUp()
          return c.lastSeen === c.latest
        },
        { timeout: T },
      )
      .toBe(true)
    expect(await uma.page.getByTestId('catchup-banner').count()).toBe(0)
    await uma.close()
    people.splice(people.indexOf(uma), 1)

    // Meanwhile Russia changes the deadline and answers her.
    await ru.page.keyboard.press('Escape')
    await openTerm(ru.page, 'Response deadline')
    await selectWords(ru.page, '30')
    await ru.page.keyboard.type('45')
    await expect.poll(() => cardBody(us.page, 'Response deadline'), { timeout: T }).toBe('Requests are answered within 45 days.')
    const reply = '45 days is our final offer.'
    const theirs = thread(ru.page, ask)
    await theirs.getByTestId('reply-button').click()
    await theirs.getByTestId('comment-input').fill(`@Uma Jones ${reply}`)
    await theirs.getByTestId('comment-submit').click()
    await theirs.getByTestId('comment').filter({ hasText: reply }).waitFor({ timeout: T })

    // Uma comes back.
    uma = await enter(neg.links.negotiator.us!, 'Uma Jones')
    const banner = uma.page.getByTestId('catchup-banner')
    await banner.waitFor({ timeout: T })
    expect(await banner.getByTestId('catchup-count').textContent()).toMatch(/^\d+ changes? since you were last here$/)
    expect(await banner.textContent()).toContain('1 mention of you')
    const changedCard = card(uma.page, 'Response deadline')
    expect(await changedCard.getAttribute('data-changed')).toBe('true')
    expect(await card(uma.page, 'Scope').getAttribute('data-changed')).toBeNull()

    await banner.getByTestId('catchup-open').click()
    const panel = uma.page.getByTestId('catchup-panel')
    await panel.waitFor({ timeout: T })
    expect(await panel.getByTestId('catchup-mention').textContent()).toContain(reply)
    expect(await panel.getByTestId('catchup-thread').filter({ hasText: ask }).textContent()).toContain('1 new reply')
    const redline = panel.getByTestId('catchup-term').filter({ hasText: 'Response deadline' })
    expect(await redline.locator('ins[data-party="ru"]').allTextContents()).toContain('45')
    expect(await redline.locator('del[data-party="ru"]').allTextContents()).toContain('30')
    await uma.page.waitForTimeout(300)
    const problems = await audit(uma.page, 'catch-up')
    if (shoot('catchup.png')) {
      mkdirSync(SHOTS, { recursive: true })
      await uma.page.mouse.move(0, SIZE.height - 1)
      await uma.page.screenshot({ path: join(SHOTS, 'catchup.png') })
    }

    // Looking counts: "Mark as seen" records it; the card stays marked until it is opened.
    const recorded = uma.page.waitForResponse((r) => r.url().includes('/seen') && r.status() === 204, { timeout: T })
    await panel.getByTestId('catchup-done').click()
    await recorded
    expect(await changedCard.getAttribute('data-changed')).toBe('true')
    await openTerm(uma.page, 'Response deadline')
    expect(await changedCard.getAttribute('data-changed')).toBeNull()
    // The new reply is marked new in the thread.
    expect(await thread(uma.page, ask).locator('.comment.fresh').count()).toBe(1)

    // Back again: nothing new.
    await uma.page.reload()
    await uma.page.locator('[data-testid="connection-status"][data-state="live"]').waitFor({ timeout: 45_000 })
    await card(uma.page, 'Response deadline').waitFor()
    await uma.page.waitForTimeout(1500)
    expect(await uma.page.getByTestId('catchup-banner').count()).toBe(0)
    expect(await card(uma.page, 'Response deadline').getAttribute('data-changed')).toBeNull()

    expect(problems, problems.join('\n')).toEqual([])
    for (const p of [uma, us, ru]) expect(p.errors).toEqual([])
  }, 240_000)
})

/**
 * The sealed caucus's e2e steps, shared by tests/e2e/sealed*.test.ts: invite links with the key, a
 * delegation's new link, and a note typed into the one just made.
 */
import { expect } from 'vitest'
import type { Page } from 'playwright-core'
import { mintToken, type Target } from '../../helpers/server'

const T = 15_000

/** An invite link with the delegation key in its fragment (after the token). */
export const withKey = (link: string, key: string) => `${link}&key=${key}`

/** A new invite link of delegation `party` (a negotiator of its own). */
export const newLink = async (server: Target, negotiationId: string, party: string) =>
  `${server.url}/n/${negotiationId}#token=${(await mintToken(server, negotiationId, { role: 'negotiator', party })).token}`

/** The note cards whose text holds `text`. */
export const noteWith = (page: Page, text: string) => page.getByTestId('note-card').filter({ hasText: text })

/** Adds a note and types `text` into it — the note just made, found by its new id, not by its place. */
export async function addNote(page: Page, text: string): Promise<void> {
  const ids = () => page.locator('[data-note-id]').evaluateAll((els) => els.map((e) => e.getAttribute('data-note-id')!))
  const before = new Set(await ids())
  await page.getByTestId('new-note').click()
  let id: string | undefined
  for (let i = 0; i < 100 && !id; i++, await page.waitForTimeout(50)) id = (await ids()).find((x) => !before.has(x))
  expect(id, 'the new note').toBeDefined()
  await page.locator(`[data-note-id="${id}"] button.as-button`).click()
  await page.locator('[data-testid="note-editor"][data-ready="true"] .cm-content').waitFor({ timeout: T })
  await page.keyboard.type(text)
  await page.keyboard.press('Escape')
}

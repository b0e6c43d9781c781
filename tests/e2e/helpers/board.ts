/** What the tests do on the board, through the UI only. */
import { expect } from 'vitest'
import type { Locator, Page } from 'playwright-core'

/** The two delegations most browser suites negotiate between, in their usual colours. */
export const US_AND_RU = [
  { id: 'us', name: 'United States', color: '#1f5fbf' },
  { id: 'ru', name: 'Russian Federation', color: '#c0392b' },
]

export const card = (page: Page, title: string): Locator =>
  page.locator('[data-testid="term-card"]', { has: page.locator('button.open', { hasText: title }) })

export async function cardBody(page: Page, title: string): Promise<string> {
  return (await card(page, title).locator('.body').textContent()) ?? ''
}

export async function cardState(page: Page, title: string): Promise<string | null> {
  return card(page, title).locator('[data-state]').first().getAttribute('data-state')
}

/** Opens a term's panel and waits until its editors are loaded. */
export async function openTerm(page: Page, title: string): Promise<void> {
  await card(page, title).locator('button.open').click()
  await page.getByTestId('term-panel').waitFor()
  await page.locator('[data-testid="body-editor"][data-ready="true"]').waitFor({ timeout: 45_000 })
}

export const bodyEditor = (page: Page) => page.locator('[data-testid="body-editor"] .cm-content')
export const titleEditor = (page: Page) => page.locator('[data-testid="title-editor"] .cm-content')

export async function editorText(page: Page, which: 'body' | 'title' = 'body'): Promise<string> {
  const el = which === 'body' ? bodyEditor(page) : titleEditor(page)
  return el.evaluate((node) => {
    const lines = [...node.querySelectorAll('.cm-line')].map((l) => {
      // remote carets are widgets inside the line; their labels are not text
      const clone = l.cloneNode(true) as HTMLElement
      clone.querySelectorAll('.cm-ySelectionCaret').forEach((c) => c.remove())
      return clone.textContent ?? ''
    })
    return lines.join('\n')
  })
}

/** Puts the caret at the end (or start) of the term's text. */
export async function caretTo(page: Page, where: 'start' | 'end'): Promise<void> {
  await bodyEditor(page).click()
  await page.keyboard.press(where === 'end' ? 'Control+End' : 'Control+Home')
}

export async function connection(page: Page): Promise<{ state: string; unsaved: number }> {
  const el = page.getByTestId('connection-status')
  return {
    state: (await el.getAttribute('data-state')) ?? '',
    unsaved: Number(await el.getAttribute('data-unsaved')),
  }
}

/** Puts the caret `offset` characters into the open term's text, with the keyboard, as a person would. */
export async function caretAt(page: Page, offset: number): Promise<void> {
  await bodyEditor(page).click()
  await page.keyboard.press('Control+Home')
  for (let i = 0; i < offset; i++) await page.keyboard.press('ArrowRight')
}

/** Selects `words` in the open term's text with the keyboard. */
export async function selectWords(page: Page, words: string): Promise<void> {
  const text = await editorText(page)
  const at = text.indexOf(words)
  expect(at, `"${words}" in "${text}"`).toBeGreaterThanOrEqual(0)
  await caretAt(page, at)
  for (let i = 0; i < words.length; i++) await page.keyboard.press('Shift+ArrowRight')
}

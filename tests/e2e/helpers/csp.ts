/**
 * Content-Security-Policy violations a page reports, recorded from before its
 * first script runs: the `securitypolicyviolation` events of the document
 * (reported through a DevTools binding, which survives navigations and which
 * no page policy governs) and the browser's own "Refused to …" console lines.
 */
import type { Page } from 'playwright-core'

export async function recordCspViolations(page: Page): Promise<string[]> {
  const seen: string[] = []
  await page.exposeFunction('__parleyCspViolation', (line: string) => seen.push(line))
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      const report = (window as unknown as { __parleyCspViolation: (line: string) => void }).__parleyCspViolation
      report(`${e.effectiveDirective} refused ${e.blockedURI || '(inline)'} at ${e.sourceFile}:${e.lineNumber}`)
    })
  })
  page.on('console', (m) => {
    if (/Content[- ]Security[- ]Policy/i.test(m.text())) seen.push(`console: ${m.text()}`)
  })
  return seen
}

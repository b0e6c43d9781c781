/**
 * The setup every browser suite shares: the built client, a test server and
 * one headless Chromium, started together; and the teardown that closes the
 * participants, the browser and the server.
 */
import type { Browser } from 'playwright-core'
import { startServer, type TestServer } from '../../helpers/server'
import { ensureClientBuilt } from './build'
import { launchBrowser, type Participant } from './browser'

/** Builds the client if needed, then starts the server and the browser. */
export async function startBrowserSuite(): Promise<[TestServer, Browser]> {
  await ensureClientBuilt()
  return Promise.all([startServer(), launchBrowser()])
}

/** Closes every participant (ignoring ones already gone), then the browser and the server. */
export async function closeBrowserSuite(
  people: Participant[],
  browser: Browser | undefined,
  server: TestServer | undefined,
): Promise<void> {
  await Promise.all(people.map((p) => p.close().catch(() => {})))
  await browser?.close()
  await server?.close()
}

/**
 * [H1] Every answer — page, static asset, API success and error, health,
 * socket.io polling — carries the Content-Security-Policy, frame, referrer and
 * content-type-sniffing headers (server/http/securityHeaders.ts). That the
 * client works under the policy is checked in a browser: tests/e2e/csp.test.ts [H2].
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { ensureClientBuilt } from '../e2e/helpers/build'
import { startServer, type TestServer } from '../helpers/server'

let s: TestServer
let neg: CreatedNegotiation

beforeAll(async () => {
  // The page and asset checks need the real built client.
  await ensureClientBuilt()
  s = await startServer()
  neg = await s.createNegotiation()
}, 240_000)

afterAll(async () => {
  await s?.close({ wipe: true })
})

const get = (path: string, token?: string) => fetch(s.url + path, { headers: token ? { authorization: `Bearer ${token}` } : {} })

describe('[H1] security headers', () => {
  function expectHeaders(res: Response, what: string): string {
    const csp = res.headers.get('content-security-policy')
    expect(csp, `${what}: CSP`).toBeTruthy()
    const directives = new Map(
      csp!.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/)
        return [name!, values] as const
      }),
    )
    expect(directives.get('script-src'), `${what}: script-src`).toEqual(["'self'"])
    expect(directives.get('default-src'), `${what}: default-src`).toEqual(["'self'"])
    expect(directives.get('frame-ancestors'), `${what}: frame-ancestors`).toEqual(["'none'"])
    expect(directives.get('object-src'), `${what}: object-src`).toEqual(["'none'"])
    expect(directives.get('base-uri'), `${what}: base-uri`).toEqual(["'none'"])
    // websockets and fetches to this origin only, never to any host
    expect(directives.get('connect-src'), `${what}: connect-src`).toEqual(["'self'"])
    expect(csp, `${what}: nothing evaluates strings`).not.toContain('unsafe-eval')
    expect(res.headers.get('x-frame-options'), what).toBe('DENY')
    expect(res.headers.get('referrer-policy'), what).toBe('no-referrer')
    expect(res.headers.get('x-content-type-options'), what).toBe('nosniff')
    return csp!
  }

  it('[H1] on pages, assets, API answers and errors, health and socket.io', async () => {
    const page = await get('/n/' + neg.id)
    expect(page.status).toBe(200)
    const html = await page.text()
    const csp = expectHeaders(page, 'page')
    // The built page itself needs nothing the policy refuses: no inline script, only same-origin files.
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/)
    const asset = html.match(/<script[^>]*src="(\/assets\/[^"]+\.js)"/)![1]!
    const stylesheet = html.match(/<link[^>]*href="(\/assets\/[^"]+\.css)"/)![1]!
    const answers: Array<[string, Response]> = [
      ['home page', await get('/')],
      ['script', await get(asset)],
      ['stylesheet', await get(stylesheet)],
      ['favicon', await get('/favicon.svg')],
      ['API', await get(`/api/negotiations/${neg.id}`, neg.tokens.reviewer)],
      ['API 401', await get(`/api/negotiations/${neg.id}`)],
      ['API 404', await get('/api/nothing-here')],
      ['HTML export', await get(`/api/negotiations/${neg.id}/export?format=html`, neg.tokens.reviewer)],
      ['400', await get('/%ZZ')],
      ['health', await get('/healthz')],
      ['socket.io polling', await get('/socket.io/?EIO=4&transport=polling')],
    ]
    for (const [what, res] of answers) {
      await res.arrayBuffer()
      expect(expectHeaders(res, what), `${what}: the same policy as the page`).toBe(csp)
    }
  })
})

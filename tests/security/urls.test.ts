/**
 * [U1] A malformed percent-encoding in the path is the sender's mistake: 400
 * `bad-request` on API routes, static files and unknown paths alike, no ERROR
 * (or WARN) line and no stack trace in the log (anyone could flood it), and
 * the server keeps serving.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { staticClient } from '../../server/http/staticFiles'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { ensureClientBuilt } from '../e2e/helpers/build'
import { startServer, type TestServer } from '../helpers/server'

let s: TestServer
let neg: CreatedNegotiation

beforeAll(async () => {
  // The app page served after the malformed requests is the real built client.
  await ensureClientBuilt()
  s = await startServer()
  neg = await s.createNegotiation()
}, 240_000)

afterAll(async () => {
  await s?.close({ wipe: true })
})

const get = (path: string, token?: string) => fetch(s.url + path, { headers: token ? { authorization: `Bearer ${token}` } : {} })

describe('[U1] malformed URLs', () => {
  it('[U1] answer 400 bad-request everywhere, log no error, and the server keeps serving', async () => {
    const reviewer = neg.tokens.reviewer
    const cases: Array<[string, string?]> = [
      ['/api/negotiations/%ZZ'],
      ['/api/negotiations/%ZZ/export?format=md'],
      [`/api/negotiations/${neg.id}/versions/%E0%A4%A`, reviewer],
      [`/api/negotiations/%C0%80`, reviewer],
      ['/api/%ZZ'],
      ['/%ZZ'],
      ['/%'],
      ['/n/%ZZ'],
      ['/assets/%ZZ.js'],
      ['/healthz%ZZ'],
    ]
    const before = s.logs.length
    for (const [path, token] of cases) {
      const res = await get(path, token)
      expect(res.status, path).toBe(400)
      expect(((await res.json()) as { error: { code: string } }).error.code, path).toBe('bad-request')
    }
    const logged = s.logs.slice(before)
    expect(logged.filter((l) => / (ERROR|WARN) /.test(l))).toEqual([])
    expect(logged.join('\n')).not.toContain('URIError')

    expect((await get('/healthz')).status).toBe(200)
    expect((await get(`/api/negotiations/${neg.id}`, reviewer)).status).toBe(200)
    expect((await get('/n/' + neg.id)).status).toBe(200)
  })

  it('[U1] the static files answer a malformed path with 400 on their own too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-static-'))
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>')
    const server: Server = createServer(staticClient(dir))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
      const bad = await fetch(`${base}/n/%ZZ`)
      expect(bad.status).toBe(400)
      expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('bad-request')
      expect((await fetch(`${base}/n/abc`)).status).toBe(200)
    } finally {
      server.closeAllConnections()
      await new Promise((r) => server.close(r))
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

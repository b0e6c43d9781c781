/**
 * Starts a real Parley in-process on a random port with its own temp data
 * dir, and hands out what tests need: URLs, the admin token, a negotiation.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '../../server/config'
import { startParley, type Parley } from '../../server/app'
import { createLogger } from '../../server/log'
import type { CreatedNegotiation } from '../../server/negotiation/service'

export interface TestServer {
  parley: Parley
  url: string
  wsUrl: string
  dataDir: string
  logs: string[]
  api(
    path: string,
    init?: { method?: string; token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response>
  createNegotiation(body?: unknown): Promise<CreatedNegotiation>
  /** Stops the server; the data dir stays for a restart unless `wipe`. */
  close(opts?: { wipe?: boolean }): Promise<void>
}

let defaultEnv: Record<string, string> = {}

/**
 * Env under every later `startTestServer` call of this test file (its own
 * `env` still wins): e.g. `{DATABASE_URL}` to run an existing suite on PostgreSQL.
 */
export function setTestServerDefaults(env: Record<string, string>): void {
  defaultEnv = { ...env }
}

export async function startTestServer(env: Record<string, string> = {}, dataDir?: string): Promise<TestServer> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'parley-test-'))
  const config = loadConfig({ PORT: '0', PARLEY_DATA_DIR: dir, PARLEY_LOG_LEVEL: 'info', ...defaultEnv, ...env })
  const logs: string[] = []
  const parley = await startParley(config, { log: createLogger('debug', (line) => logs.push(line)) })
  const server: TestServer = {
    parley,
    url: parley.url,
    wsUrl: parley.url.replace(/^http/, 'ws') + '/yjs',
    dataDir: dir,
    logs,
    api: (path, init = {}) =>
      fetch(parley.url + path, {
        method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
        headers: {
          ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
          ...init.headers,
        },
        body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
      }),
    async createNegotiation(body) {
      const res = await server.api('/api/negotiations', {
        token: parley.adminToken,
        body: body ?? {
          title: 'Test talks',
          parties: [
            { id: 'a', name: 'Alpha' },
            { id: 'b', name: 'Beta' },
          ],
        },
      })
      if (res.status !== 201) throw new Error(`create negotiation: ${res.status} ${await res.text()}`)
      return (await res.json()) as CreatedNegotiation
    },
    async close(opts = {}) {
      await parley.close()
      if (opts.wipe !== false && !dataDir && opts.wipe) rmSync(dir, { recursive: true, force: true })
    },
  }
  return server
}

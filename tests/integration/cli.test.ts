/**
 * The operators' CLIs read the configuration `npm start` reads (issue 18, item 6): `npm run export`
 * and `npm run verify` find a negotiation in the default data dir, or in the one a `.env` names,
 * with nothing in their environment; a store that is not there is said to be missing and is not
 * created; the store opened is named in one line on stderr; `npm run demo` run again finds its demo
 * negotiations and prints new links to them, unless asked for new ones.
 *
 * Each CLI runs as a child process in a directory of its own, as an operator would run it from the
 * project's root, with PARLEY_DATA_DIR, DATABASE_URL and PARLEY_ENV_FILE taken out of its environment.
 */
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { killOnExit, startServer } from '../helpers/server'
import { createTestSchema, postgresForTests, type TestSchema } from '../helpers/services'

const ROOT = new URL('../../', import.meta.url).pathname
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href
const TITLE = 'Fisheries access, 2026 round'

const pgUrl = await postgresForTests('integration/cli (PostgreSQL)')

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** The environment of a shell with no Parley setting in it. */
function bareEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = { ...process.env }
  for (const k of Object.keys(env)) if (k.startsWith('PARLEY_') || k === 'DATABASE_URL' || k === 'REDIS_URL') delete env[k]
  return { ...env, ...extra }
}

/** Runs `node <args>` in `cwd` to its end. */
function node(args: string[], cwd: string, env: NodeJS.ProcessEnv = bareEnv()): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = killOnExit(spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] }))
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()))
    child.once('error', reject)
    child.once('exit', (code) => resolve({ code, stdout, stderr }))
  })
}

const script = (name: 'export' | 'verify', args: string[], cwd: string, env?: NodeJS.ProcessEnv) =>
  node(['--import', TSX, join(ROOT, `scripts/${name}.ts`), ...args], cwd, env)

const dirs: string[] = []
const tempDir = (prefix: string) => {
  const d = mkdtempSync(join(tmpdir(), `parley-cli-${prefix}-`))
  dirs.push(d)
  return d
}

/** A store with one negotiation in `dataDir`, written by a real server that is then stopped. */
async function seedStore(dataDir: string): Promise<string> {
  const server = await startServer({ dataDir })
  try {
    const neg = await server.createNegotiation({
      title: TITLE,
      parties: [
        { id: 'north', name: 'Northland' },
        { id: 'south', name: 'Southland' },
      ],
      terms: [{ title: 'Quota', body: 'Each fleet may land 100 tonnes a year.' }],
    })
    return neg.id
  } finally {
    await server.close()
  }
}

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('npm run export / verify read what npm start reads', () => {
  let project: string
  let id: string

  beforeAll(async () => {
    // An operator's checkout: `npm start` kept its store in ./data, the default.
    project = tempDir('default')
    id = await seedStore(join(project, 'data'))
  }, 60_000)

  it('[CL1] with no setting in the environment, export and verify find the negotiation in ./data and name the store on stderr', async () => {
    const file = join(project, 'data', 'parley.db')
    const exported = await script('export', [id, '--format', 'json'], project)
    expect(exported.code, exported.stderr).toBe(0)
    expect(JSON.parse(exported.stdout).negotiation.title).toBe(TITLE)
    const storeLines = exported.stderr.split('\n').filter((l) => l.startsWith('store: '))
    expect(storeLines).toEqual([`store: SQLite ${file}, read-only (settings: the environment, no .env file)`])

    const verified = await script('verify', [id], project)
    expect(verified.code, verified.stdout + verified.stderr).toBe(0)
    expect(verified.stdout).toContain(`OK  negotiation ${id}`)
    expect(verified.stderr).toContain(`store: SQLite ${file}, read-only`)
  }, 60_000)

  it('[CL1] a negotiation that is not there is reported with the store it was looked for in', async () => {
    const r = await script('export', ['no-such-negotiation'], project)
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`no negotiation "no-such-negotiation" in SQLite ${join(project, 'data', 'parley.db')}`)
  }, 60_000)

  it('[CL2] a .env naming PARLEY_DATA_DIR is read; the environment still wins over it', async () => {
    const dir = tempDir('dotenv')
    const elsewhere = join(dir, 'elsewhere')
    const envId = await seedStore(elsewhere)
    writeFileSync(join(dir, '.env'), '# the store npm start uses\nPARLEY_DATA_DIR=./elsewhere\nPARLEY_LOG_LEVEL=warn\n')

    const exported = await script('export', [envId, '--format', 'json'], dir)
    expect(exported.code, exported.stderr).toBe(0)
    expect(JSON.parse(exported.stdout).negotiation.id).toBe(envId)
    expect(exported.stderr).toContain(
      `store: SQLite ${join(elsewhere, 'parley.db')}, read-only (settings: the environment and ${join(dir, '.env')})`,
    )

    const verified = await script('verify', [envId], dir)
    expect(verified.code, verified.stdout + verified.stderr).toBe(0)

    // An explicit setting beats the file: PARLEY_DATA_DIR=… npm run export reads that store.
    const explicit = await script('export', [id, '--format', 'json'], dir, bareEnv({ PARLEY_DATA_DIR: join(project, 'data') }))
    expect(explicit.code, explicit.stderr).toBe(0)
    expect(JSON.parse(explicit.stdout).negotiation.id).toBe(id)
  }, 90_000)

  it('[CL3] reading where there is no store creates nothing and says so', async () => {
    const empty = tempDir('empty')
    for (const name of ['export', 'verify'] as const) {
      const r = await script(name, ['some-id'], empty)
      expect(r.code, `${name}: ${r.stdout}${r.stderr}`).toBe(2)
      expect(r.stderr).toContain(`no Parley store at ${join(empty, 'data', 'parley.db')}; nothing was created.`)
      expect(r.stderr).toContain('PARLEY_DATA_DIR=./data and no DATABASE_URL')
      expect(readdirSync(empty), `${name} left nothing behind`).toEqual([])
    }
    // The same with a data dir that exists but holds no store: no parley.db appears in it.
    mkdirSync(join(empty, 'data'))
    const r = await script('export', ['some-id'], empty)
    expect(r.code).toBe(2)
    expect(readdirSync(join(empty, 'data'))).toEqual([])
  }, 60_000)

  it('[CL3] a reader never writes: the SQLite file is opened read-only and stays as it was', async () => {
    const file = join(project, 'data', 'parley.db')
    const { statSync } = await import('node:fs')
    const before = statSync(file).mtimeMs
    const r = await script('verify', [id], project)
    expect(r.code, r.stdout + r.stderr).toBe(0)
    expect(statSync(file).mtimeMs).toBe(before)
  }, 60_000)
})

describe.skipIf(!pgUrl)('npm run export on PostgreSQL', () => {
  let schema: TestSchema

  beforeAll(async () => {
    schema = await createTestSchema(pgUrl!)
  })
  afterAll(async () => {
    await schema?.drop()
  })

  it('[CL3] a database with no Parley store is said to be so, and no table is created (no migration on read)', async () => {
    const dir = tempDir('pg')
    const r = await script('export', ['some-id'], dir, bareEnv({ DATABASE_URL: schema.url }))
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('holds no Parley store')
    const client = new pg.Client({ connectionString: schema.url })
    await client.connect()
    try {
      const { rows } = await client.query('SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = $1', [schema.schema])
      expect(rows[0].n).toBe(0)
    } finally {
      await client.end()
    }
    expect(readdirSync(dir)).toEqual([])
  }, 60_000)

  it('[CL1] a store on PostgreSQL is read and named without its password', async () => {
    const server = await startServer({ env: { DATABASE_URL: schema.url } })
    let nid: string
    try {
      nid = (await server.createNegotiation({ title: TITLE, parties: [{ name: 'Northland' }, { name: 'Southland' }] })).id
    } finally {
      await server.close({ wipe: true })
    }
    const dir = tempDir('pg-read')
    const r = await script('export', [nid, '--format', 'json'], dir, bareEnv({ DATABASE_URL: schema.url }))
    expect(r.code, r.stderr).toBe(0)
    expect(JSON.parse(r.stdout).negotiation.id).toBe(nid)
    expect(r.stderr).toMatch(/^store: PostgreSQL postgres:\/\/[^\s:@]+@[^\s]+, read-only/m)
  }, 60_000)
})

describe('npm run demo run twice', () => {
  let dataDir: string

  /** `server/main.ts --demo …` until it has printed both demos; its output, then SIGTERM. */
  async function demo(...args: string[]): Promise<string> {
    const child = killOnExit(
      spawn(process.execPath, ['--import', TSX, join(ROOT, 'server/main.ts'), '--demo', ...args], {
        cwd: ROOT,
        env: bareEnv({ PORT: '0', PARLEY_DATA_DIR: dataDir, PARLEY_LOG_LEVEL: 'warn', PARLEY_ENV_FILE: '' }),
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    )
    let out = ''
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`demo not printed after 60 s:\n${out}`)), 60_000)
      const seen = (c: Buffer) => {
        out += c.toString()
        if ((out.match(/Legal review\s+reviewer/g) ?? []).length >= 2) {
          clearTimeout(timer)
          resolve()
        }
      }
      child.stdout!.on('data', seen)
      child.stderr!.on('data', seen)
      void exited.then((code) => reject(new Error(`demo exited (${code}):\n${out}`)))
    })
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    return out
  }

  const ids = (out: string) => [...out.matchAll(/\(([A-Za-z0-9_-]+)\)[.,]/g)].map((m) => m[1]!)
  const links = (out: string) => [...out.matchAll(/(http:\/\/\S+\/n\/\S+)/g)].map((m) => m[1]!)

  beforeAll(() => {
    dataDir = join(tempDir('demo'), 'data')
  })

  it('[CL4] a second run reuses both demos with fresh links; a concluded one is seeded again; --demo=new seeds new ones', async () => {
    const first = await demo()
    const [main, closing] = ids(first)
    expect(main && closing && main !== closing, first).toBe(true)
    expect(first).not.toContain('from an earlier')

    const second = await demo()
    expect(ids(second)).toEqual([main, closing])
    expect(second).toContain('from an earlier `npm run demo`')
    // New tokens (an old one cannot be read back), for the same negotiations.
    const firstLinks = links(first)
    const secondLinks = links(second)
    expect(secondLinks).toHaveLength(firstLinks.length)
    for (const l of secondLinks) expect(firstLinks).not.toContain(l)
    for (const l of secondLinks.slice(0, 4)) expect(l).toContain(`/n/${main}#token=`)

    // Russia initials the closing demo: it is concluded, no longer one step from it.
    const server = await startServer({ dataDir })
    try {
      const actor = {
        negotiationId: closing!,
        role: 'negotiator' as const,
        party: 'ru',
        user: 'A. Volkova (RU)',
        session: 'test',
      }
      const { concluded } = await server.parley.service.conclusion.initial(actor)
      expect(concluded).not.toBeNull()
    } finally {
      await server.close()
    }
    const third = await demo()
    const [main3, closing3] = ids(third)
    expect(main3).toBe(main)
    expect(closing3).not.toBe(closing)
    expect(third).toContain('The earlier one was concluded since')

    const fresh = await demo('--demo=new')
    const [main4, closing4] = ids(fresh)
    expect(main4).not.toBe(main)
    expect(closing4).not.toBe(closing3)
    expect(fresh).not.toContain('from an earlier')
  }, 240_000)

  it('[CL4] the demos are in the store once per run asked for, not once per start', async () => {
    const server = await startServer({ dataDir })
    try {
      const titles = (await server.parley.service.list()).map((n) => n.title)
      // first run: 2; second: 0; third: 1 (the concluded one again); --demo=new: 2
      expect(titles.filter((t) => t === 'Reciprocal extradition of ransomware operators')).toHaveLength(2)
      expect(titles.filter((t) => t === 'Reciprocal extradition of ransomware operators: final text')).toHaveLength(3)
    } finally {
      await server.close()
    }
    expect(existsSync(join(dataDir, 'parley.db'))).toBe(true)
  }, 60_000)
})

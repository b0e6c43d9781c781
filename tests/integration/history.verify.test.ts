/**
 * Tamper evidence and crash recovery of the history (issue #5): `npm run
 * verify` over a real server's SQLite file — OK with the heads, then a row
 * edited behind the server's back (the file opened directly) caught with its
 * doc and seq, a version edited likewise, a checkpoint that lies or is
 * damaged; a row changed with its 32-bit check forged caught by the full
 * hashes kept at anchors and at the head (and by an export's heads); and a
 * versions table that lost its newest rows rebuilt from the log on restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import * as Y from 'yjs'
import { board, replaceText, termsInOrder } from '../../shared/docLayout'
import type { Version } from '../../shared/schemas'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import type { ExportDoc, ExportHeads } from '../../server/history/export'
import { checkOf, GENESIS_HASH, updateRowHash } from '../../server/store/chain'
import { SqliteStore } from '../../server/store/sqlite'
import { decodeCheckpointSync, encodeCheckpointSync } from '../../server/store/checkpointCodec'
import { verifyNegotiation, type VerifyReport } from '../../server/history/verify'
import { startServer, type TestServer } from '../helpers/server'
import { synced, waitFor, yClient } from '../helpers/clients'
import { connected, controlClient } from '../helpers/control'

let server: TestServer
let dir: string
let neg: CreatedNegotiation
let before: Version[]
let exported: ExportDoc

const cli = (script: 'verify' | 'export', ...args: string[]) =>
  spawnSync(process.execPath, ['--import', 'tsx', `scripts/${script}.ts`, ...args], {
    env: { ...process.env, PARLEY_DATA_DIR: dir, PARLEY_LOG_LEVEL: 'warn' },
    encoding: 'utf8',
    timeout: 60_000,
  })

beforeAll(async () => {
  // Checkpoints every 4 updates, so verification also compares checkpoints with the log.
  server = await startServer({ env: { PARLEY_CHECKPOINT_EVERY: '4' } })
  dir = server.dataDir
  neg = await server.createNegotiation({
    title: 'Extradition talks',
    parties: [
      { id: 'us', name: 'United States' },
      { id: 'ru', name: 'Russian Federation' },
    ],
    terms: [{ title: 'Response deadline', body: 'Requests are answered within 30 days.' }],
  })
  const ru = yClient(server.wsUrl, `${neg.id}/board`, { token: neg.tokens.negotiator.ru!, name: 'A. Volkova' })
  const caucus = yClient(server.wsUrl, `${neg.id}/caucus/us`, { token: neg.tokens.negotiator.us!, name: 'J. Carter' })
  const us = controlClient(server.url, neg.tokens.negotiator.us!, 'J. Carter')
  await Promise.all([synced(ru), synced(caucus), connected(us)])
  await waitFor(() => termsInOrder(ru.doc).length === 1)
  const id = termsInOrder(ru.doc)[0]!.id
  const body = () => board(ru.doc).terms.get(id)!.get('body') as Y.Text
  for (const days of ['45', '50', '60', '45']) {
    ru.doc.transact(() => replaceText(body(), `Requests are answered within ${days} days.`))
    await new Promise((r) => setTimeout(r, 30))
  }
  caucus.doc.getMap('notes').set('n1', new Y.Map())
  expect(await us.command('term:accept', { termId: id })).toEqual({ ok: true })
  expect(await us.command('checkpoint:create', { name: 'Before tampering' })).toEqual({ ok: true })
  const res = await server.api(`/api/negotiations/${neg.id}/versions`, { token: neg.tokens.reviewer })
  before = ((await res.json()) as { versions: Version[] }).versions
  exported = (await (
    await server.api(`/api/negotiations/${neg.id}/export?format=json`, { token: neg.tokens.reviewer })
  ).json()) as ExportDoc
  ru.destroy()
  caucus.destroy()
  us.close()
  await server.close()
})

afterAll(async () => {
  await server.close({ wipe: true })
})

const db = () => new Database(join(dir, 'parley.db'))
/** The same check as the CLI, in-process (a CLI start costs seconds of transpiling). */
async function verify(opts: Parameters<typeof verifyNegotiation>[2] = {}): Promise<VerifyReport> {
  const store = new SqliteStore(join(dir, 'parley.db'))
  try {
    return await verifyNegotiation(store, neg.id, opts)
  } finally {
    await store.close()
  }
}
const line = (r: VerifyReport) =>
  r.break
    ? `BROKEN  ${r.break.chain} at ${r.break.chain === 'versions' ? 'version' : 'row'} ${r.break.seq}: ${r.break.problem}`
    : 'OK'
const docId = (d: Database.Database, name: string) =>
  (d.prepare('SELECT id FROM docs WHERE name = ?').get(name) as { id: number }).id

describe('npm run verify', () => {
  it('[HV1] an untouched store verifies: every chain with its head, exit 0', () => {
    const r = cli('verify', neg.id)
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toContain(`OK  negotiation ${neg.id}`)
    for (const chain of [`${neg.id}/board`, `${neg.id}/ledger`, `${neg.id}/caucus/us`, `${neg.id}/caucus/ru`, 'versions']) {
      expect(r.stdout).toContain(chain)
    }
    expect(r.stdout).toContain(exported.heads.board.hash)
    expect(r.stdout).toContain(exported.heads.versions.hash)
    expect(r.stdout).toMatch(/board\s+\d+ rows, [1-9]\d* checkpoints/)
  })

  it('[HV2] a stored update edited behind the server’s back is reported with its doc and seq, exit 1', () => {
    const d = db()
    const doc = docId(d, `${neg.id}/board`)
    const row = d.prepare('SELECT data FROM updates WHERE doc_id = ? AND seq = 3').get(doc) as { data: Buffer }
    const forged = Buffer.from(row.data)
    forged[forged.length - 2] = forged[forged.length - 2]! ^ 0x01
    d.prepare('UPDATE updates SET data = ? WHERE doc_id = ? AND seq = 3').run(forged, doc)
    d.close()

    const r = cli('verify', neg.id)
    expect(r.status).toBe(1)
    expect(r.stdout).toContain(`BROKEN  ${neg.id}/board at row 3:`)
    expect(r.stdout).toMatch(/row 3 \(its data, author, time or meta\) no longer hashes to the check stored with it/)
    // the 32-bit check the row was stored with, and the start of the hash it has now
    expect(r.stdout).toMatch(/expected [0-9a-f]{8}\n\s+found\s+[0-9a-f]{8}\n/)

    const fix = db()
    fix.prepare('UPDATE updates SET data = ? WHERE doc_id = ? AND seq = 3').run(row.data, doc)
    fix.close()
    expect(cli('verify', neg.id).status).toBe(0)
  })

  it('[HV3] the last row, a row’s author, a version and a checkpoint are covered too', async () => {
    const board = `${neg.id}/board`
    const cases: Array<{ what: string; tamper: (d: Database.Database) => () => void; expect: RegExp }> = [
      {
        what: 'last row',
        tamper: (d) => {
          const doc = docId(d, board)
          const head = (d.prepare('SELECT head_seq FROM docs WHERE id = ?').get(doc) as { head_seq: number }).head_seq
          const { at } = d.prepare('SELECT at FROM updates WHERE doc_id = ? AND seq = ?').get(doc, head) as { at: number }
          d.prepare('UPDATE updates SET at = ? WHERE doc_id = ? AND seq = ?').run(at + 1, doc, head)
          return () => d.prepare('UPDATE updates SET at = ? WHERE doc_id = ? AND seq = ?').run(at, doc, head)
        },
        expect: new RegExp(`BROKEN  ${neg.id}/board at row \\d+: row \\d+ \\(the last`),
      },
      {
        what: 'meta of a ledger move',
        tamper: (d) => {
          const doc = docId(d, `${neg.id}/ledger`)
          const r = d.prepare("SELECT seq, meta FROM updates WHERE doc_id = ? AND meta LIKE '%accept%'").get(doc) as {
            seq: number
            meta: string
          }
          d.prepare('UPDATE updates SET meta = ? WHERE doc_id = ? AND seq = ?').run(r.meta.replace('"us"', '"ru"'), doc, r.seq)
          return () => d.prepare('UPDATE updates SET meta = ? WHERE doc_id = ? AND seq = ?').run(r.meta, doc, r.seq)
        },
        expect: new RegExp(`BROKEN  ${neg.id}/ledger at row \\d+`),
      },
      {
        what: 'version summary',
        tamper: (d) => {
          const v = d.prepare('SELECT summary FROM versions WHERE negotiation_id = ? AND n = 2').get(neg.id) as {
            summary: string
          }
          d.prepare('UPDATE versions SET summary = ? WHERE negotiation_id = ? AND n = 2').run('Nothing happened', neg.id)
          return () => d.prepare('UPDATE versions SET summary = ? WHERE negotiation_id = ? AND n = 2').run(v.summary, neg.id)
        },
        expect: /BROKEN  versions at version 2: version 2's fields .* no longer match its hash/,
      },
      {
        what: 'checkpoint',
        tamper: (d) => {
          const doc = docId(d, board)
          const cp = d
            .prepare('SELECT seq, codec, state FROM doc_checkpoints WHERE doc_id = ? ORDER BY seq LIMIT 1')
            .get(doc) as {
            seq: number
            codec: number
            state: Buffer
          }
          const lie = new Y.Doc()
          Y.applyUpdate(lie, decodeCheckpointSync(cp.codec, cp.state))
          lie.getMap('notes').set('forged', 'a note nobody wrote')
          const forged = encodeCheckpointSync(Y.encodeStateAsUpdate(lie))
          const set = d.prepare('UPDATE doc_checkpoints SET codec = ?, state = ? WHERE doc_id = ? AND seq = ?')
          set.run(forged.codec, forged.bytes, doc, cp.seq)
          return () => set.run(cp.codec, cp.state, doc, cp.seq)
        },
        expect: new RegExp(`BROKEN  ${neg.id}/board at row \\d+: the checkpoint at row \\d+ does not match the log`),
      },
      {
        what: 'damaged checkpoint',
        tamper: (d) => {
          const doc = docId(d, board)
          const cp = d.prepare('SELECT seq, state FROM doc_checkpoints WHERE doc_id = ? ORDER BY seq LIMIT 1').get(doc) as {
            seq: number
            state: Buffer
          }
          const damaged = Buffer.from(cp.state)
          damaged[damaged.length >> 1]! ^= 0x10
          const set = d.prepare('UPDATE doc_checkpoints SET state = ? WHERE doc_id = ? AND seq = ?')
          set.run(damaged, doc, cp.seq)
          return () => set.run(cp.state, doc, cp.seq)
        },
        expect: new RegExp(`BROKEN  ${neg.id}/board at row \\d+: the checkpoint at row \\d+ cannot be read`),
      },
    ]
    for (const c of cases) {
      const d = db()
      const undo = c.tamper(d)
      const r = await verify()
      undo()
      d.close()
      expect(r.ok, c.what).toBe(false)
      expect(line(r), c.what).toMatch(c.expect)
    }
    expect((await verify()).ok).toBe(true)
  })

  it('[HV4] --against an earlier export: the chains must still pass through its heads', async () => {
    const file = join(dir, 'export.json')
    writeFileSync(file, JSON.stringify(exported))
    const r = cli('verify', neg.id, '--against', file)
    expect(r.status, r.stderr).toBe(0)
    expect(r.stdout).toContain('passes through the exported heads')
    // a history rewritten consistently (every later hash recomputed) still fails against an earlier export
    const lying = { ...exported.heads, ledger: { ...exported.heads.ledger, hash: 'f'.repeat(64) } }
    expect(line(await verify({ against: lying }))).toContain('history up to the export was rewritten')
    const fewer = { ...exported.heads, versions: { n: exported.heads.versions.n + 3, hash: exported.heads.versions.hash } }
    expect(line(await verify({ against: fewer }))).toContain(`the export saw ${exported.heads.versions.n + 3} versions`)
  })

  it('[HV5] npm run export writes the same record as the API, without writing to the store', () => {
    const out = join(dir, 'record.md')
    const r = cli('export', neg.id, '--format', 'md', '--out', out, '--progress')
    expect(r.status, r.stderr).toBe(0)
    expect(r.stderr).toContain(`wrote ${out}`)
    const md = cli('export', neg.id, '--format', 'json')
    const json = JSON.parse(md.stdout) as ExportDoc
    expect({ ...json, generatedAt: '' }).toEqual({ ...exported, generatedAt: '' })
  })
})

describe('crash recovery of the version index', () => {
  it('[HV6] versions lost in a crash are rebuilt from the log on first use, with the same numbers and hashes', async () => {
    const d = db()
    d.prepare('DELETE FROM versions WHERE negotiation_id = ? AND n > 2').run(neg.id)
    d.close()
    server = await startServer({ env: { PARLEY_CHECKPOINT_EVERY: '4' }, dataDir: dir })
    const res = await server.api(`/api/negotiations/${neg.id}/versions`, { token: neg.tokens.reviewer })
    expect(((await res.json()) as { versions: Version[] }).versions).toEqual(before)
    await server.close()
    expect((await verify()).ok).toBe(true)
  })
})

describe('what the log keeps of its chain', () => {
  it('[HV7] a row changed with its check forged to match is caught by the full hash kept at the next anchor, then the head, then an export', async () => {
    const dirOf = mkdtempSync(join(tmpdir(), 'parley-anchors-'))
    const file = join(dirOf, 'parley.db')
    const id = 'anc'
    const doc = `${id}/board`
    const setup = new SqliteStore(file)
    await setup.createNegotiation({ id, title: 'Anchors', parties: [{ id: 'a', name: 'A', color: '#1f5fbf' }], createdAt: 1 })
    const author = { user: 'Ann', party: 'a', role: 'negotiator' as const, conn: 'c1' }
    for (let i = 0; i < 600; i += 50) {
      await setup.appendUpdates(
        Array.from({ length: 50 }, (_, k) => ({ doc, at: 1000 + i + k, author, update: new Uint8Array([i + k]) })),
      )
    }
    const exportedHead = await setup.chainHead(doc)
    await setup.close()
    const heads: ExportHeads = {
      board: exportedHead,
      ledger: { seq: 0, hash: GENESIS_HASH },
      versions: { n: 0, hash: GENESIS_HASH },
    }
    const check = async (opts: Parameters<typeof verifyNegotiation>[2] = {}) => {
      const store = new SqliteStore(file)
      try {
        return line(await verifyNegotiation(store, id, opts))
      } finally {
        await store.close()
      }
    }
    expect(await check()).toBe('OK')

    const d = new Database(file)
    const docRow = docId(d, doc)
    // row 300 told a minute later, its check left as it was: named at once
    d.prepare('UPDATE updates SET at = at + 60000 WHERE doc_id = ? AND seq = 300').run(docRow)
    expect(await check()).toMatch(
      /^BROKEN {2}anc\/board at row 300: row 300 \(its data, author, time or meta\) no longer hashes to the check stored with it/,
    )

    // the checks of row 300 and every later row forged to match (what someone who knows the scheme does)
    const rows = d.prepare('SELECT seq, at, data, meta FROM updates WHERE doc_id = ? ORDER BY seq').all(docRow) as Array<{
      seq: number
      at: number
      data: Buffer
      meta: string | null
    }>
    const hashes: string[] = []
    let prev = GENESIS_HASH
    for (const r of rows) {
      prev = updateRowHash(prev, { doc, seq: r.seq, at: r.at, ...author, update: r.data, meta: r.meta })
      hashes.push(prev)
    }
    const setCheck = d.prepare('UPDATE updates SET chk = ? WHERE doc_id = ? AND seq = ?')
    for (let seq = 300; seq <= 600; seq++) setCheck.run(checkOf(hashes[seq - 1]!), docRow, seq)
    expect(await check()).toMatch(
      /^BROKEN {2}anc\/board at row 512: rows 257–512 no longer hash to the full hash kept at row 512: one of them was changed with its check forged to match/,
    )
    // the anchor forged too: the head's full hash still tells
    d.prepare('UPDATE chain_anchors SET hash = ? WHERE doc_id = ? AND seq = 512').run(Buffer.from(hashes[511]!, 'hex'), docRow)
    expect(await check()).toMatch(
      /^BROKEN {2}anc\/board at row 600: rows 513–600 \(the last\) no longer hash to the doc's recorded head/,
    )
    // and the head as well: consistent in itself, but not with what an export recorded before
    d.prepare('UPDATE docs SET head_hash = ? WHERE id = ?').run(hashes[599]!, docRow)
    d.close()
    expect(await check()).toBe('OK')
    expect(await check({ against: heads })).toMatch(
      /^BROKEN {2}anc\/board at row 600: the chain no longer passes through the exported head/,
    )
    rmSync(dirOf, { recursive: true, force: true })
  })
})

/**
 * The signed record of a concluded negotiation (issue 17 item 5; CONTRACT.md "Signed record"),
 * through the public surface: a negotiation with a Cyrillic title, a Russian term and an Arabic
 * one driven to conclusion over socket.io; `GET /api/keys` and `GET …/record` read by every role;
 * the record verified, and tampered copies caught field by field, in process and by
 * `npm run verify -- --record` as a child process (with the store at hand: the chain heads
 * checked against its rows); the PDF export, its fonts, its Cyrillic and its shaped right-to-left
 * Arabic read back from the file; and the signing key kept in the data dir or given by
 * PARLEY_SIGNING_KEY.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile, spawnSync } from 'node:child_process'
import { createHash, createPublicKey, generateKeyPairSync, verify, type JsonWebKey } from 'node:crypto'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { readConclusion, readStatus, termOrder } from '../../shared/docLayout'
import { termHash } from '../../shared/negotiation'
import { canonicalJson, checkRecord, signedBytes, type KeySet, type RecordCheck, type SignedRecord } from '../../shared/record'
import type { CreatedNegotiation } from '../../shared/schemas'
import { existingSigningKey, loadSigningKey, SIGNING_KEY_FILE, verifyEd25519 } from '../../server/record/signingKey'
import { startServer, type TestServer } from '../helpers/server'
import { synced, waitFor, yClient, type YClient } from '../helpers/clients'
import { connected, controlClient, type ControlClient } from '../helpers/control'
import { readPdf } from '../helpers/pdf'

const run = promisify(execFile)
const ROOT = new URL('../../', import.meta.url).pathname

const TITLE = 'Экстрадиция операторов программ-вымогателей'
const TERMS = [
  { title: 'Response deadline', body: 'Requests are answered within 45 days.' },
  { title: 'Срок хранения', body: 'Данные хранятся двенадцать месяцев.' },
  // Letters of distinct skeletons only (see the PDF test), Arabic-Indic digits, brackets.
  { title: 'سلسلة الحراسة', body: 'سلسلة الحراسة لمدة ١٢' },
]

let server: TestServer
let neg: CreatedNegotiation
let other: CreatedNegotiation
let tmp: string
const open: Array<YClient | ControlClient> = []

beforeAll(async () => {
  server = await startServer()
  tmp = mkdtempSync(join(tmpdir(), 'parley-record-'))
  neg = await server.createNegotiation({
    title: TITLE,
    parties: [
      { id: 'us', name: 'United States' },
      { id: 'ru', name: 'Российская Федерация' },
    ],
    terms: TERMS,
  })
  other = await server.createNegotiation()
})

afterAll(async () => {
  for (const c of open) 'destroy' in c ? c.destroy() : c.close()
  await server?.close()
  rmSync(tmp, { recursive: true, force: true })
})

const get = (path: string, token?: string) => server.api(path, { method: 'GET', ...(token ? { token } : {}) })
const recordOf = async (token: string) => (await (await get(`/api/negotiations/${neg.id}/record`, token)).json()) as SignedRecord
const keysNow = async () => (await (await get('/api/keys')).json()) as KeySet
const failing = (checks: RecordCheck[]) => checks.filter((c) => !c.ok).map((c) => c.check)
const copy = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T

/** `npm run verify -- …` as a child process against the server's data dir (and so its store and key). */
async function verifyCli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', 'scripts/verify.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, PARLEY_DATA_DIR: server.dataDir, PARLEY_LOG_LEVEL: 'warn', ...env },
      timeout: 60_000,
    })
    return { code: 0, out: stdout + stderr }
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string }
    return { code: typeof e.code === 'number' ? e.code : -1, out: (e.stdout ?? '') + (e.stderr ?? '') }
  }
}

describe('the signed record', () => {
  let ledger: YClient
  let termIds: string[]

  beforeAll(async () => {
    const observer = neg.tokens.observer
    const board = yClient(server.wsUrl, `${neg.id}/board`, { token: observer, name: 'Press' })
    ledger = yClient(server.wsUrl, `${neg.id}/ledger`, { token: observer, name: 'Press' })
    open.push(board, ledger)
    await Promise.all([synced(board), synced(ledger)])
    await waitFor(() => termOrder(board.doc).length === TERMS.length)
    termIds = termOrder(board.doc)
  })

  it('[RC1] before conclusion there is no record: 404 not-concluded, for the record and the PDF', async () => {
    const res = await get(`/api/negotiations/${neg.id}/record`, neg.tokens.negotiator.us!)
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ error: { code: 'not-concluded' } })
    const pdf = await get(`/api/negotiations/${neg.id}/export?format=pdf`, neg.tokens.negotiator.us!)
    expect(pdf.status).toBe(404)
    expect(await pdf.json()).toMatchObject({ error: { code: 'not-concluded' } })
  })

  it('[RC2] driven to conclusion: every term agreed, the package accepted and initialled by both', async () => {
    const us = controlClient(server.url, neg.tokens.negotiator.us!, 'Ann (US)')
    const ru = controlClient(server.url, neg.tokens.negotiator.ru!, 'Борис (RU)')
    open.push(us, ru)
    await Promise.all([connected(us), connected(ru)])
    for (const termId of termIds) {
      expect(await us.command('term:accept', { termId })).toEqual({ ok: true })
      expect(await ru.command('term:accept', { termId })).toEqual({ ok: true })
    }
    await waitFor(() => readConclusion(ledger.doc).package !== null)
    const hash = readConclusion(ledger.doc).package!.hash
    expect(await us.command('package:accept', { hash })).toEqual({ ok: true, hash })
    expect(await ru.command('package:accept', { hash })).toEqual({ ok: true, hash })
    expect(await us.command('negotiation:initial', {})).toEqual({ ok: true, concluded: null })
    expect(await ru.command('negotiation:initial', {})).toMatchObject({ ok: true, concluded: { hash } })
    await waitFor(() => readConclusion(ledger.doc).concluded !== null)
  })

  it('[RC3] GET /api/keys, without a token: the public Ed25519 JWK and its RFC 7638 thumbprint as kid', async () => {
    const res = await get('/api/keys')
    expect(res.status).toBe(200)
    const { keys } = (await res.json()) as KeySet
    expect(keys).toHaveLength(1)
    const [key] = keys
    expect(key).toMatchObject({ alg: 'EdDSA', jwk: { kty: 'OKP', crv: 'Ed25519' } })
    expect(key!.jwk).not.toHaveProperty('d')
    const thumbprint = createHash('sha256').update(`{"crv":"Ed25519","kty":"OKP","x":"${key!.jwk.x}"}`).digest('base64url')
    expect(key!.kid).toBe(thumbprint)
    // The key the server keeps in its data dir, private to its user.
    expect(statSync(join(server.dataDir, SIGNING_KEY_FILE)).mode & 0o077).toBe(0)
  })

  it('[RC4] the record: the agreed text in board order, hashes, initials, chain heads, signed over its canonical JSON', async () => {
    const res = await get(`/api/negotiations/${neg.id}/record`, neg.tokens.negotiator.ru!)
    expect(res.status).toBe(200)
    const record = (await res.json()) as SignedRecord
    const concluded = readConclusion(ledger.doc)
    expect(record).toMatchObject({
      negotiationId: neg.id,
      title: TITLE,
      parties: [
        { id: 'us', name: 'United States' },
        { id: 'ru', name: 'Российская Федерация' },
      ],
      packageHash: concluded.concluded!.hash,
      concludedAt: new Date(concluded.concluded!.at).toISOString(),
    })
    expect(Object.keys(record).sort()).toEqual(
      [
        'chain',
        'concludedAt',
        'initials',
        'kid',
        'negotiationId',
        'packageHash',
        'parties',
        'signature',
        'terms',
        'title',
      ].sort(),
    )
    expect(record.terms).toEqual(termIds.map((id, i) => ({ id, ...TERMS[i], hash: readStatus(ledger.doc, id)!.agreedHash })))
    for (const t of record.terms) expect(t.hash).toBe(termHash(t))
    expect(record.initials).toEqual([
      { party: 'us', user: 'Ann (US)', at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      { party: 'ru', user: 'Борис (RU)', at: record.concludedAt },
    ])
    const store = server.parley.store
    const board = await store.chainHead(`${neg.id}/board`)
    const ledgerHead = await store.chainHead(`${neg.id}/ledger`)
    expect(record.chain).toEqual({
      board: { seq: board.seq, hash: board.hash },
      ledger: { seq: ledgerHead.seq, hash: ledgerHead.hash },
    })

    // The signature, checked with node:crypto alone over keys sorted by hand.
    const { keys } = await keysNow()
    expect(record.kid).toBe(keys[0]!.kid)
    const { signature, ...rest } = record
    const canonical = canonicalJson(rest)
    expect(canonical).toBe(JSON.stringify(sortKeys(rest)))
    const publicKey = createPublicKey({ key: { ...keys[0]!.jwk } as JsonWebKey, format: 'jwk' })
    expect(verify(null, Buffer.from(canonical), publicKey, Buffer.from(signature, 'base64url'))).toBe(true)
    // …and every check of a record passes.
    const checks = await checkRecord(record, keys, verifyEd25519)
    expect(failing(checks)).toEqual([])
    expect(checks.map((c) => c.check)).toEqual([
      'format',
      'kid',
      'signature',
      'terms[0].hash',
      'terms[1].hash',
      'terms[2].hash',
      'packageHash',
      'initials',
    ])
    // Asked again, the same record (nothing moves after conclusion).
    expect(await recordOf(neg.tokens.negotiator.us!)).toEqual(record)
  })

  it('[RC5] a tampered record fails, naming the field: a byte of a body, the signature, the kid, the package hash', async () => {
    const record = await recordOf(neg.tokens.negotiator.us!)
    const { keys } = await keysNow()
    const check = (r: unknown) => checkRecord(r, keys, verifyEd25519)

    const body = copy(record)
    body.terms[0]!.body = body.terms[0]!.body.replace('45', '46')
    expect(failing(await check(body))).toEqual(['signature', 'terms[0].hash'])

    const signature = copy(record)
    const sig = Buffer.from(signature.signature, 'base64url')
    sig[10] = sig[10]! ^ 1
    signature.signature = sig.toString('base64url')
    expect(failing(await check(signature))).toEqual(['signature'])

    const kid = copy(record)
    kid.kid = createHash('sha256').update('another key').digest('base64url')
    const kidChecks = await check(kid)
    expect(failing(kidChecks)).toEqual(['kid', 'signature'])
    expect(kidChecks.find((c) => c.check === 'kid')!.detail).toContain(kid.kid)

    const pkg = copy(record)
    pkg.packageHash = createHash('sha256').update('another package').digest('hex')
    expect(failing(await check(pkg))).toEqual(['signature', 'packageHash'])

    // A field added after signing is signed over too; a record missing one is not a record.
    expect(failing(await check({ ...record, note: 'added later' }))).toEqual(['signature'])
    const { title: _title, ...untitled } = record
    expect(failing(await check(untitled))).toEqual(['format'])
  })

  it('[RC6] every role of the negotiation reads the record; another negotiation’s token gets 403, none 401', async () => {
    const record = await recordOf(neg.tokens.negotiator.us!)
    for (const token of [neg.tokens.observer, neg.tokens.reviewer, neg.tokens.negotiator.ru!]) {
      const res = await get(`/api/negotiations/${neg.id}/record`, token)
      expect(res.status).toBe(200)
      expect(await res.json()).toEqual(record)
    }
    const foreign = await get(`/api/negotiations/${neg.id}/record`, other.tokens.observer)
    expect(foreign.status).toBe(403)
    expect(await foreign.json()).toMatchObject({ error: { code: 'forbidden' } })
    expect((await get(`/api/negotiations/${neg.id}/record`)).status).toBe(401)
    // The other negotiation is not concluded.
    const notYet = await get(`/api/negotiations/${other.id}/record`, other.tokens.reviewer)
    expect(notYet.status).toBe(404)
    expect(await notYet.json()).toMatchObject({ error: { code: 'not-concluded' } })
  })

  it('[RC7] npm run verify -- --record: a good record passes every check (the chain against the store); a tampered one exits 1 naming the check', async () => {
    const record = await recordOf(neg.tokens.observer)
    const good = join(tmp, 'record.json')
    const keys = join(tmp, 'keys.json')
    writeFileSync(good, JSON.stringify(record, null, 2))
    writeFileSync(keys, JSON.stringify(await keysNow()))

    const ok = await verifyCli(['--record', good, '--keys', keys])
    expect(ok.out).toMatch(/OK +signature/)
    expect(ok.out).toMatch(/OK +chain\.board +row \d+ hashes to/)
    expect(ok.out).toMatch(/OK +chain\.ledger/)
    expect(ok.out).toContain('VERIFIED')
    expect(ok.code).toBe(0)

    // The keys straight from a server's GET /api/keys.
    const fromUrl = await verifyCli(['--record', good, '--keys', `${server.url}/api/keys`])
    expect(fromUrl.out).toContain('VERIFIED')
    expect(fromUrl.code).toBe(0)

    // Without --keys: the server's own key, from the data dir, as `npm start` would load it.
    const own = await verifyCli(['--record', good])
    expect(own.out).toContain('VERIFIED')
    expect(own.code).toBe(0)

    const tampered = copy(record)
    tampered.terms[1]!.body += ' '
    const bad = join(tmp, 'tampered.json')
    writeFileSync(bad, JSON.stringify(tampered))
    const refused = await verifyCli(['--record', bad, '--keys', keys])
    expect(refused.code).toBe(1)
    expect(refused.out).toMatch(/FAIL +signature/)
    expect(refused.out).toMatch(/FAIL +terms\[1\]\.hash/)
    expect(refused.out).toContain('FAILED: signature, terms[1].hash')

    // Signed by the right key but naming a head the store's chain does not pass through.
    const key = existingSigningKey(server.dataDir, undefined)!
    const moved = copy(record)
    moved.chain.board.hash = createHash('sha256').update('another head').digest('hex')
    moved.signature = key.sign(signedBytes(moved))
    const movedFile = join(tmp, 'moved.json')
    writeFileSync(movedFile, JSON.stringify(moved))
    const chain = await verifyCli(['--record', movedFile, '--keys', keys])
    expect(chain.code).toBe(1)
    expect(chain.out).toMatch(/OK +signature/)
    expect(chain.out).toMatch(
      /FAIL +chain\.board +the store's board row \d+ hashes to [0-9a-f]{64}, not the record's [0-9a-f]{64}/,
    )
    expect(chain.out).toContain('FAILED: chain.board')

    // On another machine: no store there, the saved keys only.
    const elsewhere = mkdtempSync(join(tmp, 'elsewhere-'))
    const offline = await verifyCli(['--record', good, '--keys', keys], { PARLEY_DATA_DIR: elsewhere })
    expect(offline.out).toMatch(/SKIP +chain +no store here/)
    expect(offline.code).toBe(0)
    const noKey = await verifyCli(['--record', good], { PARLEY_DATA_DIR: elsewhere })
    expect(noKey.code).toBe(2)
    expect(noKey.out).toContain('--keys')
  })

  it('[RC8] format=pdf: %PDF, Noto fonts embedded, the Cyrillic title and terms as text, the Arabic term shaped and right to left, the record attached', async () => {
    const record = await recordOf(neg.tokens.reviewer)
    const res = await get(`/api/negotiations/${neg.id}/export?format=pdf`, neg.tokens.reviewer)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('application/pdf')
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${neg.id}-record.pdf"`)
    const pdf = Buffer.from(await res.arrayBuffer())
    expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-')
    writeFileSync(join(tmp, 'record.pdf'), pdf)

    const content = readPdf(pdf)
    expect(content.fonts).toEqual(
      expect.arrayContaining(['NotoSans-Bold', 'NotoSans-Regular', 'NotoSansArabic-Regular', 'NotoSansArabic-Bold']),
    )
    expect(content.lines[0]).toBe(TITLE)
    expect(content.lines).toContain('2. Срок хранения')
    expect(content.lines).toContain('Данные хранятся двенадцать месяцев.')
    expect(content.lines).toContain('Package hash (SHA-256 of the agreed terms’ hashes in order):')
    expect(content.lines).toContain(record.packageHash)
    expect(content.lines.some((l) => l.includes(record.signature))).toBe(true)
    expect(content.lines.join('\n')).toContain(`npm run verify -- --record record.json`)

    // The Arabic body, drawn left to right as a reader sees it: the digits (left to right) at the
    // far left, then each word with its glyphs reversed — in the Arabic font.
    const arabic = content.pieces.filter((p) => p.font === 'NotoSansArabic-Regular')
    const bodyLine = arabic.filter((p) => p.y === arabic.find((q) => q.units.join('') === '١٢')?.y).sort((a, b) => a.x - b.x)
    expect(bodyLine.map((p) => p.units.join(''))).toEqual(['١٢', 'ةدمل', 'ةسارحلا', 'ةلسلس'])
    // Shaped: س begins سلسلة and sits inside it and inside الحراسة, each form its own glyph
    // (an unshaped run would draw one glyph for every س).
    const seen = new Set(bodyLine.flatMap((p) => p.codes.filter((_, i) => p.units[i] === 'س')))
    expect(seen.size).toBeGreaterThanOrEqual(2)
    // Set flush right: the line ends further right than any left-to-right text begins.
    expect(Math.max(...bodyLine.map((p) => p.x))).toBeGreaterThan(300)

    // The record itself rides along, so the PDF can be verified on its own.
    expect(JSON.parse(content.attachments.get('record.json')!.toString('utf8'))).toEqual(record)
    // Asked again: the same file.
    const again = await get(`/api/negotiations/${neg.id}/export?format=pdf`, neg.tokens.negotiator.us!)
    expect(Buffer.from(await again.arrayBuffer()).equals(pdf)).toBe(true)

    // Exports are the history readers': an observer gets 403.
    expect((await get(`/api/negotiations/${neg.id}/export?format=pdf`, neg.tokens.observer)).status).toBe(403)
  })

  const pdftotext = spawnSync('pdftotext', ['-v'], { encoding: 'utf8' }).error === undefined
  it.skipIf(!pdftotext)(
    '[RC9] where poppler’s pdftotext is installed (skipped elsewhere), it reads the Cyrillic title and terms out of the PDF',
    () => {
      const out = spawnSync('pdftotext', [join(tmp, 'record.pdf'), '-'], { encoding: 'utf8' }).stdout
      expect(out).toContain(TITLE)
      expect(out).toContain('Данные хранятся двенадцать месяцев.')
    },
  )
})

describe('the signing key', () => {
  it('[RC10] generated once into the data dir (0600) and kept; or given by PARLEY_SIGNING_KEY as PKCS#8 PEM or base64url JWK', () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-key-'))
    try {
      expect(existingSigningKey(dir, undefined)).toBeNull()
      const first = loadSigningKey(dir, undefined)
      expect(statSync(join(dir, SIGNING_KEY_FILE)).mode & 0o777).toBe(0o600)
      expect(loadSigningKey(dir, undefined).kid).toBe(first.kid)
      expect(existingSigningKey(dir, undefined)!.kid).toBe(first.kid)

      const { privateKey } = generateKeyPairSync('ed25519')
      const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string
      const jwk = Buffer.from(JSON.stringify(privateKey.export({ format: 'jwk' }))).toString('base64url')
      const fromPem = loadSigningKey(dir, pem)
      expect(fromPem.kid).not.toBe(first.kid)
      expect(loadSigningKey(dir, pem.replace(/\n/g, '\\n')).kid).toBe(fromPem.kid)
      expect(loadSigningKey(dir, jwk).kid).toBe(fromPem.kid)
      expect(fromPem.source).toBe('PARLEY_SIGNING_KEY')
      const data = new TextEncoder().encode('signed')
      expect(verifyEd25519(data, Buffer.from(fromPem.sign(data), 'base64url'), fromPem.publicJwk)).toBe(true)

      const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({
        type: 'pkcs8',
        format: 'pem',
      }) as string
      expect(() => loadSigningKey(dir, rsa)).toThrow(/PARLEY_SIGNING_KEY: not an Ed25519 private key \(it is rsa\)/)
      expect(() => loadSigningKey(dir, 'not a key')).toThrow(/PARLEY_SIGNING_KEY/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys)
  if (v && typeof v === 'object')
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    )
  return v
}

/**
 * [WX1]–[WX9] Word exports (CONTRACT.md "Word documents", issue 16 item 1)
 * through the real server: the stock y-websocket client edits as two
 * delegations, socket.io comments and suggests, HTTP exports, and the .docx
 * is read back with jszip + fast-xml-parser (tests/helpers/docxRevisions.ts)
 * — and, where LibreOffice is installed, opened by a word processor.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { execFile } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import * as Y from 'yjs'
import { board as boardOf, replaceText, termsInOrder } from '../../shared/docLayout'
import type { Sheet, TermDiff, Version } from '../../shared/schemas'
import type { Suggestion } from '../../shared/suggestions'
import type { CreatedNegotiation } from '../../server/negotiation/service'
import { startServer, type TestServer } from '../helpers/server'
import { synced, waitFor, yClient, type YClient } from '../helpers/clients'
import { connected, controlClient, type ControlClient } from '../helpers/control'
import { readDocx, resolveAll, revisions, stateLines, termsOf, type DocxContents } from '../helpers/docxRevisions'
import { readTermSheet } from '../../server/word/readDocx'

const run = promisify(execFile)
const DOCX = 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'
const US = 'United States (J. Carter)'
const RU = 'Russian Federation (A. Volkova)'

let server: TestServer
let neg: CreatedNegotiation
const open: Array<YClient | ControlClient> = []
const track = <T extends YClient | ControlClient>(c: T) => (open.push(c), c)

/** versions: before the edits, after them (with a pending suggestion and a comment) */
let from = 0
let to = 0
let started = 0
let ids: Record<'deadline' | 'scope' | 'costs' | 'dual', string>

const get = (path: string, token = neg.tokens.reviewer) => server.api(`/api/negotiations/${neg.id}${path}`, { token })
const json = async <T>(path: string): Promise<T> => {
  const res = await get(path)
  expect(res.status, path).toBe(200)
  return (await res.json()) as T
}
const versions = async () => (await json<{ versions: Version[] }>('/versions')).versions
const docx = async (query: string): Promise<{ res: Response; bytes: Uint8Array; doc: DocxContents }> => {
  const res = await get(`/export?format=docx${query}`)
  expect(res.status, query).toBe(200)
  const bytes = new Uint8Array(await res.arrayBuffer())
  return { res, bytes, doc: await readDocx(bytes) }
}
const sheetTerms = (s: Sheet) => s.terms.map((t) => ({ title: t.title, body: t.body }))

const SUGGESTED: Suggestion = { id: 's-requested', kind: 'ins', party: 'us', user: 'J. Carter', at: Date.UTC(2026, 0, 12, 10) }
const REMOVAL: Suggestion = { ...SUGGESTED, id: 's-requesting', kind: 'del' }

beforeAll(async () => {
  server = await startServer()
  neg = await server.createNegotiation({
    title: 'Reciprocal extradition',
    parties: [
      { id: 'us', name: 'United States' },
      { id: 'ru', name: 'Russian Federation' },
    ],
    terms: [
      { title: 'Deadline', body: 'Requests are answered within 30 days.' },
      { title: 'Scope', body: 'Each party extradites persons charged with ransomware attacks.' },
      { title: 'Costs', body: 'The requesting party bears the costs.' },
    ],
  })
  started = Date.now()
  const us = track(yClient(server.wsUrl, `${neg.id}/board`, { token: neg.tokens.negotiator.us!, name: 'J. Carter' }))
  const ru = track(yClient(server.wsUrl, `${neg.id}/board`, { token: neg.tokens.negotiator.ru!, name: 'A. Volkova' }))
  await Promise.all([synced(us), synced(ru)])
  await waitFor(() => termsInOrder(us.doc).length === 3 && termsInOrder(ru.doc).length === 3)
  const [deadline, scope, costs] = termsInOrder(us.doc).map((t) => t.id) as [string, string, string]
  await waitFor(async () => (await versions()).length >= 1, { what: 'the opening version' })
  from = (await versions()).length
  const text = (c: YClient, id: string) => boardOf(c.doc).terms.get(id)!.get('body') as Y.Text

  // United States: 30 → 45 days, and a new term
  us.doc.transact(() => replaceText(text(us, deadline), 'Requests are answered within 45 days.'))
  us.doc.transact(() => {
    const m = new Y.Map<unknown>()
    m.set('title', new Y.Text('Dual criminality'))
    m.set('body', new Y.Text('The conduct is an offence under the laws of both parties.'))
    m.set('x', 700)
    m.set('y', 500)
    boardOf(us.doc).terms.set('t-dual', m)
    boardOf(us.doc).order.push(['t-dual'])
  })
  await waitFor(() => text(ru, deadline).toString().includes('45') && boardOf(ru.doc).terms.has('t-dual'))
  // Russian Federation: words in and out of Scope, and a second line (a new paragraph) in Costs
  ru.doc.transact(() =>
    replaceText(text(ru, scope), 'Each party extradites nationals charged with ransomware attacks against the other.'),
  )
  ru.doc.transact(() => text(ru, costs).insert(text(ru, costs).length, '\nTranslations are paid by the requested party.'))
  await waitFor(() => text(us, costs).toString().includes('Translations'))
  // United States suggests "requested" for "requesting" (pending)
  const c = text(us, costs)
  const at = c.toString().indexOf('requesting')
  us.doc.transact(() => {
    c.insert(at, 'requested', { suggestion: SUGGESTED })
    c.format(at + 'requested'.length, 'requesting'.length, { suggestion: REMOVAL })
  })
  // Russian Federation comments on the new words, anchored to them
  const control = track(controlClient(server.url, neg.tokens.negotiator.ru!, 'A. Volkova'))
  await connected(control)
  const s = text(ru, scope)
  const q = 'against the other'
  const i = s.toString().indexOf(q)
  const pos = (n: number) => Buffer.from(Y.encodeRelativePosition(Y.createRelativePositionFromTypeIndex(s, n))).toString('base64')
  expect(
    await control.command('comment:add', {
      termId: scope,
      scope: 'shared',
      body: 'Reciprocity, spelled out.\nSee the 1957 convention.',
      anchor: { start: pos(i), end: pos(i + q.length) },
      quote: q,
    }),
  ).toMatchObject({ ok: true })
  ids = { deadline, scope, costs, dual: 't-dual' }
  // Every change is in a version: the redline from `from` to the newest shows them all.
  await waitFor(
    async () => {
      const vs = await versions()
      if (vs.at(-1)?.kind !== 'comment') return false
      const d = (await json<{ terms: TermDiff[] }>(`/diff?from=${from}&to=${vs.length}`)).terms
      const costsBody = d.find((t) => t.id === costs)?.body ?? []
      if (!costsBody.some((x) => x.suggestion?.kind === 'del')) return false
      to = vs.length
      return true
    },
    { what: 'every edit in a version', timeout: 15_000 },
  )
}, 60_000)

afterAll(async () => {
  for (const c of open) 'destroy' in c ? c.destroy() : c.close()
  await server?.close({ wipe: true })
})

describe('the sheet at a version as .docx', () => {
  it('[WX1] the sheet at version n reads back as the same terms — title and body, by this test’s reader and by the import’s — with state lines, as a named attachment', async () => {
    for (const n of [from, to]) {
      const { res, doc, bytes } = await docx(`&n=${n}`)
      expect(res.headers.get('content-type')).toBe(DOCX)
      expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${neg.id}-v${n}.docx"`)
      const sheet = await json<Sheet>(`/versions/${n}`)
      // nothing is tracked in a sheet, and the text is the sheet's (no pending suggestion in it)
      expect(revisions(doc)).toEqual([])
      expect(termsOf(resolveAll(doc, 'accept'))).toEqual(sheetTerms(sheet))
      expect(termsOf(resolveAll(doc, 'reject'))).toEqual(sheetTerms(sheet))
      // the import's reader (readDocx.ts) reads it back as the same terms, state lines and notes left out
      const parsed = await readTermSheet(bytes)
      expect(parsed.terms).toEqual(sheetTerms(sheet))
      expect(parsed.title).toBe('Reciprocal extradition')
      const states = stateLines(doc)
      expect(states).toHaveLength(sheet.terms.length)
      expect(states[0]).toMatch(/^Proposed — in the opening draft\.$/)
      // headings are numbered in board order
      expect(doc.paragraphs.filter((p) => p.style === 'Heading1').map((p) => p.pieces.map((x) => x.text).join(''))).toEqual(
        sheet.terms.map((t, i) => `§${i + 1} ${t.title}`),
      )
    }
    // default: now (the newest version)
    const now = await docx('')
    expect(now.res.headers.get('content-disposition')).toBe(`attachment; filename="${neg.id}-v${to}.docx"`)
    expect(termsOf(resolveAll(now.doc, 'accept'))).toEqual(sheetTerms(await json<Sheet>(`/versions/${to}`)))
  })

  it('[WX2] acceptances name the parties; a changed text says the acceptance was of an earlier one', async () => {
    const us = track(controlClient(server.url, neg.tokens.negotiator.us!, 'J. Carter'))
    await connected(us)
    expect(await us.command('term:accept', { termId: ids.deadline })).toMatchObject({ ok: true })
    const n = await waitFor(async () => {
      const vs = await versions()
      return vs.at(-1)?.kind === 'accept' ? vs.length : 0
    })
    const { doc } = await docx(`&n=${n}`)
    expect(stateLines(doc)[0]).toBe('Accepted by some — in the opening draft; accepted by United States.')
  })
})

describe('the redline between two versions as .docx', () => {
  let doc: DocxContents
  beforeAll(async () => {
    const r = await docx(`&from=${from}&to=${to}`)
    expect(r.res.headers.get('content-disposition')).toBe(`attachment; filename="${neg.id}-v${from}-v${to}-redline.docx"`)
    doc = r.doc
  })

  it('[WX3] each change is a w:ins / w:del in the name of the delegation and person who made it, dated', async () => {
    const revs = revisions(doc)
    const by = (author: string, kind: 'ins' | 'del') =>
      revs
        .filter((r) => r.kind === kind && (kind === 'ins' ? r.ins : r.del)!.author === author)
        .map((r) => r.text)
        .join('')
    expect(by(US, 'del')).toBe('30')
    expect(by(US, 'ins')).toContain('45')
    expect(by(US, 'ins')).toContain('Dual criminality')
    expect(by(US, 'ins')).toContain('The conduct is an offence under the laws of both parties.')
    expect(by(RU, 'del')).toBe('persons')
    expect(by(RU, 'ins')).toContain('nationals')
    expect(by(RU, 'ins')).toContain(' against the other')
    expect(by(RU, 'ins')).toContain('Translations are paid by the requested party.')
    // nobody else changed anything; the pending suggestion is no tracked change (see WX5)
    expect(new Set(revs.map((r) => (r.ins ?? r.del)!.author))).toEqual(new Set([US, RU]))
    // every revision is dated, at the time of its row
    for (const r of revs) {
      const date = (r.ins ?? r.del)!.date!
      expect(date).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
      expect(Date.parse(date)).toBeGreaterThanOrEqual(Math.floor(started / 1000) * 1000)
      expect(Date.parse(date)).toBeLessThanOrEqual(Date.now())
    }
    // the new line of Costs is an inserted paragraph mark, the new term's paragraphs all inserted
    const marks = doc.paragraphs.filter((p) => p.mark.ins).map((p) => p.mark.ins!.author)
    expect(marks.filter((a) => a === RU)).toHaveLength(1)
    expect(marks.filter((a) => a === US)).toHaveLength(3) // heading, state line, body
    // ids are unique across revisions and comments
    const all = [...doc.documentXml.matchAll(/<w:(?:ins|del) w:id="(\d+)"/g)].map((m) => m[1])
    expect(new Set(all).size).toBe(all.length)
    // the file asks Word to track further edits
    expect(doc.settingsXml).toContain('<w:trackRevisions/>')
  })

  it('[WX4] Accept all gives exactly the sheet at `to`; Reject all the sheet at `from`', async () => {
    const [a, b] = await Promise.all([json<Sheet>(`/versions/${from}`), json<Sheet>(`/versions/${to}`)])
    expect(termsOf(resolveAll(doc, 'accept'))).toEqual(sheetTerms(b))
    expect(termsOf(resolveAll(doc, 'reject'))).toEqual(sheetTerms(a))
    // the sheet at `to` leaves the pending suggested insertion out, keeps the text suggested for removal
    expect(b.terms.find((t) => t.id === ids.costs)!.body).toBe(
      'The requesting party bears the costs.\nTranslations are paid by the requested party.',
    )
  })

  it('[WX5] a pending suggestion is a comment in its suggester’s name on the words it would remove; the shared thread is a comment on the quoted words', async () => {
    const suggestion = doc.comments.find((c) => c.text.startsWith('Suggested'))!
    expect(suggestion).toMatchObject({ author: US, text: expect.stringContaining('replace “requesting” with “requested”') })
    expect(suggestion.date).toBe(new Date(SUGGESTED.at).toISOString())
    const thread = doc.comments.find((c) => c.author === RU)!
    expect(thread.text).toBe('Reciprocity, spelled out.\nSee the 1957 convention.')
    expect(thread.date).toBeDefined()
    // anchored to the quoted words: the range holds exactly them
    const between = (id: string) =>
      doc.documentXml
        .split(`<w:commentRangeStart w:id="${id}"/>`)[1]!
        .split(`<w:commentRangeEnd w:id="${id}"/>`)[0]!
        .replace(/<w:delText[^>]*>.*?<\/w:delText>/g, '')
        .replace(/<[^>]+>/g, '')
    expect(between(thread.id)).toBe('against the other')
    expect(between(suggestion.id)).toBe('requesting')
  })

  it('[WX6] suggestions=tracked: pending suggestions are tracked changes of their suggester too — Accept all accepts them, Reject all still gives `from`', async () => {
    const { doc: t } = await docx(`&from=${from}&to=${to}&suggestions=tracked`)
    const revs = revisions(t)
    expect(revs.filter((r) => r.text === 'requested' && r.ins?.author === US)).toHaveLength(1)
    expect(revs.filter((r) => r.text === 'requesting' && r.del?.author === US)).toHaveLength(1)
    const accepted = termsOf(resolveAll(t, 'accept'))
    expect(accepted.find((x) => x.title === 'Costs')!.body).toBe(
      'The requested party bears the costs.\nTranslations are paid by the requested party.',
    )
    expect(termsOf(resolveAll(t, 'reject'))).toEqual(sheetTerms(await json<Sheet>(`/versions/${from}`)))
    expect(t.comments.some((c) => c.author === US && c.text.includes('tracked change'))).toBe(true)
  })

  it('[WX7] a window with nothing in it is the sheet; bad windows get the /diff error codes; observers 403', async () => {
    const same = await docx(`&from=${to}&to=${to}`)
    expect(revisions(same.doc)).toEqual([])
    expect((await get(`/export?format=docx&from=${to}&to=${from}`)).status).toBe(400)
    const unknown = await get(`/export?format=docx&from=${from}&to=${to + 1000}`)
    expect(unknown.status).toBe(404)
    expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('unknown-version')
    expect((await get(`/export?format=docx&n=${to + 1000}`)).status).toBe(404)
    expect((await get(`/export?format=docx&from=${from}`)).status).toBe(400)
    expect((await get(`/export?format=docx&n=1&from=0&to=1`)).status).toBe(400)
    expect((await get(`/export?format=md&from=0&to=1`)).status).toBe(400)
    expect((await get(`/export?format=md&n=${to + 1000}`)).status).toBe(404)
    expect((await get(`/export?format=pdf&n=1`)).status).toBe(400)
    expect((await get(`/export?format=docx&suggestions=inline`)).status).toBe(400)
    expect((await get(`/export?format=docx`, neg.tokens.observer)).status).toBe(403)
    expect((await get(`/export?format=docx&from=0&to=1`, neg.tokens.negotiator.us!)).status).toBe(200)
  })
})

/** The environment without a store URL of its own: the CLI reads the test server's SQLite file. */
const withoutStoreEnv = (env: NodeJS.ProcessEnv) => Object.fromEntries(Object.entries(env).filter(([k]) => k !== 'DATABASE_URL'))

describe('the command line', () => {
  it('[WX8] npm run export -- <id> --format docx [--n N | --from N --to M] --out file writes the same documents', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-wx-'))
    try {
      const cli = (args: string[]) =>
        run(process.execPath, ['--import', 'tsx', 'scripts/export.ts', neg.id, '--format', 'docx', ...args], {
          env: { ...withoutStoreEnv(process.env), PARLEY_DATA_DIR: server.dataDir },
        })
      const red = join(dir, 'red.docx')
      const out = await cli(['--from', String(from), '--to', String(to), '--out', red])
      expect(out.stderr).toContain(`wrote ${red}`)
      const doc = await readDocx(readFileSync(red))
      expect(termsOf(resolveAll(doc, 'accept'))).toEqual(sheetTerms(await json<Sheet>(`/versions/${to}`)))
      expect(new Set(revisions(doc).map((r) => (r.ins ?? r.del)!.author))).toEqual(new Set([US, RU]))
      const one = join(dir, 'one.docx')
      await cli(['--n', String(from), '--out', one])
      expect(termsOf(resolveAll(await readDocx(readFileSync(one)), 'accept'))).toEqual(
        sheetTerms(await json<Sheet>(`/versions/${from}`)),
      )
      await expect(cli(['--from', '2'])).rejects.toMatchObject({ code: 2 })
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 30_000)
})

/**
 * The redline's first page as a PNG: LibreOffice's own PNG filter where it has one (not the
 * no-GUI build), else its PDF through poppler's pdftoppm, cropped to the text. Null when neither is here.
 */
async function redlinePng(dir: string, convert: (to: string, ...files: string[]) => Promise<unknown>): Promise<string | null> {
  const png = join(dir, 'redline.png')
  await convert('png', 'redline.docx').catch(() => {})
  if (existsSync(png)) return png
  const pdftoppm = ['/usr/bin/pdftoppm', '/usr/local/bin/pdftoppm'].find((p) => existsSync(p))
  if (!pdftoppm) return null
  // 110 dpi: an A4 page is 909 × 1286; the text starts ~100 px in
  const crop = ['-x', '70', '-y', '90', '-W', '770', '-H', '680']
  await run(pdftoppm, [
    '-png',
    '-r',
    '110',
    '-f',
    '1',
    '-l',
    '1',
    '-singlefile',
    '-hide-annotations',
    ...crop,
    join(dir, 'redline.pdf'),
    join(dir, 'redline'),
  ])
  return existsSync(png) ? png : null
}

const soffice = ['/usr/bin/soffice', '/usr/local/bin/soffice', '/usr/bin/libreoffice'].find((p) => existsSync(p))
if (!soffice)
  console.log('[WX9] skipped: LibreOffice (soffice) is not installed here, so the .docx files are not opened by a word processor')

describe.skipIf(!soffice)('a word processor opens them (LibreOffice, headless)', () => {
  it('[WX9] the sheet and the redline convert to PDF; the redline renders to PNG (docs/screenshots/word-redline.png, with PARLEY_SCREENSHOTS=1 or when missing)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-wx-pdf-'))
    try {
      writeFileSync(join(dir, 'sheet.docx'), (await docx(`&n=${to}`)).bytes)
      writeFileSync(join(dir, 'redline.docx'), (await docx(`&from=${from}&to=${to}`)).bytes)
      // its own profile: a second LibreOffice (a developer's, another test) must not take the conversion over
      const profile = `-env:UserInstallation=file://${join(dir, 'profile')}`
      const convert = (to: string, ...files: string[]) =>
        run(
          soffice!,
          [profile, '--headless', '--norestore', '--convert-to', to, '--outdir', dir, ...files.map((f) => join(dir, f))],
          {
            timeout: 90_000,
          },
        )
      await convert('pdf', 'sheet.docx', 'redline.docx')
      for (const f of ['sheet.pdf', 'redline.pdf']) {
        const pdf = readFileSync(join(dir, f))
        expect(pdf.subarray(0, 5).toString(), f).toBe('%PDF-')
        expect(pdf.length, f).toBeGreaterThan(2000)
      }
      const shot = new URL('../../docs/screenshots/word-redline.png', import.meta.url).pathname
      if (process.env.PARLEY_SCREENSHOTS === '1' || !existsSync(shot)) {
        const png = await redlinePng(dir, convert)
        if (png) {
          mkdirSync(join(shot, '..'), { recursive: true })
          copyFileSync(png, shot)
        } else console.log('[WX9] the redline screenshot was not written: neither LibreOffice’s PNG filter nor pdftoppm is here')
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 120_000)
})

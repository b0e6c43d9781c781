/**
 * `POST /api/terms/parse` through the real server (issue 16, items 2 and 4;
 * CONTRACT.md "Word documents"): who may call it, what it answers for a term
 * sheet, and the bad files — each a clear 400 or 413, the server alive after,
 * and nothing created.
 */
import { readFileSync } from 'node:fs'
import { request } from 'node:http'
import { HeadingLevel, InsertedTextRun, DeletedTextRun, Paragraph, TextRun } from 'docx'
import JSZip from 'jszip'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DOCX_CONTENT_TYPE, MAX_WORD_FILE_BYTES, type ParsedTermSheet } from '../../shared/word'
import { NEGOTIATION_LIMITS } from '../../shared/schemas'
import type { CreatedNegotiation } from '../../shared/schemas'
import { docxFromXml, docxOf, documentXml, zipBomb } from '../helpers/docx'
import { expectAlive, startServer, type TestServer } from '../helpers/server'

let server: TestServer
let neg: CreatedNegotiation

beforeAll(async () => {
  server = await startServer()
  neg = await server.createNegotiation()
})

afterAll(async () => {
  await server.close({ wipe: true })
})

const parse = (body: Uint8Array, token?: string, headers: Record<string, string> = {}) =>
  server.api('/api/terms/parse', { token, body, headers })

const admin = () => server.parley.adminToken

const termSheet = () =>
  docxOf([
    new Paragraph({ text: 'Supply of turbines', heading: HeadingLevel.TITLE }),
    new Paragraph({ text: 'Price', heading: HeadingLevel.HEADING_1 }),
    new Paragraph({
      children: [
        new TextRun('The price is '),
        new DeletedTextRun({ text: '10', id: 1, author: 'Counsel (Alpha)', date: '2026-03-01T10:00:00Z' }),
        new InsertedTextRun({ text: '12', id: 2, author: 'Counsel (Alpha)', date: '2026-03-01T10:00:00Z' }),
        new TextRun(' million.'),
      ],
    }),
    new Paragraph({ text: 'Deadline', heading: HeadingLevel.HEADING_1 }),
    new Paragraph('Delivery within 30 days.'),
  ])

/**
 * Streams up to `total` bytes with no Content-Length (chunked), stopping when
 * the server answers: its status, body, and how much was sent by then.
 */
function chunkedUpload(total: number, token: string): Promise<{ status: number; body: string; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0
    let answered = false
    const req = request(`${server.url}/api/terms/parse`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
    })
    req.on('response', (res) => {
      answered = true
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), sent }))
    })
    req.on('error', (err) => {
      if (!answered) reject(err)
    })
    const chunk = Buffer.alloc(256 * 1024)
    const pump = () => {
      while (!answered && sent < total) {
        sent += chunk.length
        if (!req.write(chunk)) return void req.once('drain', pump)
      }
      if (!answered) req.end()
    }
    pump()
  })
}

async function negotiationsNow(): Promise<unknown> {
  const res = await server.api('/api/negotiations', { token: admin() })
  expect(res.status).toBe(200)
  return res.json()
}

async function refused(res: Response, status: number, code: string): Promise<string> {
  const text = await res.text()
  expect(res.status, text).toBe(status)
  const body = JSON.parse(text) as { error: { code: string; message: string } }
  expect(body.error.code).toBe(code)
  return body.error.message
}

describe('[WI8] a term sheet in Word becomes terms for review', () => {
  it('the admin and a negotiator get {terms, warnings, title}; tracked changes are read as accepted and reported', async () => {
    const bytes = await termSheet()
    for (const [token, headers] of [
      [admin(), { 'content-type': DOCX_CONTENT_TYPE }],
      [neg.tokens.negotiator.a!, {}],
    ] as const) {
      const res = await parse(bytes, token, headers)
      expect(res.status).toBe(200)
      const sheet = (await res.json()) as ParsedTermSheet
      expect(sheet).toEqual({
        title: 'Supply of turbines',
        terms: [
          { title: 'Price', body: 'The price is 12 million.' },
          { title: 'Deadline', body: 'Delivery within 30 days.' },
        ],
        warnings: ['2 tracked changes were read as accepted (1 insertion, 1 deletion by Counsel (Alpha)).'],
      })
    }
    // a browser that does not know the file's type sends none
    const untyped = await fetch(`${server.url}/api/terms/parse`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin()}` },
      body: new Blob([bytes as Uint8Array<ArrayBuffer>]),
    })
    expect(untyped.status).toBe(200)
  })

  it('what would not fit a new negotiation is fitted and said, and the result creates one as it is', async () => {
    const many = Array.from({ length: NEGOTIATION_LIMITS.terms + 3 }, (_, i) => [
      new Paragraph({
        text: i === 0 ? 'T'.repeat(NEGOTIATION_LIMITS.termTitle + 20) : `Term ${i + 1}`,
        heading: HeadingLevel.HEADING_1,
      }),
      new Paragraph(`Text ${i + 1}.`),
    ]).flat()
    const res = await parse(await docxOf(many), admin())
    expect(res.status).toBe(200)
    const sheet = (await res.json()) as ParsedTermSheet
    expect(sheet.terms).toHaveLength(NEGOTIATION_LIMITS.terms)
    expect(sheet.warnings).toEqual([
      `Term 1 ('${'T'.repeat(39)}…'): its title was cut to ${NEGOTIATION_LIMITS.termTitle} characters.`,
      `The document has ${NEGOTIATION_LIMITS.terms + 3} terms and a negotiation opens with at most ${NEGOTIATION_LIMITS.terms}: the last 3 (from 'Term 201') were left out.`,
    ])
    const created = await server.createNegotiation({
      title: 'From Word',
      parties: [{ name: 'A' }, { name: 'B' }],
      terms: sheet.terms,
    })
    expect(created.id).toBeTruthy()
  })
})

describe('[WI9] only the admin and negotiators may send a Word file', () => {
  it('no token or a bad one: 401; an observer or a reviewer: 403 — answered without reading the upload', async () => {
    const bytes = await termSheet()
    await refused(await parse(bytes), 401, 'unauthorized')
    await refused(await parse(bytes, 'not-a-token'), 401, 'unauthorized')
    expect(await refused(await parse(bytes, neg.tokens.observer), 403, 'forbidden')).toMatch(/observers cannot/)
    await refused(await parse(bytes, neg.tokens.reviewer), 403, 'forbidden')
    // the refusal comes while the upload is still going: the body was never waited for
    const streamed = await chunkedUpload(4 * MAX_WORD_FILE_BYTES, neg.tokens.observer)
    expect(streamed.status).toBe(403)
    expect(streamed.sent).toBeLessThan(MAX_WORD_FILE_BYTES)
  })
})

describe('[WI10] bad files: a clear 400 or 413, the server alive, nothing created', () => {
  let before: unknown
  beforeAll(async () => {
    before = await negotiationsNow()
  })
  afterAll(async () => {
    expect(await negotiationsNow()).toEqual(before)
    await expectAlive(server)
  })

  it('not a zip, and a zip that is not a Word document', async () => {
    expect(
      await refused(await parse(new TextEncoder().encode('plain text, not a document'), admin()), 400, 'bad-document'),
    ).toMatch(/^not a Word document: /)
    const xlsx = new JSZip()
    xlsx.file('xl/workbook.xml', '<workbook/>')
    expect(await refused(await parse(await xlsx.generateAsync({ type: 'uint8array' }), admin()), 400, 'bad-document')).toBe(
      'not a Word document: the archive has no word/document.xml',
    )
    await refused(await parse(new Uint8Array(), admin()), 400, 'bad-document')
  })

  it('a zip bomb, declared or lying about its size, is refused without being inflated', async () => {
    const honest = await zipBomb(64 * 1024 * 1024)
    expect(await refused(await parse(honest, admin()), 400, 'bad-document')).toMatch(/would unpack to 64 MiB/)
    const liar = await zipBomb(24 * 1024 * 1024, { declared: 2048 })
    expect(await refused(await parse(liar, admin()), 400, 'bad-document')).toMatch(
      /word\/document.xml unpacks to more than 20 MiB/,
    )
  })

  it('an entity bomb and an external entity are refused, nothing expanded and nothing read', async () => {
    const laughs = `<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY a "ha"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;">]>`
    const bomb = await docxFromXml({ document: documentXml('<w:p><w:r><w:t>&d;&d;&d;</w:t></w:r></w:p>', laughs) })
    expect(await refused(await parse(bomb, admin()), 400, 'bad-document')).toMatch(/declares a DTD or entities/)
    const xxe = await docxFromXml({
      document: documentXml(
        '<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>&x;</w:t></w:r></w:p>',
        '<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
      ),
    })
    const res = await parse(xxe, neg.tokens.negotiator.b!)
    const text = await res.clone().text()
    await refused(res, 400, 'bad-document')
    const passwd = readFileSync('/etc/passwd', 'utf8').split('\n')[0]!
    expect(passwd.length).toBeGreaterThan(0)
    expect(text).not.toContain(passwd)
    expect(text).not.toContain('root:')
  })

  it('another content type is refused (400 bad-request) before the body is read', async () => {
    const msg = await refused(await parse(await termSheet(), admin(), { 'content-type': 'application/json' }), 400, 'bad-request')
    expect(msg).toMatch(/content-type/)
  })

  it('a file over 10 MiB gets 413, whether its length is declared or it streams in chunks, and no more than the limit is read', async () => {
    const big = new Uint8Array(MAX_WORD_FILE_BYTES + 1)
    big.set([0x50, 0x4b, 0x03, 0x04])
    expect(await refused(await parse(big, admin()), 413, 'too-large')).toBe('the file is larger than 10 MiB')
    const streamed = await chunkedUpload(4 * MAX_WORD_FILE_BYTES, admin())
    expect(streamed.status).toBe(413)
    expect(JSON.parse(streamed.body)).toEqual({ error: { code: 'too-large', message: 'the file is larger than 10 MiB' } })
    // the server answered once past the limit: the upload stopped far short of what it had to send
    expect(streamed.sent).toBeLessThan(2 * MAX_WORD_FILE_BYTES)
  })
})

/**
 * `GET …/export?format=pdf`: the concluded text with its signed record, as a PDF a delegation can
 * file. The text (title, parties, each agreed term in board order) is the record's own, so the
 * PDF says nothing the record does not; after it come the record's proofs (package hash,
 * initials, chain heads, key id, signature), how to verify them, and the record itself attached
 * as record.json.
 *
 * Fonts are Noto Sans and Noto Sans Arabic, full TrueType files shipped by npm packages
 * (@expo-google-fonts/*), embedded as subsets: Latin, Cyrillic, Greek and Arabic render on a
 * machine without system fonts. Direction and shaping: pdfText.ts.
 */
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import PDFDocument from 'pdfkit'
import type { SignedRecord } from '../../shared/record'
import { PdfText, type FontFaces } from './pdfText'

const FONT_FILES = {
  regular: '@expo-google-fonts/noto-sans/400Regular/NotoSans_400Regular.ttf',
  bold: '@expo-google-fonts/noto-sans/700Bold/NotoSans_700Bold.ttf',
  arabic: '@expo-google-fonts/noto-sans-arabic/400Regular/NotoSansArabic_400Regular.ttf',
  arabicBold: '@expo-google-fonts/noto-sans-arabic/700Bold/NotoSansArabic_700Bold.ttf',
} as const satisfies FontFaces

let fontData: Record<keyof FontFaces, Buffer> | null = null

/** The font files, read once (about 1.6 MB together). */
function fonts(): Record<keyof FontFaces, Buffer> {
  if (fontData) return fontData
  const require = createRequire(import.meta.url)
  const entries = Object.entries(FONT_FILES).map(([face, file]) => [face, readFileSync(require.resolve(file))])
  return (fontData = Object.fromEntries(entries) as Record<keyof FontFaces, Buffer>)
}

const FACES: FontFaces = { regular: 'sans', bold: 'sans-bold', arabic: 'arabic', arabicBold: 'arabic-bold' }
const MARGIN = 56
const GREY = '#555'

/** The PDF of a signed record. */
export async function renderRecordPdf(record: SignedRecord): Promise<Buffer> {
  const concluded = new Date(record.concludedAt)
  const doc = new PDFDocument({
    size: 'A4',
    margin: MARGIN,
    // The same record makes the same document, whenever it is asked for.
    info: {
      Title: record.title,
      Subject: 'Signed record of a concluded negotiation',
      Creator: 'Parley',
      CreationDate: concluded,
      ModDate: concluded,
    },
    displayTitle: true,
  })
  const done = new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = []
    doc.on('data', (c: Buffer) => chunks.push(c))
    doc.on('end', () => resolve(Buffer.concat(chunks)))
    doc.on('error', reject)
  })
  const data = fonts()
  for (const face of Object.keys(FACES) as Array<keyof FontFaces>) doc.registerFont(FACES[face], data[face])

  const text = new PdfText(doc, FACES)
  const left = MARGIN
  const width = doc.page.width - 2 * MARGIN
  const write = (s: string, size: number, opts: { bold?: boolean; color?: string; after?: number } = {}) => {
    text.paragraphs(s, { size, bold: opts.bold, color: opts.color }, left, width)
    doc.y += opts.after ?? 0
  }
  const partyName = new Map(record.parties.map((p) => [p.id, p.name]))

  write(record.title, 18, { bold: true, after: 6 })
  write(`Concluded ${readableTime(record.concludedAt)} between ${andList(record.parties.map((p) => p.name))}.`, 10, {
    color: GREY,
    after: 16,
  })

  write('Agreed terms', 13, { bold: true, after: 8 })
  for (const [i, t] of record.terms.entries()) {
    write(`${i + 1}. ${t.title}`, 12, { bold: true, after: 2 })
    write(t.body, 11, { after: 12 })
    // pdfkit works synchronously: let the other negotiations' traffic through between terms.
    if (i % 10 === 9) await new Promise((r) => setImmediate(r))
  }

  doc.y += 10
  write('Signed record', 13, { bold: true, after: 8 })
  write(`Negotiation: ${record.negotiationId}`, 9)
  write(`Package hash (SHA-256 of the agreed terms’ hashes in order): ${record.packageHash}`, 9)
  for (const t of record.terms) write(`Term ${t.id}: ${t.hash}`, 8, { color: GREY })
  write('Initialled:', 9)
  for (const i of record.initials) write(`${partyName.get(i.party) ?? i.party} (${i.party}): ${i.user}, ${readableTime(i.at)}`, 9)
  write(
    `Chain heads: board row ${record.chain.board.seq} ${record.chain.board.hash}; ledger row ${record.chain.ledger.seq} ${record.chain.ledger.hash}`,
    9,
  )
  write(`Concluded at: ${record.concludedAt}`, 9)
  write(`Key id (kid, RFC 7638 thumbprint): ${record.kid}`, 9)
  write(`Signature (Ed25519, base64url): ${record.signature}`, 9, { after: 8 })
  write(
    `Verify: save the record from GET /api/negotiations/${record.negotiationId}/record (it is also attached to this PDF as record.json) ` +
      'and run npm run verify -- --record record.json; on another machine add --keys keys.json, a saved answer of GET /api/keys.',
    9,
    { color: GREY },
  )

  doc.file(Buffer.from(JSON.stringify(record, null, 2) + '\n'), {
    name: 'record.json',
    type: 'application/json',
    description: 'The signed record (verify with npm run verify -- --record record.json)',
    creationDate: concluded,
    modifiedDate: concluded,
  })
  doc.end()
  return done
}

const readableTime = (iso: string) =>
  iso
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC')
    .replace(/Z$/, ' UTC')
const andList = (items: string[]) => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`)

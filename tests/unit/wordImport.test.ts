/**
 * Reading a term sheet out of a .docx (issue 16, item 2; server/word/readDocx.ts):
 * the layouts a lawyer's draft comes in, tracked changes read as accepted and
 * reported, the inline markup Word wraps text in, and the bad files of item 4
 * — each refused as `bad-document` before anything is expanded or inflated.
 */
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  DeletedTextRun,
  ExternalHyperlink,
  FootnoteReferenceRun,
  HeadingLevel,
  InsertedTextRun,
  Paragraph,
  Table,
  TableCell,
  TableRow,
  TextRun,
} from 'docx'
import JSZip from 'jszip'
import { describe, expect, it } from 'vitest'
import { BadDocumentError, fitTerms, readTermSheet } from '../../server/word/readDocx'
import { bodySlices } from '../../server/word/wordXml'
import { NEGOTIATION_LIMITS } from '../../shared/schemas'
import { NUMBERED_TERMS, docxFromXml, docxOf, documentXml, zipBomb } from '../helpers/docx'

const by = { author: 'Jane Doe (Alpha)', date: '2026-03-01T10:00:00Z' }
const p = (text: string, style?: string) =>
  `<w:p>${style ? `<w:pPr><w:pStyle w:val="${style}"/></w:pPr>` : ''}<w:r><w:t xml:space="preserve">${text}</w:t></w:r></w:p>`
const fromBody = (body: string, parts: { styles?: string; numbering?: string } = {}) =>
  docxFromXml({ document: documentXml(body), ...parts })

async function refusal(bytes: Uint8Array): Promise<BadDocumentError> {
  const err = await readTermSheet(bytes).then(
    () => null,
    (e: unknown) => e,
  )
  expect(err).toBeInstanceOf(BadDocumentError)
  expect((err as BadDocumentError).code).toBe('bad-document')
  expect((err as BadDocumentError).status).toBe(400)
  return err as BadDocumentError
}

describe('[WI1] headings start terms', () => {
  it('Heading 1–3 paragraphs become terms with the paragraphs below as the body; the Title is the document’s title', async () => {
    const sheet = await readTermSheet(
      await docxOf([
        new Paragraph({ text: 'Supply agreement — term sheet', heading: HeadingLevel.TITLE }),
        new Paragraph({ text: 'Price', heading: HeadingLevel.HEADING_1 }),
        new Paragraph('The price is 12 million.'),
        new Paragraph(''),
        new Paragraph('Payable in two instalments.'),
        new Paragraph({ text: '2. Deadline', heading: HeadingLevel.HEADING_2 }),
        new Paragraph('Within 30 days.'),
        new Paragraph({ text: 'Article 3 – Governing law', heading: HeadingLevel.HEADING_3 }),
        new Paragraph(''),
        new Paragraph('English law.'),
        new Paragraph(''),
        new Paragraph({ text: '', heading: HeadingLevel.HEADING_1 }),
        new Paragraph({ text: 'Open points', heading: HeadingLevel.HEADING_1 }),
      ]),
    )
    expect(sheet.title).toBe('Supply agreement — term sheet')
    expect(sheet.terms).toEqual([
      // an empty paragraph inside a body is an empty line (a body with one exported reads back as itself)
      { title: 'Price', body: 'The price is 12 million.\n\nPayable in two instalments.' },
      { title: 'Deadline', body: 'Within 30 days.' },
      { title: 'Governing law', body: 'English law.' },
      { title: 'Open points', body: '' },
    ])
    expect(sheet.warnings).toEqual([])
  })

  it('a style whose name in styles.xml is a heading, or that is based on one, or has an outline level, is a heading', async () => {
    const styles = `<?xml version="1.0"?><w:styles xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">
      <w:style w:type="paragraph" w:styleId="berschrift1"><w:name w:val="heading 1"/></w:style>
      <w:style w:type="paragraph" w:styleId="ClauseHead"><w:name w:val="Clause Head"/><w:basedOn w:val="berschrift1"/></w:style>
      <w:style w:type="paragraph" w:styleId="Outlined"><w:name w:val="Outlined"/><w:pPr><w:outlineLvl w:val="0"/></w:pPr></w:style>
      <w:style w:type="paragraph" w:styleId="BodyText"><w:name w:val="Body Text"/><w:pPr><w:outlineLvl w:val="9"/></w:pPr></w:style>
    </w:styles>`
    const sheet = await readTermSheet(
      await fromBody(
        p('Preis', 'berschrift1') +
          p('Zwölf Millionen.', 'BodyText') +
          p('Deadline', 'ClauseHead') +
          p('Thirty days.') +
          p('Law', 'Outlined') +
          p('English.'),
        { styles },
      ),
    )
    expect(sheet.terms.map((t) => t.title)).toEqual(['Preis', 'Deadline', 'Law'])
    expect(sheet.terms[0]!.body).toBe('Zwölf Millionen.')
  })

  it('text before the first heading becomes a term "Preamble"; a heading over sub-headings with no text is a section, reported', async () => {
    const sheet = await readTermSheet(
      await docxOf([
        new Paragraph('This term sheet is not binding.'),
        new Paragraph({ text: 'Financial terms', heading: HeadingLevel.HEADING_1 }),
        new Paragraph({ text: 'Price', heading: HeadingLevel.HEADING_2 }),
        new Paragraph('12 million.'),
        new Paragraph({ text: 'Deposit', heading: HeadingLevel.HEADING_2 }),
        new Paragraph('10 per cent.'),
      ]),
    )
    expect(sheet.terms).toEqual([
      { title: 'Preamble', body: 'This term sheet is not binding.' },
      { title: 'Price', body: '12 million.' },
      { title: 'Deposit', body: '10 per cent.' },
    ])
    expect(sheet.warnings).toEqual([
      "The text before the first term became a term of its own, 'Preamble'.",
      "A heading with sub-headings and no text of its own was read as a section, not a term: 'Financial terms'.",
    ])
  })

  it('a table under a heading is part of its body, a row per line with its cells split by tabs', async () => {
    const cell = (t: string) => new TableCell({ children: [new Paragraph(t)] })
    const sheet = await readTermSheet(
      await docxOf([
        new Paragraph({ text: 'Payment schedule', heading: HeadingLevel.HEADING_1 }),
        new Paragraph('In instalments:'),
        new Table({
          rows: [
            new TableRow({ children: [cell('1 March'), cell('50%')] }),
            new TableRow({ children: [cell('1 June'), cell('50%')] }),
          ],
        }),
      ]),
    )
    expect(sheet.terms).toEqual([{ title: 'Payment schedule', body: 'In instalments:\n1 March\t50%\n1 June\t50%' }])
  })
})

describe('[WI2] without headings, numbered paragraphs start terms', () => {
  it('a Word numbered list: its first level starts terms, deeper levels and bullets stay in the body; titles found as a lawyer writes them', async () => {
    const sheet = await readTermSheet(
      await docxOf(
        [
          new Paragraph('Between Alpha Ltd and Beta GmbH.'),
          new Paragraph({
            numbering: { reference: 'terms', level: 0 },
            children: [new TextRun({ text: 'Purchase price.', bold: true }), new TextRun(' The price is 12 million.')],
          }),
          new Paragraph({ text: 'payable in cash;', numbering: { reference: 'terms', level: 1 } }),
          new Paragraph({ text: 'net of taxes.', numbering: { reference: 'bullets', level: 0 } }),
          new Paragraph({ text: 'Deadline', numbering: { reference: 'terms', level: 0 } }),
          new Paragraph('Delivery within 30 days.'),
          new Paragraph({ text: 'Governing law: English law applies.', numbering: { reference: 'terms', level: 0 } }),
          new Paragraph({
            text: 'The Seller shall deliver the goods to the Buyer’s site. Risk passes on delivery.',
            numbering: { reference: 'terms', level: 0 },
          }),
        ],
        { numbering: NUMBERED_TERMS },
      ),
    )
    expect(sheet.terms).toEqual([
      { title: 'Preamble', body: 'Between Alpha Ltd and Beta GmbH.' },
      { title: 'Purchase price', body: 'The price is 12 million.\npayable in cash;\nnet of taxes.' },
      { title: 'Deadline', body: 'Delivery within 30 days.' },
      { title: 'Governing law', body: 'English law applies.' },
      { title: 'Term 5', body: 'The Seller shall deliver the goods to the Buyer’s site. Risk passes on delivery.' },
    ])
    expect(sheet.warnings).toEqual([
      'The document has no headings: its numbered paragraphs were read as terms.',
      "The text before the first term became a term of its own, 'Preamble'.",
      "1 numbered paragraph read as a clause with no title of its own: titled 'Term 5', with the paragraph as the text.",
    ])
  })

  it('numbers typed as text: "1.", "Article 2 –", "§ 3", "ARTICLE 4" over its title; "3.1" stays in the body; the number is taken off', async () => {
    const sheet = await readTermSheet(
      await docxOf([
        new Paragraph('1. Definitions'),
        new Paragraph('Words mean what they say.'),
        new Paragraph('Article 2 – Price'),
        new Paragraph('Twelve million.'),
        new Paragraph('§ 3 Deadline'),
        new Paragraph('3.1 Thirty days.'),
        new Paragraph('ARTICLE 4'),
        new Paragraph(''),
        new Paragraph('GOVERNING LAW'),
        new Paragraph('English law.'),
      ]),
    )
    expect(sheet.terms).toEqual([
      { title: 'Definitions', body: 'Words mean what they say.' },
      { title: 'Price', body: 'Twelve million.' },
      { title: 'Deadline', body: '3.1 Thirty days.' },
      { title: 'GOVERNING LAW', body: 'English law.' },
    ])
  })

  it('with neither, short bold lines are titles; then a two-column table is a term table; then every paragraph is a term', async () => {
    const bold = await readTermSheet(
      await docxOf([
        new Paragraph({ children: [new TextRun({ text: 'PRICE', bold: true })] }),
        new Paragraph('12 million.'),
        new Paragraph({ children: [new TextRun({ text: 'LAW', bold: true })] }),
        new Paragraph('English.'),
      ]),
    )
    expect(bold.terms).toEqual([
      { title: 'PRICE', body: '12 million.' },
      { title: 'LAW', body: 'English.' },
    ])
    expect(bold.warnings[0]).toMatch(/short lines in bold were read as term titles/)

    const cell = (...lines: string[]) => new TableCell({ children: lines.map((l) => new Paragraph(l)) })
    const table = await readTermSheet(
      await docxOf([
        new Paragraph('Indicative terms'),
        new Table({
          rows: [
            new TableRow({ children: [cell('Term'), cell('Proposal')] }),
            new TableRow({ children: [cell('Price'), cell('12 million', 'in cash')] }),
            new TableRow({ children: [cell('Law'), cell('English')] }),
          ],
        }),
      ]),
    )
    expect(table.terms).toEqual([
      { title: 'Preamble', body: 'Indicative terms' },
      { title: 'Price', body: '12 million\nin cash' },
      { title: 'Law', body: 'English' },
    ])

    const plain = await readTermSheet(await docxOf([new Paragraph('The price is fixed.'), new Paragraph('The law is English.')]))
    expect(plain.terms).toEqual([
      { title: 'Term 1', body: 'The price is fixed.' },
      { title: 'Term 2', body: 'The law is English.' },
    ])
    expect(plain.warnings[0]).toMatch(/each paragraph became a term/)
    expect(await readTermSheet(await docxOf([]))).toEqual({ terms: [], warnings: ['The document has no text.'] })
  })
})

describe('[WI3] tracked changes are read as accepted and reported', () => {
  it('w:ins kept, w:del / w:delText dropped (written by the docx package), with a warning that counts them and names the authors', async () => {
    const sheet = await readTermSheet(
      await docxOf([
        new Paragraph({ text: 'Deadline', heading: HeadingLevel.HEADING_1 }),
        new Paragraph({
          children: [
            new TextRun('Delivery within '),
            new DeletedTextRun({ text: '30', id: 1, ...by }),
            new InsertedTextRun({ text: '45', id: 2, ...by }),
            new TextRun(' days'),
            new InsertedTextRun({ text: ' of signing', id: 3, author: 'Ivan Petrov (Beta)', date: by.date }),
            new TextRun('.'),
          ],
        }),
      ]),
    )
    expect(sheet.terms).toEqual([{ title: 'Deadline', body: 'Delivery within 45 days of signing.' }])
    expect(sheet.warnings).toEqual([
      '3 tracked changes were read as accepted (2 insertions, 1 deletion by Jane Doe (Alpha) and Ivan Petrov (Beta)).',
    ])
  })

  it('moves, a deleted paragraph mark (the paragraphs join), a deleted paragraph, a deleted table row and a formatting change, as "Accept all" reads them', async () => {
    const a = (kind: string, id: number, inner: string) =>
      `<w:${kind} w:id="${id}" w:author="Jane" w:date="${by.date}">${inner}</w:${kind}>`
    const run = (t: string) => `<w:r><w:t xml:space="preserve">${t}</w:t></w:r>`
    const del = (t: string) => `<w:r><w:delText xml:space="preserve">${t}</w:delText></w:r>`
    const body =
      p('Price', 'Heading1') +
      // "The price is" ¶(deleted) "twelve million." → one paragraph
      `<w:p><w:pPr><w:rPr>${a('del', 1, '')}</w:rPr></w:pPr>${run('The price is ')}</w:p>` +
      `<w:p>${run('twelve million.')}</w:p>` +
      // a wholly deleted paragraph: its text and its mark, one deletion
      `<w:p><w:pPr><w:rPr>${a('del', 2, '')}</w:rPr></w:pPr>${a('del', 3, del('Payable at once.'))}</w:p>` +
      `<w:p><w:pPr><w:pPrChange w:id="4" w:author="Jane"><w:pPr/></w:pPrChange></w:pPr>${run('Payable ')}${a('moveTo', 5, run('in cash '))}${run('on delivery.')}${a('moveFrom', 6, '<w:r><w:t>in cash</w:t></w:r>')}</w:p>` +
      `<w:tbl><w:tr>${'<w:tc>' + p('kept') + '</w:tc>'}</w:tr><w:tr><w:trPr>${a('del', 7, '')}</w:trPr><w:tc>${p('gone')}</w:tc></w:tr></w:tbl>`
    const sheet = await readTermSheet(await fromBody(body))
    expect(sheet.terms).toEqual([{ title: 'Price', body: 'The price is twelve million.\nPayable in cash on delivery.\nkept' }])
    expect(sheet.warnings).toEqual([
      '5 tracked changes were read as accepted (3 deletions, 1 move, 1 formatting change by Jane).',
    ])
  })
})

describe('[WI4] the text inside Word’s markup', () => {
  it('tabs, breaks, hyperlinks, smart tags, content controls, simple and complex fields, entities and character references', async () => {
    const body =
      p('Terms', 'Heading1') +
      `<w:p><w:r><w:t>A</w:t><w:tab/><w:t>B</w:t><w:br/><w:t>C &amp; D &lt;E&gt; &#x20AC;5 &#8364;6</w:t></w:r></w:p>` +
      `<w:p><w:hyperlink r:id="rId9" xmlns:r="r"><w:r><w:t>the link</w:t></w:r></w:hyperlink><w:smartTag w:uri="x" w:element="place"><w:r><w:t xml:space="preserve"> in London</w:t></w:r></w:smartTag></w:p>` +
      `<w:p><w:sdt><w:sdtPr><w:alias w:val="Amount"/></w:sdtPr><w:sdtContent><w:r><w:t>12 million</w:t></w:r></w:sdtContent></w:sdt></w:p>` +
      `<w:sdt><w:sdtContent>${p('A block in a content control.')}</w:sdtContent></w:sdt>` +
      `<w:p><w:fldSimple w:instr=" DOCPROPERTY Party "><w:r><w:t>Alpha Ltd</w:t></w:r></w:fldSimple></w:p>` +
      `<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText xml:space="preserve"> REF price \\h </w:instrText></w:r><w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>twelve</w:t></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>` +
      `<w:p><w:r><w:t xml:space="preserve">shown </w:t></w:r><w:r><w:rPr><w:vanish/></w:rPr><w:t>hidden</w:t></w:r></w:p>`
    const sheet = await readTermSheet(await fromBody(body))
    expect(sheet.terms).toEqual([
      {
        title: 'Terms',
        body: 'A\tB\nC & D <E> €5 €6\nthe link in London\n12 million\nA block in a content control.\nAlpha Ltd\ntwelve\nshown',
      },
    ])
    expect(sheet.warnings).toEqual(["Left out, as a term's text is plain text: hidden text."])
  })

  it('footnotes, comments and the table of contents are left out and said; Parley’s own notes (ParleyNote) are skipped', async () => {
    const sheet = await readTermSheet(
      await docxFromXml({
        document: documentXml(
          `<w:sdt><w:sdtPr><w:docPartObj><w:docPartGallery w:val="Table of Contents"/></w:docPartObj></w:sdtPr><w:sdtContent>${p('Price 1', 'TOC1')}</w:sdtContent></w:sdt>` +
            p('Price', 'Heading1') +
            p('Agreed by Alpha and Beta.', 'ParleyNote') +
            `<w:p><w:commentRangeStart w:id="0"/><w:r><w:t>12 million</w:t></w:r><w:commentRangeEnd w:id="0"/><w:r><w:commentReference w:id="0"/></w:r><w:r><w:footnoteReference w:id="1"/></w:r></w:p>`,
        ),
      }),
    )
    expect(sheet.terms).toEqual([{ title: 'Price', body: '12 million' }])
    expect(sheet.warnings).toEqual(["Left out, as a term's text is plain text: the table of contents, 1 footnote and 1 comment."])
    const viaDocx = await readTermSheet(
      await docxOf([
        new Paragraph({ text: 'Price', heading: HeadingLevel.HEADING_1 }),
        new Paragraph({ children: [new TextRun('Twelve'), new FootnoteReferenceRun(1)] }),
      ]),
    )
    expect(viaDocx.terms).toEqual([{ title: 'Price', body: 'Twelve' }])
  })

  it('hyperlinks written by the docx package; another namespace prefix for WordprocessingML; UTF-16', async () => {
    const linked = await readTermSheet(
      await docxOf([
        new Paragraph({ text: 'Sources', heading: HeadingLevel.HEADING_1 }),
        new Paragraph({
          children: [
            new TextRun('See '),
            new ExternalHyperlink({ link: 'https://example.org', children: [new TextRun('the annex')] }),
          ],
        }),
      ]),
    )
    expect(linked.terms).toEqual([{ title: 'Sources', body: 'See the annex' }])
    const odd = `<?xml version="1.0"?><ns0:document xmlns:ns0="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><ns0:body><ns0:p><ns0:pPr><ns0:pStyle ns0:val="Heading1"/></ns0:pPr><ns0:r><ns0:t>Law</ns0:t></ns0:r></ns0:p><ns0:p><ns0:r><ns0:t>English.</ns0:t></ns0:r></ns0:p></ns0:body></ns0:document>`
    expect((await readTermSheet(await docxFromXml({ document: odd }))).terms).toEqual([{ title: 'Law', body: 'English.' }])
    const zip = new JSZip()
    zip.file(
      'word/document.xml',
      Buffer.concat([
        Buffer.from([0xff, 0xfe]),
        Buffer.from(documentXml(p('Цена', 'Heading1') + p('Двенадцать.'), '<?xml version="1.0" encoding="UTF-16"?>'), 'utf16le'),
      ]),
    )
    const utf16 = await zip.generateAsync({ type: 'uint8array', compression: 'DEFLATE' })
    expect((await readTermSheet(utf16)).terms).toEqual([{ title: 'Цена', body: 'Двенадцать.' }])
  })
})

describe('[WI5] bad files are refused as bad-document, nothing expanded or fetched', () => {
  it('not a zip: text, a PDF, an old .doc (or a password-protected file), an empty body, a truncated zip', async () => {
    expect((await refusal(new TextEncoder().encode('hello, I am not a zip'))).message).toMatch(
      /^not a Word document: the file is not a zip archive/,
    )
    expect((await refusal(new TextEncoder().encode('%PDF-1.7\n…'))).message).toMatch(/PDF/)
    expect((await refusal(new Uint8Array([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1, 0, 0]))).message).toMatch(
      /old Word \.doc or a password-protected/,
    )
    expect((await refusal(new Uint8Array())).message).toMatch(/empty/)
    const real = await docxOf([new Paragraph('x')])
    expect((await refusal(real.subarray(0, real.length / 2))).message).toMatch(
      /^not a Word document: the zip archive cannot be read/,
    )
  })

  it('a zip that is no Word document (no word/document.xml), or whose document has no body', async () => {
    const zip = new JSZip()
    zip.file('xl/workbook.xml', '<workbook/>')
    expect((await refusal(await zip.generateAsync({ type: 'uint8array' }))).message).toBe(
      'not a Word document: the archive has no word/document.xml',
    )
    expect((await refusal(await docxFromXml({ document: '<?xml version="1.0"?><html><body>hi</body></html>' }))).message).toMatch(
      /no document body/,
    )
  })

  it('an entity bomb, an external entity and any DTD are refused before parsing; styles.xml too', async () => {
    const lol = `<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;"><!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;"><!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;"><!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;"><!ENTITY h "&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;">]>`
    const bomb = await refusal(await docxFromXml({ document: documentXml(p('&h;', 'Heading1'), lol) }))
    expect(bomb.message).toMatch(/word\/document.xml declares a DTD or entities/)
    const xxe = `<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY x SYSTEM "file:///etc/passwd">]>`
    const external = await refusal(await docxFromXml({ document: documentXml(p('&x;', 'Heading1'), xxe) }))
    expect(external.message).not.toMatch(/root:/)
    await refusal(
      await docxFromXml({
        document: documentXml(p('x'), '<?xml version="1.0"?><!doctype w:document SYSTEM "http://127.0.0.1:9/x.dtd">'),
      }),
    )
    await refusal(
      await docxFromXml({
        document: documentXml(p('x')),
        styles: '<?xml version="1.0"?><!DOCTYPE s [<!ENTITY z "zz">]><w:styles xmlns:w="w"/>',
      }),
    )
  })

  it('archive names are only looked up in the archive: entries named like paths outside it are never written or read', async () => {
    const outside = join(tmpdir(), `parley-wi5-${process.pid}.txt`)
    const docx = await docxFromXml({
      document: documentXml(p('Price', 'Heading1') + p('Twelve.')),
      extra: { [`../../../../..${outside}`]: 'pwned', [outside]: 'pwned', 'word/../../evil.xml': 'pwned' },
    })
    expect((await readTermSheet(docx)).terms).toEqual([{ title: 'Price', body: 'Twelve.' }])
    expect(existsSync(outside)).toBe(false)
  })
})

describe('[WI6] a zip bomb is refused without inflating it', () => {
  it('declared sizes over the bounds: refused before inflating anything', async () => {
    const bomb = await zipBomb(60 * 1024 * 1024)
    expect(bomb.length).toBeLessThan(200 * 1024)
    const started = performance.now()
    expect((await refusal(bomb)).message).toMatch(/would unpack to 60 MiB, over the 50 MiB/)
    expect(performance.now() - started).toBeLessThan(200)
  })

  it('sizes that lie (the archive says 1 KiB): inflation stops at the cap, holding nothing past it', async () => {
    const liar = await zipBomb(24 * 1024 * 1024, { declared: 1024 })
    const before = process.memoryUsage().arrayBuffers
    expect((await refusal(liar)).message).toMatch(/^word\/document.xml unpacks to more than 20 MiB/)
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024)
    // lower bounds show the count at work: 2 MiB of XML against a 1 MiB cap
    const small = await zipBomb(2 * 1024 * 1024, { declared: 100 })
    const bounds = { documentBytes: 1024 * 1024, partBytes: 1024 * 1024, totalBytes: 50 * 1024 * 1024, entries: 100 }
    await expect(readTermSheet(small, { bounds })).rejects.toThrow(/more than 1 MiB/)
    await expect(readTermSheet(await zipBomb(512 * 1024), { bounds })).resolves.toMatchObject({ terms: [{ body: 'boom' }] })
  })
})

describe('[WI7] fitTerms: what a negotiation takes at creation', () => {
  it('cuts long titles and bodies and leaves out terms past the count, each said', () => {
    const terms = Array.from({ length: NEGOTIATION_LIMITS.terms + 2 }, (_, i) => ({ title: `T${i + 1}`, body: 'x' }))
    terms[0] = { title: 'word '.repeat(200).trim(), body: 'y'.repeat(NEGOTIATION_LIMITS.termBody + 10) }
    const fitted = fitTerms({ terms, warnings: ['before'], title: 'z'.repeat(300) })
    expect(fitted.terms).toHaveLength(NEGOTIATION_LIMITS.terms)
    expect(fitted.terms[0]!.title.length).toBeLessThanOrEqual(NEGOTIATION_LIMITS.termTitle)
    expect(fitted.terms[0]!.title).toMatch(/word…$/)
    expect(fitted.terms[0]!.body.length).toBe(NEGOTIATION_LIMITS.termBody)
    expect(fitted.title!.length).toBe(NEGOTIATION_LIMITS.title)
    expect(fitted.warnings).toEqual([
      'before',
      `Term 1 ('word word word word word word word…'): its title was cut to 500 characters.`,
      `Term 1 ('word word word word word word word…'): its text was cut to 20000 characters; 11 were left out.`,
      `The document has 202 terms and a negotiation opens with at most 200: the last 2 (from 'T201') were left out.`,
    ])
  })
})

describe('[WI12] word/document.xml is read a slice of body children at a time', () => {
  const slices = (xml: string, slice = 1) => [...bodySlices(xml, 'word/document.xml', { slice, element: 1024 })]

  it('cuts only between body children, past comments, CDATA, processing instructions and quoted ">" or "<" in attributes', () => {
    const children = [
      '<w:p w:rsidR="00A1"><w:r><w:t>one</w:t></w:r></w:p>',
      '<!-- a comment with <w:p> inside -->',
      '<w:p><w:pPr><w:pStyle w:val="a>b"/></w:pPr><w:r><w:t xml:space=\'preserve\'>two &lt;</w:t></w:r></w:p>',
      '<w:tbl><w:tr><w:tc><w:p/></w:tc></w:tr></w:tbl>',
      '<?pi x?><w:p/>',
      '<w:sectPr/>',
    ]
    const xml = documentXml(children.join('\n'))
    const cut = slices(xml)
    expect(cut.join('')).toBe(children.join('\n'))
    expect(cut).toEqual([
      children[0],
      `\n${children[1]}\n${children[2]}`,
      `\n${children[3]}`,
      `\n<?pi x?><w:p/>`,
      `\n${children[5]}`,
    ])
    expect(slices(xml, 1 << 20)).toEqual([children.join('\n')])
    expect(slices(documentXml(''))).toEqual([])
    expect(slices('<?xml version="1.0"?><w:document xmlns:w="w"><w:body/></w:document>')).toEqual([])
  })

  it('refuses a root that is no document, a body that never ends, and a body child past the bound', () => {
    expect(() => slices('<?xml version="1.0"?><html><body><p>hi</p></body></html>')).toThrow(/has no document body/)
    expect(() => slices(documentXml('<w:p><w:r><w:t>open').replace('</w:body></w:document>', ''))).toThrow(
      /ends before its body does/,
    )
    expect(() => slices(documentXml(`<w:p><w:r><w:t>${'x'.repeat(2000)}</w:t></w:r></w:p>`))).toThrow(
      /holds a paragraph or table over/,
    )
  })

  it('a document read one child per slice reads as it does whole: terms, joined paragraphs, tracked changes', async () => {
    const body =
      p('Price', 'Heading1') +
      `<w:p><w:pPr><w:rPr><w:del w:id="1" w:author="Jane" w:date="${by.date}"/></w:rPr></w:pPr><w:r><w:t xml:space="preserve">The price is </w:t></w:r></w:p>` +
      `<w:p><w:r><w:t>twelve million.</w:t></w:r></w:p>` +
      p('Law', 'Heading1') +
      p('English.')
    const docx = await fromBody(body)
    const whole = await readTermSheet(docx)
    const sliced = await readTermSheet(docx, { slices: { slice: 1, element: 1024 * 1024 } })
    expect(sliced).toEqual(whole)
    expect(sliced.terms).toEqual([
      { title: 'Price', body: 'The price is twelve million.' },
      { title: 'Law', body: 'English.' },
    ])
  })
})

/**
 * [RTL2] Text written by people reads in its own direction in the exports: the HTML export puts
 * dir="auto" on term titles and bodies, notes and names; the .docx export marks a paragraph that
 * begins right to left as bidi (w:bidi) with right-to-left runs (w:rtl), and leaves the others alone.
 */
import { describe, expect, it } from 'vitest'
import { EXPORT_FORMAT, type ExportDoc, type ExportTerm } from '../../server/history/export'
import { renderHtml } from '../../server/history/exportRender'
import { writeDocx } from '../../server/word/docxWriter'
import { readDocx } from '../helpers/docxRevisions'

const ARABIC_TITLE = 'شروط الدفع'
const ARABIC_BODY = 'يدفع المشتري خلال ثلاثين يوما.'

const term = (id: string, title: string, body: string): ExportTerm => ({
  id,
  title,
  body,
  state: 'proposed',
  onBoard: true,
  proposedBy: 'us',
  proposed: { n: 1, at: '2026-01-12T10:00:00.000Z', user: 'J. Carter', party: 'us' },
  acceptedBy: {},
  acceptances: [],
  agreed: null,
  lastMove: null,
  redline: { since: 1, title: [{ op: 'eq', text: title }], body: [{ op: 'eq', text: body }] },
  versions: [1],
})

const doc: ExportDoc = {
  format: EXPORT_FORMAT,
  negotiation: {
    id: 'n1',
    title: 'Trade talks',
    parties: [
      { id: 'us', name: 'United States', color: '#1f5fbf' },
      { id: 'eg', name: 'مصر', color: '#b0302a' },
    ] as ExportDoc['negotiation']['parties'],
    createdAt: '2026-01-12T09:00:00.000Z',
  },
  generatedAt: '2026-01-12T11:00:00.000Z',
  asOf: { n: 1, at: '2026-01-12T10:00:00.000Z' },
  heads: { board: { seq: 1, hash: 'a' }, ledger: { seq: 1, hash: 'b' }, versions: { n: 1, hash: 'c' } },
  terms: [term('t1', ARABIC_TITLE, ARABIC_BODY), term('t2', 'Scope', 'The parties agree.')],
  notes: [{ id: 'n', text: 'ملاحظة' }],
  threads: [],
  versions: [],
}

describe('[RTL2] direction in the exports', () => {
  it('HTML: an Arabic term, a note and the names carry dir="auto"', () => {
    const html = renderHtml(doc)
    expect(html).toContain(`<h3 dir="auto">${ARABIC_TITLE}</h3>`)
    expect(html).toMatch(new RegExp(`<div class="text" dir="auto">${ARABIC_BODY}</div>`))
    expect(html).toContain('<li dir="auto">ملاحظة</li>')
    expect(html).toMatch(/<span class="[^"]*" dir="auto">مصر<\/span>/)
    expect(html).toContain('<h1 dir="auto">Trade talks</h1>')
  })

  it('.docx: the Arabic term’s heading and body paragraphs are bidi with right-to-left runs; a Latin one is not', async () => {
    const bytes = await writeDocx({
      title: 'Trade talks',
      notes: [],
      parties: new Map([['us', 'United States']]),
      suggestions: 'comments',
      terms: [
        {
          number: 1,
          title: [{ kind: 'text', text: ARABIC_TITLE }],
          body: [{ kind: 'text', text: `${ARABIC_BODY}\nSecond line in English` }],
          stateLine: 'Proposed',
          threads: [],
        },
        {
          number: 2,
          title: [{ kind: 'text', text: 'Scope' }],
          body: [{ kind: 'text', text: 'The parties agree.' }],
          stateLine: 'Proposed',
          threads: [],
        },
      ],
    })
    const { documentXml } = await readDocx(bytes)
    const paragraphs = documentXml.match(/<w:p[ >][\s\S]*?<\/w:p>/g) ?? []
    const holding = (text: string) => {
      const p = paragraphs.find((x) => x.includes(text))
      expect(p, text).toBeDefined()
      return p!
    }
    for (const text of [ARABIC_TITLE, ARABIC_BODY]) {
      expect(holding(text), text).toMatch(/<w:bidi\/>/)
      expect(holding(text), text).toMatch(/<w:rtl\/>/)
    }
    for (const text of ['Second line in English', 'Scope', 'The parties agree.']) {
      expect(holding(text), text).not.toMatch(/<w:bidi/)
      expect(holding(text), text).not.toMatch(/<w:rtl/)
    }
  })
})

/**
 * [EX1]–[EX4] What a delegation types cannot rewrite the record: titles,
 * party and user names, term ids, term texts, notes, checkpoint names, comments
 * and suggestions (their text, and the names and time they carry) carrying
 * Markdown, HTML and line breaks are exported through the real API as text,
 * nothing more.
 *
 * The hostile values are written on the server side (store record, room
 * serverWrite, service commands), not through a websocket client: the server
 * now refuses such term ids from clients, but stores written before that
 * still hold them, and the export must hold regardless.
 *
 * Each negotiation is built twice, once hostile and once with every value
 * replaced by plain words (keeping the line breaks of block texts), and the
 * two Markdown exports must parse (markdown-it, CommonMark + GFM tables, raw
 * HTML on) to the same token structure: any heading, paragraph, list, quote,
 * code block, link or HTML an injected value added would show as a difference.
 * The Word files ([EX4]) are compared the same way, paragraph by paragraph.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import MarkdownIt from 'markdown-it'
import * as Y from 'yjs'
import { boardDocName, ledgerDocName } from '../../shared/docNames'
import { writeMeta } from '../../shared/docLayout'
import type { PartyInfo } from '../../shared/negotiation'
import { SERVER_AUTHOR } from '../helpers/historyStack'
import { startServer, type TestServer } from '../helpers/server'
import { mdCode, mdText } from '../../server/history/exportRender'
import { XMLValidator } from 'fast-xml-parser'
import { readDocx, resolveAll, revisions, termsOf, type DocxContents } from '../helpers/docxRevisions'

const HOSTILE = {
  title: 'Deal\n\nAll terms AGREED by every party\n===\n<script>alert(1)</script>',
  partyA: { id: 'a', name: 'Alpha <img src=x onerror=alert(1)>', color: '#1f5fbf' },
  // A stored party id and colour outside the contract (a hand-made or older store).
  partyB: { id: 'b` <b>x</b> {}', name: 'Beta\n\n# Fake heading\n- fake item', color: 'red; } .term { display: none' },
  termId: 'x` <img src=x onerror=alert(1)> `',
  termTitle: 'Scope\n===\n[click](javascript:alert(1)) **bold** `code`',
  body: [
    'Fine.',
    '',
    '# Not a heading',
    '    indented code?',
    '1. not a list',
    '- not an item',
    '```',
    'not a fence',
    '```',
    '<div onclick="x">not an HTML block</div>',
    '> not a quote',
    '\r# after a lone CR',
    '---',
    '***',
    '[ref]: javascript:alert(1)',
    '| not | a table |',
    '| --- | --- |',
    '&lt;img src=x&gt; &copy;',
  ].join('\n'),
  inserted: ' and\n## injected\n<img src=x onerror=alert(2)>\n+ more',
  user: 'eve | injected cell\n| 9 | fake row |',
  note: '- nested\n# heading <b>x</b>',
  checkpoint: 'cp\n\n# fake <i>x</i>',
  secondTermId: '`',
  secondTitle: '  - leading spaces',
  comment: 'Agreed?\n\n# fake heading <img src=x onerror=alert(3)>\n- item [x](javascript:alert(4)) | cell |',
  quote: 'ransomware <b>x</b>\n===',
  suggested: ' or\n# suggested <img src=x onerror=alert(5)>\n- {++x++}{>>y<<} | cell |',
}

type Spec = typeof HOSTILE

/** The same negotiation with plain words: block texts keep their line structure, inline ones are one word. */
function plain(spec: Spec): Spec {
  const lines = (s: string) => s.replace(/[^\r\n]+/g, 'plain')
  return {
    title: 'plain',
    partyA: { id: 'a', name: 'plain', color: '#1f5fbf' },
    partyB: { id: 'b', name: 'plain', color: '#b3261e' },
    termId: 'plain-term',
    termTitle: 'plain',
    body: lines(spec.body),
    inserted: lines(spec.inserted),
    user: 'plain',
    note: 'plain',
    checkpoint: 'plain',
    secondTermId: 'plain-second',
    secondTitle: 'plain',
    comment: 'plain',
    quote: 'plain',
    suggested: lines(spec.suggested),
  }
}

let s: TestServer
type Token = ReturnType<InstanceType<typeof MarkdownIt>['parse']>[number]

/** Writes a negotiation with `spec`'s values on the server side; returns a reviewer token. */
async function seed(id: string, spec: Spec): Promise<string> {
  const { parley } = s
  const parties: PartyInfo[] = [spec.partyA, spec.partyB]
  const record = { id, title: spec.title, parties, createdAt: Date.UTC(2026, 0, 12, 9) }
  await parley.store.createNegotiation(record)
  const ledger = await parley.registry.get(ledgerDocName(id))
  await ledger.serverWrite(SERVER_AUTHOR, (doc) => writeMeta(doc, record))
  const board = await parley.registry.get(boardDocName(id))
  const term = (title: string, body: string) => {
    const m = new Y.Map<unknown>()
    m.set('title', new Y.Text(title))
    m.set('body', new Y.Text(body))
    m.set('x', 0)
    m.set('y', 0)
    return m
  }
  // By hand rather than with shared/docLayout's helpers, which may come to refuse such ids.
  await board.serverWrite(SERVER_AUTHOR, (doc) => {
    doc.getMap('terms').set(spec.termId, term(spec.termTitle, spec.body))
    doc.getMap('terms').set(spec.secondTermId, term(spec.secondTitle, ''))
    doc.getArray('order').push([spec.termId, spec.secondTermId])
    const note = new Y.Map<unknown>()
    note.set('text', new Y.Text(spec.note))
    note.set('x', 0)
    note.set('y', 0)
    note.set('color', '#ffd54f')
    doc.getMap('notes').set('n1', note)
  })
  const actorA = { negotiationId: id, role: 'negotiator' as const, party: spec.partyA.id, user: spec.user, session: 's-a' }
  const actorB = { ...actorA, party: spec.partyB.id, session: 's-b' }
  await board.serverWrite(parley.service.authorOf(actorB), (doc) => {
    const body = (doc.getMap('terms').get(spec.termId) as Y.Map<unknown>).get('body') as Y.Text
    body.insert(body.length, spec.inserted)
  })
  // A suggestion in B's name, written as the server writes (the pre-scan of client updates is not what is tested
  // here): a suggested insertion, and the body's first five characters suggested for removal, at a time that is no date.
  const suggestion = (kind: 'ins' | 'del') => ({ id: `s-${kind}`, kind, party: spec.partyB.id, user: spec.user, at: 8.64e15 + 1 })
  await board.serverWrite(parley.service.authorOf(actorB), (doc) => {
    const body = (doc.getMap('terms').get(spec.termId) as Y.Map<unknown>).get('body') as Y.Text
    body.insert(body.length, spec.suggested, { suggestion: suggestion('ins') })
    body.format(0, 5, { suggestion: suggestion('del') })
  })
  await parley.service.checkpoint(actorB, spec.checkpoint)
  await parley.service.comments.add(actorB, { termId: spec.termId, scope: 'shared', body: spec.comment, quote: spec.quote })
  await parley.service.move(actorB, 'reject', spec.secondTermId, spec.checkpoint)
  // An acceptance in the hostile party's name: of the second term, the first holding `[`…`]` (bracketed: it cannot be accepted).
  await parley.service.move(actorA, 'accept', spec.secondTermId)
  return (await parley.service.mintToken(id, { role: 'reviewer' })).token
}

async function exportOf(id: string, token: string, format: 'md' | 'html'): Promise<string> {
  const res = await s.api(`/api/negotiations/${id}/export?format=${format}`, { token })
  expect(res.status).toBe(200)
  return res.text()
}

const md = new MarkdownIt({ html: true })

/** Every token type, block and inline, with runs of text tokens folded into one. */
function shape(tokens: Token[]): string[] {
  const out: string[] = []
  const walk = (ts: Token[]) => {
    for (const t of ts) {
      if (!(t.type === 'text' && out.at(-1) === 'text')) out.push(t.type === 'inline' ? 'inline' : t.type)
      if (t.children) walk(t.children)
    }
  }
  walk(tokens)
  return out
}

const all = (tokens: Token[]): Token[] => tokens.flatMap((t) => [t, ...all(t.children ?? [])])
/** The plain text of the inline token after each opening tag of `type` (e.g. heading_open). */
const textsAfter = (tokens: Token[], type: string) =>
  tokens.flatMap((t, i) => (t.type === type ? [tokens[i + 1]!.children!.map((c: Token) => c.content).join('')] : []))

let hostileMd: string
let plainMd: string
let hostileHtml: string
/** the sheet now and the redline from the start, with suggestions as comments and as tracked changes */
type WordFiles = { sheet: DocxContents; redline: DocxContents; tracked: DocxContents; n: number; token: string }
let hostileWord: WordFiles
let plainWord: WordFiles

beforeAll(async () => {
  s = await startServer()
  const hostileToken = await seed('inj-hostile', HOSTILE)
  const plainToken = await seed('inj-plain', plain(HOSTILE))
  hostileMd = await exportOf('inj-hostile', hostileToken, 'md')
  plainMd = await exportOf('inj-plain', plainToken, 'md')
  hostileHtml = await exportOf('inj-hostile', hostileToken, 'html')
  hostileWord = await wordOf('inj-hostile', hostileToken)
  plainWord = await wordOf('inj-plain', plainToken)
})

async function wordOf(id: string, token: string): Promise<WordFiles> {
  const versions = await s.api(`/api/negotiations/${id}/versions`, { token })
  const n = ((await versions.json()) as { versions: unknown[] }).versions.length
  const docx = async (query: string) => {
    const res = await s.api(`/api/negotiations/${id}/export?format=docx${query}`, { token })
    expect(res.status, query).toBe(200)
    return readDocx(new Uint8Array(await res.arrayBuffer()))
  }
  return {
    sheet: await docx(''),
    redline: await docx(`&from=0&to=${n}`),
    tracked: await docx(`&from=0&to=${n}&suggestions=tracked`),
    n,
    token,
  }
}

afterAll(async () => {
  await s?.close({ wipe: true })
})

describe('exports escape what delegations typed', () => {
  it('[EX1] Markdown: injected values add no block, no raw HTML, no link and no markup', () => {
    const hostile = md.parse(hostileMd, {})
    const types = new Set(all(hostile).map((t) => t.type))
    for (const banned of ['html_block', 'html_inline', 'link_open', 'image', 'code_block', 'fence', 'hr', 's_open'])
      expect(types.has(banned), `${banned} in the hostile export`).toBe(false)
    expect(shape(hostile)).toEqual(shape(md.parse(plainMd, {})))
  })

  it('[EX1] Markdown: the values read back exactly as typed (line breaks of inline values become spaces)', () => {
    const tokens = md.parse(hostileMd, {})
    const flat = (v: string) => v.replace(/\r\n?|\n/g, ' ')
    const headings = textsAfter(tokens, 'heading_open')
    expect(headings[0]).toBe(flat(HOSTILE.title))
    expect(headings).toContain(flat(HOSTILE.termTitle))
    expect(headings.map((h) => h.trim())).toContain(HOSTILE.secondTitle.trim())
    const codes = all(tokens)
      .filter((t) => t.type === 'code_inline')
      .map((t) => t.content)
    expect(codes).toContain(HOSTILE.termId)
    expect(codes).toContain(HOSTILE.secondTermId)
    expect(codes).toContain(HOSTILE.partyB.id)
    const rendered = md.renderer.render(tokens, md.options, {})
    expect(rendered).toContain(md.utils.escapeHtml(flat(HOSTILE.partyA.name)))
    expect(rendered).toContain(md.utils.escapeHtml(flat(HOSTILE.user)))
    // The body, every line of it, inside the term's quote (the blank line is a paragraph break there).
    const quoted = textsAfter(tokens, 'paragraph_open').join('\n')
    for (const line of HOSTILE.body.split(/\r\n?|\n/).filter((l) => l.trim())) expect(quoted, line).toContain(line.trim())
    // The suggestion too, marked as one, with who suggested it (the time is no date: unknown)
    for (const line of HOSTILE.suggested.split(/\r\n?|\n/).filter((l) => l.trim())) expect(quoted, line).toContain(line.trim())
    expect(quoted).toContain(`{--Fine.--}{>>suggested by ${flat(HOSTILE.partyB.name)} (${flat(HOSTILE.user)}), unknown time<<}`)
  })

  it('[EX2] Markdown escapers: code spans survive any backtick run; inline text never starts a block', () => {
    for (const v of ['`', '``', 'a`b', '`a', 'a`', ' a ', '  ', 'a ``` b', 'x` <img src=x onerror=alert(1)> `']) {
      const tokens = md.parseInline(`id ${mdCode(v)}.`, {})[0]!.children!
      expect(
        tokens.map((t) => t.type),
        v,
      ).toEqual(['text', 'code_inline', 'text'])
      expect(tokens[1]!.content, v).toBe(v)
    }
    for (const v of ['- a', '+ a', '1. a', '3) a', '=== ', '    code', '\tcode', '# h', '> q', '<div>', 'a\n\n# b', '[x]: y']) {
      const tokens = md.parse(`- ${mdText(v)}\n\n${mdText(v)}`, {})
      expect(
        tokens.map((t) => t.type),
        JSON.stringify(v),
      ).toEqual([
        'bullet_list_open',
        'list_item_open',
        'paragraph_open',
        'inline',
        'paragraph_close',
        'list_item_close',
        'bullet_list_close',
        'paragraph_open',
        'inline',
        'paragraph_close',
      ])
    }
  })

  it('[EX3] HTML: no injected element, attribute or style rule', () => {
    expect(hostileHtml).not.toMatch(/<(img|script|b|i)[ >]|<div onclick/i)
    expect(hostileHtml).not.toContain('display: none')
    const style = hostileHtml.slice(hostileHtml.indexOf('<style>'), hostileHtml.indexOf('</style>'))
    // Each party gets one rule of its own, whatever its stored id and colour.
    expect(style.match(/^\.p-[A-Za-z0-9_-]+ \{ --c: [^;{}]+; \}$/gm)).toHaveLength(2)
    expect(hostileHtml).toContain('&lt;img src=x onerror=alert(1)&gt;')
    // two terms and one discussion thread, no section more
    expect(hostileHtml.match(/<section /g)).toHaveLength(3)
    expect(hostileHtml).toContain('&lt;img src=x onerror=alert(3)&gt;')
    // the suggestion: marked, its text and names escaped, its party's class spelled out
    expect(hostileHtml).toMatch(/<ins class="suggestion p-b_60__20__3c_b_3e_x_3c__2f_b_3e__20__7b__7d_" title="suggested by Beta/)
    expect(hostileHtml).toContain('&lt;img src=x onerror=alert(5)&gt;')
  })
})

describe('Word files keep what delegations typed as text', () => {
  /**
   * A file's shape: each paragraph's style, its mark's revision and the revisions along it (runs of one
   * kind as one: a title's line breaks cut runs, and only block texts keep their lines in the plain twin); no text.
   */
  const shape = (d: DocxContents) =>
    d.paragraphs.map((p) => {
      const kinds = p.pieces.map((x) => `${x.ins ? 'i' : ''}${x.del ? 'd' : ''}` || '-').filter((k, i, all) => k !== all[i - 1])
      return [p.style ?? 'Normal', p.mark.ins ? 'ins' : '', p.mark.del ? 'del' : '', ...kinds].join(' ')
    })
  /** a line as Word holds it: line ends \n (a CR is one), no control character but tab */
  const word = (v: string) => v.replace(/\r\n?/g, '\n')
  const flat = (v: string) => v.replace(/\s+/g, ' ').trim()

  it('[EX4] .docx: every part is well-formed XML; names, texts and comments read back as typed; nothing adds a paragraph, a run or a revision', async () => {
    for (const [name, d] of Object.entries({
      sheet: hostileWord.sheet,
      redline: hostileWord.redline,
      tracked: hostileWord.tracked,
    })) {
      for (const [part, xml] of Object.entries({ document: d.documentXml, comments: d.commentsXml, settings: d.settingsXml }))
        expect(XMLValidator.validate(xml), `${name} ${part}`).toBe(true)
      expect(d.documentXml, name).not.toMatch(/<(img|script|b|i|div)[ >]/)
      expect(d.documentXml, name).not.toContain('w:fldChar')
    }
    // the same shape as the plain twin: the same paragraphs, runs and revisions
    expect(shape(hostileWord.sheet)).toEqual(shape(plainWord.sheet))
    expect(shape(hostileWord.redline)).toEqual(shape(plainWord.redline))
    expect(shape(hostileWord.tracked)).toEqual(shape(plainWord.tracked))
    expect(hostileWord.redline.comments.length).toBe(plainWord.redline.comments.length)

    // the text: the sheet's, line ends as Word has them
    const sheet = await s.api(`/api/negotiations/inj-hostile/versions/${hostileWord.n}`, { token: hostileWord.token })
    const terms = ((await sheet.json()) as { terms: Array<{ title: string; body: string }> }).terms
    const expected = terms.map((t) => ({ title: word(t.title), body: word(t.body) }))
    expect(termsOf(resolveAll(hostileWord.sheet, 'accept'))).toEqual(expected)
    expect(termsOf(resolveAll(hostileWord.redline, 'accept'))).toEqual(expected)
    // authors: the party's name and the user, on one line; a suggestion at a time that is no date has none
    const b = `${flat(HOSTILE.partyB.name)} (${flat(HOSTILE.user)})`
    expect(revisions(hostileWord.redline).some((r) => r.ins?.author === b)).toBe(true)
    const suggestions = hostileWord.redline.comments.filter((c) => c.text.startsWith('Suggested'))
    expect(suggestions.map((c) => c.text.slice(0, 'Suggested, not accepted yet: remove'.length))).toEqual([
      'Suggested, not accepted yet: remove',
      'Suggested, not accepted yet: insert',
    ])
    for (const c of suggestions) expect([c.author, c.date]).toEqual([b, undefined])
    expect(suggestions[1]!.text).toContain(`“${flat(HOSTILE.suggested)}”`)
    const tracked = revisions(hostileWord.tracked).filter((r) => r.ins?.author === b && r.text.includes('suggested'))
    expect(tracked.length).toBeGreaterThan(0)
    for (const r of tracked) expect(r.ins!.date).toBeUndefined()
    // the shared comment, every line of it, in its author's name
    const comment = hostileWord.redline.comments.find((c) => c.text.includes('fake heading'))!
    expect(comment.author).toBe(b)
    expect(comment.text).toContain(word(HOSTILE.comment).split('\n').at(-1)!)
    expect(hostileWord.redline.documentXml).toContain('&lt;img src=x onerror=alert(1)&gt;')
  })
})

/**
 * Writes a term sheet as a Word document with the `docx` package: the
 * negotiation's title (Title style), a note on what the file is, then per
 * term a heading ("§1 Title", Heading 1), a line with its state and
 * acceptances, and its body, a paragraph per line. The notes and state lines
 * are in the `ParleyNote` style (parleyStyles.ts), which the term reader
 * (readDocx.ts) leaves out: an exported sheet reads back as its terms. Tracked changes are real
 * revision marks — `w:ins` / `w:del` with `w:author` "<party name> (<user>)"
 * and `w:date` — on the text and on the paragraph marks (a line break
 * inserted or removed), so Word's "Accept all" and "Reject all" give the two
 * ends of the redline exactly. Comments are real Word comments, threaded
 * (replies under the first) and marked done when resolved.
 *
 * Pending suggestions (SuggestionMode):
 *  - 'comments' (the default): the text reads as the sheet does — a
 *    suggested insertion is not in it, text suggested for removal is — and
 *    each suggestion is a comment in its suggester's name on the text it
 *    concerns ("Suggested, not accepted yet: replace “30” with “45”").
 *    "Accept all" then gives exactly the sheet's text (CONTRACT.md: the
 *    later text), the same as Parley's hash is over.
 *  - 'tracked': suggestions are tracked changes in the suggester's name too
 *    (with the same comment, saying they are pending): "Accept all" then
 *    also accepts every pending suggestion, which is what a reviewer working
 *    through them in Word wants, but no longer the sheet's text.
 *
 * Everything typed by a delegation goes in as text through the package
 * (which escapes it), never as markup: `text` options only — a string child
 * such as "CURRENT" would become a page-number field — and characters XML
 * cannot hold become U+FFFD (docx would drop them silently). Line ends are
 * `\n`: a CR (alone or before LF) ends a line as LF does.
 */
import {
  AlignmentType,
  CommentRangeEnd,
  CommentRangeStart,
  CommentReference,
  DeletedTextRun,
  Document,
  HeadingLevel,
  InsertedTextRun,
  Packer,
  Paragraph,
  Tab,
  TextRun,
  XmlAttributeComponent,
  XmlComponent,
  type ICommentOptions,
  type ParagraphChild,
} from 'docx'
import { isRightToLeft } from '../../shared/textDirection'
import type { PlainThread } from '../../shared/comments'
import { inSheet, sheetText, suggester, type Span, type Who } from './redlineSpans'
import { PARLEY_NOTE_STYLE } from './parleyStyles'
import type { Suggestion } from '../../shared/suggestions'

export type SuggestionMode = 'comments' | 'tracked'

export interface WordTerm {
  /** its place in the document, from 1 */
  number: number
  title: Span[]
  body: Span[]
  stateLine: string
  /** a term added (or removed) within the redline's window: its heading, state line and paragraph marks are that change too */
  whole?: { kind: 'ins' | 'del'; by: Who }
  /** shared threads on the term, as they stood at the sheet's version */
  threads: PlainThread[]
}

export interface WordSheet {
  title: string
  /** notes under the title: what the document shows */
  notes: string[]
  terms: WordTerm[]
  /** party id → name */
  parties: ReadonlyMap<string, string>
  suggestions: SuggestionMode
}

// ── text Word can hold ────────────────────────────────────────────────────

const NOT_XML =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/** Text for a run: `\n` line ends, no character XML 1.0 cannot hold. */
export const wordText = (s: string): string => s.replace(/\r\n?/g, '\n').replace(NOT_XML, '\uFFFD')

/** One line for an attribute (an author's name): no line breaks or tabs, at most 255 characters. */
const oneLine = (s: string): string => {
  const line = wordText(s).replace(/\s+/g, ' ').trim()
  return line.length > 255 ? `${line.slice(0, 254)}…` : line
}

/** w:date: ISO 8601 to the second; undefined (left out) for a time that is no date. */
function revisionDate(ms: number): string | undefined {
  const d = new Date(ms)
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

/**
 * A comment's w:date. The package stamps a comment without one with the time it writes the file, which
 * would date a comment whose stored time is no date to the export; this stand-in (it only calls
 * toISOString) makes the attribute absent instead, as the schema allows. [EX4] checks it.
 */
const NO_DATE = { toISOString: () => undefined } as unknown as Date
const commentDate = (ms: number): Date => (Number.isNaN(new Date(ms).getTime()) ? NO_DATE : new Date(ms))

const quote = (s: string, max = 160) => {
  const t = wordText(s).replace(/\s+/g, ' ').trim()
  return `“${t.length > max ? `${t.slice(0, max - 1)}…` : t}”`
}

// ── revisions ─────────────────────────────────────────────────────────────

interface Mark {
  id: number
  author: string
  date?: string
}

/** How a stretch of text is written: plain, inserted, deleted, or inserted and then deleted (a pending removal of an insertion). */
interface Rev {
  ins?: Who
  del?: Who
}

type ChangeProps = Pick<ConstructorParameters<typeof InsertedTextRun>[0], 'id' | 'author' | 'date'>
type RunContent = ({ text: string } | { break: number } | { children: Tab[] }) & { italics?: boolean }

class RevisionAttributes extends XmlAttributeComponent<Mark> {
  protected override readonly xmlKeys = { id: 'w:id', author: 'w:author', date: 'w:date' }
}

/** `w:ins` around a `w:del`: text inserted by one and (pending) removed by another — the package writes either, not both. */
class InsertedDeletion extends XmlComponent {
  constructor(ins: Mark, del: ChangeProps & RunContent) {
    super('w:ins')
    this.root.push(new RevisionAttributes(ins))
    this.root.push(new DeletedTextRun(del))
  }
}

class Writer {
  private nextId = 1
  readonly comments: ICommentOptions[] = []

  constructor(private readonly sheet: WordSheet) {}

  author(who: Who): string {
    if (who.party === null) return oneLine(who.user || 'Parley')
    const name = this.sheet.parties.get(who.party) ?? who.party
    return oneLine(`${name} (${who.user})`)
  }

  mark(who: Who): Mark {
    const date = revisionDate(who.at)
    return date ? { id: this.nextId++, author: this.author(who), date } : { id: this.nextId++, author: this.author(who) }
  }

  /**
   * Set while the runs of a paragraph that reads right to left are written (its first strong character is
   * Arabic, Hebrew…): they get w:rtl, as the paragraph gets w:bidi (`direction`), so Word lays it out from the right.
   */
  private rtl = false

  /** `make`'s runs right to left if `text` reads so; with the paragraph option that goes with them. */
  private directed<T>(text: string, make: (direction: { bidirectional?: true }) => T): T {
    const was = this.rtl
    this.rtl = isRightToLeft(text)
    try {
      return make(this.rtl ? { bidirectional: true } : {})
    } finally {
      this.rtl = was
    }
  }

  /** Runs for a stretch of one line (no `\n`) written as `rev`, after a line break if `lineBreak`; tabs as Word tabs. */
  runs(text: string, rev: Rev | null, lineBreak = false, italics = false): ParagraphChild[] {
    const contents: RunContent[] = lineBreak ? [{ break: 1 }] : []
    text.split('\t').forEach((part, i) => {
      if (i > 0) contents.push({ children: [new Tab()] })
      if (part) contents.push({ text: part })
    })
    return contents.map((c) => {
      const styled = italics ? { ...c, italics } : c
      const content = this.rtl ? { ...styled, rightToLeft: true } : styled
      if (!rev) return new TextRun(content)
      // a w:ins like the package's own (its type lists the package's classes only)
      if (rev.ins && rev.del)
        return new InsertedDeletion(this.mark(rev.ins), { ...this.change(rev.del), ...content }) as unknown as InsertedTextRun
      if (rev.ins) return new InsertedTextRun({ ...this.change(rev.ins), ...content })
      return new DeletedTextRun({ ...this.change(rev.del!), ...content })
    })
  }

  /** A revision's attributes as the package takes them: its date is required there, and left out when undefined. */
  private change(who: Who): ChangeProps {
    const m = this.mark(who)
    return { id: m.id, author: m.author, date: m.date as string }
  }

  /** The paragraph mark's revision (a line end inserted or removed). */
  paragraphMark(rev: Rev | null): { run?: { insertion?: ChangeProps; deletion?: ChangeProps } } {
    if (!rev) return {}
    return {
      run: { ...(rev.ins ? { insertion: this.change(rev.ins) } : {}), ...(rev.del ? { deletion: this.change(rev.del) } : {}) },
    }
  }

  comment(c: Omit<ICommentOptions, 'id'>): number {
    const id = this.nextId++
    this.comments.push({ ...c, id })
    return id
  }

  // ── a term ──

  /** How a span shows: its revision, and whether it is in the document at all. */
  private shown(span: Span): { rev: Rev | null; rendered: boolean } {
    const tracked = this.sheet.suggestions === 'tracked'
    switch (span.kind) {
      case 'text':
        return { rev: null, rendered: true }
      case 'del':
        return { rev: { del: span.by }, rendered: true }
      case 'ins':
        return {
          rev: tracked && span.pendingRemoval ? { ins: span.by, del: suggester(span.pendingRemoval) } : { ins: span.by },
          rendered: true,
        }
      case 'suggested':
        if (tracked)
          return {
            rev: span.suggestion.kind === 'ins' ? { ins: suggester(span.suggestion) } : { del: suggester(span.suggestion) },
            rendered: true,
          }
        return { rev: null, rendered: span.suggestion.kind === 'del' }
    }
  }

  private displayLength(spans: Span[]): number {
    return spans.reduce((n, s) => n + (this.shown(s).rendered ? s.text.length : 0), 0)
  }

  /** Where the sheet's character `at` (text at `to`) stands among the characters the document shows. */
  private displayAt(spans: Span[], at: number): number {
    let sheet = 0
    let shown = 0
    for (const s of spans) {
      const len = this.shown(s).rendered ? s.text.length : 0
      if (inSheet(s)) {
        if (at <= sheet + s.text.length) return shown + (at - sheet)
        sheet += s.text.length
      }
      shown += len
    }
    return shown
  }

  /** Comments on the pending suggestions of a field: one per stretch of one suggester's suggestions, on that stretch. */
  private suggestionComments(spans: Span[]): Anchor[] {
    const anchors: Anchor[] = []
    let shown = 0
    let group: { who: Suggestion; start: number; end: number; ins: string; del: string } | null = null
    const close = () => {
      if (!group) return
      const what =
        group.ins && group.del
          ? `replace ${quote(group.del)} with ${quote(group.ins)}`
          : group.ins
            ? `insert ${quote(group.ins)}`
            : `remove ${quote(group.del)}`
      const tail =
        this.sheet.suggestions === 'tracked'
          ? 'Shown as a tracked change; not part of the text until accepted in Parley.'
          : 'Not part of the text until accepted in Parley.'
      const id = this.comment({
        author: this.author(suggester(group.who)),
        date: commentDate(group.who.at),
        children: [new Paragraph({ children: [new TextRun({ text: `Suggested, not accepted yet: ${what}. ${tail}` })] })],
      })
      anchors.push({ ids: [id], start: group.start, end: group.end })
      group = null
    }
    for (const s of spans) {
      const len = this.shown(s).rendered ? s.text.length : 0
      const sug = s.kind === 'suggested' ? s.suggestion : s.kind === 'ins' ? s.pendingRemoval : undefined
      if (!sug) close()
      else {
        if (group && (group.who.party !== sug.party || group.who.user !== sug.user)) close()
        group ??= { who: sug, start: shown, end: shown, ins: '', del: '' }
        if (sug.kind === 'ins') group.ins += s.text
        else group.del += s.text
        group.end = shown + len
      }
      shown += len
    }
    close()
    return anchors
  }

  /** A shared thread as Word comments: the first, and the replies under it, on the quoted words (or the whole term). */
  private threadComments(thread: PlainThread, title: Span[], body: Span[]): Anchor & { field: 'title' | 'body' } {
    const text = wordText(sheetText(body))
    const q = thread.anchor ? wordText(thread.quote) : ''
    const at = q ? text.indexOf(q) : -1
    // The quoted words where they stand once, else the whole term (the anchor was made against the live text,
    // which reading here would need the doc rebuilt; a quote found twice, or edited away, cannot be placed).
    const placed = at >= 0 && text.indexOf(q, at + 1) < 0
    const range = placed
      ? { field: 'body' as const, start: this.displayAt(body, at), end: this.displayAt(body, at + q.length) }
      : this.displayLength(body) > 0
        ? { field: 'body' as const, start: 0, end: this.displayLength(body) }
        : { field: 'title' as const, start: 0, end: this.displayLength(title) }
    const ids: number[] = []
    thread.comments.forEach((c, i) => {
      const lines = c.deleted ? ['(deleted)'] : wordText(c.body).split('\n')
      if (i === 0 && q && !placed) lines.unshift(`On ${quote(thread.quote)}:`)
      if (c.editedAt !== undefined && !c.deleted) lines[lines.length - 1] += ' (edited)'
      ids.push(
        this.comment({
          author: this.author({ party: c.party, user: c.user, at: c.at }),
          date: commentDate(c.at),
          children: lines.map((l) => this.directed(l, (dir) => new Paragraph({ ...dir, children: l ? this.runs(l, null) : [] }))),
          ...(i > 0 ? { parentId: ids[0] } : {}),
          ...(thread.resolved ? { resolved: true } : {}),
        }),
      )
    })
    return { ...range, ids }
  }

  term(t: WordTerm): Paragraph[] {
    const title = normalised(t.title)
    const body = normalised(t.body)
    const whole: Rev | null = t.whole ? (t.whole.kind === 'ins' ? { ins: t.whole.by } : { del: t.whole.by }) : null
    const anchors: { title: Anchor[]; body: Anchor[] } = {
      title: this.suggestionComments(title),
      body: this.suggestionComments(body),
    }
    for (const th of t.threads) {
      const a = this.threadComments(th, title, body)
      anchors[a.field].push(a)
    }
    const heading = this.directed(
      sheetText(title),
      (dir) =>
        new Paragraph({
          heading: HeadingLevel.HEADING_1,
          keepNext: true,
          ...dir,
          ...this.paragraphMark(whole),
          children: [...this.runs(`§${t.number} `, whole), ...this.fieldLines(title, anchors.title, 'title')[0]!.children],
        }),
    )
    const state = new Paragraph({
      style: PARLEY_NOTE_STYLE.id,
      keepNext: true,
      spacing: { after: 120 },
      ...this.paragraphMark(whole),
      children: this.runs(oneLine(t.stateLine), whole, false, true),
    })
    const lines = this.fieldLines(body, anchors.body, 'body')
    const paragraphs = lines.map(
      (l, i) =>
        new Paragraph({
          ...(l.rtl ? { bidirectional: true } : {}),
          ...this.paragraphMark(i === lines.length - 1 ? whole : l.mark),
          children: l.children,
        }),
    )
    return [heading, state, ...paragraphs]
  }

  /**
   * A field as lines: its spans cut at `\n` (a body's lines are paragraphs, the mark of each carrying
   * the revision of its line end; a title's are line breaks in the one heading), with the comment
   * ranges of `anchors` (in shown characters) put where they begin and end.
   */
  private fieldLines(
    spans: Span[],
    anchors: Anchor[],
    field: 'title' | 'body',
  ): Array<{ children: ParagraphChild[]; mark: Rev | null; rtl: boolean }> {
    // At one place: ranges that end there, then those that begin there, then the ends of empty ones (a point).
    const events: Array<{ at: number; order: number; nodes: () => ParagraphChild[] }> = []
    for (const a of anchors) {
      for (const id of a.ids) events.push({ at: a.start, order: 1, nodes: () => [new CommentRangeStart(id)] })
      for (const id of a.ids)
        events.push({
          at: a.end,
          order: a.end === a.start ? 2 : 0,
          nodes: () => [new CommentRangeEnd(id), new TextRun({ children: [new CommentReference(id)] })],
        })
    }
    events.sort((x, y) => x.at - y.at || x.order - y.order)
    // each line's direction by its own text (a title is one line: its line breaks stay in one heading)
    const shownText = spans
      .filter((s) => this.shown(s).rendered)
      .map((s) => s.text)
      .join('')
    const directions = (field === 'body' ? shownText.split('\n') : [shownText]).map(isRightToLeft)
    const lines: Array<{ children: ParagraphChild[]; mark: Rev | null; rtl: boolean }> = [
      { children: [], mark: null, rtl: directions[0]! },
    ]
    const wasRtl = this.rtl
    this.rtl = directions[0]!
    const line = () => lines[lines.length - 1]!
    let e = 0
    /** puts the comment marks at or before shown character `at` */
    const marksUpTo = (at: number) => {
      while (e < events.length && events[e]!.at <= at) line().children.push(...events[e++]!.nodes())
    }
    let shown = 0
    for (const s of spans) {
      const { rev, rendered } = this.shown(s)
      if (!rendered) continue
      let at = shown
      s.text.split('\n').forEach((part, i) => {
        let lineBreak = false
        if (i > 0) {
          // the line end, one character, between this part and the one before
          marksUpTo(at)
          at += 1
          if (field === 'body') {
            line().mark = rev
            this.rtl = directions[lines.length] ?? false
            lines.push({ children: [], mark: null, rtl: this.rtl })
          } else lineBreak = true
        }
        let from = 0
        for (;;) {
          marksUpTo(at + from)
          if (from >= part.length) break
          const to = Math.min(part.length, (events[e]?.at ?? Infinity) - at)
          line().children.push(...this.runs(part.slice(from, to), rev, lineBreak))
          lineBreak = false
          from = to
        }
        if (lineBreak) line().children.push(...this.runs('', rev, true))
        at += part.length
      })
      shown += s.text.length
    }
    marksUpTo(Infinity)
    this.rtl = wasRtl
    return lines
  }

  document(): Document {
    const s = this.sheet
    const body: Paragraph[] = [
      this.directed(
        s.title,
        (dir) => new Paragraph({ heading: HeadingLevel.TITLE, ...dir, children: this.runs(oneLine(s.title), null) }),
      ),
      ...s.notes.map((n) =>
        this.directed(n, (dir) => new Paragraph({ style: PARLEY_NOTE_STYLE.id, ...dir, children: this.runs(oneLine(n), null) })),
      ),
    ]
    for (const t of s.terms) body.push(...this.term(t))
    body.push(
      new Paragraph({
        style: PARLEY_NOTE_STYLE.id,
        alignment: AlignmentType.CENTER,
        children: this.runs('— end of the term sheet —', null),
      }),
    )
    return new Document({
      creator: 'Parley',
      title: oneLine(s.title),
      description: s.notes.map(oneLine).join(' '),
      features: { trackRevisions: true },
      styles: {
        default: {
          document: { paragraph: { spacing: { after: 100 } } },
          heading1: {
            run: { size: 30, color: '1F3864' },
            paragraph: { spacing: { before: 320, after: 40 }, keepNext: true, outlineLevel: 0 },
          },
        },
        paragraphStyles: [
          {
            id: PARLEY_NOTE_STYLE.id,
            name: PARLEY_NOTE_STYLE.name,
            basedOn: 'Normal',
            next: 'Normal',
            run: { color: '555555', size: 19 },
            paragraph: { spacing: { after: 80 } },
          },
        ],
      },
      comments: { children: this.comments },
      sections: [{ children: body }],
    })
  }
}

interface Anchor {
  ids: number[]
  /** in shown characters of the field */
  start: number
  end: number
}

/** Spans with text Word can hold (see wordText); empty ones dropped. */
const normalised = (spans: Span[]): Span[] =>
  spans.map((s) => ({ ...s, text: wordText(s.text) })).filter((s) => s.text.length > 0)

/** The .docx of a sheet. */
export async function writeDocx(sheet: WordSheet): Promise<Buffer> {
  const w = new Writer(sheet)
  return Packer.toBuffer(w.document())
}

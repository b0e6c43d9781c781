/**
 * Renders an export (export.ts) as Markdown or as a self-contained printable
 * HTML page. Pure functions of the ExportDoc, so snapshots are stable.
 *
 * Redlines in Markdown use CriticMarkup — `{--removed--}{>>ru<<}` and
 * `{++added++}{>>ru<<}`, the comment naming the delegation — because it is
 * the one plain-text convention for tracked changes that editors know.
 * Pending suggestions (CONTRACT.md "Suggestions and authorship") are marked
 * the same way in the term's text and its redline, the comment saying who
 * suggested it and when (`{>>suggested by United States (J. Carter), …<<}`);
 * in HTML they are `<ins class="suggestion">` / `<del class="suggestion">`.
 */
import { withPartyCodes } from '../../shared/partyCodes'
import type { Seg } from '../../shared/schemas'
import type { Suggestion } from '../../shared/suggestions'
import { isoOrEmpty, type ExportDoc, type ExportSuggestion, type ExportTerm, type Stamp } from './export'

type Group = 'agreed' | 'open' | 'rejected' | 'withdrawn'

const GROUPS: Array<{ group: Group; heading: string }> = [
  { group: 'agreed', heading: 'Agreed terms' },
  { group: 'open', heading: 'Open terms' },
  { group: 'rejected', heading: 'Rejected terms' },
  { group: 'withdrawn', heading: 'Withdrawn terms' },
]

const groupOf = (t: ExportTerm): Group =>
  t.state === 'agreed' ? 'agreed' : t.state === 'rejected' ? 'rejected' : t.state === 'withdrawn' ? 'withdrawn' : 'open'

/** "2026-11-27 10:02:03 UTC": unambiguous, locale-free. */
export const when = (iso: string) => (iso ? `${iso.slice(0, 10)} ${iso.slice(11, 19)} UTC` : 'unknown time')

/** "A", "A and B", "A, B and C" */
const andList = (items: string[]) => (items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`)

/** Party id → name for sentences; `.code` gives the short code for marks (redlines, legends). */
type Namer = ((id: string | null) => string | null) & { code: (id: string) => string }

function namer(doc: ExportDoc): Namer {
  // Codes derived here too for a record read straight from a store written before codes (npm run export).
  const parties = withPartyCodes(doc.negotiation.parties)
  const names = new Map(parties.map((p) => [p.id, p.name]))
  const codes = new Map(parties.map((p) => [p.id, p.code]))
  return Object.assign((id: string | null) => (id === null ? null : (names.get(id) ?? id)), {
    code: (id: string) => codes.get(id) ?? id,
  })
}

/** One line on where a term stands, shared by both formats (plain text; callers escape). */
function standing(
  t: ExportTerm,
  name: (id: string | null) => string | null,
  today: string,
): { label: string; detail: string } {
  const by = (s: Stamp | null) => (s ? `${name(s.party) ?? s.user} on ${when(s.at)} (version ${s.n})` : '')
  const accepted = t.acceptances.map(
    (a) => `${name(a.party)} on ${when(a.at)} (version ${a.n})${a.current ? '' : ', an earlier text'}`,
  )
  switch (t.state) {
    case 'agreed':
      return {
        label: 'AGREED',
        detail: `Agreed on ${t.agreed ? `${when(t.agreed.at)} (version ${t.agreed.n})` : 'an unknown date'}; accepted by ${accepted.join('; ') || 'nobody on record'}.`,
      }
    case 'rejected':
      return { label: 'REJECTED', detail: `Rejected by ${by(t.lastMove) || 'a delegation'}.` }
    case 'withdrawn':
      return { label: 'WITHDRAWN', detail: `Withdrawn by ${by(t.lastMove) || 'its proposer'}.` }
    case 'reopened':
      return {
        label: 'OPEN (reopened)',
        detail: `Reopened by ${by(t.lastMove) || 'a delegation'}.${accepted.length ? ` Accepted since by ${accepted.join('; ')}.` : ''}`,
      }
    case 'accepted':
      return {
        label: 'OPEN (accepted by some)',
        detail: `${accepted.length ? `Accepted by ${accepted.join('; ')}` : 'Not accepted outright by any delegation'}; not yet by every delegation.${pendingAdRef(t, name, today)}`,
      }
    default:
      return { label: 'OPEN (proposed)', detail: 'Not accepted by any delegation yet.' }
  }
}

/** Acceptances ad referendum still to be confirmed, as a sentence (plain text; callers escape). */
function pendingAdRef(t: ExportTerm, name: (id: string | null) => string | null, today: string): string {
  const lines = (t.adReferendum ?? []).map(
    (a) =>
      `${name(a.party) ?? a.party} (${a.user}) on ${when(a.at)}, subject to confirmation by ${a.principal}${a.until ? ` by ${a.until}${a.until < today ? ' (overdue)' : ''}` : ''}${a.current ? '' : ', of an earlier text'}`,
  )
  return lines.length ? ` Accepted ad referendum, not yet confirmed: ${lines.join('; ')}.` : ''
}

/** Where the negotiation stands on its way to conclusion, as one paragraph (plain text; callers escape); null before any package. */
function conclusionLine(doc: ExportDoc, name: (id: string | null) => string | null): string | null {
  const c = doc.conclusion
  if (!c) return null
  const initials = c.initials.map((i) => `${name(i.party) ?? i.party} (${i.user}, ${when(i.at)})`).join('; ')
  if (c.concluded)
    return `CONCLUDED on ${when(c.concluded.at)}: package ${c.concluded.hash}, initialled by ${initials || 'nobody on record'}. The signed record: GET /api/negotiations/${doc.negotiation.id}/record.`
  if (!c.package) return null
  const accepted = Object.entries(c.package.acceptedBy)
    .filter(([, h]) => h === c.package!.hash)
    .map(([p]) => name(p) ?? p)
  return `Package ${c.package.hash}: accepted by ${accepted.join(', ') || 'no delegation yet'}${initials ? `; initialled by ${initials}` : ''}. Nothing is agreed until everything is agreed.`
}

function proposal(t: ExportTerm, name: (id: string | null) => string | null): string {
  if (!t.proposed) return 'Proposal not on record.'
  const who = t.proposedBy === null ? 'In the opening draft' : `Proposed by ${name(t.proposedBy)}`
  return `${who} (version ${t.proposed.n}, ${when(t.proposed.at)}).`
}

const changed = (segs: Seg[]) => segs.some((s) => s.op !== 'eq' || s.suggestion)

/** Who suggested what when, as one line: "suggested by United States (J. Carter), 2026-01-12 10:00:00 UTC" (plain text; callers escape). */
function suggestedBy(s: { party: string; user: string; at: string }, name: (id: string | null) => string | null): string {
  return `suggested by ${name(s.party) ?? s.party} (${s.user}), ${when(s.at)}`
}

/** A redline's suggestion in the shape of an export's (its time as text). */
const segSuggestion = (s: Suggestion) => ({ kind: s.kind, party: s.party, user: s.user, at: isoOrEmpty(s.at) })

const hasSuggestions = (doc: ExportDoc) =>
  doc.terms.some((t) => t.suggestions?.length || [...t.redline.title, ...t.redline.body].some((s) => s.suggestion))

/**
 * A field's text with its pending suggestions where they stand, in pieces:
 * plain text, and each suggestion (its insertion put in, or the text it
 * would remove) — for a renderer to escape and mark.
 */
function markedPieces(text: string, suggestions: readonly ExportSuggestion[] | undefined, field: 'title' | 'body') {
  const out: Array<{ text: string; suggestion: ExportSuggestion | null }> = []
  let pos = 0
  for (const s of suggestions ?? []) {
    if (s.field !== field || s.index < pos) continue
    if (s.index > pos) out.push({ text: text.slice(pos, s.index), suggestion: null })
    out.push({ text: s.text, suggestion: s })
    pos = s.kind === 'del' ? s.index + s.text.length : s.index
  }
  if (pos < text.length) out.push({ text: text.slice(pos), suggestion: null })
  return out
}

const fieldSuggested = (t: ExportTerm, field: 'title' | 'body') => !!t.suggestions?.some((s) => s.field === field)

/** Board entries that do not fit the layout (stored before the server refused them) are named, not drawn. */
const SKIPPED_NOTE =
  'These entries of the board could not be read as terms, notes or links (they were stored before Parley refused such updates) and are not part of this record:'

// ── Markdown ─────────────────────────────────────────────────────────────
//
// Everything a record shows comes from somebody: titles, party names, user
// names, term ids and texts are typed by delegations (and stores written by
// older versions hold whatever they were sent). So every value goes through
// one of the escapers below, and nothing a delegation typed can add a block
// (heading, paragraph, list, quote, table, code block), raw HTML, a link or
// emphasis to the record. Block structure is decided line by line before any
// inline markup, so in an inline context (a heading, a table cell, a sentence)
// a newline must never reach the output, and at the start of a line nothing
// may look like a block marker.

/** ASCII punctuation that means something inline in CommonMark, GFM tables or CriticMarkup. */
const MD_INLINE = /[\\`*_[\]<>|~{}#&]/g
const mdChars = (s: string) => s.replace(MD_INLINE, '\\$&')
/** CommonMark's line endings; a lone CR ends a line too. */
const LINE_END = /\r\n?|\n/g

/**
 * Makes an already char-escaped line safe at the start of a line: no list
 * item (`-`, `+`, `1.`, `1)`), setext underline (`=`) or indented code.
 * Leading whitespace becomes a character reference, which block parsing does
 * not read as indentation; one is enough, as the line then starts with `&`.
 */
function mdLineStart(line: string): string {
  if (/^[ \t]/.test(line) && /[^ \t]/.test(line)) return `&#${line.charCodeAt(0)};${line.slice(1)}`
  const ordered = /^(\d{1,9})([.)])/.exec(line)
  if (ordered) return `${ordered[1]}\\${line.slice(ordered[1]!.length)}`
  return /^[-+=]/.test(line) ? `\\${line}` : line
}

/** Markdown text in an inline context: a heading, a table cell, a sentence. Newlines become spaces. */
export const mdText = (s: string): string => mdLineStart(mdChars(s.replace(LINE_END, ' ')))

/**
 * A Markdown code span. Backslashes mean nothing inside one, so the fence is
 * a backtick run longer than any inside, padded with a space where the text
 * starts or ends with a backtick (or with a space CommonMark would strip).
 * Newlines become spaces. Never at the start of a line: a fence there opens
 * a code block.
 */
export function mdCode(s: string): string {
  const flat = s.replace(LINE_END, ' ')
  if (flat === '') return ''
  const fence = '`'.repeat(Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length)) + 1)
  const spaced = flat.startsWith(' ') && flat.endsWith(' ') && flat.trim() !== ''
  const pad = flat.startsWith('`') || flat.endsWith('`') || spaced ? ' ' : ''
  return `${fence}${pad}${flat}${pad}${fence}`
}

/**
 * Char-escaped text (its newlines kept) as a block quote: every line gets
 * `> ` and is made safe at its start. A blank line stays a paragraph break
 * inside the quote, as the text meant.
 */
const mdQuote = (escaped: string) =>
  escaped
    .split(LINE_END)
    .map((line) => (/^[ \t]*$/.test(line) ? '>' : `> ${mdLineStart(line)}`))
    .join('\n')

/**
 * A pending suggestion as CriticMarkup: the text, char-escaped (`text`),
 * then a comment saying who suggested it and when, always on one line.
 */
function mdSuggestion(
  kind: 'ins' | 'del',
  escaped: string,
  s: { party: string; user: string; at: string },
  name: (id: string | null) => string | null,
): string {
  const who = `{>>${mdChars(suggestedBy(s, name).replace(LINE_END, ' '))}<<}`
  return kind === 'ins' ? `{++${escaped}++}${who}` : `{--${escaped}--}${who}`
}

/** A redline as CriticMarkup, char-escaped; `inline` folds newlines into spaces (for a title). */
function mdSegs(segs: Seg[], inline: boolean, name: Namer): string {
  const text = (t: string) => mdChars(inline ? t.replace(LINE_END, ' ') : t)
  const out = segs
    .map((s) => {
      // What `to` holds as a pending suggestion is shown as one, whoever wrote the text.
      if (s.suggestion) return mdSuggestion(s.suggestion.kind, text(s.text), segSuggestion(s.suggestion), name)
      const who = s.party ? `{>>${text(name.code(s.party))}<<}` : ''
      if (s.op === 'ins') return `{++${text(s.text)}++}${who}`
      if (s.op === 'del') return `{--${text(s.text)}--}${who}`
      return text(s.text)
    })
    .join('')
  return inline ? mdLineStart(out) : out
}

/** A term's title or body with its pending suggestions as CriticMarkup, char-escaped; `inline` as for mdSegs. */
function mdMarked(t: ExportTerm, field: 'title' | 'body', inline: boolean, name: (id: string | null) => string | null): string {
  const text = (x: string) => mdChars(inline ? x.replace(LINE_END, ' ') : x)
  const out = markedPieces(t[field], t.suggestions, field)
    .map((p) => (p.suggestion ? mdSuggestion(p.suggestion.kind, text(p.text), p.suggestion, name) : text(p.text)))
    .join('')
  return inline ? mdLineStart(out) : out
}

export function renderMarkdown(doc: ExportDoc): string {
  const name = namer(doc)
  const out: string[] = []
  const n = doc.negotiation
  out.push(`# ${mdText(n.title)}`, '')
  out.push(
    `Negotiation ${mdCode(n.id)} between ${andList(n.parties.map((p) => `${mdText(p.name)} (${mdText(name.code(p.id))}, ${mdCode(p.id)})`))}, opened ${mdText(when(n.createdAt))}.`,
  )
  out.push(
    `This record shows the sheet as of version ${doc.asOf.n}${doc.asOf.at ? ` (${mdText(when(doc.asOf.at))})` : ''}, then every version. Generated ${mdText(when(doc.generatedAt))}.`,
    '',
  )
  const concluding = conclusionLine(doc, name)
  if (concluding) out.push(`**${mdText(concluding)}**`, '')
  out.push('| State | Terms |', '| --- | ---: |')
  for (const { group, heading } of GROUPS)
    out.push(`| ${heading.replace(' terms', '')} | ${doc.terms.filter((t) => groupOf(t) === group).length} |`)
  out.push('')
  out.push(
    "Redlines use CriticMarkup: {++added++} and {--removed--}, each followed by {>>the delegation's code<<} that made the change.",
    '',
  )
  if (hasSuggestions(doc)) {
    out.push(
      'Pending suggestions are marked the same way in the text, each followed by {>>suggested by the delegation (the person), when<<}: they are not part of the text until accepted.',
      '',
    )
  }

  for (const { group, heading } of GROUPS) {
    const terms = doc.terms.filter((t) => groupOf(t) === group)
    if (terms.length === 0) continue
    out.push(`## ${heading}`, '')
    for (const t of terms) {
      const s = standing(t, name, doc.generatedAt.slice(0, 10))
      out.push(`### ${fieldSuggested(t, 'title') ? mdMarked(t, 'title', true, name) : mdText(t.title || 'Untitled term')}`, '')
      out.push(`**${s.label}** — ${mdText(s.detail)}`, '')
      out.push(
        `${mdText(proposal(t, name))}${t.onBoard ? '' : ' Taken off the board; its last text is shown.'} Term id ${mdCode(t.id)}.`,
        '',
      )
      out.push(
        fieldSuggested(t, 'body')
          ? mdQuote(mdMarked(t, 'body', false, name))
          : t.body
            ? mdQuote(mdChars(t.body))
            : '> _(no text)_',
        '',
      )
      if (changed(t.redline.title) || changed(t.redline.body)) {
        out.push(`Changes since version ${t.redline.since}:`, '')
        if (changed(t.redline.title)) out.push(`Title: ${mdSegs(t.redline.title, true, name)}`, '')
        out.push(mdQuote(mdSegs(t.redline.body, false, name)), '')
      } else {
        out.push(`Unchanged since version ${t.redline.since}.`, '')
      }
    }
  }

  if (doc.threads.length > 0) {
    out.push('## Discussion', '')
    for (const t of doc.threads) {
      const term = doc.terms.find((x) => x.id === t.termId)
      const on = term ? `'${mdText(term.title)}'` : mdCode(t.termId)
      const quote = t.quote ? `, on “${mdText(t.quote)}”` : ''
      out.push(`### Thread on ${on}${quote} (${t.resolved ? 'resolved' : 'open'})`, '')
      for (const c of t.comments) {
        const who = `${mdText(name(c.party) ?? '—')}, ${mdText(c.user)}, ${mdText(when(new Date(c.at).toISOString()))}`
        out.push(`- ${who}: ${c.deleted ? '*comment deleted*' : mdText(c.body)}${c.editedAt && !c.deleted ? ' *(edited)*' : ''}`)
      }
      out.push('')
    }
  }

  if (doc.notes.length > 0) {
    out.push('## Notes on the board', '')
    for (const note of doc.notes) out.push(`- ${mdText(note.text)}`)
    out.push('')
  }

  if (doc.skipped?.length) {
    out.push('## Left out', '')
    out.push(mdText(SKIPPED_NOTE), '')
    for (const entry of doc.skipped) out.push(`- ${mdCode(entry)}`)
    out.push('')
  }

  out.push('## Concession history', '')
  out.push('| # | Time | Delegation | By | Event | What happened |', '| ---: | --- | --- | --- | --- | --- |')
  for (const v of doc.versions) {
    const cells = [String(v.n), when(v.at), name(v.party) ?? '—', v.user, v.kind, v.summary]
    out.push(`| ${cells.map(mdText).join(' | ')} |`)
  }
  out.push('')
  out.push('## Chain heads', '')
  out.push(`- board log: seq ${doc.heads.board.seq}, sha256 ${mdCode(doc.heads.board.hash)}`)
  out.push(`- ledger log: seq ${doc.heads.ledger.seq}, sha256 ${mdCode(doc.heads.ledger.hash)}`)
  out.push(`- versions: ${doc.heads.versions.n}, sha256 ${mdCode(doc.heads.versions.hash)}`)
  out.push(
    '',
    `Check against the store: ${mdCode(`npm run verify -- ${n.id}`)} (with \`--against <json export>\` to check this record's heads).`,
    '',
  )
  return out.join('\n')
}

// ── HTML ─────────────────────────────────────────────────────────────────

/** HTML text and double-quoted attribute values: the one escaper of the HTML export. */
const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)

/**
 * A party's class, used as a CSS selector in the <style> and as a token in
 * class attributes, where HTML escaping does not help: a stored party id with
 * `{`, `;` or a space could add style rules (hide a term) or other classes.
 * Contract ids ([a-z0-9-]) pass unchanged; anything else is spelled out in hex.
 */
const partyClass = (id: string) => `p-${id.replace(/[^A-Za-z0-9-]/g, (c) => `_${c.codePointAt(0)!.toString(16)}_`)}`
/** A stored colour goes into CSS only if it is one; otherwise the default ink. */
const cssColor = (c: string) => (/^#[0-9a-fA-F]{3,8}$/.test(c) ? c : 'currentColor')

/** A pending suggestion: `<ins class="suggestion …">` or `<del …>`, its title saying who suggested it and when. */
function htmlSuggestion(
  kind: 'ins' | 'del',
  text: string,
  s: { party: string; user: string; at: string },
  name: Namer,
): string {
  return `<${kind} class="suggestion ${partyClass(s.party)}" title="${esc(suggestedBy(s, name))}">${esc(text)}</${kind}><sup class="who">${esc(name.code(s.party))}, suggested</sup>`
}

/** A term's title or body with its pending suggestions marked. */
function htmlMarked(t: ExportTerm, field: 'title' | 'body', name: Namer): string {
  return markedPieces(t[field], t.suggestions, field)
    .map((p) => (p.suggestion ? htmlSuggestion(p.suggestion.kind, p.text, p.suggestion, name) : esc(p.text)))
    .join('')
}

function htmlSegs(segs: Seg[], name: Namer): string {
  return segs
    .map((s) => {
      if (s.suggestion) return htmlSuggestion(s.suggestion.kind, s.text, segSuggestion(s.suggestion), name)
      if (s.op === 'eq') return esc(s.text)
      const who = s.party ? `<sup class="who">${esc(name.code(s.party))}</sup>` : ''
      const cls = s.party ? ` class="${partyClass(s.party)}"` : ''
      const title = `${s.op === 'ins' ? 'written' : 'removed'} by ${name(s.party ?? null) ?? 'the opening draft'}`
      return `<${s.op}${cls} title="${esc(title)}">${esc(s.text)}</${s.op}>${who}`
    })
    .join('')
}

const CSS = `
:root { color-scheme: light; --ink: #1b1b1f; --muted: #5b5b66; --rule: #d6d6de; }
* { box-sizing: border-box; }
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); max-width: 60rem; margin: 2rem auto; padding: 0 1.25rem; }
h1 { font-size: 1.6rem; margin-bottom: .25rem; }
h2 { font-size: 1.2rem; border-bottom: 2px solid var(--ink); padding-bottom: .2rem; margin-top: 2.2rem; }
h3 { font-size: 1.05rem; margin: 0 0 .3rem; }
.meta, .small { color: var(--muted); font-size: .9rem; }
.term { border: 1px solid var(--rule); border-left-width: 6px; border-radius: 4px; padding: .8rem 1rem; margin: 1rem 0; break-inside: avoid; }
.term.agreed { border-left-color: #1b7f4b; } .term.open { border-left-color: #b35c00; }
.term.rejected { border-left-color: #b3261e; } .term.withdrawn { border-left-color: #6b6b76; }
.badge { display: inline-block; font-weight: 700; font-size: .78rem; letter-spacing: .04em; padding: .05rem .45rem; border: 1.5px solid currentColor; border-radius: 3px; margin-right: .4rem; }
.agreed .badge { color: #1b7f4b; } .open .badge { color: #b35c00; } .rejected .badge { color: #b3261e; } .withdrawn .badge { color: #6b6b76; }
.text { white-space: pre-wrap; margin: .5rem 0; padding-left: .8rem; border-left: 3px solid var(--rule); }
ins { text-decoration: underline 2px; text-decoration-color: var(--c, #1b7f4b); background: color-mix(in srgb, var(--c, #1b7f4b) 12%, white); }
del { text-decoration: line-through 2px; text-decoration-color: var(--c, #b3261e); color: var(--muted); }
sup.who { font-size: .65rem; font-weight: 700; color: var(--c, var(--muted)); margin: 0 .1rem; }
table { border-collapse: collapse; width: 100%; font-size: .88rem; }
th, td { text-align: left; vertical-align: top; border-bottom: 1px solid var(--rule); padding: .3rem .4rem; }
th { border-bottom: 2px solid var(--ink); }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
tr.concession td.kind { font-weight: 700; }
code, .hash { font-family: ui-monospace, "SFMono-Regular", Menlo, monospace; font-size: .82rem; word-break: break-all; }
.legend span { margin-right: 1rem; }
@page { margin: 16mm 14mm; }
@media print {
  body { font: 10.5pt/1.4 Georgia, "Times New Roman", serif; margin: 0; max-width: none; }
  h2 { break-after: avoid; } h3 { break-after: avoid; }
  thead { display: table-header-group; } tr { break-inside: avoid; }
  .term { border-color: #888; }
  ins { background: none; } a { color: inherit; text-decoration: none; }
}
`

/** Added to the page of a record that holds suggestions (a record without reads as before). */
const SUGGESTION_CSS = `
ins.suggestion, del.suggestion { text-decoration-style: dashed; background: none; outline: 1px dashed var(--c, var(--muted)); outline-offset: 1px; }
`

export function renderHtml(doc: ExportDoc): string {
  const name = namer(doc)
  const n = doc.negotiation
  const suggestions = hasSuggestions(doc)
  const partyCss = n.parties.map((p) => `.${partyClass(p.id)} { --c: ${cssColor(p.color)}; }`).join('\n')
  const parts: string[] = []
  parts.push(
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(n.title)} — negotiation record</title>`,
    `<style>${CSS}${suggestions ? SUGGESTION_CSS : ''}\n${partyCss}</style>`,
    '</head>',
    '<body>',
    `<h1 dir="auto">${esc(n.title)}</h1>`,
    `<p class="meta">Negotiation <code>${esc(n.id)}</code> between ${andList(n.parties.map((p) => `<span class="${partyClass(p.id)}" dir="auto">${esc(p.name)}</span>`))}, opened ${esc(when(n.createdAt))}. Sheet as of version ${doc.asOf.n}${doc.asOf.at ? ` (${esc(when(doc.asOf.at))})` : ''}; generated ${esc(when(doc.generatedAt))}.</p>`,
    ...(conclusionLine(doc, name) ? [`<p class="conclusion"><strong>${esc(conclusionLine(doc, name)!)}</strong></p>`] : []),
    `<p class="legend small">${n.parties.map((p) => `<span class="${partyClass(p.id)}"><sup class="who">${esc(name.code(p.id))}</sup> <bdi dir="auto">${esc(p.name)}</bdi></span>`).join('')}<span><ins>added</ins> <del>removed</del></span>${suggestions ? '<span><ins class="suggestion">suggested</ins> <del class="suggestion">suggested for removal</del> (pending)</span>' : ''}</p>`,
  )
  for (const { group, heading } of GROUPS) {
    const terms = doc.terms.filter((t) => groupOf(t) === group)
    parts.push(`<h2>${heading} (${terms.length})</h2>`)
    if (terms.length === 0) parts.push('<p class="small">None.</p>')
    for (const t of terms) {
      const s = standing(t, name, doc.generatedAt.slice(0, 10))
      const redline = changed(t.redline.title) || changed(t.redline.body)
      parts.push(
        `<section class="term ${group}" id="term-${esc(t.id)}">`,
        `<h3 dir="auto">${fieldSuggested(t, 'title') ? htmlMarked(t, 'title', name) : esc(t.title || 'Untitled term')}</h3>`,
        `<p><span class="badge">${esc(s.label)}</span>${esc(s.detail)}</p>`,
        `<p class="small">${esc(proposal(t, name))}${t.onBoard ? '' : ' Taken off the board; its last text is shown.'} Term id <code>${esc(t.id)}</code>.</p>`,
        `<div class="text" dir="auto">${fieldSuggested(t, 'body') ? htmlMarked(t, 'body', name) : esc(t.body) || '<em>(no text)</em>'}</div>`,
        redline
          ? `<p class="small">Changes since version ${t.redline.since}:</p>${changed(t.redline.title) ? `<p>Title: <bdi dir="auto">${htmlSegs(t.redline.title, name)}</bdi></p>` : ''}<div class="text" dir="auto">${htmlSegs(t.redline.body, name)}</div>`
          : `<p class="small">Unchanged since version ${t.redline.since}.</p>`,
        '</section>',
      )
    }
  }
  if (doc.threads.length > 0) {
    parts.push('<h2>Discussion</h2>')
    for (const t of doc.threads) {
      const term = doc.terms.find((x) => x.id === t.termId)
      const quote = t.quote ? `, on “<bdi dir="auto">${esc(t.quote)}</bdi>”` : ''
      parts.push(
        `<section class="thread"><h3>Thread on <bdi dir="auto">${esc(term?.title ?? t.termId)}</bdi>${quote} (${t.resolved ? 'resolved' : 'open'})</h3><ul>`,
        ...t.comments.map(
          (c) =>
            `<li><span class="small"><bdi dir="auto">${esc(name(c.party) ?? '—')}</bdi>, <bdi dir="auto">${esc(c.user)}</bdi>, ${esc(when(new Date(c.at).toISOString()))}</span> ${c.deleted ? '<em>comment deleted</em>' : `<span dir="auto">${esc(c.body)}</span>`}${c.editedAt && !c.deleted ? ' <em>(edited)</em>' : ''}</li>`,
        ),
        '</ul></section>',
      )
    }
  }
  if (doc.notes.length > 0) {
    parts.push(
      '<h2>Notes on the board</h2>',
      '<ul>',
      ...doc.notes.map((note) => `<li dir="auto">${esc(note.text)}</li>`),
      '</ul>',
    )
  }
  if (doc.skipped?.length) {
    parts.push(
      '<h2>Left out</h2>',
      `<p>${esc(SKIPPED_NOTE)}</p>`,
      '<ul>',
      ...doc.skipped.map((entry) => `<li><code>${esc(entry)}</code></li>`),
      '</ul>',
    )
  }
  parts.push(
    '<h2>Concession history</h2>',
    '<table><thead><tr><th>#</th><th>Time</th><th>Delegation</th><th>By</th><th>Event</th><th>What happened</th></tr></thead><tbody>',
  )
  for (const v of doc.versions) {
    const concession = ['accept', 'agree', 'reject', 'withdraw', 'reopen'].includes(v.kind)
    parts.push(
      `<tr id="v${v.n}"${concession ? ' class="concession"' : ''}><td class="n">${v.n}</td><td>${esc(when(v.at))}</td><td${v.party ? ` class="${partyClass(v.party)}"` : ''}><bdi dir="auto">${esc(name(v.party) ?? '—')}</bdi></td><td dir="auto">${esc(v.user)}</td><td class="kind">${esc(v.kind)}</td><td>${esc(v.summary)}</td></tr>`,
    )
  }
  parts.push('</tbody></table>')
  parts.push(
    '<h2>Chain heads</h2>',
    '<table><tbody>',
    `<tr><td>board log</td><td>seq ${doc.heads.board.seq}</td><td class="hash">${esc(doc.heads.board.hash)}</td></tr>`,
    `<tr><td>ledger log</td><td>seq ${doc.heads.ledger.seq}</td><td class="hash">${esc(doc.heads.ledger.hash)}</td></tr>`,
    `<tr><td>versions</td><td>${doc.heads.versions.n}</td><td class="hash">${esc(doc.heads.versions.hash)}</td></tr>`,
    '</tbody></table>',
    `<p class="small">Check against the store: <code>npm run verify -- ${esc(n.id)}</code>.</p>`,
    '</body>',
    '</html>',
    '',
  )
  return parts.join('\n')
}

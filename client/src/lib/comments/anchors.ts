/**
 * A thread's words in the live text, and a comment's text with its
 * @mentions picked out. Pure functions over shared/comments.ts: the anchor
 * format is the contract's (base64 relative positions in the term's body).
 */
import * as Y from 'yjs'
import { encodeAnchor, resolveAnchor, type PlainThread } from '../../../../shared/comments'

/** Where a thread stands in its term's text now. */
export type Place =
  | { kind: 'whole' }
  | { kind: 'range'; from: number; to: number }
  /** its words were deleted (or the term is gone): the thread shows its quote and says so */
  | { kind: 'gone' }

/**
 * Relative positions for the words `from`–`to` of a term's body. The start
 * sticks to the first word's first character, the end to the last word's last
 * (association -1), so text typed right after the words does not join them.
 */
export function anchorOf(body: Y.Text, from: number, to: number): { start: string; end: string } | null {
  if (!(to > from) || from < 0 || to > body.length) return null
  return {
    start: encodeAnchor(Y.createRelativePositionFromTypeIndex(body, from, 0)),
    end: encodeAnchor(Y.createRelativePositionFromTypeIndex(body, to, -1)),
  }
}

export function placeOf(body: Y.Text | null, anchor: PlainThread['anchor']): Place {
  if (!anchor) return body ? { kind: 'whole' } : { kind: 'gone' }
  const at = body ? resolveAnchor(body, anchor) : null
  return at ? { kind: 'range', from: at.index, to: at.index + at.length } : { kind: 'gone' }
}

export interface BodyPart {
  text: string
  /** the name this `@Name` mentions */
  mention?: string
}

/** A comment's text cut at its mentions (`@Name`, as the server read them), for plain-text rendering. */
export function bodyParts(body: string, mentions: readonly string[]): BodyPart[] {
  const names = [...mentions].filter(Boolean).sort((a, b) => b.length - a.length)
  const parts: BodyPart[] = []
  let plain = ''
  let i = 0
  while (i < body.length) {
    if (body[i] === '@') {
      const rest = body.slice(i + 1).toLowerCase()
      const name = names.find((n) => rest.startsWith(n.toLowerCase()))
      if (name) {
        if (plain) parts.push({ text: plain })
        plain = ''
        parts.push({ text: body.slice(i, i + 1 + name.length), mention: name })
        i += 1 + name.length
        continue
      }
    }
    plain += body[i]
    i++
  }
  if (plain) parts.push({ text: plain })
  return parts
}

/**
 * The `@` being typed just before the caret, if any: where it starts and what
 * follows it so far. An `@` only starts a mention at the start of the text or
 * after a space or punctuation (not inside an e-mail address).
 */
export function mentionQuery(text: string, caret: number): { at: number; query: string } | null {
  const before = text.slice(0, caret)
  const at = before.lastIndexOf('@')
  if (at === -1) return null
  const query = before.slice(at + 1)
  if (query.length > 40 || /[\n@]/.test(query) || /\s{2}/.test(query)) return null
  if (at > 0 && !/[\s([{"'“‘,;:]/.test(before[at - 1]!)) return null
  return { at, query }
}

/** The participants that fit what was typed after `@`: names starting with it first, then containing it. */
export function matchingNames(names: readonly string[], query: string, max = 6): string[] {
  const q = query.trim().toLowerCase()
  const starts = names.filter((n) => n.toLowerCase().startsWith(q))
  const words = names.filter(
    (n) =>
      !starts.includes(n) &&
      n
        .toLowerCase()
        .split(/\s+/)
        .some((w) => w.startsWith(q)),
  )
  return [...starts, ...words].slice(0, max)
}

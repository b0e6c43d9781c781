/**
 * The comment-thread documents of CONTRACT.md ("Comments and catch-up"):
 * `<id>/comments` (shared) and `<id>/comments/<party>` (a delegation's own),
 * both written by the server only.
 *
 *   `threads`: Y.Map threadId → Y.Map{termId, anchor: {start, end} | null, quote,
 *              resolved, createdAt, createdBy: {party, user},
 *              comments: Y.Array of Y.Map{id, body, party, user, at, editedAt?, deleted?, mentions}}
 *
 * Anchors are base64 `Y.encodeRelativePosition` against the term's `body`
 * Y.Text, so a thread stays on its words while both sides type around them.
 * Bodies are plain text; every reader renders them escaped.
 */
import * as Y from 'yjs'

export const COMMENTS_ROOTS = ['threads'] as const

export interface CommentAuthor {
  party: string | null
  user: string
}

export interface PlainComment {
  id: string
  body: string
  party: string | null
  user: string
  at: number
  editedAt?: number
  /** a deleted comment keeps its place (a tombstone): its body is empty */
  deleted?: boolean
  mentions: string[]
}

export interface PlainThread {
  id: string
  termId: string
  /** base64 relative positions in the term's body; null: the whole term */
  anchor: { start: string; end: string } | null
  quote: string
  resolved: boolean
  createdAt: number
  createdBy: CommentAuthor
  comments: PlainComment[]
}

export const threadsMap = (doc: Y.Doc): Y.Map<Y.Map<unknown>> => doc.getMap('threads')

/** `@Name` mentions: the names of participants a body mentions, in order, each once. */
export function mentionsIn(body: string, participants: readonly string[]): string[] {
  const out: string[] = []
  // Longest names first, so "@Anna Maria" is not read as "@Anna".
  const names = [...new Set(participants)].filter(Boolean).sort((a, b) => b.length - a.length)
  for (let i = body.indexOf('@'); i !== -1; i = body.indexOf('@', i + 1)) {
    const rest = body.slice(i + 1)
    const name = names.find((n) => rest.toLowerCase().startsWith(n.toLowerCase()))
    if (name && !out.includes(name)) out.push(name)
  }
  return out
}

function commentMap(c: PlainComment): Y.Map<unknown> {
  const m = new Y.Map<unknown>()
  m.set('id', c.id)
  m.set('body', c.body)
  m.set('party', c.party)
  m.set('user', c.user)
  m.set('at', c.at)
  m.set('mentions', c.mentions)
  return m
}

/** Opens a thread with its first comment. */
export function addThread(doc: Y.Doc, t: Omit<PlainThread, 'comments' | 'resolved'>, first: PlainComment): void {
  const m = new Y.Map<unknown>()
  m.set('termId', t.termId)
  m.set('anchor', t.anchor)
  m.set('quote', t.quote)
  m.set('resolved', false)
  m.set('createdAt', t.createdAt)
  m.set('createdBy', t.createdBy)
  const comments = new Y.Array<Y.Map<unknown>>()
  comments.push([commentMap(first)])
  m.set('comments', comments)
  threadsMap(doc).set(t.id, m)
}

const commentsOf = (thread: Y.Map<unknown>) => thread.get('comments') as Y.Array<Y.Map<unknown>> | undefined

export function addComment(doc: Y.Doc, threadId: string, c: PlainComment): boolean {
  const list = commentsOf(threadsMap(doc).get(threadId) ?? new Y.Map())
  if (!list) return false
  list.push([commentMap(c)])
  return true
}

export function findComment(doc: Y.Doc, threadId: string, commentId: string): Y.Map<unknown> | null {
  const thread = threadsMap(doc).get(threadId)
  const list = thread && commentsOf(thread)
  if (!list) return null
  for (const c of list) if (c.get('id') === commentId) return c
  return null
}

export function setResolved(doc: Y.Doc, threadId: string, resolved: boolean): boolean {
  const thread = threadsMap(doc).get(threadId)
  if (!thread) return false
  thread.set('resolved', resolved)
  return true
}

function plainComment(m: Y.Map<unknown>): PlainComment {
  const deleted = m.get('deleted') === true
  const editedAt = m.get('editedAt')
  return {
    id: String(m.get('id') ?? ''),
    body: deleted ? '' : String(m.get('body') ?? ''),
    party: (m.get('party') as string | null) ?? null,
    user: String(m.get('user') ?? ''),
    at: Number(m.get('at') ?? 0),
    ...(typeof editedAt === 'number' ? { editedAt } : {}),
    ...(deleted ? { deleted: true } : {}),
    mentions: Array.isArray(m.get('mentions')) ? (m.get('mentions') as string[]) : [],
  }
}

export function plainThread(id: string, m: Y.Map<unknown>): PlainThread {
  const anchor = m.get('anchor') as PlainThread['anchor'] | undefined
  return {
    id,
    termId: String(m.get('termId') ?? ''),
    anchor: anchor ?? null,
    quote: String(m.get('quote') ?? ''),
    resolved: m.get('resolved') === true,
    createdAt: Number(m.get('createdAt') ?? 0),
    createdBy: (m.get('createdBy') as CommentAuthor | undefined) ?? { party: null, user: '' },
    comments: (commentsOf(m)?.toArray() ?? []).map(plainComment),
  }
}

/** Every thread, oldest first. */
export function threadsOf(doc: Y.Doc): PlainThread[] {
  const out: PlainThread[] = []
  threadsMap(doc).forEach((m, id) => out.push(plainThread(id, m)))
  return out.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
}

/** Base64 of a relative position (browser and Node alike). */
export function encodeAnchor(pos: Y.RelativePosition): string {
  const bytes = Y.encodeRelativePosition(pos)
  let bin = ''
  for (const b of bytes) bin += String.fromCharCode(b)
  return btoa(bin)
}

export function decodeAnchor(text: string): Y.RelativePosition | null {
  try {
    const bin = atob(text)
    const bytes = new Uint8Array(bin.length)
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i)
    return Y.decodeRelativePosition(bytes)
  } catch {
    return null
  }
}

/**
 * Where an anchor stands now in the term's body: the range, or null when its
 * words were deleted (the thread then shows its quote and says so).
 */
export function resolveAnchor(body: Y.Text, anchor: { start: string; end: string }): { index: number; length: number } | null {
  const doc = body.doc
  const s = decodeAnchor(anchor.start)
  const e = decodeAnchor(anchor.end)
  if (!doc || !s || !e) return null
  const start = Y.createAbsolutePositionFromRelativePosition(s, doc)
  const end = Y.createAbsolutePositionFromRelativePosition(e, doc)
  if (!start || !end || start.type !== body || end.type !== body || end.index <= start.index) return null
  return { index: start.index, length: end.index - start.index }
}

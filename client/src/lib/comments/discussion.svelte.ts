/**
 * Comment threads (CONTRACT.md "Comments and catch-up") as reactive data, and
 * the comment:* commands. The thread documents are written by the server
 * only, so — like the ledger — they are opened read-only: `<id>/comments` for
 * every role, `<id>/comments/<party>` for that delegation's negotiators. A
 * comment is posted as a command; it appears here when the server's write
 * arrives over the document, for everyone at once.
 *
 * The channels are opened here rather than in the connection module, which
 * owns the board, ledger and caucus (and their copies on this device); thread
 * documents keep no local copy, like the ledger: the server sends them whole
 * on every connect.
 */
import { createSubscriber } from 'svelte/reactivity'
import { commentsDocName } from '../../../../shared/docNames'
import { docAccess } from '../../../../shared/roles'
import { threadsOf, type PlainComment, type PlainThread } from '../../../../shared/comments'
import type { CommentScope } from '../../../../shared/schemas'
import type { NegotiationSession } from '../connection/negotiationSession.svelte'
import { DocChannel } from '../connection/docChannel.svelte'
import type { CommandResult } from '../connection/controlChannel.svelte'
import { anchorOf, placeOf, type Place } from './anchors'

export interface ThreadView extends PlainThread {
  scope: CommentScope
}

export interface NewThread {
  termId: string
  scope: CommentScope
  body: string
  /** the selected words (editor offsets = the body's indices); absent: the whole term */
  range?: { from: number; to: number }
}

/** The id of a thread that says which document holds it (thread ids are only unique per document). */
export const threadKey = (t: Pick<ThreadView, 'id' | 'scope'>) => `${t.scope}:${t.id}`

export class Discussion {
  private readonly shared: DocChannel
  private readonly internal: DocChannel | null
  private readonly subscribe: () => void
  private cache: ThreadView[] | null = null

  constructor(
    readonly session: NegotiationSession,
    token: string,
  ) {
    const id = session.info.negotiation.id
    const base = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/yjs`
    const open = (docName: string) =>
      new DocChannel(base, { docName, token, name: session.name, writable: false, awareness: false })
    this.shared = open(commentsDocName(id))
    const own = session.info.party ? commentsDocName(id, session.info.party) : null
    this.internal = own && docAccess(session.grant, own) === 'read' ? open(own) : null

    const docs = this.channels.map((c) => c.doc)
    for (const d of docs) d.on('update', () => (this.cache = null))
    this.subscribe = createSubscriber((update) => {
      const onUpdate = () => update()
      for (const d of docs) d.on('update', onUpdate)
      return () => docs.forEach((d) => d.off('update', onUpdate))
    })
  }

  private get channels(): DocChannel[] {
    return this.internal ? [this.shared, this.internal] : [this.shared]
  }

  /** The shared threads have arrived (and the delegation's, for negotiators). */
  get loaded(): boolean {
    return this.channels.every((c) => c.loaded)
  }

  /** This person may open, answer, resolve threads (negotiators); everyone else reads the shared ones. */
  get canComment(): boolean {
    return this.session.canCommand
  }

  /** There is a delegation-internal scope to choose (negotiators). */
  get hasInternal(): boolean {
    return this.internal !== null
  }

  /** Every thread this person may read, oldest first. */
  get threads(): ThreadView[] {
    this.subscribe()
    if (!this.cache) {
      const all: ThreadView[] = threadsOf(this.shared.doc).map((t) => ({ ...t, scope: 'shared' as const }))
      if (this.internal) all.push(...threadsOf(this.internal.doc).map((t) => ({ ...t, scope: 'delegation' as const })))
      this.cache = all.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
    }
    return this.cache
  }

  thread(key: string): ThreadView | undefined {
    return this.threads.find((t) => threadKey(t) === key)
  }

  forTerm(termId: string): ThreadView[] {
    return this.threads.filter((t) => t.termId === termId)
  }

  /** Unresolved threads on a term: the number on its card. */
  openCount(termId: string): number {
    let n = 0
    for (const t of this.threads) if (t.termId === termId && !t.resolved) n++
    return n
  }

  /** Where a thread's words stand now in the live text of its term. */
  placeOf(t: ThreadView): Place {
    // Reading the term subscribes to the board, so the place follows typing.
    this.session.board.model.term(t.termId)
    return placeOf(this.session.board.model.termText(t.termId, 'body'), t.anchor)
  }

  isMine(c: Pick<PlainComment, 'party' | 'user'>): boolean {
    return this.session.info.party !== null && c.party === this.session.info.party && c.user === this.session.name
  }

  /** The thread is this person's: opened by them, answered by them, or mentions them. */
  involves(t: ThreadView): boolean {
    return (
      this.isMine(t.createdBy) ||
      t.comments.some((c) => this.isMine(c) || c.mentions.some((m) => m.toLowerCase() === this.session.name.toLowerCase()))
    )
  }

  /** Who `@` offers: everyone online and everyone who wrote in a thread here, this person last. */
  get participants(): string[] {
    const me = this.session.name
    const names = new Set<string>()
    for (const p of this.session.control.online) if (p.user) names.add(p.user)
    for (const t of this.threads) for (const c of t.comments) if (c.user) names.add(c.user)
    names.delete(me)
    return [...names].sort((a, b) => a.localeCompare(b))
  }

  // ── commands ─────────────────────────────────────────────────────────

  async add(t: NewThread): Promise<CommandResult> {
    const body = this.session.board.model.termText(t.termId, 'body')
    let place: { anchor: { start: string; end: string }; quote: string } | null = null
    if (t.range && body) {
      const anchor = anchorOf(body, t.range.from, t.range.to)
      if (anchor) place = { anchor, quote: body.toString().slice(t.range.from, t.range.to).slice(0, 2000) }
    }
    return this.session.control.command('comment:add', {
      termId: t.termId,
      scope: t.scope,
      body: t.body,
      ...(place ?? { anchor: null }),
    })
  }

  reply(t: ThreadView, body: string): Promise<CommandResult> {
    return this.session.control.command('comment:reply', { threadId: t.id, scope: t.scope, body })
  }

  edit(t: ThreadView, commentId: string, body: string): Promise<CommandResult> {
    return this.session.control.command('comment:edit', { threadId: t.id, commentId, scope: t.scope, body })
  }

  remove(t: ThreadView, commentId: string): Promise<CommandResult> {
    return this.session.control.command('comment:delete', { threadId: t.id, commentId, scope: t.scope })
  }

  resolve(t: ThreadView, resolved: boolean): Promise<CommandResult> {
    return this.session.control.command(resolved ? 'comment:resolve' : 'comment:reopen', { threadId: t.id, scope: t.scope })
  }

  destroy(): void {
    for (const c of this.channels) c.destroy()
  }
}

export type { Place }

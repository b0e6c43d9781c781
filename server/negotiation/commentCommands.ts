/**
 * The comment:* commands (CONTRACT.md "Comments and catch-up"). The server
 * writes the thread documents — clients may only read them — so every
 * comment's party and user come from the token. A shared thread's events are
 * also written to the ledger log (its `meta.lastComment`), where the version
 * fold finds them in commit order: `comment` and `resolve` versions, in the
 * history, the replay and the exports. A delegation's internal threads touch
 * nothing outside its own document.
 */
import type * as Y from 'yjs'
import { commentsDocName } from '../../shared/docNames'
import { ledger as ledgerLayout, termText } from '../../shared/docLayout'
import {
  addComment,
  addThread,
  findComment,
  mentionsIn,
  setResolved,
  threadsMap,
  threadsOf,
  type PlainComment,
  type PlainThread,
} from '../../shared/comments'
import { ErrorCode } from '../../shared/errors'
import type { CommentAction, MoveMeta } from '../../shared/moveMeta'
import { mayCommand } from '../../shared/roles'
import type { CommandPayload, CommentScope } from '../../shared/schemas'
import type { Room } from '../sync/room'
import type { RoomRegistry } from '../sync/roomRegistry'
import { ParleyError } from '../errors'
import { newEntryId as newId } from './ids'
import type { Actor } from './termCommands'

export interface CommentHost {
  authorOf(actor: Actor): { user: string; party: string | null; role: Actor['role'] | 'server'; conn: string }
  boardRoom(negotiationId: string): Promise<Room>
  ledgerRoom(negotiationId: string): Promise<Room>
  releaseRoom(room: Room): void
}

/** Who may be @mentioned: everyone who wrote in the thread documents the writer can read, and who is online. */
export type Participants = (negotiationId: string) => Promise<string[]>

export class CommentCommands {
  constructor(
    private readonly registry: RoomRegistry,
    private readonly host: CommentHost,
    private readonly online: Participants,
    private readonly now: () => number,
  ) {}

  async add(actor: Actor, p: CommandPayload<'comment:add'>): Promise<{ threadId: string; commentId: string }> {
    const party = this.partyOf(actor)
    const board = await this.host.boardRoom(actor.negotiationId)
    try {
      if (!termText(board.doc, p.termId)) throw new ParleyError(ErrorCode.unknownTerm.name, `no term "${p.termId}" on the board`)
    } finally {
      this.host.releaseRoom(board)
    }
    const threadId = newId('th')
    const comment = await this.newComment(actor, p.scope, newId('c'), p.body)
    const thread = { id: threadId, termId: p.termId, anchor: p.anchor ?? null, quote: p.quote ?? '', createdAt: comment.at }
    await this.write(actor, p.scope, p.termId, { threadId, commentId: comment.id, action: 'add' }, (doc) =>
      addThread(doc, { ...thread, createdBy: { party, user: actor.user } }, comment),
    )
    return { threadId, commentId: comment.id }
  }

  async reply(actor: Actor, p: CommandPayload<'comment:reply'>): Promise<{ commentId: string }> {
    const termId = await this.termOf(actor, p.scope, p.threadId)
    const comment = await this.newComment(actor, p.scope, newId('c'), p.body)
    await this.write(actor, p.scope, termId, { threadId: p.threadId, commentId: comment.id, action: 'reply' }, (doc) =>
      addComment(doc, p.threadId, comment),
    )
    return { commentId: comment.id }
  }

  async edit(actor: Actor, p: CommandPayload<'comment:edit'>): Promise<void> {
    const termId = await this.termOf(actor, p.scope, p.threadId, p.commentId)
    const { mentions, at } = await this.newComment(actor, p.scope, p.commentId, p.body)
    await this.write(actor, p.scope, termId, { threadId: p.threadId, commentId: p.commentId, action: 'edit' }, (doc) => {
      const c = findComment(doc, p.threadId, p.commentId)
      c?.set('body', p.body)
      c?.set('mentions', mentions)
      c?.set('editedAt', at)
    })
  }

  /** A deleted comment keeps its place, author and time (a tombstone); its text is gone from the thread. */
  async delete(actor: Actor, p: CommandPayload<'comment:delete'>): Promise<void> {
    const termId = await this.termOf(actor, p.scope, p.threadId, p.commentId)
    const at = this.now()
    await this.write(actor, p.scope, termId, { threadId: p.threadId, commentId: p.commentId, action: 'delete' }, (doc) => {
      const c = findComment(doc, p.threadId, p.commentId)
      c?.set('deleted', true)
      c?.set('body', '')
      c?.set('mentions', [])
      c?.set('editedAt', at)
    })
  }

  /** Resolves a thread, or with `resolved` false reopens it. */
  async resolve(actor: Actor, p: CommandPayload<'comment:resolve'>, resolved = true): Promise<void> {
    const termId = await this.termOf(actor, p.scope, p.threadId)
    const action: CommentAction = resolved ? 'resolve' : 'reopen'
    await this.write(actor, p.scope, termId, { threadId: p.threadId, action }, (doc) => setResolved(doc, p.threadId, resolved))
  }

  /** The threads a reader may read: the shared ones and, with a party, that delegation's own. */
  async readableThreads(negotiationId: string, party: string | null): Promise<PlainThread[]> {
    const names = [commentsDocName(negotiationId), ...(party ? [commentsDocName(negotiationId, party)] : [])]
    const read = async (name: string) => {
      const room = await this.registry.get(name)
      try {
        return threadsOf(room.doc)
      } finally {
        this.registry.scheduleUnload(room)
      }
    }
    return (await Promise.all(names.map(read))).flat()
  }

  // ── the writes ───────────────────────────────────────────────────────────

  private partyOf(actor: Actor): string {
    if (!mayCommand(actor)) throw new ParleyError(ErrorCode.wrongRole.name, 'only negotiators can comment')
    return actor.party!
  }

  private docName(actor: Actor, scope: CommentScope): string {
    return commentsDocName(actor.negotiationId, scope === 'shared' ? null : this.partyOf(actor))
  }

  private async withThreads<T>(actor: Actor, scope: CommentScope, read: (doc: Y.Doc) => T): Promise<T> {
    const room = await this.registry.get(this.docName(actor, scope))
    try {
      return read(room.doc)
    } finally {
      this.registry.scheduleUnload(room)
    }
  }

  /** The thread's term; for an edit or delete, also that the comment is the caller's own and still there. */
  private termOf(actor: Actor, scope: CommentScope, threadId: string, commentId?: string): Promise<string> {
    const party = this.partyOf(actor)
    return this.withThreads(actor, scope, (doc) => {
      const thread = threadsMap(doc).get(threadId)
      if (!thread) throw new ParleyError(ErrorCode.notFound.name, `no thread "${threadId}"`)
      if (commentId !== undefined) {
        const c = findComment(doc, threadId, commentId)
        if (!c || c.get('deleted') === true)
          throw new ParleyError(ErrorCode.notFound.name, `no comment "${commentId}" in that thread`)
        if (c.get('party') !== party || c.get('user') !== actor.user)
          throw new ParleyError(ErrorCode.wrongParty.name, 'only its author may change a comment')
      }
      return String(thread.get('termId') ?? '')
    })
  }

  /** A comment by the caller, now, with the participants its body @mentions. */
  private async newComment(actor: Actor, scope: CommentScope, id: string, body: string): Promise<PlainComment> {
    const party = this.partyOf(actor)
    const writers = await this.withThreads(actor, scope, (doc) => threadsOf(doc).flatMap((t) => t.comments.map((c) => c.user)))
    const mentions = mentionsIn(body, [...writers, ...(await this.online(actor.negotiationId))])
    return { id, body, party, user: actor.user, at: this.now(), mentions }
  }

  /**
   * Writes one thread document and, for a shared thread, the ledger row that
   * makes the event a version; resolves once both are durable.
   */
  private async write(
    actor: Actor,
    scope: CommentScope,
    termId: string,
    event: NonNullable<MoveMeta['comment']>,
    change: (doc: Y.Doc) => void,
  ): Promise<void> {
    const party = this.partyOf(actor)
    const author = this.host.authorOf(actor)
    const room = await this.registry.get(this.docName(actor, scope))
    try {
      const writes: Array<Promise<number> | null> = [room.serverWrite(author, change)]
      if (scope === 'shared') {
        const ledger = await this.host.ledgerRoom(actor.negotiationId)
        try {
          const kind = event.action === 'resolve' || event.action === 'reopen' ? 'resolve' : 'comment'
          const meta: MoveMeta = { kind, termIds: [termId], party, user: actor.user, comment: event }
          const at = this.now()
          writes.push(ledger.serverWrite(author, (doc) => ledgerLayout(doc).meta.set('lastComment', { ...event, at }), meta))
        } finally {
          this.host.releaseRoom(ledger)
        }
      }
      await Promise.all(writes)
    } finally {
      this.registry.scheduleUnload(room)
    }
  }
}

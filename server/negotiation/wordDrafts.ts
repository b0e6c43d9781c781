/**
 * Drafts from Word (CONTRACT.md "Word documents", `POST …/drafts`): a
 * negotiator brings in the .docx their lawyers edited offline, and every
 * difference from the board becomes their delegation's suggestions, for the
 * other side to accept or reject one by one.
 *
 * - The draft's terms are matched to the board's by title, then by place
 *   (server/word/draftMatch.ts).
 * - A matched term whose text differs gets suggestions in the caller's name
 *   (party and user from the token), word by word, as the Suggest mode
 *   would type them (server/yjs/suggestText.ts). A title that reads the same
 *   once numbering, case and quotes are set aside is left alone.
 * - A draft term that matches nothing is proposed as a new term of the
 *   caller's delegation, as a term created on the board is (the ledger
 *   writer proposes it), placed after the term it follows in the draft.
 * - A board term the draft no longer has: its whole title and text are
 *   suggested for removal — what deleting a clause in Word says, and still
 *   only a suggestion, rejected in one click. Nothing is deleted, and a
 *   withdrawn term, already out of the deal, is left alone.
 * - An agreed term is not touched (its text is settled until reopened), nor
 *   is a change that touches another delegation's pending suggestion: each
 *   is reported in `skipped`.
 * - A document that matches none of the board's terms is refused: it is
 *   not a draft of this negotiation (all its terms added, every term struck
 *   out, is never what the uploader meant).
 *
 * It all is one write on the board, under the negotiation's command lock on
 * caught-up docs, by the caller: the history shows an edit by that delegation
 * and person ("United States suggested a change to 'Deadline': 30 → 45
 * days"), and each added term as proposed by them. Suggestions leave the
 * terms' hashes — and so their acceptances — as they were.
 */
import * as Y from 'yjs'
import { randomBytes } from 'node:crypto'
import { board as boardLayout, insertTerm, readStatus, termsInOrder, type PlainTerm } from '../../shared/docLayout'
import { estimateTermHeight, nextTermSpot, termRect, TERM_WIDTH } from '../../shared/boardLayout'
import { ErrorCode } from '../../shared/errors'
import type { PartyInfo } from '../../shared/negotiation'
import { mayCommand } from '../../shared/roles'
import { NEGOTIATION_LIMITS } from '../../shared/schemas'
import type { SuggestionAuthor } from '../../shared/suggestEdit'
import type { ParsedTermSheet } from '../../shared/word'
import type { DraftAnswer, DraftSkip } from '../../shared/wordDraft'
import type { Store } from '../store/types'
import type { Room } from '../sync/room'
import type { RoomRegistry } from '../sync/roomRegistry'
import { ParleyError, badRequest } from '../errors'
import { matchDraft, titleKey } from '../word/draftMatch'
import { DIFF_TIMEOUT_MS, suggestText, type SuggestOutcome } from '../yjs/suggestText'
import { newTermId } from './ids'
import { commandLockKey, type Actor, type TermCommands } from './termCommands'

/**
 * The word diffs of one draft may take this long in all (they run under the negotiation's command
 * lock); past it, each remaining change is one suggestion from its first difference to its last.
 */
const DIFF_BUDGET_MS = 3000

const quote = (s: string) => `“${s.length > 60 ? `${s.slice(0, 59)}…` : s}”`

const newSuggestionId = () => `w${Date.now().toString(36)}${randomBytes(6).toString('hex')}`

export class WordDrafts {
  constructor(
    private readonly store: Store,
    private readonly registry: RoomRegistry,
    private readonly commands: TermCommands,
    private readonly now: () => number,
  ) {}

  async bringIn(actor: Actor, sheet: ParsedTermSheet): Promise<DraftAnswer> {
    if (!mayCommand(actor)) throw new ParleyError(ErrorCode.wrongRole.name, 'only negotiators can bring in a draft')
    const author: SuggestionAuthor = { party: actor.party!, user: actor.user }
    const parties = await this.commands.partiesOf(actor.negotiationId)
    const board = await this.commands.boardRoom(actor.negotiationId)
    const ledger = await this.commands.ledgerRoom(actor.negotiationId)
    try {
      return await this.store.withLock(commandLockKey(actor.negotiationId), async () => {
        await Promise.all([this.registry.catchUpNow(ledger), this.registry.catchUpNow(board)])
        // An edit this instance took before the draft reopens its term first (as commands do).
        if (this.commands.ledgerWriter.queuedReopens(board) > 0) await this.commands.ledgerWriter.decideReopens(board, ledger)
        return await this.write(actor, author, parties, sheet, board, ledger)
      })
    } finally {
      this.registry.scheduleUnload(board)
      this.registry.scheduleUnload(ledger)
    }
  }

  /** Decides and makes the write, on docs that are current (the caller holds the lock). */
  private async write(
    actor: Actor,
    author: SuggestionAuthor,
    parties: PartyInfo[],
    sheet: ParsedTermSheet,
    board: Room,
    ledger: Room,
  ): Promise<DraftAnswer> {
    const onBoard = termsInOrder(board.doc)
    const draft = sheet.terms
    if (draft.length === 0) throw badRequest('The document holds no terms: nothing to bring in.')
    const match = matchDraft(onBoard, draft)
    if (onBoard.length > 0 && match.pairs.length === 0)
      throw badRequest(
        'None of the document’s terms matches a term on the board, by title or by place and text: it does not read as a draft of this negotiation. Nothing was changed.',
      )

    const answer: DraftAnswer = {
      ok: true,
      suggested: [],
      added: [],
      unmatched: [],
      removed: [],
      skipped: [],
      warnings: [...sheet.warnings],
      titles: {},
    }
    const partyName = (id: string) => parties.find((p) => p.id === id)?.name ?? id
    const skip = (t: PlainTerm, reason: DraftSkip['reason'], message: string) => {
      answer.skipped.push({ termId: t.id, title: t.title, reason, message })
      answer.titles[t.id] = t.title
    }
    const agreed = (t: PlainTerm) => readStatus(ledger.doc, t.id)?.state === 'agreed'

    /** What to do with each board term: its new title (when it changes) and body. */
    const edits: Array<{ term: PlainTerm; title: string | null; body: string; removal: boolean }> = []
    for (const pair of match.pairs) {
      const term = onBoard[pair.board]!
      const d = draft[pair.draft]!
      const title = titleKey(d.title) === titleKey(term.title) ? null : d.title
      if (title === null && d.body === term.body) continue
      if (agreed(term)) {
        skip(term, 'agreed', `The draft changes ${quote(term.title)}, which is agreed: reopen it to change it.`)
        continue
      }
      const tooLong =
        (title !== null && title.length > Math.max(NEGOTIATION_LIMITS.termTitle, term.title.length)) ||
        d.body.length > Math.max(NEGOTIATION_LIMITS.termBody, term.body.length)
      if (tooLong) {
        skip(term, 'too-long', `The draft’s ${quote(term.title)} is longer than a term may be; it was left as it is.`)
        continue
      }
      edits.push({ term, title, body: d.body, removal: false })
    }
    for (const j of match.notInDraft) {
      const term = onBoard[j]!
      const state = readStatus(ledger.doc, term.id)?.state
      if (state === 'withdrawn' || (!term.title && !term.body)) continue
      if (state === 'agreed') {
        skip(term, 'agreed', `The draft leaves out ${quote(term.title)}, which is agreed: reopen it to remove it.`)
        continue
      }
      edits.push({ term, title: '', body: '', removal: true })
    }

    // New terms: within the limits, and at most as many as a negotiation opens with.
    const adds: Array<{ index: number; id: string }> = []
    for (const i of match.newInDraft) {
      const d = draft[i]!
      const title = d.title
      if (d.title.length > NEGOTIATION_LIMITS.termTitle || d.body.length > NEGOTIATION_LIMITS.termBody) {
        answer.unmatched.push(title)
        answer.warnings.push(`${quote(title)} matches no term on the board and is longer than a term may be: it was not added.`)
      } else if (adds.length >= NEGOTIATION_LIMITS.terms) {
        answer.unmatched.push(title)
        answer.warnings.push(
          `${quote(title)} matches no term on the board; a draft adds at most ${NEGOTIATION_LIMITS.terms} terms.`,
        )
      } else adds.push({ index: i, id: newTermId() })
    }
    /** the board term (or added term) each draft term is, for placing added terms after their predecessor */
    const placed = new Map<number, string>(match.pairs.map((p) => [p.draft, onBoard[p.board]!.id]))
    for (const a of adds) placed.set(a.index, a.id)

    const at = this.now()
    const fresh = () => ({ id: newSuggestionId(), at })
    const outcomes = new Map<string, SuggestOutcome[]>()
    const deadline = Date.now() + DIFF_BUDGET_MS
    const change = (doc: Y.Doc) => {
      const terms = boardLayout(doc).terms
      for (const e of edits) {
        const m = terms.get(e.term.id)
        if (!(m instanceof Y.Map)) continue
        const done: SuggestOutcome[] = []
        for (const [field, next] of [
          ['title', e.title],
          ['body', e.body],
        ] as const) {
          const t = m.get(field)
          if (next === null || !(t instanceof Y.Text)) continue
          done.push(suggestText(t, next, author, fresh, Math.min(DIFF_TIMEOUT_MS, Math.max(1, deadline - Date.now()))))
        }
        outcomes.set(e.term.id, done)
      }
      this.addTerms(doc, adds, draft, placed)
    }
    const write = board.serverWrite(this.commands.authorOf(actor), change)
    if (write) await write

    for (const e of edits) {
      const done = outcomes.get(e.term.id) ?? []
      if (done.some((o) => o.made > 0)) {
        answer.suggested.push(e.term.id)
        if (e.removal) answer.removed.push(e.term.id)
        answer.titles[e.term.id] = e.term.title
      }
      const blocked = done.flatMap((o) => o.blocked)
      if (blocked.length > 0) {
        const who = [...new Set(blocked.map((b) => partyName(b.by.party)))].join(' and ')
        const what = e.removal
          ? 'its removal'
          : blocked.length === 1
            ? `the change at ${quote(blocked[0]!.text)}`
            : `${blocked.length} of its changes`
        skip(
          e.term,
          'conflict',
          `In ${quote(e.term.title)}, ${what} touches a pending suggestion of ${who}: decide that first, then bring the draft in again.`,
        )
      }
    }
    for (const a of adds) {
      answer.added.push(a.id)
      answer.titles[a.id] = draft[a.index]!.title
    }
    return answer
  }

  /** Puts the added terms on the board, each after the term it follows in the draft (call inside the write). */
  private addTerms(
    doc: Y.Doc,
    adds: Array<{ index: number; id: string }>,
    draft: ParsedTermSheet['terms'],
    placed: Map<number, string>,
  ): void {
    if (adds.length === 0) return
    const b = boardLayout(doc)
    // Each added term takes the next free place of the board's grid after the last term (shared/boardLayout.ts),
    // as a term added in the client does: no card lands on another.
    const inOrder = termsInOrder(doc).map(termRect)
    const taken = [...inOrder]
    adds.forEach((a) => {
      const d = draft[a.index]!
      const h = estimateTermHeight(d)
      const spot = nextTermSpot(inOrder, taken, h)
      insertTerm(doc, a.id, { title: d.title, body: d.body, ...spot })
      const rect = { ...spot, w: TERM_WIDTH, h }
      inOrder.push(rect)
      taken.push(rect)
      // insertTerm appends to `order`: move it after the term it follows in the draft.
      let after: string | undefined
      for (let i = a.index - 1; i >= 0 && after === undefined; i--) after = placed.get(i)
      const order = b.order.toArray()
      const from = order.lastIndexOf(a.id)
      const to = after === undefined ? 0 : order.indexOf(after) + 1
      if (from < 0 || (after !== undefined && to === 0) || to === from) return
      b.order.delete(from, 1)
      b.order.insert(to > from ? to - 1 : to, [a.id])
    })
  }
}

/**
 * The `meta` a server write carries in the update log: which ledger move it
 * was (propose, accept, agree, reject, withdraw, reopen, checkpoint, a shared
 * comment event), or a restore or a decided suggestion on the board. Written by the negotiation layer (commands and the
 * ledger writer), read back by the history fold and the exports; one schema
 * for both, so what is written is what is read.
 */
import { z } from 'zod'
import { VERSION_KINDS, type VersionKind } from './schemas'

/** Every kind of version but a plain `edit`: each is made by a server write that says so in its meta. */
export type MoveKind = Exclude<VersionKind, 'edit'>
export const MOVE_KINDS = VERSION_KINDS.filter((k): k is MoveKind => k !== 'edit') as [MoveKind, ...MoveKind[]]

/** What happened to a shared thread (a `comment` or `resolve` version). */
export const COMMENT_ACTIONS = ['add', 'reply', 'edit', 'delete', 'resolve', 'reopen'] as const
export type CommentAction = (typeof COMMENT_ACTIONS)[number]

/**
 * Lenient where the log is old or odd: a field of the wrong type reads as
 * absent rather than losing the move (rows are kept forever; their meta was
 * written by every version of the server since).
 */
export const MoveMetaSchema = z.object({
  kind: z.enum(MOVE_KINDS),
  termIds: z
    .array(z.unknown())
    .catch([])
    .transform((ids) => ids.filter((t): t is string => typeof t === 'string')),
  party: z.string().nullable().catch(null),
  user: z.string().catch(''),
  /** for reject and reopen: the reason given */
  reason: z.string().optional().catch(undefined),
  /** for checkpoint: its name */
  name: z.string().optional().catch(undefined),
  /** for restore: the version whose text was put back */
  restoredFrom: z.number().optional().catch(undefined),
  /** the move was made in reaction to a board update (propose, reopen by edit, withdraw by removal) */
  via: z.literal('board').optional().catch(undefined),
  /** for an accept ad referendum: whose confirmation it awaits */
  adReferendum: z
    .object({ principal: z.string(), until: z.string().optional() })
    .optional()
    .catch(undefined),
  /** an `agree` completed by a confirmation (not a plain accept) */
  confirmed: z.literal(true).optional().catch(undefined),
  /** for choose: the option chosen, as it reads */
  chose: z.string().optional().catch(undefined),
  /** for package-accept, initial and conclude: the package hash */
  packageHash: z.string().optional().catch(undefined),
  /** for comment and resolve: which thread, which comment, what happened (the thread itself is in `<id>/comments`) */
  comment: z
    .object({ threadId: z.string(), commentId: z.string().optional(), action: z.enum(COMMENT_ACTIONS) })
    .optional()
    .catch(undefined),
})

export type MoveMeta = z.output<typeof MoveMetaSchema>

/** The meta of a row as a move, or null when it is none (e.g. the ledger's opening `meta` write). */
export function moveMeta(meta: unknown): MoveMeta | null {
  if (!meta || typeof meta !== 'object') return null
  const parsed = MoveMetaSchema.safeParse(meta)
  if (!parsed.success) return null
  const m = parsed.data
  // Absent stays absent (not `undefined`): versions and exports copy these fields as they are.
  for (const key of ['reason', 'name', 'restoredFrom', 'via', 'comment', 'adReferendum', 'confirmed', 'chose', 'packageHash'] as const) if (m[key] === undefined) delete m[key]
  return m
}

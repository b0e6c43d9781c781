/**
 * Runtime schemas (zod) for every inbound payload — HTTP bodies and queries,
 * socket.io command payloads — and the outbound shapes of CONTRACT.md
 * (`Version`, `Sheet`, `TermDiff`). Client and server import these types.
 */
import { z } from 'zod'
import { ID_PATTERN } from './docNames'
import { ROLES } from './roles'
import { NEGOTIATION_LIMITS, PARTY_CODE_PATTERN, TERM_STATES, type PartyInfo } from './negotiation'
import type { PlainThread } from './comments'
import type { Suggestion } from './suggestions'

const text = (max: number) => z.string().max(max)
const color = z.string().regex(/^#[0-9a-fA-F]{6}$/, 'a colour is #rrggbb')

export const PartyInputSchema = z.object({
  id: z.string().regex(ID_PATTERN, 'party id is [a-z0-9-]{1,32}').optional(),
  name: text(80).min(1),
  color: color.optional(),
  /** the short label on chips (US, RU, AE); absent: suggested from the name (shared/partyCodes.ts) */
  code: z.string().regex(PARTY_CODE_PATTERN, 'a party code is 2 to 6 capital letters or digits').optional(),
})

/** What a negotiation accepts at creation: title length, each opening term's title and body lengths, how many terms. */
export { NEGOTIATION_LIMITS }

export const TermInputSchema = z.object({
  title: text(NEGOTIATION_LIMITS.termTitle),
  body: text(NEGOTIATION_LIMITS.termBody),
})

export const CreateNegotiationSchema = z.object({
  title: text(NEGOTIATION_LIMITS.title).min(1),
  parties: z
    .array(PartyInputSchema)
    .min(2, 'a negotiation has 2 to 8 parties')
    .max(8, 'a negotiation has 2 to 8 parties')
    .superRefine((parties, ctx) => {
      const seen = new Set<string>()
      parties.forEach((p, i) => {
        if (p.code === undefined) return
        if (seen.has(p.code)) ctx.addIssue({ code: 'custom', message: `party code ${p.code} is given twice`, path: [i, 'code'] })
        seen.add(p.code)
      })
    }),
  terms: z.array(TermInputSchema).max(NEGOTIATION_LIMITS.terms).optional(),
})
export type CreateNegotiationInput = z.infer<typeof CreateNegotiationSchema>

export const MintTokenSchema = z
  .object({
    role: z.enum(ROLES),
    party: z.string().regex(ID_PATTERN).optional(),
    /** seconds */
    expiresIn: z
      .number()
      .int()
      .positive()
      .max(10 * 365 * 24 * 3600)
      .optional(),
    name: text(64).optional(),
  })
  .refine((v) => (v.role === 'negotiator') === (v.party !== undefined), {
    message: 'party is required for negotiators and only for them',
    path: ['party'],
  })
export type MintTokenInput = z.infer<typeof MintTokenSchema>

// ── socket.io commands ───────────────────────────────────────────────────

const termId = z.string().min(1).max(64)
/** ids the server gives threads and comments */
const entryId = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'not an id')
/** `shared`: both delegations, observers and reviewers read it; `delegation`: the writer's delegation only */
export const COMMENT_SCOPES = ['shared', 'delegation'] as const
export type CommentScope = (typeof COMMENT_SCOPES)[number]
const commentScope = z.enum(COMMENT_SCOPES)
/** plain text, rendered escaped everywhere */
const commentBody = text(4000)
  .transform((s) => s.trim())
  .pipe(z.string().min(1, 'a comment needs some text'))
const anchorText = z.string().max(512)

export const CommandSchemas = {
  'term:accept': z.object({
    termId,
    /** accept subject to confirmation by a principal (a capital), optionally by a date: not binding until `term:confirm` */
    adReferendum: z
      .object({
        principal: text(200)
          .transform((s) => s.trim())
          .pipe(z.string().min(1, 'name the principal who is to confirm')),
        until: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date as YYYY-MM-DD').optional(),
      })
      .optional(),
  }),
  'term:confirm': z.object({ termId }),
  /** settles open group `group` (0-based, the title's groups first, then the body's) on option `option` */
  'term:choose': z.object({ termId, group: z.number().int().min(0).max(10_000), option: z.number().int().min(0).max(10_000) }),
  /** binds the caller's party to the package; `hash`: the package hash the caller saw (refused if it changed) */
  'package:accept': z.object({ hash: z.string().regex(/^[0-9a-f]{64}$/, 'a package hash').optional() }),
  'negotiation:initial': z.object({}),
  'term:reject': z.object({ termId, reason: text(1000).optional() }),
  'term:withdraw': z.object({ termId }),
  'term:reopen': z.object({ termId, reason: text(1000).optional() }),
  'checkpoint:create': z.object({ name: text(120).min(1) }),
  'term:restore': z.object({ termId, n: z.number().int().positive() }),
  'comment:add': z.object({
    termId,
    scope: commentScope,
    body: commentBody,
    /** base64 relative positions in the term's body (shared/comments.ts); absent or null: the whole term */
    anchor: z.object({ start: anchorText, end: anchorText }).nullable().optional(),
    quote: text(2000).optional(),
  }),
  'comment:reply': z.object({ threadId: entryId, scope: commentScope, body: commentBody }),
  'comment:edit': z.object({ threadId: entryId, commentId: entryId, scope: commentScope, body: commentBody }),
  'comment:delete': z.object({ threadId: entryId, commentId: entryId, scope: commentScope }),
  'comment:resolve': z.object({ threadId: entryId, scope: commentScope }),
  'comment:reopen': z.object({ threadId: entryId, scope: commentScope }),
  'suggestion:accept': z.object({ termId, id: entryId }),
  'suggestion:reject': z.object({ termId, id: entryId }),
} as const
export type CommandName = keyof typeof CommandSchemas
export const COMMAND_NAMES = Object.keys(CommandSchemas) as CommandName[]
export type CommandPayload<C extends CommandName> = z.infer<(typeof CommandSchemas)[C]>

export const SocketAuthSchema = z.object({
  token: z.string().min(1).max(4096),
  /** cut to MAX_DISPLAY_NAME by displayName(); a long name is no reason to refuse a session */
  name: text(4096).optional(),
})

// ── outbound shapes ──────────────────────────────────────────────────────

/** A negotiation as the store keeps it and the admin list shows it (`createdAt`: ms since the epoch). */
export interface NegotiationRecord {
  id: string
  title: string
  parties: PartyInfo[]
  createdAt: number
}

/** `POST /api/negotiations`'s answer: the negotiation with every invite token and link. */
export interface CreatedNegotiation {
  id: string
  title: string
  parties: PartyInfo[]
  /** ISO 8601 */
  createdAt: string
  tokens: { negotiator: Record<string, string>; observer: string; reviewer: string }
  links: { negotiator: Record<string, string>; observer: string; reviewer: string }
}

export const VERSION_KINDS = [
  'propose',
  'edit',
  'accept',
  'reject',
  'withdraw',
  'reopen',
  'agree',
  'checkpoint',
  'restore',
  'comment',
  'resolve',
  'suggestion-accept',
  'suggestion-reject',
  // concluding a negotiation (CONTRACT.md)
  'choose',
  'confirm',
  'package-accept',
  'initial',
  'conclude',
] as const
export type VersionKind = (typeof VERSION_KINDS)[number]

export interface Version {
  n: number
  at: string
  /** an `edit` version's last change (ISO 8601), when later than `at` (absent: the same) */
  lastAt?: string
  party: string | null
  user: string
  kind: VersionKind
  termIds: string[]
  summary: string
  name?: string
  /** an `edit` that only moved cards: lists hide these unless asked (absent: false) */
  layoutOnly?: boolean
}

export interface SheetTerm {
  id: string
  title: string
  body: string
  state: (typeof TERM_STATES)[number]
  proposedBy: string | null
  acceptedBy: Record<string, string>
  /** where the card stood on the board */
  x: number
  y: number
  /**
   * Who wrote what (`GET …/versions/:n` only): the title and body as runs of one delegation's
   * characters (null: the server's — the opening draft, a restore), their texts joined being
   * `title` and `body`.
   */
  authors?: { title: AuthorRun[]; body: AuthorRun[] }
}

/** A stretch of a term's text written by one delegation (null: by the server). */
export interface AuthorRun {
  text: string
  party: string | null
}

/** The board as it stood right after version n: positions and links included, so a replay draws it as it was. */
export interface Sheet {
  n: number
  title: string
  parties: Array<{ id: string; name: string; color: string }>
  terms: SheetTerm[]
  notes: Array<{ id: string; text: string; x: number; y: number }>
  links: Array<{ id: string; from: string; to: string; label: string }>
  /** the shared comment threads as they stood (issue 14: the replay shows a discussion as it was) */
  threads: PlainThread[]
}

/** `GET …/versions?after=N&limit=K` (CONTRACT.md): a page of versions, oldest first. */
export interface VersionList {
  versions: Version[]
  /** the `after` of the next page, or null at the end */
  next: number | null
}

export const VERSION_PAGE_DEFAULT = 500
export const VERSION_PAGE_MAX = 5000

export const VersionListQuerySchema = z.object({
  after: z.coerce.number().int().min(0).default(0),
  limit: z.coerce.number().int().min(1).max(VERSION_PAGE_MAX).default(VERSION_PAGE_DEFAULT),
})

/** `GET …/versions/density?buckets=B`: the whole history's shape, for a density strip, without loading it. */
export interface VersionDensityAnswer {
  total: number
  buckets: Array<{
    fromN: number
    toN: number
    /** ISO 8601 */
    fromAt: string
    toAt: string
    count: number
    byParty: Record<string, number>
    byKind: Partial<Record<VersionKind, number>>
  }>
}

export const VersionDensityQuerySchema = z.object({
  buckets: z.coerce.number().int().min(1).max(2000).default(200),
})

export interface Seg {
  op: 'eq' | 'ins' | 'del'
  text: string
  party?: string
  /**
   * The text is a pending suggestion at the redline's `to` version (CONTRACT.md "Suggestions and
   * authorship"): a suggested insertion (`kind: 'ins'`) or text suggested for removal (`'del'`),
   * not an accepted change. Only on `eq` and `ins` runs (what `to` holds).
   */
  suggestion?: Suggestion
}

export interface TermDiff {
  id: string
  change: 'added' | 'removed' | 'modified' | 'unchanged'
  title: Seg[]
  body: Seg[]
  state: { from: string | null; to: string | null }
}

/** `POST …/seen`: the caller has seen up to version n; `name` is the display name when the token has none. */
export const SeenBodySchema = z.object({
  n: z.number().int().min(0),
  name: text(4096).optional(),
})

/** `GET …/catchup`: what changed since the caller last saw the negotiation (CONTRACT.md "Comments and catch-up"). */
export interface CatchUp {
  /** null: the caller has never marked anything seen */
  lastSeen: number | null
  latest: number
  /** the versions after lastSeen (at most VERSION_PAGE_DEFAULT, oldest first) */
  versions: Version[]
  /** the redline from lastSeen to latest, changed terms only */
  terms: TermDiff[]
  /** comments that @mention the caller since they last looked, in threads they may read */
  mentions: Array<{ threadId: string; commentId: string; by: { party: string | null; user: string }; at: string }>
}

export const DiffQuerySchema = z.object({
  from: z.coerce.number().int().min(0),
  to: z.coerce.number().int().min(0),
})

const versionParam = z.coerce.number().int().min(0).optional()

/**
 * `GET …/export`: `format=docx` takes the version `n` (default: the newest), or a redline
 * `from`–`to`; md, html and json take `n` (the sheet and the history up to that version); `suggestions` says how a Word file shows pending suggestions ('comments', the
 * default, keeps "Accept all" to the sheet's text; 'tracked' makes them tracked changes too).
 */
export const ExportQuerySchema = z
  .object({
    /** pdf: the concluded text with its signed record (404 not-concluded before) */
    format: z.enum(['md', 'html', 'json', 'docx', 'pdf']).default('json'),
    n: versionParam,
    from: versionParam,
    to: versionParam,
    suggestions: z.enum(['comments', 'tracked']).optional(),
  })
  .superRefine((q, ctx) => {
    const given = (['n', 'from', 'to', 'suggestions'] as const).filter((k) => q[k] !== undefined)
    // md, html and json take a version (n), not a redline; the PDF is the concluded text only.
    const allowed = q.format === 'docx' ? given : q.format === 'pdf' ? [] : ['n']
    const refused = given.find((k) => !allowed.includes(k))
    if (refused !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: [refused],
        message: q.format === 'pdf' ? 'format=pdf takes no version' : 'only format=docx takes a redline or suggestions',
      })
    else if (q.n !== undefined && (q.from !== undefined || q.to !== undefined))
      ctx.addIssue({ code: 'custom', path: ['n'], message: 'either n, or from and to' })
    else if ((q.from === undefined) !== (q.to === undefined))
      ctx.addIssue({ code: 'custom', path: [q.from === undefined ? 'from' : 'to'], message: 'a redline takes both from and to' })
  })

export interface Presence {
  online: Array<{ user: string; role: (typeof ROLES)[number]; party?: string }>
}

export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: { code: string; message: string } }

/** JSON.parse that drops `__proto__`, `constructor` and `prototype` keys. */
export function parseJsonSafely(text: string): unknown {
  return JSON.parse(text, (key, value) =>
    key === '__proto__' || key === 'constructor' || key === 'prototype' ? undefined : value,
  )
}

// ── what the client reads (added for the client; the server builds these inline) ──

/** `GET /api/negotiations/:id` and the `negotiation` of `GET /api/session`. */
export interface NegotiationInfo {
  id: string
  title: string
  parties: Array<{ id: string; name: string; color: string }>
  /** ISO 8601 */
  createdAt: string
}

/** `GET /api/session` with a capability token: who this token makes you. */
export interface SessionInfo {
  negotiation: NegotiationInfo
  role: (typeof ROLES)[number]
  party: string | null
  /** the display name bound into the token, if the admin set one */
  name: string | null
  /** ISO 8601, or null for a token that does not expire */
  expiresAt: string | null
}

/** Sent on the control channel just before the server disconnects a session (revoked, expired, gone). */
export interface SessionClosed {
  code: number
  reason: string
}

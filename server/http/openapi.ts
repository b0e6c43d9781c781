/**
 * The OpenAPI 3.1 description of Parley's HTTP API (CONTRACT.md "API
 * description and languages"), served at `GET /api/openapi.json`.
 *
 * Declared once, here. Requests are described by the very zod schemas api.ts
 * validates them with (shared/schemas.ts), so the description cannot promise
 * a body or query the server refuses. Answers are described by the shared
 * schema where one exists (the signed record and its keys), else by a schema
 * below whose output type is checked against the TypeScript type the server
 * builds that answer with (`answer<T>()`): a field added to `Version` and not
 * here is a compile error, not a silently stale description.
 *
 * Server-only on purpose: zod-to-openapi never reaches the client bundle, and
 * nothing calls `extendZodWithOpenApi` — names and examples ride on zod's own
 * `.meta()`, which returns a copy and leaves the shared schemas untouched.
 * tests/integration/openapi.test.ts checks that every route the router serves
 * is described here, that the document's references resolve, and that each
 * example body is accepted by the route's schema and by the running server.
 */
import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi'
import { z } from 'zod'
import pkg from '../../package.json' with { type: 'json' }
import { ErrorCode, type ErrorCodeName } from '../../shared/errors'
import { MAX_MESSAGE_BYTES } from '../../shared/protocol'
import { ROLES, type Role } from '../../shared/roles'
import { TERM_STATES } from '../../shared/negotiation'
import type { PartyInfo } from '../../shared/negotiation'
import type { PlainThread } from '../../shared/comments'
import type { Suggestion } from '../../shared/suggestions'
import { DOCX_CONTENT_TYPE, MAX_WORD_FILE_BYTES, WORD_UPLOAD_CONTENT_TYPES, type ParsedTermSheet } from '../../shared/word'
import type { DraftAnswer } from '../../shared/wordDraft'
import { PublicJwkSchema, RECORD_ALG, SignedRecordSchema, type KeySet } from '../../shared/record'
import {
  CreateNegotiationSchema,
  DiffQuerySchema,
  ExportQuerySchema,
  MintTokenSchema,
  SeenBodySchema,
  VERSION_KINDS,
  VERSION_PAGE_DEFAULT,
  VersionDensityQuerySchema,
  VersionListQuerySchema,
  type CatchUp,
  type CreatedNegotiation,
  type NegotiationInfo,
  type NegotiationRecord,
  type SessionInfo,
  type Sheet,
  type TermDiff,
  type Version,
  type VersionDensityAnswer,
  type VersionList,
} from '../../shared/schemas'
import type { ExportDoc } from '../history/export'
import type { NegotiationService } from '../negotiation/service'

/** Where the description is served. */
export const OPENAPI_PATH = '/api/openapi.json'

/**
 * Calls answered outside the REST router (server/app.ts, before it): described
 * here like the others, listed so the route-table test knows why they are not
 * in the router's table.
 */
export const OUTSIDE_ROUTER = [
  { method: 'GET', path: '/healthz' },
  { method: 'GET', path: '/metrics' },
] as const

// ── answers, checked against the types the server builds them with ─────────

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false
type Defined<T> = NonNullable<T>
/**
 * Same, and the same keys at every depth: assignability alone lets an optional field go missing on
 * either side, and a field the server adds must not go undescribed.
 */
type Exact<A, B> =
  Same<A, B> extends false
    ? false
    : [Defined<A>] extends [readonly (infer X)[]]
      ? [Defined<B>] extends [readonly (infer Y)[]]
        ? Exact<X, Y>
        : false
      : [Defined<A>] extends [object]
        ? Same<keyof Defined<A>, keyof Defined<B>> extends false
          ? false
          : false extends { [K in keyof Defined<A>]-?: Exact<Defined<A>[K], Defined<B>[K & keyof Defined<B>]> }[keyof Defined<A>]
            ? false
            : true
        : true
/** `schema` as it is, if its output type is exactly T (else the call does not compile). */
const answer =
  <T>() =>
  <S extends z.ZodType>(schema: S, ..._exact: Exact<z.output<S>, T> extends true ? [] : [never]): S =>
    schema

const iso = (what: string) => z.string().meta({ description: `${what} (ISO 8601)`, format: 'date-time' })
const partyOrServer = z.string().nullable()

const Party = answer<PartyInfo>()(
  z
    .object({
      id: z.string().meta({ description: '[a-z0-9-]{1,32}', example: 'us' }),
      name: z.string().meta({ example: 'United States' }),
      color: z.string().meta({ description: '#rrggbb', example: '#1f5fbf' }),
      code: z
        .string()
        .optional()
        .meta({ description: 'the short label chips and redlines use, 2–6 capital letters or digits', example: 'US' }),
    })
    .meta({ id: 'Party', description: 'A delegation of the negotiation.' }),
)

/** What api.ts answers: the record's parties, codes included (NegotiationInfo, the client's reading, leaves `code` out). */
type NegotiationAnswer = Omit<NegotiationInfo, 'parties'> & { parties: PartyInfo[] }

const NegotiationInfoSchema = answer<NegotiationAnswer>()(
  z
    .object({ id: z.string(), title: z.string(), parties: z.array(Party), createdAt: iso('when it was created') })
    .meta({ id: 'NegotiationInfo' }),
)

const inviteKeys = <T extends z.ZodType>(value: T) =>
  z.object({
    negotiator: z.record(z.string(), value).meta({ description: 'one per party id' }),
    observer: value,
    reviewer: value,
  })

const CreatedNegotiationSchema = answer<CreatedNegotiation>()(
  z
    .object({
      id: z.string(),
      title: z.string(),
      parties: z.array(Party),
      createdAt: iso('when it was created'),
      tokens: inviteKeys(z.string().meta({ description: 'a capability token (JWT)' })),
      links: inviteKeys(z.string().meta({ description: 'an invite link: the token rides in the fragment (`/n/<id>#token=…`)' })),
    })
    .meta({
      id: 'CreatedNegotiation',
      description: 'The new negotiation with one invite token and link per role (per party for negotiators).',
    }),
)

const NegotiationRecordSchema = answer<NegotiationRecord>()(
  z
    .object({
      id: z.string(),
      title: z.string(),
      parties: z.array(Party),
      createdAt: z.number().meta({ description: 'ms since the epoch' }),
    })
    .meta({ id: 'NegotiationRecord' }),
)

const MintedTokenSchema = answer<Awaited<ReturnType<NegotiationService['mintToken']>>>()(
  z
    .object({
      token: z.string().meta({ description: 'the capability token (JWT)' }),
      link: z.string().meta({ description: 'the invite link, the token in its fragment' }),
      jti: z.string().meta({ description: 'the token id, to revoke it (`DELETE /api/tokens/{jti}`)' }),
    })
    .meta({ id: 'MintedToken' }),
)

const SessionInfoSchema = answer<Omit<SessionInfo, 'negotiation'> & { negotiation: NegotiationAnswer }>()(
  z
    .object({
      negotiation: NegotiationInfoSchema,
      role: z.enum(ROLES),
      party: z.string().nullable(),
      name: z.string().nullable().meta({ description: 'the display name bound into the token, if the admin set one' }),
      expiresAt: z.string().nullable().meta({ description: 'ISO 8601, or null for a token that does not expire' }),
    })
    .meta({ id: 'SessionInfo', description: 'Who this token makes you.' }),
)

const KeySetSchema = answer<KeySet>()(
  z
    .object({ keys: z.array(z.object({ kid: z.string(), alg: z.literal(RECORD_ALG), jwk: PublicJwkSchema })) })
    .meta({ id: 'KeySet', description: 'The public keys that sign concluded negotiations’ records (Ed25519 JWKs).' }),
)

const SignedRecord = SignedRecordSchema.meta({
  id: 'SignedRecord',
  description:
    '`signature` is Ed25519 (base64url) over the canonical JSON (keys sorted at every level, no whitespace) of every other field; `kid` is the RFC 7638 thumbprint of the public key (`GET /api/keys`).',
})

const VersionSchema = answer<Version>()(
  z
    .object({
      n: z.number().int().meta({ description: 'counts from 1' }),
      at: iso('when it began'),
      lastAt: iso('an `edit` version’s last change, when later than `at`').optional(),
      party: partyOrServer,
      user: z.string(),
      kind: z.enum(VERSION_KINDS),
      termIds: z.array(z.string()),
      summary: z.string(),
      name: z.string().optional().meta({ description: 'a named checkpoint’s name' }),
      layoutOnly: z.boolean().optional().meta({ description: 'an edit that only moved cards' }),
    })
    .meta({ id: 'Version' }),
)

const VersionListSchema = answer<VersionList>()(
  z
    .object({
      versions: z.array(VersionSchema).meta({ description: 'oldest first' }),
      next: z.number().int().nullable().meta({ description: 'the `after` of the next page, or null at the end' }),
    })
    .meta({ id: 'VersionList' }),
)

const DensitySchema = answer<VersionDensityAnswer>()(
  z
    .object({
      total: z.number().int(),
      buckets: z.array(
        z.object({
          fromN: z.number().int(),
          toN: z.number().int(),
          fromAt: z.string(),
          toAt: z.string(),
          count: z.number().int(),
          byParty: z.record(z.string(), z.number()),
          byKind: z.partialRecord(z.enum(VERSION_KINDS), z.number()),
        }),
      ),
    })
    .meta({ id: 'VersionDensity', description: 'The whole history’s shape, for a density strip, without loading it.' }),
)

const SuggestionSchema = answer<Suggestion>()(
  z
    .object({
      id: z.string(),
      kind: z.enum(['ins', 'del']),
      party: z.string(),
      user: z.string(),
      at: z.number().meta({ description: 'ms since the epoch' }),
    })
    .meta({ id: 'Suggestion' }),
)

const SegSchema = z
  .object({
    op: z.enum(['eq', 'ins', 'del']),
    text: z.string(),
    party: z.string().optional().meta({ description: 'the delegation that wrote (`ins`) or removed (`del`) this run' }),
    suggestion: SuggestionSchema.optional(),
  })
  .meta({
    id: 'Seg',
    description:
      'A run of a redline. `suggestion`: the run is a pending suggestion at the redline’s end, not an accepted change.',
  })

const TermDiffSchema = answer<TermDiff>()(
  z
    .object({
      id: z.string(),
      change: z.enum(['added', 'removed', 'modified', 'unchanged']),
      title: z.array(SegSchema),
      body: z.array(SegSchema),
      state: z.object({ from: z.string().nullable(), to: z.string().nullable() }),
    })
    .meta({ id: 'TermDiff' }),
)

const author = z.object({ party: partyOrServer, user: z.string() })

const ThreadSchema = answer<PlainThread>()(
  z
    .object({
      id: z.string(),
      termId: z.string(),
      anchor: z
        .object({ start: z.string(), end: z.string() })
        .nullable()
        .meta({ description: 'base64 relative positions in the term’s body; null: the whole term' }),
      quote: z.string(),
      resolved: z.boolean(),
      createdAt: z.number(),
      createdBy: author,
      comments: z.array(
        z.object({
          id: z.string(),
          body: z.string(),
          party: partyOrServer,
          user: z.string(),
          at: z.number(),
          editedAt: z.number().optional(),
          deleted: z.boolean().optional().meta({ description: 'a tombstone: its body is empty' }),
          mentions: z.array(z.string()),
        }),
      ),
    })
    .meta({ id: 'Thread', description: 'A shared comment thread (a delegation’s internal threads never appear here).' }),
)

const authorRuns = z.array(z.object({ text: z.string(), party: partyOrServer }))

const SheetSchema = answer<Sheet>()(
  z
    .object({
      n: z.number().int(),
      title: z.string(),
      parties: z.array(z.object({ id: z.string(), name: z.string(), color: z.string() })),
      terms: z.array(
        z.object({
          id: z.string(),
          title: z.string(),
          body: z.string(),
          state: z.enum(TERM_STATES),
          proposedBy: partyOrServer,
          acceptedBy: z.record(z.string(), z.string()).meta({ description: 'party → SHA-256 of the text it accepted' }),
          x: z.number(),
          y: z.number(),
          authors: z
            .object({ title: authorRuns, body: authorRuns })
            .optional()
            .meta({ description: 'who wrote what: runs of one delegation’s characters (null: the server’s)' }),
        }),
      ),
      notes: z.array(z.object({ id: z.string(), text: z.string(), x: z.number(), y: z.number() })),
      links: z.array(z.object({ id: z.string(), from: z.string(), to: z.string(), label: z.string() })),
      threads: z.array(ThreadSchema),
    })
    .meta({
      id: 'Sheet',
      description: 'The board as it stood right after version `n`: positions, links and shared threads included.',
    }),
)

const CatchUpSchema = answer<CatchUp>()(
  z
    .object({
      lastSeen: z.number().int().nullable().meta({ description: 'null: the caller never marked anything seen' }),
      latest: z.number().int(),
      versions: z
        .array(VersionSchema)
        .meta({ description: `the versions after lastSeen (at most ${VERSION_PAGE_DEFAULT}, oldest first)` }),
      terms: z.array(TermDiffSchema).meta({ description: 'the redline from lastSeen to latest, changed terms only' }),
      mentions: z.array(z.object({ threadId: z.string(), commentId: z.string(), by: author, at: z.string() })),
    })
    .meta({ id: 'CatchUp', description: 'What changed since the caller last saw the negotiation.' }),
)

const ParsedTermSheetSchema = answer<ParsedTermSheet>()(
  z
    .object({
      terms: z.array(z.object({ title: z.string(), body: z.string() })),
      warnings: z.array(z.string()).meta({ description: 'tracked changes read as accepted, text left out or cut, guesses made' }),
      title: z.string().optional().meta({ description: 'the document’s title, a suggestion for the negotiation’s' }),
    })
    .meta({ id: 'ParsedTermSheet' }),
)

const DraftAnswerSchema = answer<DraftAnswer>()(
  z
    .object({
      ok: z.literal(true),
      suggested: z.array(z.string()).meta({ description: 'board terms that now carry new suggestions of the caller' }),
      added: z.array(z.string()).meta({ description: 'terms of the draft that matched none on the board, now proposed' }),
      unmatched: z.array(z.string()).meta({ description: 'titles of draft terms that could not be added' }),
      removed: z.array(z.string()).meta({ description: 'board terms the draft no longer has: suggested for removal' }),
      skipped: z.array(
        z.object({
          termId: z.string(),
          title: z.string(),
          reason: z.enum(['agreed', 'conflict', 'too-long']),
          message: z.string(),
        }),
      ),
      warnings: z.array(z.string()),
      titles: z.record(z.string(), z.string()).meta({ description: 'term id → title, for every term named above' }),
    })
    .meta({ id: 'DraftAnswer' }),
)

const stamp = z.object({ n: z.number().int(), at: z.string(), party: partyOrServer, user: z.string() })
const chainHead = z.object({ seq: z.number().int(), hash: z.string() })

const ExportDocSchema = answer<ExportDoc>()(
  z
    .object({
      format: z.literal('parley-export/1'),
      negotiation: NegotiationInfoSchema,
      generatedAt: z.string(),
      asOf: z
        .object({ n: z.number().int(), at: z.string().nullable() })
        .meta({ description: 'the newest version shown (0: none yet)' }),
      heads: z.object({ board: chainHead, ledger: chainHead, versions: z.object({ n: z.number().int(), hash: z.string() }) }),
      terms: z.array(
        z.object({
          id: z.string(),
          title: z.string(),
          body: z.string(),
          state: z.enum(TERM_STATES),
          onBoard: z.boolean(),
          proposedBy: partyOrServer,
          proposed: stamp.nullable(),
          acceptedBy: z.record(z.string(), z.string()),
          acceptances: z.array(stamp.extend({ party: z.string(), current: z.boolean() })),
          agreed: stamp.nullable(),
          lastMove: stamp.extend({ kind: z.enum(VERSION_KINDS) }).nullable(),
          redline: z.object({ since: z.number().int(), title: z.array(SegSchema), body: z.array(SegSchema) }),
          versions: z.array(z.number().int()),
          suggestions: z
            .array(
              z.object({
                id: z.string(),
                kind: z.enum(['ins', 'del']),
                party: z.string(),
                user: z.string(),
                at: z.string(),
                field: z.enum(['title', 'body']),
                index: z.number().int(),
                text: z.string(),
              }),
            )
            .optional(),
          adReferendum: z
            .array(
              z.object({
                party: z.string(),
                principal: z.string(),
                until: z.string().optional(),
                at: z.string(),
                user: z.string(),
                current: z.boolean(),
              }),
            )
            .optional(),
          brackets: z.number().int().optional(),
        }),
      ),
      notes: z.array(z.object({ id: z.string(), text: z.string() })),
      threads: z.array(ThreadSchema),
      versions: z.array(VersionSchema.extend({ hash: z.string() })),
      skipped: z.array(z.string()).optional(),
      conclusion: z
        .object({
          package: z.object({ hash: z.string(), acceptedBy: z.record(z.string(), z.string()) }).nullable(),
          initials: z.array(z.object({ party: z.string(), user: z.string(), at: z.string() })),
          concluded: z.object({ at: z.string(), hash: z.string() }).nullable(),
        })
        .optional(),
    })
    .meta({ id: 'ExportDoc', description: 'The sheet with its agreed/open state, its history and the chain heads.' }),
)

// ── errors ────────────────────────────────────────────────────────────────

const ERROR_CODES = Object.values(ErrorCode).map((c) => c.name) as [ErrorCodeName, ...ErrorCodeName[]]

const ErrorSchema = z
  .object({
    error: z.object({ code: z.enum(ERROR_CODES), message: z.string().meta({ description: 'for a person; may change' }) }),
  })
  .meta({
    id: 'Error',
    description: 'Every refusal: a code from shared/errors.ts with its HTTP status (docs/api.md, “Errors”), and a message.',
  })

const statusOf = (code: ErrorCodeName) => Object.values(ErrorCode).find((c) => c.name === code)!.status

/** A refusal a route may answer, and when. */
type Refusal = [ErrorCodeName, string]

/** Refusals grouped by status, each status's description naming its codes and when. */
function refusalResponses(refusals: Refusal[]): Record<string, ResponseConfig> {
  const byStatus = new Map<number, Refusal[]>()
  for (const r of refusals) byStatus.set(statusOf(r[0]), [...(byStatus.get(statusOf(r[0])) ?? []), r])
  return Object.fromEntries(
    [...byStatus].map(([status, rs]) => [
      String(status),
      {
        description: rs.map(([code, when]) => `- \`${code}\`: ${when}`).join('\n'),
        content: {
          'application/json': {
            schema: ErrorSchema,
            // the route's own refusal (listed last), rather than one every route shares
            example: { error: { code: rs.at(-1)![0], message: rs.at(-1)![1] } },
          },
        },
      },
    ]),
  )
}

// ── who may call ──────────────────────────────────────────────────────────

const ADMIN = 'adminToken'
const CAPABILITY = 'capabilityToken'
/** A security requirement: the scheme, and (OpenAPI 3.1, for a bearer scheme) the roles it must carry. */
const needs = (scheme: string, roles: readonly Role[] = []): Record<string, string[]> => ({ [scheme]: [...roles] })

/** Who a route admits: its security requirement and the refusals that follow from it. */
interface Who {
  security: RouteConfig['security']
  says: string
  refusals: Refusal[]
}

const gone: Refusal = ['not-found', 'the token’s own negotiation is gone']
const badToken: Refusal = ['unauthorized', 'no capability token, or a bad, expired or revoked one']
const otherNegotiation: Refusal = ['forbidden', 'the token is for another negotiation (the same whether or not `id` exists)']

const WHO = {
  anyone: { security: [], says: 'Anyone: no token.', refusals: [] },
  admin: {
    security: [needs(ADMIN)],
    says: 'The admin token.',
    refusals: [['unauthorized', 'no admin token, or not this server’s']],
  },
  drafter: {
    security: [needs(ADMIN), needs(CAPABILITY, ['negotiator'])],
    says: 'The admin token, or a negotiator’s capability token (of any negotiation).',
    refusals: [
      ['unauthorized', 'neither the admin token nor a valid capability token'],
      ['forbidden', 'observers and reviewers cannot bring in Word documents'],
    ],
  },
  tokenHolder: {
    security: [needs(CAPABILITY, ROLES)],
    says: 'A capability token of any role; it names the negotiation.',
    refusals: [badToken, gone],
  },
  anyRole: {
    security: [needs(CAPABILITY, ROLES)],
    says: 'A capability token of this negotiation, any role.',
    refusals: [badToken, otherNegotiation, gone],
  },
  historyReader: {
    security: [needs(CAPABILITY, ['negotiator', 'reviewer'])],
    says: 'A capability token of this negotiation: a negotiator or a reviewer (observers have no history).',
    refusals: [badToken, otherNegotiation, ['forbidden', 'observers have no access to the history'], gone],
  },
  negotiator: {
    security: [needs(CAPABILITY, ['negotiator'])],
    says: 'A negotiator’s capability token of this negotiation.',
    refusals: [badToken, otherNegotiation, ['forbidden', 'observers and reviewers cannot bring in drafts'], gone],
  },
} satisfies Record<string, Who>

// ── the routes ────────────────────────────────────────────────────────────

interface Operation {
  method: 'get' | 'post' | 'delete'
  /** as the router has it: `:name` for a parameter */
  path: string
  operationId: string
  tag: string
  summary: string
  description?: string
  who: Who
  params?: z.ZodObject
  query?: z.ZodObject
  /** a JSON body: the schema the route validates it with, its name in the description, and an example it accepts */
  json?: { name: string; schema: z.ZodType; example: unknown }
  /** a .docx in the body */
  docx?: string
  answers: Record<string, ResponseConfig>
  refusals?: Refusal[]
  /** answered outside the REST router: no URL, store or JSON-body refusals of its own */
  outsideRouter?: boolean
}

const negotiationId = z.object({ id: z.string().meta({ description: 'the negotiation’s id', example: 'k3x9q2m7' }) })
const versionParams = negotiationId.extend({
  n: z.number().int().min(0).meta({ description: 'a version number', example: 3 }),
})
const nameQuery = z.object({
  name: z
    .string()
    .optional()
    .meta({ description: 'the caller’s display name, when the token binds none (cut to 64 characters)', example: 'Alice' }),
})

const json = (schema: z.ZodType, description: string): ResponseConfig => ({
  description,
  content: { 'application/json': { schema } },
})
const noContent = (description: string): ResponseConfig => ({ description })

const badQuery: Refusal = ['bad-request', 'the query fails validation']
const badBody: Refusal = ['bad-request', 'the body fails validation']
const unknownVersion: Refusal = ['unknown-version', 'no such version of this negotiation']

const docxUpload = (what: string): Refusal[] => [
  ['bad-request', `the content type is not ${WORD_UPLOAD_CONTENT_TYPES.join(' or ')}`],
  ['bad-document', 'the file is not a .docx, holds a DTD or entities, or unpacks past its bounds'],
  ['too-large', `the file is over ${MAX_WORD_FILE_BYTES / 1024 / 1024} MiB`],
  ['rate-limited', `two Word files are read at a time and eight wait: try again in a moment (${what})`],
]

const OPERATIONS: Operation[] = [
  {
    method: 'post',
    path: '/api/negotiations',
    operationId: 'createNegotiation',
    tag: 'Admin',
    summary: 'Create a negotiation',
    description:
      'Parties without an `id` get one made from the name (transliterated), without a `color` the first one no other party has, without a `code` one suggested from the name. The answer holds one invite per role.',
    who: WHO.admin,
    json: {
      name: 'CreateNegotiation',
      schema: CreateNegotiationSchema,
      example: {
        title: 'Reciprocal extradition of ransomware operators',
        parties: [
          { id: 'us', name: 'United States', code: 'US' },
          { id: 'ru', name: 'Russian Federation', color: '#b3261e' },
        ],
        terms: [
          { title: 'Response deadline', body: 'Requests are answered within [30][45] days.' },
          { title: 'Equal obligations', body: 'Obligations are equal and reciprocal.' },
        ],
      },
    },
    answers: { 201: json(CreatedNegotiationSchema, 'Created.') },
    refusals: [badBody],
  },
  {
    method: 'get',
    path: '/api/negotiations',
    operationId: 'listNegotiations',
    tag: 'Admin',
    summary: 'List every negotiation',
    who: WHO.admin,
    answers: {
      200: json(
        z.object({
          negotiations: z.array(NegotiationRecordSchema),
          sealedCaucuses: z
            .record(z.string(), z.array(z.string()))
            .meta({ description: 'negotiation id → the parties whose sealed caucus holds rows (only negotiations with any)' }),
        }),
        'Every negotiation in the store, and which delegations sealed their caucus.',
      ),
    },
  },
  {
    method: 'post',
    path: '/api/negotiations/:id/tokens',
    operationId: 'mintToken',
    tag: 'Admin',
    summary: 'Mint an invite token',
    description:
      '`party` for negotiators and only for them; `expiresIn` in seconds (no expiry when absent); `name` binds a display name.',
    who: WHO.admin,
    params: negotiationId,
    json: {
      name: 'MintToken',
      schema: MintTokenSchema,
      example: { role: 'negotiator', party: 'us', expiresIn: 604800, name: 'Alice' },
    },
    answers: { 201: json(MintedTokenSchema, 'Minted.') },
    refusals: [
      ['bad-request', 'the body fails validation, or `party` is not a party of this negotiation'],
      ['not-found', 'no such negotiation'],
    ],
  },
  {
    method: 'delete',
    path: '/api/negotiations/:id',
    operationId: 'deleteNegotiation',
    tag: 'Admin',
    summary: 'Delete a negotiation',
    description: 'Its open sessions close with 4404.',
    who: WHO.admin,
    params: negotiationId,
    answers: { 204: noContent('Deleted.') },
    refusals: [['not-found', 'no such negotiation']],
  },
  {
    method: 'delete',
    path: '/api/tokens/:jti',
    operationId: 'revokeToken',
    tag: 'Admin',
    summary: 'Revoke a token',
    description: 'Its open sessions close within 5 s (at once on this instance).',
    who: WHO.admin,
    params: z.object({ jti: z.string().meta({ description: 'the token’s id (`jti` of the mint answer)' }) }),
    answers: { 204: noContent('Revoked.') },
    refusals: [['not-found', 'no such token, or already revoked']],
  },
  {
    method: 'get',
    path: '/api/session',
    operationId: 'getSession',
    tag: 'Negotiation',
    summary: 'Who this token makes you',
    who: WHO.tokenHolder,
    answers: { 200: json(SessionInfoSchema, 'The token’s negotiation, role, party and name.') },
  },
  {
    method: 'get',
    path: '/api/negotiations/:id',
    operationId: 'getNegotiation',
    tag: 'Negotiation',
    summary: 'A negotiation’s title and parties',
    who: WHO.anyRole,
    params: negotiationId,
    answers: { 200: json(NegotiationInfoSchema, 'The negotiation.') },
  },
  {
    method: 'get',
    path: '/api/negotiations/:id/versions',
    operationId: 'listVersions',
    tag: 'History',
    summary: 'A page of versions, oldest first',
    description: 'Versions with `n > after`, at most `limit`; `next` is the `after` of the next page, or null at the end.',
    who: WHO.historyReader,
    params: negotiationId,
    query: VersionListQuerySchema,
    answers: { 200: json(VersionListSchema, 'The page.') },
    refusals: [badQuery],
  },
  {
    method: 'get',
    path: '/api/negotiations/:id/versions/density',
    operationId: 'versionDensity',
    tag: 'History',
    summary: 'The history’s shape in buckets',
    who: WHO.historyReader,
    params: negotiationId,
    query: VersionDensityQuerySchema,
    answers: { 200: json(DensitySchema, 'The buckets.') },
    refusals: [badQuery],
  },
  {
    method: 'get',
    path: '/api/negotiations/:id/versions/:n',
    operationId: 'getSheetAtVersion',
    tag: 'History',
    summary: 'The sheet as it stood right after version n',
    who: WHO.historyReader,
    params: versionParams,
    answers: { 200: json(SheetSchema, 'The sheet.') },
    refusals: [['bad-request', '`n` is not a non-negative integer'], unknownVersion],
  },
  {
    method: 'get',
    path: '/api/negotiations/:id/diff',
    operationId: 'getDiff',
    tag: 'History',
    summary: 'The redline between two versions',
    who: WHO.historyReader,
    params: negotiationId,
    query: DiffQuerySchema,
    answers: { 200: json(z.object({ terms: z.array(TermDiffSchema) }), 'Every term, with what changed.') },
    refusals: [['bad-request', 'the query fails validation, or `from` is later than `to`'], unknownVersion],
  },
  {
    method: 'get',
    path: '/api/negotiations/:id/export',
    operationId: 'exportSheet',
    tag: 'History',
    summary: 'The sheet with its state and history, as a file',
    description: [
      '`format=md|html|json` (default `json`): the sheet with its agreed/open state and its history; with `n`, as of version `n`.',
      '`format=docx[&n=N]`: the sheet at version `n` (default: now) as a Word file, shared comments as Word comments.',
      '`format=docx&from=N&to=M[&suggestions=comments|tracked]`: the text at `M` with every change since `N` as Word tracked changes.',
      '`format=pdf`: the concluded text with its signed record attached.',
    ].join('\n\n'),
    who: WHO.historyReader,
    params: negotiationId,
    query: ExportQuerySchema,
    answers: {
      200: {
        description: 'The file, with a `content-disposition` naming it.',
        content: {
          'application/json': { schema: ExportDocSchema },
          'text/markdown': { schema: { type: 'string' } },
          'text/html': { schema: { type: 'string' } },
          [DOCX_CONTENT_TYPE]: { schema: { type: 'string', contentMediaType: DOCX_CONTENT_TYPE } },
          'application/pdf': { schema: { type: 'string', contentMediaType: 'application/pdf' } },
        },
      },
    },
    refusals: [
      [
        'bad-request',
        'the query fails validation (a version or redline with a format that takes none, `from` without `to`, `from` later than `to`)',
      ],
      unknownVersion,
      ['not-concluded', '`format=pdf` before the negotiation is concluded'],
    ],
  },
  {
    method: 'post',
    path: '/api/negotiations/:id/seen',
    operationId: 'markSeen',
    tag: 'History',
    summary: 'Mark versions up to n as seen',
    description: 'The caller is the token’s `jti` and user (the token’s name, else `name`); `GET …/catchup` answers from here.',
    who: WHO.historyReader,
    params: negotiationId,
    json: { name: 'SeenBody', schema: SeenBodySchema, example: { n: 1, name: 'Alice' } },
    answers: { 204: noContent('Noted.') },
    refusals: [badBody],
  },
  {
    method: 'get',
    path: '/api/negotiations/:id/catchup',
    operationId: 'catchUp',
    tag: 'History',
    summary: 'What changed since the caller last looked',
    who: WHO.historyReader,
    params: negotiationId,
    query: nameQuery,
    answers: { 200: json(CatchUpSchema, 'The versions, redline and mentions since `lastSeen`.') },
  },
  {
    method: 'post',
    path: '/api/terms/parse',
    operationId: 'parseTerms',
    tag: 'Word',
    summary: 'Read the terms of a Word term sheet',
    description:
      'Headings (or numbered paragraphs) become terms; tracked changes in the file are read as accepted and reported in `warnings`. Creates nothing.',
    who: WHO.drafter,
    docx: 'the term sheet',
    answers: { 200: json(ParsedTermSheetSchema, 'The terms, fitted to what a negotiation accepts at creation.') },
    refusals: docxUpload('429'),
  },
  {
    method: 'post',
    path: '/api/negotiations/:id/drafts',
    operationId: 'bringInDraft',
    tag: 'Word',
    summary: 'Bring back a draft edited in Word',
    description: 'Its differences from the current text become the caller’s party’s suggestions; terms it adds are proposed.',
    who: WHO.negotiator,
    params: negotiationId,
    query: nameQuery,
    docx: 'the draft',
    answers: { 200: json(DraftAnswerSchema, 'What became of each term.') },
    refusals: [...docxUpload('429'), ['bad-request', 'the document holds no terms, or none of them matches a term on the board']],
  },
  {
    method: 'get',
    path: '/api/keys',
    operationId: 'getKeys',
    tag: 'Record',
    summary: 'The public keys that sign records',
    who: WHO.anyone,
    answers: { 200: json(KeySetSchema, 'The key set.') },
  },
  {
    method: 'get',
    path: '/api/negotiations/:id/record',
    operationId: 'getRecord',
    tag: 'Record',
    summary: 'The signed record of a concluded negotiation',
    description: '`npm run verify -- --record <file>` checks a saved record offline.',
    who: WHO.anyRole,
    params: negotiationId,
    answers: { 200: json(SignedRecord, 'The record.') },
    refusals: [['not-concluded', 'the negotiation is not concluded yet']],
  },
  {
    method: 'get',
    path: OPENAPI_PATH,
    operationId: 'getOpenApi',
    tag: 'Operations',
    summary: 'This description',
    who: WHO.anyone,
    answers: {
      200: { description: 'An OpenAPI 3.1 document.', content: { 'application/json': { schema: { type: 'object' } } } },
    },
  },
  {
    method: 'get',
    path: '/healthz',
    operationId: 'health',
    tag: 'Operations',
    summary: 'Does the store answer',
    who: WHO.anyone,
    outsideRouter: true,
    answers: {
      200: json(z.object({ ok: z.literal(true) }), 'The store answers.'),
      503: json(z.object({ ok: z.literal(false) }), 'The store does not answer.'),
    },
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'metrics',
    tag: 'Operations',
    summary: 'Prometheus metrics',
    who: { ...WHO.anyone, says: 'Anyone on loopback (127.0.0.1, ::1).' },
    outsideRouter: true,
    answers: {
      200: { description: 'Prometheus text exposition.', content: { 'text/plain': { schema: { type: 'string' } } } },
      403: noContent('The caller is not on loopback.'),
    },
  },
]

/** `/a/:b` → `/a/{b}` */
export const openApiPath = (routerPath: string) => routerPath.replace(/:([a-zA-Z]+)/g, '{$1}')

function register(registry: OpenAPIRegistry, op: Operation): void {
  const jsonBody = op.method === 'post' && !op.docx
  const refusals: Refusal[] = op.outsideRouter
    ? op.who.refusals
    : [
        ['bad-request', 'a malformed URL (bad percent-encoding)'],
        ...(jsonBody
          ? ([
              ['bad-request', 'the body is not JSON'],
              ['too-large', `the body is over ${MAX_MESSAGE_BYTES / 1024 / 1024} MiB`],
            ] as Refusal[])
          : []),
        ...op.who.refusals,
        ...(op.refusals ?? []),
      ]
  const route: RouteConfig = {
    method: op.method,
    path: openApiPath(op.path),
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    description: [`**Who:** ${op.who.says}`, op.description].filter(Boolean).join('\n\n'),
    security: op.who.security,
    request: {
      ...(op.params ? { params: op.params } : {}),
      ...(op.query ? { query: op.query } : {}),
      ...(op.json
        ? {
            body: {
              required: true,
              // .meta returns a named copy: the shared schema itself is left as it is
              content: { 'application/json': { schema: op.json.schema.meta({ id: op.json.name }), example: op.json.example } },
            },
          }
        : {}),
      ...(op.docx
        ? {
            body: {
              required: true,
              description: `The bytes of ${op.docx} (.docx, at most ${MAX_WORD_FILE_BYTES / 1024 / 1024} MiB), e.g. \`curl --data-binary @sheet.docx -H 'content-type: ${DOCX_CONTENT_TYPE}' …\``,
              content: Object.fromEntries(
                WORD_UPLOAD_CONTENT_TYPES.map((t) => [t, { schema: { type: 'string', contentMediaType: t } }]),
              ),
            },
          }
        : {}),
    },
    responses: {
      ...op.answers,
      ...refusalResponses(refusals),
      ...(op.outsideRouter
        ? {}
        : { 500: { $ref: '#/components/responses/Internal' }, 503: { $ref: '#/components/responses/StoreUnavailable' } }),
    },
  }
  registry.registerPath(route)
}

/** Query and path values are strings on the wire: `z.coerce.number()` also takes null, which a URL cannot say. */
function dropNullFromParameters(doc: {
  paths?: Record<string, Record<string, { parameters?: Array<{ schema?: { type?: unknown } }> }>>
}): void {
  for (const item of Object.values(doc.paths ?? {}))
    for (const op of Object.values(item))
      for (const p of op.parameters ?? []) {
        const type = p.schema?.type
        if (!Array.isArray(type)) continue
        const rest = type.filter((t) => t !== 'null')
        p.schema!.type = rest.length === 1 ? rest[0] : rest
      }
}

/** The routes described, method and path as the router has them (for the route-table test). */
export const DESCRIBED_ROUTES = OPERATIONS.map((op) => ({ method: op.method.toUpperCase(), path: op.path }))

function buildDescription(): object {
  const registry = new OpenAPIRegistry()
  registry.registerComponent('securitySchemes', ADMIN, {
    type: 'http',
    scheme: 'bearer',
    description:
      'The admin token: `PARLEY_ADMIN_TOKEN`, else generated once and kept in the data dir (`admin-token`), printed at the first start. Not a JWT. It creates, lists and deletes negotiations and mints and revokes tokens.',
  })
  registry.registerComponent('securitySchemes', CAPABILITY, {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'A capability token (HS256 JWT): one negotiation, one role (`negotiator` with a party, `observer`, `reviewer`). Invite links carry it in the fragment (`/n/<id>#token=…`). The roles a route admits are listed in its security requirement. Tokens may expire and be revoked.',
  })
  registry.registerComponent('responses', 'Internal', {
    description: '- `internal`: a bug; it is logged',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  })
  registry.registerComponent('responses', 'StoreUnavailable', {
    description: '- `store-unavailable`: the store could not answer or save; try again',
    content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
  })
  for (const op of OPERATIONS) register(registry, op)
  const doc = new OpenApiGeneratorV31([...registry.definitions, { type: 'schema', schema: ErrorSchema }]).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Parley HTTP API',
      version: pkg.version,
      description: [
        'Parley is a live negotiation whiteboard. This is its HTTP API; the live channels (Yjs documents over y-websocket at `/yjs/<doc>`, commands over socket.io at `/socket.io`) are in docs/protocol.md.',
        'Tokens travel as `Authorization: Bearer <token>` (the scheme is case-insensitive). Every refusal is `{error:{code, message}}` (the `Error` schema) with the status of its code. A token of another negotiation gets the same 403 whether or not the negotiation exists.',
        `JSON bodies are at most ${MAX_MESSAGE_BYTES / 1024 / 1024} MiB, Word files ${MAX_WORD_FILE_BYTES / 1024 / 1024} MiB. An unknown path under \`/api/\` is 404 \`not-found\`; a known path with another method is 400 \`bad-request\`.`,
      ].join('\n\n'),
    },
    tags: [
      { name: 'Admin', description: 'The admin token: negotiations and tokens.' },
      { name: 'Negotiation', description: 'Any role of the negotiation.' },
      { name: 'History', description: 'Negotiators and reviewers: versions, replays, redlines, exports, catch-up.' },
      { name: 'Word', description: 'Word files in: a term sheet to start from, a draft brought back.' },
      { name: 'Record', description: 'The signed record of a concluded negotiation, and its keys.' },
      { name: 'Operations', description: 'Health, metrics, this description.' },
    ],
  })
  dropNullFromParameters(doc as Parameters<typeof dropNullFromParameters>[0])
  return doc
}

let description: string | null = null

/** The description as JSON text, built on first use. */
export function openApiJson(): string {
  description ??= JSON.stringify(buildDescription())
  return description
}

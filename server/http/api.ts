/**
 * The REST API of CONTRACT.md ("HTTP API"). Admin calls take the admin token;
 * everything else a capability token, and a token of another negotiation gets
 * the same 403 whether or not the asked-for negotiation exists.
 */
import type { IncomingMessage } from 'node:http'
import { z } from 'zod'
import { ErrorCode } from '../../shared/errors'
import { mayCommand, mayReadHistory } from '../../shared/roles'
import {
  CreateNegotiationSchema,
  DiffQuerySchema,
  ExportQuerySchema,
  MintTokenSchema,
  SeenBodySchema,
  VersionDensityQuerySchema,
  VersionListQuerySchema,
} from '../../shared/schemas'
import type { TokenAdmission } from '../auth/admission'
import type { Claims } from '../auth/tokens'
import { adminTokenMatches } from '../auth/tokens'
import { ParleyError, badRequest, forbidden, notFound, unauthorized } from '../errors'
import type { Actor, NegotiationService } from '../negotiation/service'
import { displayName } from '../auth/displayName'
import type { HistoryQueries } from '../history/queries'
import { renderHtml, renderMarkdown } from '../history/exportRender'
import { docxRequest, exportDocx } from '../word/docxExport'
import { DOCX_CONTENT_TYPE } from '../../shared/word'
import { Router } from './router'
import { Gate, READS_AT_ONCE, READS_WAITING, readWordUpload, termParseRoute } from './termParse'
import { OPENAPI_PATH, openApiJson } from './openapi'
import { catchUp, viewerKey } from '../history/catchUp'
import type { Store } from '../store/types'
import type { RecordService } from '../record/recordService'

export interface ApiDeps {
  adminToken: string
  admission: TokenAdmission
  service: NegotiationService
  history: HistoryQueries
  store: Store
  /** signed records of concluded negotiations, and the key they are signed with */
  records: RecordService
}

/** The token of `Authorization: Bearer <token>`; the scheme is case-insensitive (RFC 9110 §11.1). */
function bearer(req: IncomingMessage): string | undefined {
  const m = /^bearer[ \t]+(\S+)[ \t]*$/i.exec(req.headers.authorization ?? '')
  return m ? m[1] : undefined
}

function parse<T>(schema: z.ZodType<T>, value: unknown): T {
  const r = schema.safeParse(value)
  if (!r.success) throw badRequest(r.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '))
  return r.data
}

export function createApi(deps: ApiDeps): Router {
  const { service, history } = deps

  const requireAdmin = (req: IncomingMessage) => {
    if (!adminTokenMatches(bearer(req), deps.adminToken)) throw unauthorized('admin token required')
  }

  /** The caller's claims, for a route under /api/negotiations/:id. */
  const requireClaims = async (req: IncomingMessage, negotiationId: string): Promise<Claims> => {
    const claims = await deps.admission.claimsOf(bearer(req))
    if (!claims) throw unauthorized()
    if (claims.negotiationId !== negotiationId) throw forbidden('this token is for another negotiation')
    if (!(await service.exists(negotiationId))) throw notFound('this negotiation is gone')
    return claims
  }

  const requireHistoryReader = async (req: IncomingMessage, negotiationId: string) => {
    const claims = await requireClaims(req, negotiationId)
    if (!mayReadHistory(claims)) throw forbidden(`${claims.role}s have no access to the history`)
    return claims
  }

  const versionNumber = (raw: string) => {
    const n = Number(raw)
    if (!Number.isSafeInteger(n) || n < 0) throw badRequest('a version number is a non-negative integer')
    return n
  }

  /** Word files are read a few at a time, whichever route takes them (termParse.ts). */
  const wordGate = new Gate(READS_AT_ONCE, READS_WAITING)

  return new Router()
    .on('POST', '/api/negotiations', async ({ req, body }) => {
      requireAdmin(req)
      const created = await service.create(parse(CreateNegotiationSchema, body))
      return { status: 201, json: created }
    })
    .on('GET', '/api/negotiations', async ({ req }) => {
      requireAdmin(req)
      const all = await service.list()
      return { status: 200, json: { negotiations: all, sealedCaucuses: await service.sealedCaucuses(all) } }
    })
    .on('POST', '/api/negotiations/:id/tokens', async ({ req, params, body }) => {
      requireAdmin(req)
      const minted = await service.mintToken(params.id!, parse(MintTokenSchema, body))
      return { status: 201, json: minted }
    })
    .on('DELETE', '/api/negotiations/:id', async ({ req, params }) => {
      requireAdmin(req)
      if (!(await service.delete(params.id!))) throw notFound('no such negotiation')
      return undefined
    })
    .on('POST', '/api/terms/parse', termParseRoute(deps, bearer, wordGate), { body: 'raw' })
    .on('DELETE', '/api/tokens/:jti', async ({ req, params }) => {
      requireAdmin(req)
      if (!(await service.revoke(params.jti!))) throw notFound('no such token, or already revoked')
      return undefined
    })
    .on('GET', '/api/session', async ({ req }) => {
      const claims = await deps.admission.claimsOf(bearer(req))
      if (!claims) throw unauthorized()
      const record = await service.get(claims.negotiationId)
      if (!record) throw new ParleyError(ErrorCode.notFound.name, 'this negotiation is gone')
      return {
        status: 200,
        json: {
          negotiation: {
            id: record.id,
            title: record.title,
            parties: record.parties,
            createdAt: new Date(record.createdAt).toISOString(),
          },
          role: claims.role,
          party: claims.party,
          name: claims.name,
          expiresAt: claims.expiresAt ? new Date(claims.expiresAt).toISOString() : null,
        },
      }
    })
    .on('GET', '/api/keys', () => ({ status: 200, json: deps.records.keys() }))
    .on('GET', OPENAPI_PATH, () => ({ status: 200, text: openApiJson(), contentType: 'application/json; charset=utf-8' }))
    .on('GET', '/api/negotiations/:id/record', async ({ req, params }) => {
      await requireClaims(req, params.id!)
      const record = await deps.records.record(params.id!)
      if (!record) throw notFound('this negotiation is gone')
      return { status: 200, json: record }
    })
    .on('GET', '/api/negotiations/:id', async ({ req, params }) => {
      await requireClaims(req, params.id!)
      const r = (await service.get(params.id!))!
      return {
        status: 200,
        json: { id: r.id, title: r.title, parties: r.parties, createdAt: new Date(r.createdAt).toISOString() },
      }
    })
    .on('GET', '/api/negotiations/:id/versions', async ({ req, params, query }) => {
      await requireHistoryReader(req, params.id!)
      const page = parse(VersionListQuerySchema, {
        after: query.get('after') ?? undefined,
        limit: query.get('limit') ?? undefined,
      })
      return { status: 200, json: await history.versions(params.id!, page) }
    })
    .on('GET', '/api/negotiations/:id/versions/density', async ({ req, params, query }) => {
      await requireHistoryReader(req, params.id!)
      const { buckets } = parse(VersionDensityQuerySchema, { buckets: query.get('buckets') ?? undefined })
      return { status: 200, json: await history.density(params.id!, buckets) }
    })
    .on('GET', '/api/negotiations/:id/versions/:n', async ({ req, params }) => {
      await requireHistoryReader(req, params.id!)
      const sheet = await history.sheetAt(params.id!, versionNumber(params.n!))
      if (!sheet) throw new ParleyError(ErrorCode.unknownVersion.name, `no version ${params.n}`)
      return { status: 200, json: sheet }
    })
    .on('GET', '/api/negotiations/:id/diff', async ({ req, params, query }) => {
      await requireHistoryReader(req, params.id!)
      const { from, to } = parse(DiffQuerySchema, { from: query.get('from') ?? undefined, to: query.get('to') ?? undefined })
      return { status: 200, json: { terms: await history.diff(params.id!, from, to) } }
    })
    .on(
      'POST',
      '/api/negotiations/:id/drafts',
      async ({ req, params, query }) => {
        // Who is asking is settled before the file is read: an observer's upload costs a refusal.
        const claims = await requireClaims(req, params.id!)
        if (!mayCommand(claims)) throw forbidden(`${claims.role}s cannot bring in drafts`)
        const sheet = await readWordUpload(req, wordGate)
        const actor: Actor = {
          negotiationId: params.id!,
          role: claims.role,
          party: claims.party,
          // as on the board (peerFromClaims): the token's name, else the one the client goes by
          user: displayName(claims.name ?? query.get('name')),
          session: `word-draft:${claims.jti}`,
        }
        return { status: 200, json: await service.drafts.bringIn(actor, sheet) }
      },
      { body: 'raw' },
    )
    .on('POST', '/api/negotiations/:id/seen', async ({ req, params, body }) => {
      const claims = await requireHistoryReader(req, params.id!)
      const { n, name } = parse(SeenBodySchema, body)
      await deps.store.markSeen(params.id!, viewerKey(claims.jti, claims.name ?? name), n, Date.now())
      return undefined
    })
    .on('GET', '/api/negotiations/:id/catchup', async ({ req, params, query }) => {
      const claims = await requireHistoryReader(req, params.id!)
      // Only a negotiator reads its delegation's internal threads (CONTRACT.md rights table).
      const party = claims.role === 'negotiator' ? claims.party : null
      const who = { jti: claims.jti, name: claims.name ?? query.get('name'), party }
      const threads = (id: string, p: string | null) => service.comments.readableThreads(id, p)
      return { status: 200, json: await catchUp({ store: deps.store, history, threads }, params.id!, who) }
    })
    .on('GET', '/api/negotiations/:id/export', async ({ req, res, params, query }) => {
      await requireHistoryReader(req, params.id!)
      const q = parse(ExportQuerySchema, {
        format: query.get('format') ?? undefined,
        ...Object.fromEntries(['n', 'from', 'to', 'suggestions'].flatMap((k) => (query.has(k) ? [[k, query.get(k)]] : []))),
      })
      const { format } = q
      if (format === 'pdf') {
        const file = await deps.records.pdf(params.id!)
        if (!file) throw notFound('this negotiation is gone')
        const { record, bytes } = file
        res.writeHead(200, {
          'cache-control': 'no-store',
          'content-type': 'application/pdf',
          'content-length': String(bytes.length),
          'content-disposition': `attachment; filename="${record.negotiationId.replace(/[^A-Za-z0-9._-]/g, '_')}-record.pdf"`,
        })
        res.end(bytes)
        return undefined
      }
      if (format === 'docx') {
        const file = await exportDocx({ history, store: deps.store }, params.id!, docxRequest(q))
        if (!file) throw notFound('this negotiation is gone')
        // Bytes, not text: written here (the router then leaves the answered response alone).
        res.writeHead(200, {
          'cache-control': 'no-store',
          'content-type': DOCX_CONTENT_TYPE,
          'content-length': String(file.bytes.length),
          'content-disposition': `attachment; filename="${file.filename}"`,
        })
        res.end(file.bytes)
        return undefined
      }
      const doc = await history.exportDoc(params.id!, { n: q.n })
      if (!doc) throw notFound('this negotiation is gone')
      const headers = { 'content-disposition': `inline; filename="${doc.negotiation.id}.${format}"` }
      if (format === 'json') return { status: 200, json: doc, headers }
      return format === 'md'
        ? { status: 200, text: renderMarkdown(doc), contentType: 'text/markdown; charset=utf-8', headers }
        : { status: 200, text: renderHtml(doc), contentType: 'text/html; charset=utf-8', headers }
    })
}

/**
 * The API description (CONTRACT.md "API description and languages", issue 20):
 *
 * - [OA1] `GET /api/openapi.json` on a real server is an OpenAPI 3.1 document: its references resolve,
 *   path templates and parameters agree, security names declared schemes, and the codes its error
 *   answers name are shared/errors.ts's, under their statuses;
 * - [OA2] every route the router serves is described, and nothing it does not serve (besides the calls
 *   app.ts answers before the router, which are checked to answer);
 * - [OA3] every example request body is accepted by the zod schema the route validates with, by the
 *   description's own schema, and by the running server with the documented status;
 * - [OA4] what a live negotiation answers fits the documented answer schemas.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { z } from 'zod'
import { ErrorCode } from '../../shared/errors'
import { CreateNegotiationSchema, MintTokenSchema, SeenBodySchema } from '../../shared/schemas'
import { DOCX_CONTENT_TYPE } from '../../shared/word'
import { createApi, type ApiDeps } from '../../server/http/api'
import { Router } from '../../server/http/router'
import { OPENAPI_PATH, OUTSIDE_ROUTER, openApiPath } from '../../server/http/openapi'
import { startServer, type TestServer } from '../helpers/server'

/** The description is walked as plain JSON. */
type Json = any

let server: TestServer
let doc: Json

beforeAll(async () => {
  server = await startServer()
  const res = await server.api(OPENAPI_PATH)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  doc = await res.json()
})

afterAll(async () => {
  await server?.close({ wipe: true })
})

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'] as const

/** Every operation of the document: `GET /api/negotiations/{id}` and its object. */
const operations = (): Array<{ key: string; method: string; path: string; op: Json }> =>
  Object.entries(doc.paths as Record<string, Json>).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((m) => ({ key: `${m.toUpperCase()} ${path}`, method: m, path, op: item[m] })),
  )

/** The value a local reference (`#/components/…`) points at, or undefined. */
function resolve(ref: string): Json {
  if (!ref.startsWith('#/')) return undefined
  return ref
    .slice(2)
    .split('/')
    .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<Json>((node, key) => (node && typeof node === 'object' ? node[key] : undefined), doc)
}

/** `node` with every reference replaced by what it points at (the description has no cycles). */
function deref(node: Json, depth = 0): Json {
  if (depth > 50) throw new Error('reference cycle?')
  if (Array.isArray(node)) return node.map((n) => deref(n, depth + 1))
  if (!node || typeof node !== 'object') return node
  if (typeof node.$ref === 'string') return deref(resolve(node.$ref), depth + 1)
  return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, deref(v, depth + 1)]))
}

/** A zod schema from the description's JSON Schema for `node` (so answers and examples are checked against what is published). */
const published = (node: Json) => z.fromJSONSchema(deref(node))

const jsonSchemaOf = (op: Json, status: string) => op.responses[status]?.content?.['application/json']?.schema

describe('[OA1] GET /api/openapi.json is an OpenAPI 3.1 document', () => {
  it('says 3.1, names the API and has paths', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/)
    expect(typeof doc.info.title).toBe('string')
    expect(typeof doc.info.version).toBe('string')
    expect(Object.keys(doc.paths).length).toBeGreaterThan(10)
    for (const path of Object.keys(doc.paths)) expect(path).toMatch(/^\//)
  })

  it('every $ref resolves', () => {
    const refs: string[] = []
    const walk = (node: Json) => {
      if (Array.isArray(node)) return node.forEach(walk)
      if (!node || typeof node !== 'object') return
      if (typeof node.$ref === 'string') refs.push(node.$ref)
      Object.values(node).forEach(walk)
    }
    walk(doc)
    expect(refs.length).toBeGreaterThan(20)
    expect(refs.filter((r) => resolve(r) === undefined)).toEqual([])
  })

  it('every operation has a unique operationId, answers, and declares exactly its path’s parameters', () => {
    const ids = new Set<string>()
    for (const { key, path, op } of operations()) {
      expect(op.operationId, key).toBeTypeOf('string')
      expect(ids.has(op.operationId), `${key}: operationId ${op.operationId} twice`).toBe(false)
      ids.add(op.operationId)
      expect(Object.keys(op.responses ?? {}).length, key).toBeGreaterThan(0)
      for (const status of Object.keys(op.responses)) expect(status, key).toMatch(/^([1-5]\d\d|default)$/)
      const inPath = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort()
      const declared = (op.parameters ?? []).map(deref).filter((p: Json) => p.in === 'path')
      expect(declared.map((p: Json) => p.name).sort(), key).toEqual(inPath)
      for (const p of declared) expect(p.required, `${key} ${p.name}`).toBe(true)
    }
  })

  it('every security requirement names a declared scheme; admin and capability tokens are bearer tokens', () => {
    const schemes = doc.components.securitySchemes
    expect(schemes.adminToken).toMatchObject({ type: 'http', scheme: 'bearer' })
    expect(schemes.capabilityToken).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' })
    for (const { key, op } of operations()) {
      expect(Array.isArray(op.security), `${key} says who may call it`).toBe(true)
      for (const req of op.security) for (const name of Object.keys(req)) expect(schemes[name], `${key}: ${name}`).toBeDefined()
    }
  })

  it('error answers are the Error shape, and the codes they name are shared/errors.ts’s under their statuses', () => {
    const statusOf = new Map<string, number>(Object.values(ErrorCode).map((c) => [c.name, c.status]))
    expect(deref(doc.components.schemas.Error).properties.error.properties.code.enum.sort()).toEqual([...statusOf.keys()].sort())
    for (const { key, op } of operations()) {
      for (const [status, raw] of Object.entries(op.responses as Record<string, Json>)) {
        const res = deref(raw)
        const schema = res.content?.['application/json']?.schema
        if (Number(status) < 400 || !schema?.properties?.error) continue
        const codes = [...String(res.description).matchAll(/^- `([a-z-]+)`:/gm)].map((m) => m[1]!)
        expect(codes.length, `${key} ${status} names its codes`).toBeGreaterThan(0)
        for (const code of codes) expect(statusOf.get(code), `${key}: ${code} is a ${status}`).toBe(Number(status))
        const example = res.content['application/json'].example
        if (example) expect(published(schema).safeParse(example).success, `${key} ${status} example`).toBe(true)
      }
    }
  })
})

/** Routes a router serves, as the description writes them. */
const servedBy = (router: Router) => router.table.map((r) => `${r.method} ${openApiPath(r.path)}`)
/** What the router serves that the description leaves out. */
const undescribed = (router: Router) => servedBy(router).filter((k) => !operations().some((o) => o.key === k))

describe('[OA2] every route the router serves is described', () => {
  // The route table of the router app.ts serves; building it touches none of its dependencies.
  const router = () => createApi({} as ApiDeps)

  it('the router serves routes, and every one of them is in the description', () => {
    expect(router().table.length).toBeGreaterThan(15)
    expect(undescribed(router())).toEqual([])
  })

  it('a route added without a description is caught', () => {
    const extra = router().on('GET', '/api/negotiations/:id/undescribed', () => ({ status: 200, json: {} }))
    expect(undescribed(extra)).toContain('GET /api/negotiations/{id}/undescribed')
  })

  it('the description names nothing else, except the calls app.ts answers before the router', () => {
    const served = new Set(servedBy(router()))
    const outside = OUTSIDE_ROUTER.map((r) => `${r.method} ${r.path}`)
    expect(
      operations()
        .map((o) => o.key)
        .filter((k) => !served.has(k))
        .sort(),
    ).toEqual([...outside].sort())
  })

  it('and those calls answer as described', async () => {
    for (const { method, path } of OUTSIDE_ROUTER) {
      const res = await server.api(path, { method })
      expect(Object.keys(doc.paths[path][method.toLowerCase()].responses), path).toContain(String(res.status))
      expect(res.status, path).toBe(200)
    }
  })
})

/**
 * The zod schema each JSON-body route validates with (server/http/api.ts): written out here, not read
 * from the description, so a description that names the wrong schema is caught.
 */
const BODY_SCHEMAS: Record<string, z.ZodType> = {
  'POST /api/negotiations': CreateNegotiationSchema,
  'POST /api/negotiations/{id}/tokens': MintTokenSchema,
  'POST /api/negotiations/{id}/seen': SeenBodySchema,
}

describe('[OA3] example request bodies', () => {
  const withBody = () => operations().filter((o) => o.op.requestBody)

  it('every body is described with an example (JSON) or how to send it (a file)', () => {
    expect(withBody().length).toBeGreaterThanOrEqual(5)
    for (const { key, op } of withBody()) {
      const content = op.requestBody.content
      if (content['application/json']) expect(content['application/json'].example, key).toBeDefined()
      else expect(op.requestBody.description, key).toMatch(/curl --data-binary/)
    }
  })

  it('each example is accepted by the zod schema its route validates with, and by the published schema', () => {
    const json = withBody().filter((o) => o.op.requestBody.content['application/json'])
    expect(json.map((o) => o.key).sort()).toEqual(Object.keys(BODY_SCHEMAS).sort())
    for (const { key, op } of json) {
      const { example, schema } = op.requestBody.content['application/json']
      const parsed = BODY_SCHEMAS[key]!.safeParse(example)
      expect(parsed.success, `${key}: ${parsed.error?.message}`).toBe(true)
      expect(published(schema).safeParse(example).success, key).toBe(true)
    }
  })

  it('sent to the server, the examples get their documented answers', async () => {
    const body = (key: string) => {
      const [method, path] = key.split(' ') as [string, string]
      return doc.paths[path][method.toLowerCase()].requestBody.content['application/json'].example
    }
    const documented = (key: string, status: number) => {
      const [method, path] = key.split(' ') as [string, string]
      expect(Object.keys(doc.paths[path][method.toLowerCase()].responses), key).toContain(String(status))
    }

    const create = await server.api('/api/negotiations', { token: server.adminToken, body: body('POST /api/negotiations') })
    expect(create.status).toBe(201)
    documented('POST /api/negotiations', 201)
    const created = await create.json()

    const mint = await server.api(`/api/negotiations/${created.id}/tokens`, {
      token: server.adminToken,
      body: body('POST /api/negotiations/{id}/tokens'),
    })
    expect(mint.status).toBe(201)
    documented('POST /api/negotiations/{id}/tokens', 201)

    const seen = await server.api(`/api/negotiations/${created.id}/seen`, {
      token: created.tokens.reviewer,
      body: body('POST /api/negotiations/{id}/seen'),
    })
    expect(seen.status).toBe(204)
    documented('POST /api/negotiations/{id}/seen', 204)
  })

  it('a body the schema refuses gets the documented 400 Error', async () => {
    const res = await server.api('/api/negotiations', { token: server.adminToken, body: { title: '', parties: [] } })
    expect(res.status).toBe(400)
    const schema = jsonSchemaOf(doc.paths['/api/negotiations'].post, '400')
    expect(published(schema).safeParse(await res.json()).success).toBe(true)
  })
})

describe('[OA4] answers fit the documented schemas', () => {
  /** GETs `path` with `token` and checks the answer against the documented one for `status`. */
  const fits = async (template: string, path: string, token: string | undefined, status = 200) => {
    const res = await server.api(path, token ? { token } : {})
    expect(res.status, path).toBe(status)
    const schema = jsonSchemaOf(doc.paths[template].get, String(status))
    expect(schema, `${template} documents a JSON ${status}`).toBeDefined()
    const answer = await res.json()
    const parsed = published(schema).safeParse(answer)
    expect(parsed.success, `${path}: ${parsed.error?.message}`).toBe(true)
    return answer
  }

  it('a negotiation made from the example, read through every JSON GET', async () => {
    const example = doc.paths['/api/negotiations'].post.requestBody.content['application/json'].example
    const res = await server.api('/api/negotiations', { token: server.adminToken, body: example })
    const created = await res.json()
    expect(published(jsonSchemaOf(doc.paths['/api/negotiations'].post, '201')).safeParse(created).success).toBe(true)
    const id = created.id as string
    const reviewer = created.tokens.reviewer as string
    const observer = created.tokens.observer as string

    await fits('/api/negotiations', '/api/negotiations', server.adminToken)
    await fits('/api/session', '/api/session', reviewer)
    await fits('/api/keys', '/api/keys', undefined)
    await fits('/api/negotiations/{id}', `/api/negotiations/${id}`, observer)
    const list = await fits('/api/negotiations/{id}/versions', `/api/negotiations/${id}/versions`, reviewer)
    expect(list.versions.length).toBeGreaterThan(0)
    const n = list.versions.at(-1).n as number
    await fits('/api/negotiations/{id}/versions/density', `/api/negotiations/${id}/versions/density?buckets=4`, reviewer)
    await fits('/api/negotiations/{id}/versions/{n}', `/api/negotiations/${id}/versions/${n}`, reviewer)
    await fits('/api/negotiations/{id}/diff', `/api/negotiations/${id}/diff?from=0&to=${n}`, reviewer)
    await fits('/api/negotiations/{id}/catchup', `/api/negotiations/${id}/catchup?name=Alice`, reviewer)
    await fits('/api/negotiations/{id}/export', `/api/negotiations/${id}/export?format=json`, reviewer)

    // refusals: the documented statuses, in the Error shape
    await fits('/api/negotiations/{id}/versions', `/api/negotiations/${id}/versions`, observer, 403)
    await fits('/api/negotiations/{id}/versions/{n}', `/api/negotiations/${id}/versions/${n + 100}`, reviewer, 404)
    await fits('/api/negotiations/{id}/record', `/api/negotiations/${id}/record`, reviewer, 404)
    await fits('/api/negotiations/{id}', `/api/negotiations/${id}`, undefined, 401)
  })

  it('the Word routes: the sheet exported as .docx, read back and brought back as a draft', async () => {
    const created = await server.createNegotiation(
      doc.paths['/api/negotiations'].post.requestBody.content['application/json'].example,
    )
    const file = await server.api(`/api/negotiations/${created.id}/export?format=docx`, { token: created.tokens.reviewer })
    expect(file.status).toBe(200)
    expect(Object.keys(doc.paths['/api/negotiations/{id}/export'].get.responses['200'].content)).toContain(
      file.headers.get('content-type'),
    )
    const bytes = new Uint8Array(await file.arrayBuffer())

    for (const [template, path, token] of [
      ['/api/terms/parse', '/api/terms/parse', server.adminToken],
      ['/api/negotiations/{id}/drafts', `/api/negotiations/${created.id}/drafts?name=Alice`, created.tokens.negotiator.us!],
    ] as const) {
      const res = await server.api(path, { token, body: bytes, headers: { 'content-type': DOCX_CONTENT_TYPE } })
      expect(res.status, path).toBe(200)
      const parsed = published(jsonSchemaOf(doc.paths[template].post, '200')).safeParse(await res.json())
      expect(parsed.success, `${path}: ${parsed.error?.message}`).toBe(true)
    }
  })
})

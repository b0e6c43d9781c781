/**
 * A small JSON router on node:http. Parley has a dozen routes on the same
 * port as the websocket and socket.io upgrades, so a framework would add more
 * surface than it removes; what it would give — body limits, JSON errors,
 * params — is here in a few lines.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { ErrorCode } from '../../shared/errors'
import { MAX_MESSAGE_BYTES } from '../../shared/protocol'
import { parseJsonSafely } from '../../shared/schemas'
import { ParleyError, badRequest } from '../errors'
import { StoreUnavailableError } from '../store/types'

export interface RequestContext {
  req: IncomingMessage
  res: ServerResponse
  params: Record<string, string>
  query: URLSearchParams
  /** parsed JSON body (POST/PUT/PATCH), undefined otherwise */
  body: unknown
}

export type Reply =
  { status: number; json?: unknown; text?: string; contentType?: string; headers?: Record<string, string> } | undefined

type Handler = (ctx: RequestContext) => Promise<Reply> | Reply

interface Route {
  method: string
  pattern: RegExp
  keys: string[]
  handler: Handler
}

export class Router {
  private routes: Route[] = []

  on(method: string, path: string, handler: Handler): this {
    const keys: string[] = []
    const pattern = new RegExp(
      '^' +
        path.replace(/:([a-zA-Z]+)/g, (_m, k: string) => {
          keys.push(k)
          return '([^/]+)'
        }) +
        '/?$',
    )
    this.routes.push({ method, pattern, keys, handler })
    return this
  }

  /**
   * Handles the request if a route matches its path; false when none does.
   * A path that is not a URL path at all (a malformed percent-encoding, an
   * unparsable target) is answered here, whatever it names, with 400.
   */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
    const url = parseTarget(req.url)
    if (!url) {
      sendError(res, badRequest('the path is not a well-formed URL path (bad percent-encoding?)'))
      return true
    }
    const matching = this.routes.filter((r) => r.pattern.test(url.pathname))
    if (matching.length === 0) return false
    const route = matching.find((r) => r.method === req.method)
    try {
      if (!route) throw new ParleyError(ErrorCode.badRequest.name, `${req.method} is not supported here`)
      const m = url.pathname.match(route.pattern)!
      const params: Record<string, string> = {}
      route.keys.forEach((k, i) => (params[k] = decodeURIComponent(m[i + 1]!))) // decodable: parseTarget checked
      const body = ['POST', 'PUT', 'PATCH'].includes(req.method ?? '') ? await readJson(req) : undefined
      send(res, await route.handler({ req, res, params, query: url.searchParams, body }))
    } catch (err) {
      // A store that cannot write (disk full, database locked or down) is not a bug: say so, 503.
      const e =
        err instanceof ParleyError
          ? err
          : err instanceof StoreUnavailableError
            ? new ParleyError(ErrorCode.storeUnavailable.name, 'the store could not save this; try again')
            : new ParleyError(ErrorCode.internal.name, 'internal error')
      if (!(err instanceof ParleyError)) (res as ServerResponse & { parleyError?: unknown }).parleyError = err
      sendError(res, e)
    }
    return true
  }
}

/**
 * The request target as a URL whose path decodes, or null. Malformed input is
 * the client's mistake and anyone can send it: a 400, never a 500 with a
 * stack trace in the log per request.
 */
export function parseTarget(target: string | undefined): URL | null {
  let url: URL
  try {
    url = new URL(target ?? '/', 'http://localhost')
    decodeURIComponent(url.pathname)
  } catch {
    return null
  }
  return url
}

/** Answers `{error:{code, message}}` with the code's status. */
export function sendError(res: ServerResponse, e: ParleyError): void {
  // An unread oversized body would otherwise be parsed as the next request on this connection.
  const headers: Record<string, string> = e.code === ErrorCode.tooLarge.name ? { connection: 'close' } : {}
  send(res, { status: e.status, json: { error: e.toBody() }, headers })
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.headersSent) return
  if (!reply) {
    res.writeHead(204).end()
    return
  }
  const headers: Record<string, string> = { 'cache-control': 'no-store', ...reply.headers }
  if (reply.json !== undefined) {
    res.writeHead(reply.status, { ...headers, 'content-type': 'application/json; charset=utf-8' })
    res.end(JSON.stringify(reply.json))
  } else {
    res.writeHead(reply.status, { ...headers, 'content-type': reply.contentType ?? 'text/plain; charset=utf-8' })
    res.end(reply.text ?? '')
  }
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > MAX_MESSAGE_BYTES) throw new ParleyError(ErrorCode.tooLarge.name, 'body over 1 MiB')
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > MAX_MESSAGE_BYTES) throw new ParleyError(ErrorCode.tooLarge.name, 'body over 1 MiB')
    chunks.push(chunk)
  }
  if (size === 0) return {}
  try {
    return parseJsonSafely(Buffer.concat(chunks).toString('utf8'))
  } catch {
    throw badRequest('body is not valid JSON')
  }
}

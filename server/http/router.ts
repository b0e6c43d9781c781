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

export type Handler = (ctx: RequestContext) => Promise<Reply> | Reply

export interface RouteOptions {
  /**
   * `json` (the default): a POST, PUT or PATCH body is read and parsed as JSON,
   * up to 1 MiB, before the handler runs. `raw`: the body is left to the
   * handler, which reads it with `readBody` once it knows who is asking — so
   * an anonymous caller costs no upload — and with its own limit.
   */
  body?: 'json' | 'raw'
}

interface Route {
  method: string
  /** as registered: `:name` for a parameter */
  path: string
  pattern: RegExp
  keys: string[]
  handler: Handler
  body: 'json' | 'raw'
}

export class Router {
  private routes: Route[] = []

  on(method: string, path: string, handler: Handler, opts: RouteOptions = {}): this {
    const keys: string[] = []
    const pattern = new RegExp(
      '^' +
        // a literal `.` (as in /api/openapi.json) is a dot, not any character
        path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:([a-zA-Z]+)/g, (_m, k: string) => {
          keys.push(k)
          return '([^/]+)'
        }) +
        '/?$',
    )
    this.routes.push({ method, path, pattern, keys, handler, body: opts.body ?? 'json' })
    return this
  }

  /** What this router serves, method and path as registered: the API description is checked against it. */
  get table(): Array<{ method: string; path: string }> {
    return this.routes.map(({ method, path }) => ({ method, path }))
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
      const hasBody = ['POST', 'PUT', 'PATCH'].includes(req.method ?? '') && route.body === 'json'
      const body = hasBody ? await readJson(req) : undefined
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
      if (!req.readableEnded) lingerUnread(req)
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
  send(res, { status: e.status, json: { error: e.toBody() } })
}

/** How long a refused request's unread body is let through before its connection is cut. */
export const LINGER_MS = 5_000

/**
 * A request refused before its body was read (too large, no token, wrong
 * role): what the client still sends is let through unread — never held —
 * for up to LINGER_MS, then the connection is cut. Closing at once would
 * reset a socket with unread data on it, and the client, still uploading,
 * would lose the answer; letting it through lets the client read the refusal
 * and stop (nginx's "lingering close"). A body that ends in time leaves the
 * connection usable: Node parses the next request after it.
 */
function lingerUnread(req: IncomingMessage): void {
  const cut = setTimeout(() => req.socket.destroy(), LINGER_MS)
  cut.unref()
  const stop = () => clearTimeout(cut)
  req.once('end', stop).once('close', stop)
  req.resume()
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

/**
 * The request body, refused with 413 (`tooLarge`) past `maxBytes` — at once
 * when Content-Length says so, else as soon as the count passes it: never
 * more than `maxBytes` (and one network chunk) is held. The router lets the
 * rest through unread (lingerUnread) while it answers.
 */
export function readBody(req: IncomingMessage, maxBytes: number, tooLarge: string): Promise<Buffer> {
  const refuse = () => new ParleyError(ErrorCode.tooLarge.name, tooLarge)
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > maxBytes) return Promise.reject(refuse())
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    const done = () => {
      req.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= maxBytes) return void chunks.push(chunk)
      done()
      chunks.length = 0
      reject(refuse())
    }
    const onEnd = () => {
      done()
      resolve(Buffer.concat(chunks, size))
    }
    const onError = (err: Error) => {
      done()
      reject(err)
    }
    const onClose = () => {
      done()
      reject(badRequest('the request body was cut off'))
    }
    req.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose)
  })
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const bytes = await readBody(req, MAX_MESSAGE_BYTES, 'body over 1 MiB')
  if (bytes.length === 0) return {}
  try {
    return parseJsonSafely(bytes.toString('utf8'))
  } catch {
    throw badRequest('body is not valid JSON')
  }
}

/** The built client (dist/client), with index.html for every app route (/n/<id>, /admin, …). */
import { existsSync } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import sirv from 'sirv'
import { badRequest } from '../errors'
import { parseTarget, sendError } from './router'

export function staticClient(dir: string): (req: IncomingMessage, res: ServerResponse) => void {
  if (!existsSync(dir)) {
    return (_req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' })
      res.end('The Parley client is not built. Run `npm run build` (npm start does it for you).\n')
    }
  }
  const serve = sirv(dir, { single: true, etag: true, gzip: true, brotli: true, setHeaders: cacheHeaders })
  return (req, res) => {
    // sirv would answer a malformed percent-encoding with index.html (or throw): it is a bad request.
    if (!parseTarget(req.url)) return sendError(res, badRequest('the path is not a well-formed URL path (bad percent-encoding?)'))
    serve(req, res, () => {
      res.writeHead(404).end()
    })
  }
}

function cacheHeaders(res: ServerResponse, pathname: string): void {
  // Vite fingerprints everything under /assets; the HTML must always be fresh.
  res.setHeader('cache-control', pathname.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache')
}

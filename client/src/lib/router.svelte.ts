/**
 * The client's few routes, from `location.pathname`: `/`, `/admin`,
 * `/n/<negotiationId>`. The server answers every app path with index.html.
 */
import { ID_PATTERN } from '../../../shared/docNames'

export type Route = { name: 'home' } | { name: 'admin' } | { name: 'negotiation'; id: string } | { name: 'not-found' }

export function match(pathname: string): Route {
  const path = pathname.replace(/\/+$/, '') || '/'
  if (path === '/') return { name: 'home' }
  if (path === '/admin') return { name: 'admin' }
  const m = /^\/n\/([^/]+)$/.exec(path)
  if (m && ID_PATTERN.test(decodeURIComponent(m[1]!))) return { name: 'negotiation', id: decodeURIComponent(m[1]!) }
  return { name: 'not-found' }
}

class Router {
  route = $state<Route>(match(location.pathname))

  constructor() {
    addEventListener('popstate', () => (this.route = match(location.pathname)))
  }

  go(path: string): void {
    history.pushState(null, '', path)
    this.route = match(location.pathname)
  }
}

export const router = new Router()

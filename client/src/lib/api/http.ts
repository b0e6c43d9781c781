/**
 * JSON over fetch with the error body of CONTRACT.md (`{error:{code, message}}`)
 * turned into an ApiError the UI can explain.
 */
import { m } from '../../paraglide/messages'
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message)
    this.name = 'ApiError'
  }

  /** the server could not be reached at all */
  get network(): boolean {
    return this.status === 0
  }
}

export async function apiFetch<T>(
  path: string,
  opts: { token?: string; method?: string; body?: unknown; signal?: AbortSignal } = {},
): Promise<T> {
  let res: Response
  try {
    res = await fetch(path, {
      method: opts.method ?? (opts.body !== undefined ? 'POST' : 'GET'),
      headers: {
        accept: 'application/json',
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
      },
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: opts.signal,
      cache: 'no-store',
    })
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err
    throw new ApiError(0, 'network', m.api_server_unreachable())
  }
  if (res.status === 204) return undefined as T
  let body: unknown = null
  try {
    body = await res.json()
  } catch {
    // a proxy's HTML error page, an empty body: fall through with the status
  }
  if (!res.ok) {
    const e = (body as { error?: { code?: string; message?: string } } | null)?.error
    throw new ApiError(res.status, e?.code ?? `http-${res.status}`, e?.message ?? m.api_server_answered({ status: res.status }))
  }
  return body as T
}

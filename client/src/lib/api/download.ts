/**
 * Files from the API (a Word export): fetched with the session's token — a
 * link cannot carry it, the token never goes in a URL — and handed to the
 * browser's downloads through a blob URL.
 */
import { ApiError } from './http'
import { m } from '../../paraglide/messages'

export interface Download {
  blob: Blob
  /** from the answer's content-disposition, else `fallback` */
  filename: string
}

/** The file at `path`; an error answer (`{error:{code, message}}`) becomes an ApiError. */
export async function apiDownload(
  path: string,
  opts: { token: string; fallback: string; signal?: AbortSignal },
): Promise<Download> {
  let res: Response
  try {
    res = await fetch(path, { headers: { authorization: `Bearer ${opts.token}` }, cache: 'no-store', signal: opts.signal })
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err
    throw new ApiError(0, 'network', 'The Parley server could not be reached.')
  }
  if (!res.ok) {
    let e: { code?: string; message?: string } | undefined
    try {
      e = ((await res.json()) as { error?: typeof e }).error
    } catch {
      // not JSON: the status says it
    }
    throw new ApiError(res.status, e?.code ?? `http-${res.status}`, e?.message ?? m.api_server_answered({ status: res.status }))
  }
  const name = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1]
  return { blob: await res.blob(), filename: name && /^[\w.-]+$/.test(name) ? name : opts.fallback }
}

/** Saves a blob as a file the way a link with `download` does. */
export function saveFile({ blob, filename }: Download): void {
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  a.rel = 'noopener'
  a.style.display = 'none'
  document.body.append(a)
  a.click()
  a.remove()
  // the download has its own copy once it started; give it a moment before letting go of the URL
  setTimeout(() => URL.revokeObjectURL(url), 30_000)
}

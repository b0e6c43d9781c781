/**
 * `POST /api/terms/parse` from the browser (CONTRACT.md "Word documents"):
 * a .docx file in, the terms it holds out, for review before they are used;
 * drafts (`POST …/drafts`) go up the same way.
 * XMLHttpRequest rather than fetch because only it reports upload progress;
 * errors are the same ApiError as every other call, with the two a person
 * meets most spelled out.
 */
import { MAX_WORD_FILE_BYTES, type ParsedTermSheet } from '../../../../shared/word'
import { ApiError } from './http'
import { m } from '../../paraglide/messages'

/** In the current language: read when the refusal is made. */
export const tooLargeMessage = (): string => m.api_file_too_large()

/** Where an upload stands: sending (with the fraction sent, when known), then waiting for the server to read it. */
export type WordProgress = { phase: 'uploading'; fraction: number | null } | { phase: 'reading' }

export interface WordUploadOptions {
  onprogress?: (p: WordProgress) => void
  signal?: AbortSignal
}

export const parseWordFile = (token: string, file: File, opts: WordUploadOptions = {}): Promise<ParsedTermSheet> =>
  uploadWordFile<ParsedTermSheet>('/api/terms/parse', token, file, opts)

/** A .docx file POSTed to `path` (a Word route: `/api/terms/parse`, `…/drafts`); the JSON it answers. */
export function uploadWordFile<T>(path: string, token: string, file: File, opts: WordUploadOptions = {}): Promise<T> {
  if (file.size > MAX_WORD_FILE_BYTES) return Promise.reject(new ApiError(413, 'too-large', tooLargeMessage()))
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', path)
    xhr.setRequestHeader('authorization', `Bearer ${token}`)
    xhr.setRequestHeader('accept', 'application/json')
    // the browser's idea of the file's type may be anything (or nothing): the bytes are what count
    xhr.setRequestHeader('content-type', 'application/octet-stream')
    xhr.responseType = 'text'
    xhr.upload.onprogress = (e) =>
      opts.onprogress?.({ phase: 'uploading', fraction: e.lengthComputable ? e.loaded / e.total : null })
    xhr.upload.onload = () => opts.onprogress?.({ phase: 'reading' })
    xhr.onerror = () => reject(new ApiError(0, 'network', m.api_server_unreachable()))
    xhr.onabort = () => reject(new DOMException(m.api_upload_cancelled(), 'AbortError'))
    xhr.onload = () => {
      let body: unknown = null
      try {
        body = JSON.parse(xhr.responseText)
      } catch {
        // a proxy's error page: the status says enough
      }
      if (xhr.status === 200 && body && typeof body === 'object') return resolve(body as T)
      const e = (body as { error?: { code?: string; message?: string } } | null)?.error
      if (xhr.status === 413) return reject(new ApiError(413, e?.code ?? 'too-large', tooLargeMessage()))
      reject(
        new ApiError(xhr.status, e?.code ?? `http-${xhr.status}`, e?.message ?? m.api_server_answered({ status: xhr.status })),
      )
    }
    opts.signal?.addEventListener('abort', () => xhr.abort(), { once: true })
    opts.onprogress?.({ phase: 'uploading', fraction: 0 })
    xhr.send(file)
  })
}

/**
 * Opening a .docx (a zip) from memory with bounds. The archive is never
 * written anywhere: jszip reads it from the bytes, and entry names are only
 * looked up as keys inside it — no name from the archive ever becomes a
 * filesystem path.
 *
 * A zip bomb is refused twice over. The sizes the central directory declares
 * are checked before anything is inflated; and since a hostile archive may
 * declare small sizes and inflate to gigabytes anyway, each part we read is
 * inflated as a stream with a running count, abandoned as soon as it passes
 * its cap. jszip inflates 16 KiB of compressed input per tick, so past the cap
 * at most one such block (≈16 MiB at deflate's best ratio) is inflated, and
 * none of it kept.
 */
import JSZip from 'jszip'
import { BadDocumentError } from './badDocument'

export interface DocxBounds {
  /** word/document.xml inflates to at most this many bytes */
  documentBytes: number
  /** any other part we read (styles, numbering) */
  partBytes: number
  /** the archive's entries together, as declared */
  totalBytes: number
  /** entries in the archive */
  entries: number
}

export const DEFAULT_DOCX_BOUNDS: DocxBounds = {
  documentBytes: 20 * 1024 * 1024,
  partBytes: 2 * 1024 * 1024,
  totalBytes: 50 * 1024 * 1024,
  entries: 10_000,
}

/** The parts of a .docx the term reader needs, as bytes. */
export interface DocxParts {
  document: Uint8Array
  styles?: Uint8Array
  numbering?: Uint8Array
}

const MiB = (n: number) => `${Math.round((n / 1024 / 1024) * 10) / 10} MiB`

/** jszip's central-directory record of an entry: not in its typings, so read defensively. */
function declaredSize(file: JSZip.JSZipObject): number | undefined {
  const size = (file as unknown as { _data?: { uncompressedSize?: unknown } })._data?.uncompressedSize
  return typeof size === 'number' && Number.isFinite(size) ? size : undefined
}

/** A hint for files that are plainly something else than a zip. */
function notZipReason(bytes: Uint8Array): string {
  const starts = (...sig: number[]) => sig.every((b, i) => bytes[i] === b)
  if (bytes.length === 0) return 'the file is empty'
  // OLE2 compound file: Word 97–2003 .doc, and also any password-protected .docx
  if (starts(0xd0, 0xcf, 0x11, 0xe0))
    return 'this is an old Word .doc or a password-protected file; save it as .docx without a password'
  if (starts(0x25, 0x50, 0x44, 0x46)) return 'this is a PDF'
  if (starts(0x7b, 0x5c, 0x72, 0x74, 0x66)) return 'this is an RTF file; save it as .docx'
  return 'the file is not a zip archive'
}

export async function openDocx(bytes: Uint8Array, bounds: DocxBounds = DEFAULT_DOCX_BOUNDS): Promise<DocxParts> {
  const signature = bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b
  if (!signature) throw new BadDocumentError(`not a Word document: ${notZipReason(bytes)}`)
  let zip: JSZip
  try {
    zip = await JSZip.loadAsync(bytes, { checkCRC32: false, createFolders: false })
  } catch (err) {
    throw new BadDocumentError(`not a Word document: the zip archive cannot be read (${(err as Error).message})`)
  }
  const files = Object.values(zip.files).filter((f) => !f.dir)
  if (files.length > bounds.entries) throw new BadDocumentError(`not a Word document: the archive holds ${files.length} entries`)
  let total = 0
  for (const f of files) total += declaredSize(f) ?? 0
  if (total > bounds.totalBytes)
    throw new BadDocumentError(
      `the archive would unpack to ${MiB(total)}, over the ${MiB(bounds.totalBytes)} a Word document may take`,
    )

  const document = zip.file('word/document.xml')
  if (!document) throw new BadDocumentError('not a Word document: the archive has no word/document.xml')
  const budget = { left: bounds.totalBytes }
  const read = (file: JSZip.JSZipObject | null, cap: number) => (file ? inflateBounded(file, cap, budget) : undefined)
  return {
    document: (await read(document, bounds.documentBytes))!,
    styles: await read(zip.file('word/styles.xml'), bounds.partBytes),
    numbering: await read(zip.file('word/numbering.xml'), bounds.partBytes),
  }
}

/** jszip's internal stream helper (public as `internalStream`, missing from its typings). */
interface StreamHelper {
  on(event: 'data', cb: (chunk: Uint8Array) => void): StreamHelper
  on(event: 'error', cb: (err: Error) => void): StreamHelper
  on(event: 'end', cb: () => void): StreamHelper
  resume(): StreamHelper
  pause(): StreamHelper
}

/** Inflates one entry, refusing it once it passes `cap` bytes or the archive's remaining budget. */
async function inflateBounded(file: JSZip.JSZipObject, cap: number, budget: { left: number }): Promise<Uint8Array> {
  const declared = declaredSize(file)
  const tooBig = () =>
    new BadDocumentError(
      `${file.name} unpacks to more than ${MiB(Math.min(cap, budget.left))}, over what a Word document may take`,
    )
  if (declared !== undefined && (declared > cap || declared > budget.left)) throw tooBig()
  const limit = Math.min(cap, budget.left)
  const chunks: Uint8Array[] = []
  let size = 0
  await new Promise<void>((resolve, reject) => {
    let done = false
    const stream = (file as unknown as { internalStream(type: 'uint8array'): StreamHelper }).internalStream('uint8array')
    stream
      .on('data', (chunk) => {
        if (done) return
        size += chunk.length
        if (size > limit) {
          done = true
          chunks.length = 0
          stream.pause()
          reject(tooBig())
          return
        }
        chunks.push(chunk)
      })
      .on('error', (err) => {
        if (done) return
        done = true
        reject(new BadDocumentError(`not a Word document: ${file.name} cannot be unpacked (${err.message})`))
      })
      .on('end', () => {
        if (done) return
        done = true
        resolve()
      })
      .resume()
  })
  budget.left -= size
  const out = new Uint8Array(size)
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}

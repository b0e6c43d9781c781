/**
 * Word files for tests: real ones written by the `docx` package, hand-made
 * ones (for markup `docx` does not write: moves, deleted paragraph marks,
 * content controls, DTDs), and hostile archives built in a few kilobytes of
 * memory (a zip bomb is deflated from a stream, never held inflated).
 */
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import zlib from 'node:zlib'
import { AlignmentType, Document, LevelFormat, Packer, type ISectionOptions } from 'docx'
import JSZip from 'jszip'

type Children = ISectionOptions['children']

/** A numbered list `terms`: "1." at level 0, "(a)" at level 1. */
export const NUMBERED_TERMS = {
  config: [
    {
      reference: 'terms',
      levels: [
        { level: 0, format: LevelFormat.DECIMAL, text: '%1.', alignment: AlignmentType.START },
        { level: 1, format: LevelFormat.LOWER_LETTER, text: '(%2)', alignment: AlignmentType.START },
      ],
    },
    { reference: 'bullets', levels: [{ level: 0, format: LevelFormat.BULLET, text: '•', alignment: AlignmentType.START }] },
  ],
}

/** A .docx written by the `docx` package. */
export async function docxOf(children: Children, opts: { numbering?: typeof NUMBERED_TERMS } = {}): Promise<Uint8Array> {
  const doc = new Document({ ...(opts.numbering ? { numbering: opts.numbering } : {}), sections: [{ children }] })
  return new Uint8Array(await Packer.toBuffer(doc))
}

const W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main'

/** The XML of word/document.xml around `body` (the children of w:body). */
export const documentXml = (body: string, prolog = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>') =>
  `${prolog}<w:document xmlns:w="${W}"><w:body>${body}</w:body></w:document>`

/** A minimal .docx of hand-written parts: `document` is the whole word/document.xml. */
export async function docxFromXml(parts: {
  document?: string
  styles?: string
  numbering?: string
  extra?: Record<string, string>
}): Promise<Uint8Array> {
  const zip = new JSZip()
  zip.file(
    '[Content_Types].xml',
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
  )
  zip.file(
    '_rels/.rels',
    '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>',
  )
  if (parts.document !== undefined) zip.file('word/document.xml', parts.document)
  if (parts.styles !== undefined) zip.file('word/styles.xml', parts.styles)
  if (parts.numbering !== undefined) zip.file('word/numbering.xml', parts.numbering)
  for (const [name, text] of Object.entries(parts.extra ?? {})) zip.file(name, text)
  return zip.generateAsync({ type: 'uint8array', compression: 'DEFLATE' })
}

/**
 * A .docx whose word/document.xml inflates to `inflated` bytes (a
 * paragraph, then spaces) from a few dozen kilobytes: deflated by zlib from a
 * stream, 1 MiB at a time, and wrapped in a zip by hand. With `declared`, the
 * archive lies about the size (local header and central directory both say
 * `declared`), so only a reader that counts while it inflates stops it.
 */
export async function zipBomb(inflated: number, opts: { declared?: number } = {}): Promise<Uint8Array> {
  const tail = Buffer.from('</w:body></w:document>')
  const head = Buffer.from(documentXml('<w:p><w:r><w:t>boom</w:t></w:r></w:p>').replace(tail.toString(), ''))
  const block = Buffer.alloc(1024 * 1024, 0x20)
  let crc = zlib.crc32(head)
  async function* source() {
    yield head
    for (let left = inflated - head.length - tail.length; left > 0; left -= block.length) {
      const piece = left >= block.length ? block : block.subarray(0, left)
      crc = zlib.crc32(piece, crc)
      yield piece
    }
    crc = zlib.crc32(tail, crc)
    yield tail
  }
  const out: Buffer[] = []
  await pipeline(Readable.from(source()), zlib.createDeflateRaw({ level: 9 }), async (deflated: AsyncIterable<Buffer>) => {
    for await (const chunk of deflated) out.push(chunk)
  })
  return zipOf([{ name: 'word/document.xml', data: Buffer.concat(out), crc, declared: opts.declared ?? inflated }])
}

interface Entry {
  name: string
  /** raw deflate data */
  data: Buffer
  crc: number
  /** the uncompressed size the archive states */
  declared: number
}

/** A zip of deflated entries (no zip64, no data descriptors). */
function zipOf(entries: Entry[]): Uint8Array {
  const locals: Buffer[] = []
  const centrals: Buffer[] = []
  let offset = 0
  for (const e of entries) {
    const name = Buffer.from(e.name)
    const local = Buffer.alloc(30)
    local.writeUInt32LE(0x04034b50, 0)
    local.writeUInt16LE(20, 4) // version needed
    local.writeUInt16LE(8, 8) // deflate
    local.writeUInt32LE(e.crc >>> 0, 14)
    local.writeUInt32LE(e.data.length, 18)
    local.writeUInt32LE(e.declared, 22)
    local.writeUInt16LE(name.length, 26)
    const central = Buffer.alloc(46)
    central.writeUInt32LE(0x02014b50, 0)
    central.writeUInt16LE(20, 4)
    central.writeUInt16LE(20, 6)
    central.writeUInt16LE(8, 10)
    central.writeUInt32LE(e.crc >>> 0, 16)
    central.writeUInt32LE(e.data.length, 20)
    central.writeUInt32LE(e.declared, 24)
    central.writeUInt16LE(name.length, 28)
    central.writeUInt32LE(offset, 42)
    locals.push(local, name, e.data)
    centrals.push(central, name)
    offset += local.length + name.length + e.data.length
  }
  const cd = Buffer.concat(centrals)
  const end = Buffer.alloc(22)
  end.writeUInt32LE(0x06054b50, 0)
  end.writeUInt16LE(entries.length, 8)
  end.writeUInt16LE(entries.length, 10)
  end.writeUInt32LE(cd.length, 12)
  end.writeUInt32LE(offset, 16)
  return new Uint8Array(Buffer.concat([...locals, cd, end]))
}

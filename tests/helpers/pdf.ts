/**
 * Reading back what pdfkit wrote, without a PDF library: its objects are plain text with
 * Flate-compressed streams, each shown piece of text is its own `BT … Tm /Fn size Tf [<hex>] TJ
 * ET`, and each font a Type0 font whose ToUnicode CMap is one `bfrange` array per 256 codes.
 * Enough to tell what text a reader extracts, in what order and in which font — not a general
 * PDF parser.
 */
import { inflateSync } from 'node:zlib'

interface PdfObject {
  dict: string
  stream?: Buffer
}

/** One shown piece of text: where it starts, its font, and the text of each glyph (ToUnicode). */
export interface PdfPiece {
  page: number
  x: number
  y: number
  font: string
  /** one entry per glyph, in the order drawn (left to right) */
  units: string[]
  /** the glyph codes, as drawn */
  codes: number[]
}

export interface PdfContent {
  pieces: PdfPiece[]
  /** the text of each line (pieces of one y on one page, left to right, joined by a space) */
  lines: string[]
  /** BaseFont names of the embedded fonts */
  fonts: string[]
  /** name → bytes of each embedded file */
  attachments: Map<string, Buffer>
}

function objects(pdf: Buffer): Map<number, PdfObject> {
  const out = new Map<number, PdfObject>()
  const text = pdf.toString('latin1')
  const re = /(\d+) 0 obj\s*/g
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const start = m.index + m[0].length
    const end = text.indexOf('endobj', start)
    const body = text.slice(start, end)
    const s = body.indexOf('stream')
    if (s < 0 || !body.startsWith('<<')) {
      out.set(Number(m[1]), { dict: body })
      continue
    }
    const dict = body.slice(0, s)
    const length = Number(/\/Length (\d+)/.exec(dict)![1])
    let dataStart = start + s + 'stream'.length
    if (text[dataStart] === '\r') dataStart++
    if (text[dataStart] === '\n') dataStart++
    const raw = pdf.subarray(dataStart, dataStart + length)
    out.set(Number(m[1]), { dict, stream: dict.includes('/FlateDecode') ? inflateSync(raw) : raw })
    re.lastIndex = dataStart + length
  }
  return out
}

const ref = (dict: string, key: string): number | null => {
  const m = new RegExp(`/${key} (\\d+) 0 R`).exec(dict)
  return m ? Number(m[1]) : null
}

const utf16 = (hex: string): string => {
  const units = hex.replace(/\s+/g, '').match(/.{4}/g) ?? []
  return String.fromCharCode(...units.map((u) => parseInt(u, 16)))
}

/** code → text of a ToUnicode CMap (bfrange arrays and offsets, bfchar). */
function toUnicode(cmap: string): Map<number, string> {
  const map = new Map<number, string>()
  for (const block of cmap.match(/beginbfrange([\s\S]*?)endbfrange/g) ?? []) {
    const re = /<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]+)>\s*(\[[^\]]*\]|<[^>]*>)/g
    for (let m = re.exec(block); m; m = re.exec(block)) {
      const lo = parseInt(m[1]!, 16)
      const hi = parseInt(m[2]!, 16)
      if (m[3]!.startsWith('[')) {
        const items = m[3]!.match(/<([^>]*)>/g) ?? []
        items.forEach((it, i) => map.set(lo + i, utf16(it.slice(1, -1))))
      } else {
        const base = utf16(m[3]!.slice(1, -1))
        for (let c = lo; c <= hi; c++)
          map.set(c, base.slice(0, -1) + String.fromCharCode(base.charCodeAt(base.length - 1) + (c - lo)))
      }
    }
  }
  for (const block of cmap.match(/beginbfchar([\s\S]*?)endbfchar/g) ?? []) {
    const re = /<([0-9a-fA-F]+)>\s*<([0-9a-fA-F\s]*)>/g
    for (let m = re.exec(block); m; m = re.exec(block)) map.set(parseInt(m[1]!, 16), utf16(m[2]!))
  }
  return map
}

export function readPdf(pdf: Buffer): PdfContent {
  const objs = objects(pdf)
  const pieces: PdfPiece[] = []
  const fonts = new Set<string>()
  const pages = [...objs.entries()].filter(([, o]) => /\/Type \/Page\b(?!s)/.test(o.dict)).sort((a, b) => a[0] - b[0])
  // Pages in the order the page tree lists them.
  const kids = (/\/Kids \[([^\]]*)\]/.exec([...objs.values()].find((o) => /\/Type \/Pages/.test(o.dict))?.dict ?? '')?.[1] ?? '')
    .match(/(\d+) 0 R/g)
    ?.map((r) => Number(r.split(' ')[0]))
  const ordered = kids ? kids.map((k) => [k, objs.get(k)!] as const) : pages
  ordered.forEach(([, page], pageIndex) => {
    const resources = objs.get(ref(page.dict, 'Resources')!)!.dict
    const fontDict = /\/Font <<([\s\S]*?)>>/.exec(resources)?.[1] ?? ''
    const fontsByName = new Map<string, { name: string; cmap: Map<number, string> }>()
    for (const m of fontDict.matchAll(/\/(\w+) (\d+) 0 R/g)) {
      const font = objs.get(Number(m[2]))!.dict
      const name = /\/BaseFont \/(\S+)/.exec(font)![1]!
      fonts.add(name.replace(/^[A-Z]{6}\+/, ''))
      const cmapRef = ref(font, 'ToUnicode')
      fontsByName.set(m[1]!, { name, cmap: cmapRef ? toUnicode(objs.get(cmapRef)!.stream!.toString('latin1')) : new Map() })
    }
    const content = objs.get(ref(page.dict, 'Contents')!)!.stream!.toString('latin1')
    // One piece per BT…ET block: pdfkit moves the text matrix inside a block for a glyph GPOS
    // offsets (Arabic dots and marks); the block's first Tm is where the piece starts.
    for (const block of content.match(/\bBT\b[\s\S]*?\bET\b/g) ?? []) {
      const tm = /([-\d.]+) ([-\d.]+) Tm/.exec(block)
      const font = fontsByName.get(/\/(\w+) [\d.]+ Tf/.exec(block)?.[1] ?? '')
      if (!tm || !font) continue
      const codes = (block.match(/\[((?:<[0-9a-fA-F]*>|[-\d.\s])*)\] TJ/g) ?? []).flatMap((tj) =>
        (tj.match(/<([0-9a-fA-F]*)>/g) ?? []).flatMap((h) => (h.slice(1, -1).match(/.{4}/g) ?? []).map((c) => parseInt(c, 16))),
      )
      const name = font.name.replace(/^[A-Z]{6}\+/, '')
      pieces.push({
        page: pageIndex,
        x: Number(tm[1]),
        y: Number(tm[2]),
        font: name,
        codes,
        units: codes.map((c) => font.cmap.get(c) ?? ''),
      })
    }
  })
  const byLine = new Map<string, PdfPiece[]>()
  for (const p of pieces) {
    const key = `${p.page}:${p.y.toFixed(1)}`
    byLine.set(key, [...(byLine.get(key) ?? []), p])
  }
  const lines = [...byLine.entries()]
    .sort(([a], [b]) => {
      const [pa, ya] = a.split(':').map(Number)
      const [pb, yb] = b.split(':').map(Number)
      return pa! - pb! || yb! - ya!
    })
    .map(([, ps]) =>
      ps
        .sort((a, b) => a.x - b.x)
        .map((p) => p.units.join(''))
        .join(' '),
    )

  const attachments = new Map<string, Buffer>()
  for (const o of objs.values()) {
    if (!/\/Type \/Filespec/.test(o.dict)) continue
    const name = /\/F \(([^)]*)\)/.exec(o.dict)?.[1]
    const file = /\/EF <<\s*\/F (\d+) 0 R/.exec(o.dict)
    if (name && file) attachments.set(name, objs.get(Number(file[1]))!.stream!)
  }
  return { pieces, lines, fonts: [...fonts], attachments }
}

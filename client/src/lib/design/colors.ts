/**
 * Delegation colours. A negotiation gives each party one colour (#rrggbb);
 * the whole UI derives from it: fills, tints, carets, and a text variant dark
 * enough to read on white and on the party's own tint (WCAG AA).
 */
import type { PartyInfo } from '../../../../shared/negotiation'

const NEUTRAL = '#667080'

function parse(hex: string): [number, number, number] | null {
  const m = /^#([0-9a-f]{6})$/i.exec(hex)
  if (!m) return null
  const n = parseInt(m[1]!, 16)
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255]
}

const toHex = (rgb: [number, number, number]) => '#' + rgb.map((c) => Math.round(c).toString(16).padStart(2, '0')).join('')

function luminance([r, g, b]: [number, number, number]): number {
  const lin = (c: number) => {
    const s = c / 255
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4
  }
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

export function contrast(a: string, b: string): number {
  const ra = parse(a)
  const rb = parse(b)
  if (!ra || !rb) return 1
  const [hi, lo] = [luminance(ra), luminance(rb)].sort((x, y) => y - x) as [number, number]
  return (hi + 0.05) / (lo + 0.05)
}

const mix = (rgb: [number, number, number], toward: number, t: number): [number, number, number] => [
  rgb[0] + (toward - rgb[0]) * t,
  rgb[1] + (toward - rgb[1]) * t,
  rgb[2] + (toward - rgb[2]) * t,
]

/** The party colour, darkened just enough to be AA text on a light tint of itself. */
export function inkOf(color: string): string {
  const rgb = parse(color) ?? parse(NEUTRAL)!
  // The tint behind chips is ~12 % of the colour on white: aim above 4.5 against it.
  const tint = toHex(mix(rgb, 255, 0.88))
  for (let t = 0; t <= 1; t += 0.05) {
    const candidate = toHex(mix(rgb, 0, t))
    if (contrast(candidate, tint) >= 4.8) return candidate
  }
  return '#000000'
}

/** Text colour for a solid fill of the party colour. */
export function onFillOf(color: string): string {
  return contrast(color, '#ffffff') >= 4.5 ? '#ffffff' : '#0f1a2d'
}

/** A solid colour that is a safe fill behind white text (avatars, badges). */
export function fillOf(color: string): string {
  const rgb = parse(color) ?? parse(NEUTRAL)!
  for (let t = 0; t <= 1; t += 0.05) {
    const candidate = toHex(mix(rgb, 0, t))
    if (contrast(candidate, '#ffffff') >= 4.6) return candidate
  }
  return '#000000'
}

/** Translucent selection colour for remote carets in the editor. */
export const selectionOf = (color: string) => `${parse(color) ? color : NEUTRAL}33`

export interface PartyStyle {
  id: string
  name: string
  /** the short label for chips (PartyInfo `code`: US, RU, AE) */
  code: string
  color: string
  ink: string
  fill: string
}

export function partyStyles(parties: readonly PartyInfo[]): Map<string, PartyStyle> {
  const out = new Map<string, PartyStyle>()
  for (const p of parties) {
    const color = parse(p.color) ? p.color : NEUTRAL
    out.set(p.id, { id: p.id, name: p.name, code: codeOf(p), color, ink: inkOf(color), fill: fillOf(color) })
  }
  return out
}

/**
 * A party's code. The server gives every party one (derived for old negotiations); this stands in only for
 * a party info from elsewhere without (the id, cut to a code's length), so no chip is ever empty.
 */
function codeOf(p: PartyInfo): string {
  return (
    p.code ||
    p.id
      .replace(/[^a-z0-9]/gi, '')
      .slice(0, 6)
      .toUpperCase() ||
    '?'
  )
}

/** Inline CSS custom properties for an element that shows a party. */
export function partyVars(style: PartyStyle | undefined): string {
  if (!style) return `--party:${NEUTRAL};--party-ink:#3a424d;--party-fill:#525b68`
  return `--party:${style.color};--party-ink:${style.ink};--party-fill:${style.fill}`
}

export function initials(name: string): string {
  const words = name
    .replace(/\(.*?\)/g, '')
    .trim()
    .split(/[\s.]+/)
    .filter(Boolean)
  if (words.length === 0) return '?'
  const first = [...words[0]!][0] ?? ''
  const last = words.length > 1 ? ([...words[words.length - 1]!][0] ?? '') : ''
  return (first + last).toUpperCase()
}

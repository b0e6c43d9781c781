/**
 * A line chart as a standalone SVG string, for the bench's pictures (the (g)
 * capacity curve). Written here rather than taken from a charting library:
 * the bench needs one static chart with no browser and no fonts to embed, and
 * the libraries that do that (vega, chart.js + canvas) would bring a native
 * canvas build or a headless browser into `npm ci` for it.
 *
 * Points above `yMax` (or ∞: deliveries missing) are drawn on the top edge
 * with an open marker, so a target's failure stays on the picture.
 */

export interface Series {
  name: string
  points: Array<{ x: number; y: number }>
}

export interface ChartSpec {
  title: string
  xLabel: string
  yLabel: string
  series: Series[]
  /** a horizontal line, e.g. the latency limit */
  limit?: { y: number; label: string }
  yMax: number
}

const W = 760
const H = 440
const M = { left: 64, right: 170, top: 48, bottom: 56 }
const COLORS = ['#1f5fbf', '#d1495b', '#2e933c', '#8a5a00', '#6a3d9a', '#00798c', '#555555']

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')

/** Round step for about `n` ticks over [0, max]. */
function tickStep(max: number, n: number): number {
  const raw = max / n
  const mag = 10 ** Math.floor(Math.log10(raw))
  return [1, 2, 2.5, 5, 10].map((k) => k * mag).find((s) => s >= raw) ?? 10 * mag
}

export function lineChart(spec: ChartSpec): string {
  const xs = spec.series.flatMap((s) => s.points.map((p) => p.x))
  const xMax = Math.max(1, ...xs)
  const pw = W - M.left - M.right
  const ph = H - M.top - M.bottom
  const sx = (x: number) => M.left + (x / xMax) * pw
  const sy = (y: number) => M.top + ph - (Math.min(y, spec.yMax) / spec.yMax) * ph
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="24" text-anchor="middle" font-size="14" font-weight="bold">${esc(spec.title)}</text>`,
  ]
  const xStep = tickStep(xMax, 8)
  for (let x = 0; x <= xMax + 1e-9; x += xStep) {
    out.push(`<line x1="${sx(x)}" y1="${M.top}" x2="${sx(x)}" y2="${M.top + ph}" stroke="#eeeeee"/>`)
    out.push(`<text x="${sx(x)}" y="${M.top + ph + 18}" text-anchor="middle">${Math.round(x)}</text>`)
  }
  const yStep = tickStep(spec.yMax, 6)
  for (let y = 0; y <= spec.yMax + 1e-9; y += yStep) {
    out.push(`<line x1="${M.left}" y1="${sy(y)}" x2="${M.left + pw}" y2="${sy(y)}" stroke="#eeeeee"/>`)
    out.push(`<text x="${M.left - 8}" y="${sy(y) + 4}" text-anchor="end">${y}</text>`)
  }
  out.push(`<rect x="${M.left}" y="${M.top}" width="${pw}" height="${ph}" fill="none" stroke="#999999"/>`)
  out.push(`<text x="${M.left + pw / 2}" y="${H - 14}" text-anchor="middle">${esc(spec.xLabel)}</text>`)
  out.push(
    `<text x="18" y="${M.top + ph / 2}" text-anchor="middle" transform="rotate(-90 18 ${M.top + ph / 2})">${esc(spec.yLabel)}</text>`,
  )
  if (spec.limit) {
    const y = sy(spec.limit.y)
    out.push(`<line x1="${M.left}" y1="${y}" x2="${M.left + pw}" y2="${y}" stroke="#000000" stroke-dasharray="6 4"/>`)
    out.push(`<text x="${M.left + pw - 4}" y="${y - 6}" text-anchor="end">${esc(spec.limit.label)}</text>`)
  }
  spec.series.forEach((s, i) => {
    const color = COLORS[i % COLORS.length]!
    const pts = s.points.map((p) => `${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join(' ')
    out.push(`<polyline points="${pts}" fill="none" stroke="${color}" stroke-width="2"/>`)
    for (const p of s.points) {
      const off = !(p.y <= spec.yMax)
      out.push(
        `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="${off ? 5 : 3.5}" fill="${off ? '#ffffff' : color}" stroke="${color}" stroke-width="2"/>`,
      )
    }
    const ly = M.top + 12 + i * 20
    out.push(`<line x1="${W - M.right + 16}" y1="${ly}" x2="${W - M.right + 40}" y2="${ly}" stroke="${color}" stroke-width="2"/>`)
    out.push(`<text x="${W - M.right + 46}" y="${ly + 4}">${esc(s.name)}</text>`)
  })
  const ly = M.top + 12 + spec.series.length * 20 + 8
  out.push(
    `<circle cx="${W - M.right + 28}" cy="${ly}" r="5" fill="#ffffff" stroke="#555555" stroke-width="2"/><text x="${W - M.right + 46}" y="${ly + 4}">above ${spec.yMax} or missing</text>`,
  )
  out.push('</svg>')
  return out.join('\n')
}

/**
 * Issue 18, item 4 — big boards: where cards go (shared/boardLayout.ts) and
 * what Fit shows (client/src/lib/board/geometry.ts fitView). Forty opening
 * terms make a grid that reads in sheet order, overlaps nothing and is
 * readable at Fit; a new term or note never lands on a card, whatever the
 * board looks like.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  BOARD_MARGIN,
  CLEARANCE,
  COLUMN_PITCH,
  MAX_COLUMNS,
  NOTE_MIN_HEIGHT,
  NOTE_WIDTH,
  READABLE_ZOOM,
  TERM_MIN_HEIGHT,
  TERM_WIDTH,
  boundsOf,
  columnsFor,
  estimateTermHeight,
  freeSpotNear,
  nextTermSpot,
  openingLayout,
  overlaps,
  termRect,
  type Rect,
} from '../../shared/boardLayout'
import { fitView } from '../../client/src/lib/board/geometry'

const fortyTerms = Array.from({ length: 40 }, (_, i) => ({
  title: i % 9 === 0 ? `Article ${i + 1}: jurisdiction over offences committed on board ships and aircraft` : `Article ${i + 1}`,
  body: 'The requested party answers within thirty days. '.repeat(1 + (i % 6)),
}))

/** Pairs of rectangles that overlap (or touch closer than `clearance`). */
function collisions(rects: Rect[], clearance = 0): Array<[number, number]> {
  const out: Array<[number, number]> = []
  for (let i = 0; i < rects.length; i++)
    for (let j = i + 1; j < rects.length; j++) if (overlaps(rects[i]!, rects[j]!, clearance)) out.push([i, j])
  return out
}

/** A laptop's board: a 1280×800 window less the top bar and toolbar. */
const SCREEN = { width: 1280, height: 680 }

describe('[BB1] the opening layout of a big board', () => {
  const laid = openingLayout(fortyTerms)
  const rects = laid.map(termRect)

  it('lays 40 terms out as a grid of five columns, in sheet order, overlapping nothing', () => {
    expect(laid.map((t) => t.title)).toEqual(fortyTerms.map((t) => t.title))
    expect(columnsFor(40)).toBe(5)
    expect(MAX_COLUMNS).toBe(5)
    const xs = [...new Set(laid.map((t) => t.x))].sort((a, b) => a - b)
    expect(xs).toEqual([0, 1, 2, 3, 4].map((c) => BOARD_MARGIN + c * COLUMN_PITCH))
    // Reading order: left to right, then down.
    for (let i = 1; i < laid.length; i++) {
      const [a, b] = [laid[i - 1]!, laid[i]!]
      expect(b.y > a.y || (b.y === a.y && b.x > a.x), `term ${i + 1} after term ${i}`).toBe(true)
    }
    expect(new Set(laid.map((t) => t.y)).size).toBe(8)
    expect(collisions(rects, CLEARANCE)).toEqual([])
  })

  it('is readable: a whole row fits a laptop screen at a readable zoom, and Fit never goes below it', () => {
    const b = boundsOf(rects)!
    expect(b.w * READABLE_ZOOM).toBeLessThan(SCREEN.width - 2 * 48)
    const v = fitView(b, SCREEN)
    expect(v.zoom).toBeGreaterThanOrEqual(READABLE_ZOOM)
  })

  it('keeps a few terms in three columns, and each row as tall as its tallest card', () => {
    const six = openingLayout(fortyTerms.slice(0, 6))
    expect(new Set(six.map((t) => t.x)).size).toBe(3)
    const rowTwo = six[3]!.y
    expect(rowTwo).toBeGreaterThanOrEqual(BOARD_MARGIN + Math.max(...six.slice(0, 3).map(estimateTermHeight)))
  })

  it('estimates a card no shorter than drawn at the least, and bounded for a long text (the body is clamped)', () => {
    expect(estimateTermHeight({ title: 'A', body: '' })).toBe(TERM_MIN_HEIGHT)
    const long = estimateTermHeight({ title: 'A', body: 'word '.repeat(2000) })
    expect(long).toBeGreaterThan(TERM_MIN_HEIGHT)
    expect(long).toBeLessThan(320)
  })
})

/** Random boards: terms in a grid or anywhere, notes anywhere, some huge. */
const rect = (w: number, hMin: number) =>
  fc.record({
    x: fc.integer({ min: -1500, max: 3000 }),
    y: fc.integer({ min: -1500, max: 3000 }),
    w: fc.constant(w),
    h: fc.integer({ min: hMin, max: hMin + 400 }),
  })
const board = fc.record({
  grid: fc.integer({ min: 0, max: 45 }),
  loose: fc.array(rect(TERM_WIDTH, TERM_MIN_HEIGHT), { maxLength: 12 }),
  notes: fc.array(rect(NOTE_WIDTH, NOTE_MIN_HEIGHT), { maxLength: 12 }),
})

describe('[BB2] a new term or note never overlaps what is on the board', () => {
  it('a new term goes to the first free cell after the last term: beside it while the row has room', () => {
    const rects = openingLayout(fortyTerms.slice(0, 7)).map(termRect)
    const next = nextTermSpot(rects, rects)
    expect(next).toEqual({ x: rects[6]!.x + COLUMN_PITCH, y: rects[6]!.y })
    const full = openingLayout(fortyTerms).map(termRect)
    const below = nextTermSpot(full, full)
    expect(below.x).toBe(BOARD_MARGIN)
    expect(below.y).toBeGreaterThan(Math.max(...full.map((r) => r.y + r.h)))
  })

  it('a new term skips a cell a note or a moved card sits in', () => {
    const rects = openingLayout(fortyTerms.slice(0, 7)).map(termRect)
    const note = { x: rects[6]!.x + COLUMN_PITCH + 40, y: rects[6]!.y + 30, w: NOTE_WIDTH, h: NOTE_MIN_HEIGHT }
    const next = nextTermSpot(rects, [...rects, note])
    expect(next).toEqual({ x: rects[6]!.x + 2 * COLUMN_PITCH, y: rects[6]!.y })
  })

  it('property: the spot for a new term, of any height, overlaps no card', () => {
    fc.assert(
      fc.property(board, fc.integer({ min: 100, max: 320 }), ({ grid, loose, notes }, h) => {
        const terms = [...openingLayout(fortyTerms.slice(0, grid)).map(termRect), ...loose]
        const taken = [...terms, ...notes]
        const at = nextTermSpot(terms, taken, h)
        const placed = { ...at, w: TERM_WIDTH, h: Math.max(h, TERM_MIN_HEIGHT) }
        expect(taken.filter((r) => overlaps(placed, r))).toEqual([])
      }),
      { numRuns: 300 },
    )
  })

  it('property: a new note lands near the given centre, on no card', () => {
    fc.assert(
      fc.property(board, fc.integer({ min: -500, max: 2500 }), fc.integer({ min: -500, max: 2500 }), (b, cx, cy) => {
        const taken = [...openingLayout(fortyTerms.slice(0, b.grid)).map(termRect), ...b.loose, ...b.notes]
        const at = freeSpotNear(cx, cy, NOTE_WIDTH, NOTE_MIN_HEIGHT, taken)
        const placed = { ...at, w: NOTE_WIDTH, h: NOTE_MIN_HEIGHT }
        expect(taken.filter((r) => overlaps(placed, r))).toEqual([])
        if (
          !taken.some((r) =>
            overlaps({ x: cx - NOTE_WIDTH / 2, y: cy - NOTE_MIN_HEIGHT / 2, w: NOTE_WIDTH, h: NOTE_MIN_HEIGHT }, r, CLEARANCE),
          )
        )
          expect(Math.hypot(at.x + NOTE_WIDTH / 2 - cx, at.y + NOTE_MIN_HEIGHT / 2 - cy)).toBeLessThan(1)
      }),
      { numRuns: 300 },
    )
  })

  it('a note asked for in the middle of the 40-term grid goes beside it, not under a card', () => {
    const taken = openingLayout(fortyTerms).map(termRect)
    const mid = boundsOf(taken)!
    const at = freeSpotNear(mid.x + mid.w / 2, mid.y + mid.h / 2, NOTE_WIDTH, NOTE_MIN_HEIGHT, taken)
    expect(collisions([{ ...at, w: NOTE_WIDTH, h: NOTE_MIN_HEIGHT }, ...taken]).filter(([i]) => i === 0)).toEqual([])
  })
})

describe('[BB3] Fit stops at a readable zoom', () => {
  it('fits a small board whole, centred, at no more than 100 %', () => {
    const b = { x: 40, y: 40, w: 980, h: 400 }
    const v = fitView(b, SCREEN)
    expect(v.zoom).toBe(1)
    expect(v.tx + (b.x + b.w / 2) * v.zoom).toBeCloseTo(SCREEN.width / 2)
    expect(v.ty + (b.y + b.h / 2) * v.zoom).toBeCloseTo(SCREEN.height / 2)
  })

  it('zooms out as far as needed down to the readable zoom, no further', () => {
    const b = { x: 0, y: 0, w: 1800, h: 800 }
    const v = fitView(b, SCREEN)
    expect(v.zoom).toBeCloseTo((SCREEN.width - 96) / 1800)
    const big = fitView({ x: 0, y: 0, w: 8000, h: 6000 }, SCREEN)
    expect(big.zoom).toBe(READABLE_ZOOM)
    expect(fitView({ x: 0, y: 0, w: 8000, h: 6000 }, SCREEN, { minZoom: 0.2 }).zoom).toBeCloseTo(0.2)
  })

  it('shows what does not fit from the first terms on: the grid’s top-left card in view, the rest centred where it fits', () => {
    const rects = openingLayout(fortyTerms).map(termRect)
    const b = boundsOf(rects)!
    const v = fitView(b, SCREEN, { first: rects[0] })
    expect(v.zoom).toBe(READABLE_ZOOM)
    const onScreen = (r: Rect) => ({ x: r.x * v.zoom + v.tx, y: r.y * v.zoom + v.ty, w: r.w * v.zoom, h: r.h * v.zoom })
    const first = onScreen(rects[0]!)
    expect(first.y).toBeCloseTo(48)
    expect(first.x).toBeGreaterThanOrEqual(48)
    // The grid's width fits at this zoom: centred across.
    expect(v.tx + (b.x + b.w / 2) * v.zoom).toBeCloseTo(SCREEN.width / 2)
    // The first rows are all in view.
    const inView = rects
      .map(onScreen)
      .filter((r) => r.x >= 0 && r.y >= 0 && r.x + r.w <= SCREEN.width && r.y + r.h <= SCREEN.height)
    expect(inView.length).toBeGreaterThanOrEqual(10)
  })

  it('starts at the first term, not at a note far to the left, yet never past the content’s end', () => {
    const terms = openingLayout(fortyTerms).map(termRect)
    const note = { x: -4000, y: -3000, w: NOTE_WIDTH, h: NOTE_MIN_HEIGHT }
    const b = boundsOf([...terms, note])!
    const v = fitView(b, SCREEN, { first: terms[0] })
    // Down: the first row at the top. Across, the grid is narrower than the view: it ends at the content's end,
    // the first term further in.
    expect(terms[0]!.y * v.zoom + v.ty).toBeCloseTo(48)
    expect(terms[0]!.x * v.zoom + v.tx).toBeGreaterThan(48)
    expect((b.x + b.w) * v.zoom + v.tx).toBeCloseTo(SCREEN.width - 48)
    const last = fitView(b, SCREEN, { first: { x: 1e6, y: 1e6, w: 1, h: 1 } })
    expect((b.x + b.w) * last.zoom + last.tx).toBeCloseTo(SCREEN.width - 48)
  })
})

/**
 * Who made a change and when, for Word's revision marks: the board row that
 * wrote or removed the text (history/redline.ts RowSeg `seq`) read back from
 * the log. A row's author is the connection's token — party and user — and
 * its time the server's clock at commit (store/types.ts Author, NewUpdate
 * `at`), never anything a client claimed.
 *
 * The rows wanted are few (one per changed run of a redline), so they are
 * read as short ranges of the log — neighbours within GAP of each other in
 * one read — rather than the window whole.
 */
import type { Store } from '../store/types'
import type { Who } from './redlineSpans'

/** Rows this close together are read in one range (the ones between are read and dropped). */
const GAP = 16
/** Ranges read at once. */
const PARALLEL = 4

export async function rowAuthors(
  store: Store,
  docName: string,
  seqs: Iterable<number>,
  onProgress?: (done: number, total: number) => void,
): Promise<Map<number, Who>> {
  const wanted = [...new Set(seqs)].filter((s) => Number.isSafeInteger(s) && s > 0).sort((a, b) => a - b)
  const ranges: Array<[number, number]> = []
  for (const s of wanted) {
    const last = ranges[ranges.length - 1]
    if (last && s - last[1] <= GAP) last[1] = s
    else ranges.push([s, s])
  }
  const want = new Set(wanted)
  const out = new Map<number, Who>()
  for (let i = 0; i < ranges.length; i += PARALLEL) {
    const pages = await Promise.all(ranges.slice(i, i + PARALLEL).map(([a, b]) => store.readUpdates(docName, a - 1, b)))
    for (const rows of pages)
      for (const r of rows) if (want.has(r.seq)) out.set(r.seq, { party: r.author.party, user: r.author.user, at: r.at })
    onProgress?.(out.size, want.size)
  }
  return out
}

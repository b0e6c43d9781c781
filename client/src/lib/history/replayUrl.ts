/**
 * The replay's place in the URL: `/n/<id>?v=12&from=9&term=<termId>&by=us,ru`
 * (and `moves=1` when versions that only moved cards are shown) opens the
 * replay at that version. The capability token never goes here;
 * invite links keep it in the fragment (`#token=…`), which browsers do not
 * send to a server. Kept apart from the replay view so the initial bundle
 * carries only this.
 */
export interface ReplayParams {
  /** null: the latest version */
  v: number | null
  /** null: the version just before `v` */
  from: number | null
  term: string | null
  parties: string[]
  /** show versions that only moved cards; absent: hidden */
  moves?: boolean
}

const PARAM_KEYS = ['v', 'from', 'term', 'by', 'moves'] as const

const versionParam = (s: string | null): number | null => (s !== null && /^\d{1,9}$/.test(s) ? Number(s) : null)

/** The replay a URL asks for, or null when it asks for none (no `v`). */
export function parseReplayParams(search: string): ReplayParams | null {
  const q = new URLSearchParams(search)
  if (!q.has('v')) return null
  const term = q.get('term')
  return {
    v: versionParam(q.get('v')),
    from: versionParam(q.get('from')),
    term: term && term.length <= 64 ? term : null,
    parties: (q.get('by') ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter((p) => /^[a-z0-9-]{1,32}$/.test(p)),
    moves: q.get('moves') === '1',
  }
}

/** `search` with the replay's parameters set (or removed when `params` is null), other parameters kept. */
export function replaySearch(search: string, params: ReplayParams | null): string {
  const q = new URLSearchParams(search)
  for (const k of PARAM_KEYS) q.delete(k)
  if (params) {
    q.set('v', String(params.v ?? 'latest'))
    if (params.from !== null) q.set('from', String(params.from))
    if (params.term !== null) q.set('term', params.term)
    if (params.parties.length > 0) q.set('by', params.parties.join(','))
    if (params.moves) q.set('moves', '1')
  }
  const s = q.toString()
  return s ? `?${s}` : ''
}

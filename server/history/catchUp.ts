/**
 * "N changes since you were last here" (CONTRACT.md "Comments and catch-up"):
 * per participant — a token's id and the name its holder goes by — the last
 * version they saw, and from it the versions since, the redline since, and
 * the comments that mention them. Reads committed rows only.
 */
import { displayName } from '../../shared/displayName'
import type { PlainThread } from '../../shared/comments'
import { VERSION_PAGE_DEFAULT, type CatchUp } from '../../shared/schemas'
import type { Store } from '../store/types'
import type { HistoryQueries } from './queries'

/** Who is catching up: the token (jti) and the name they go by (the token's, else the one they gave). */
export const viewerKey = (jti: string, name: string | null | undefined): string => `${jti}:${displayName(name)}`

export interface CatchUpDeps {
  store: Store
  history: HistoryQueries
  /** the threads this reader may read: the shared ones and, for a negotiator, its delegation's */
  threads(negotiationId: string, party: string | null): Promise<PlainThread[]>
}

export async function catchUp(
  deps: CatchUpDeps,
  negotiationId: string,
  who: { jti: string; name: string | null | undefined; party: string | null },
): Promise<CatchUp> {
  const user = displayName(who.name)
  await deps.history.index.current(negotiationId)
  const [seen, last] = await Promise.all([
    deps.store.lastSeen(negotiationId, viewerKey(who.jti, who.name)),
    deps.store.lastVersion(negotiationId),
  ])
  const latest = last?.n ?? 0
  if (!seen) return { lastSeen: null, latest, versions: [], terms: [], mentions: [] }
  const from = Math.min(seen.n, latest)
  const [page, terms, threads] = await Promise.all([
    deps.history.versions(negotiationId, { after: from, limit: VERSION_PAGE_DEFAULT }),
    from < latest ? deps.history.diff(negotiationId, from, latest) : Promise.resolve([]),
    deps.threads(negotiationId, who.party),
  ])
  const mentions = threads.flatMap((t) =>
    t.comments
      .filter((c) => !c.deleted && c.at > seen.at && c.mentions.includes(user))
      .map((c) => ({ threadId: t.id, commentId: c.id, by: { party: c.party, user: c.user }, at: new Date(c.at).toISOString() })),
  )
  return {
    lastSeen: seen.n,
    latest,
    versions: page.versions,
    terms: terms.filter((d) => d.change !== 'unchanged'),
    mentions: mentions.sort((a, b) => (a.at < b.at ? -1 : 1)),
  }
}

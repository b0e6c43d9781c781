/**
 * Issue 12 — the first history request after a restart costs about what a
 * warm one does: [HA13] a page of versions that are all followed by others,
 * a past sheet, a redline and the density are read from what is stored (the
 * versions and the materialised history), without loading the version
 * index's fold (which rebuilds both docs of the negotiation: seconds at a
 * million updates); the newest page, which may still grow, does load it.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { board } from '../../shared/docLayout'
import { VersionIndex } from '../../server/history/versionIndex'
import { HistoryQueries } from '../../server/history/queries'
import { startHistoryStack } from '../helpers/historyStack'

describe('the first history request after a restart', () => {
  it('[HA13] reads stored versions, sheets, redlines and the density without loading the fold; the newest page does load it', async () => {
    const s = await startHistoryStack({
      terms: [{ id: 't1', title: 'Response deadline', body: 'Requests are answered within 30 days.' }],
    })
    try {
      const clients = [await s.client('a', 'Alpha delegate'), await s.client('b', 'Beta delegate')]
      const body = (d: Y.Doc) => board(d).terms.get('t1')!.get('body') as Y.Text
      for (let i = 0; i < 10; i++) {
        s.clock.advance(6000)
        clients[i % 2]!.edit((d) => body(d).insert(body(d).length, ` clause ${i}.`))
        await s.settle()
      }
      const all = await s.history.versions(s.id, { after: 0, limit: 100 })
      expect(all.versions.length).toBeGreaterThan(8)
      const warm = {
        page: await s.history.versions(s.id, { after: 0, limit: 4 }),
        sheet: await s.history.sheetAt(s.id, 5),
        diff: await s.history.diff(s.id, 2, 6),
        density: await s.history.density(s.id, 4),
      }
      await s.index.close()

      // A restarted server: a fresh index and reader on the same store; every doc rebuild counted.
      const reads: string[] = []
      const { latestCheckpoint, readUpdates } = s.store
      s.store.latestCheckpoint = (doc, at) => (reads.push(`checkpoint ${doc}`), latestCheckpoint.call(s.store, doc, at))
      s.store.readUpdates = (doc, after, upTo) => (reads.push(`rows ${doc}`), readUpdates.call(s.store, doc, after, upTo))
      const index = new VersionIndex({ store: s.store, negotiation: (id) => s.service.get(id), log: () => {} })
      const history = new HistoryQueries(s.store, index, (id) => s.service.get(id))
      try {
        expect(await history.versions(s.id, { after: 0, limit: 4 })).toEqual(warm.page)
        expect(await history.sheetAt(s.id, 5)).toEqual(warm.sheet)
        expect(await history.diff(s.id, 2, 6)).toEqual(warm.diff)
        expect(await history.density(s.id, 4)).toEqual(warm.density)
        expect(reads).toEqual([])
        // The newest page may hold a version still growing: that needs the log.
        expect(await history.versions(s.id, { after: all.versions.length - 2, limit: 4 })).toEqual({
          versions: all.versions.slice(-2),
          next: null,
        })
        expect(reads.length).toBeGreaterThan(0)
      } finally {
        s.store.latestCheckpoint = latestCheckpoint
        s.store.readUpdates = readUpdates
        await index.close()
      }
    } finally {
      await s.close()
    }
  })
})

/**
 * Reopening by edit, decided under the negotiation's command lock (issue 11,
 * item 13; server/negotiation/ledgerWriter.ts), through the real rooms, group
 * commit, ledger writer, service and SQLite store (tests/helpers/historyStack.ts):
 *
 * [R1] a command right behind an edit of an agreed term decides after the
 *      reopen that edit causes: it accepts the reopened term, and the history
 *      reads edit, reopen, accept;
 * [R2] an edit of an agreed term committed without its reopen (the server died
 *      between the two) is found when the board is next loaded, and the term
 *      reopened then.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { board, readStatus, replaceText } from '../../shared/docLayout'
import { boardDocName } from '../../shared/docNames'
import { docAt } from '../../server/history/reconstruct'
import { SqliteStore } from '../../server/store/sqlite'
import { verifyNegotiation } from '../../server/history/verify'
import { startHistoryStack } from '../helpers/historyStack'

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})
const terms = [{ id: 't1', title: 'Deadline', body: 'Within 30 days.' }]
const body = (d: Y.Doc) => board(d).terms.get('t1')!.get('body') as Y.Text

describe('reopening by edit, under the command lock', () => {
  it('[R1] a command right behind an edit of an agreed term decides after the reopen the edit causes', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-reopen-'))
    dirs.push(dir)
    const s = await startHistoryStack({ dir, terms })
    try {
      await s.service.move(s.actor('a'), 'accept', 't1')
      await s.service.move(s.actor('b'), 'accept', 't1')
      await s.settle()
      expect(readStatus((await s.ledger()).doc, 't1')?.state).toBe('agreed')
      const a = await s.client('a')
      s.clock.advance(1000)
      // no settling in between: the accept is on its way while the edit is still being committed
      a.edit((d) => replaceText(body(d), 'Within 45 days.'))
      await s.service.move(s.actor('b'), 'accept', 't1')
      await s.settle()
      expect(readStatus((await s.ledger()).doc, 't1')).toMatchObject({ state: 'accepted', updatedBy: 'b' })
      const versions = await s.index.list(s.id)
      expect(versions.slice(-3).map((v) => `${v.kind}:${v.party}`)).toEqual(['edit:a', 'reopen:a', 'accept:b'])
    } finally {
      await s.close()
    }
  })

  it('[R2] an edit of an agreed term whose reopen died with the server is reopened when the board is next loaded', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-reopen-'))
    dirs.push(dir)
    const s = await startHistoryStack({ dir, terms })
    await s.service.move(s.actor('a'), 'accept', 't1')
    await s.service.move(s.actor('b'), 'accept', 't1')
    await s.close()

    // What a crash between the edit's commit and the reopen's leaves: the edit, alone.
    const store = new SqliteStore(join(dir, 'parley.db'))
    const name = boardDocName(s.id)
    const doc = await docAt(store, name, await store.headSeq(name))
    const editor = new Y.Doc()
    Y.applyUpdate(editor, Y.encodeStateAsUpdate(doc))
    const before = Y.encodeStateVector(editor)
    replaceText(body(editor), 'Within 60 days.')
    await store.appendUpdates([
      {
        doc: name,
        at: s.clock.now() + 1000,
        author: { user: 'a-user', party: 'a', role: 'negotiator', conn: 'c-gone' },
        update: Y.encodeStateAsUpdate(editor, before),
      },
    ])
    await store.close()

    const again = await startHistoryStack({ dir, reopen: true, negotiationId: s.id })
    try {
      again.service.ledgerWriter.unseenEditGraceMs = 0
      expect(readStatus((await again.ledger()).doc, 't1')?.state).toBe('agreed')
      await again.board()
      await again.settle()
      expect(readStatus((await again.ledger()).doc, 't1')?.state).toBe('reopened')
      const last = (await again.index.list(again.id)).at(-1)!
      expect(last).toMatchObject({ kind: 'reopen', party: null, user: 'Parley', termIds: ['t1'] })
      expect(last.summary).toBe("Parley reopened 'Deadline': its text no longer matches the agreed text")
      expect((await verifyNegotiation(again.store, again.id)).ok).toBe(true)
    } finally {
      await again.close()
    }
  })
})

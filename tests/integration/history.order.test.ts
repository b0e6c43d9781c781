/**
 * The order of a negotiation's history is the store's gseq (server/history/fold.ts
 * `nextRow`), so a board watcher's move must be numbered after the board
 * update that caused it, though both are in one group commit and the move was
 * queued while the update was being applied. The CommitQueue appends the rooms
 * of a flush in doc-name order (`<id>/board` before `<id>/ledger`) for that:
 *
 * [HO1] whatever the order in which the rooms had work queued in the turn — here
 *       the ledger room first — a propose and its board row commit together,
 *       the board row numbered first, and the propose version shows the term.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { authorsOf, insertTerm, ledger } from '../../shared/docLayout'
import { boardDocName, ledgerDocName } from '../../shared/docNames'
import { moveMeta } from '../../server/history/logRows'
import type { StoredUpdate } from '../../server/store/types'
import { SERVER_AUTHOR, startHistoryStack } from '../helpers/historyStack'

const dirs: string[] = []
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
})

describe('the order of one group commit', () => {
  it('[HO1] a propose is numbered after the board row that caused it, even with the ledger room queued first', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-order-'))
    dirs.push(dir)
    const s = await startHistoryStack({ dir })
    try {
      const a = await s.client('a', 'Ann')
      const ledgerRoom = await s.ledger()
      await s.settle()
      // In one turn: a server write puts the ledger room in the flush first, then a term appears.
      void ledgerRoom.serverWrite(SERVER_AUTHOR, (d) => ledger(d).meta.set('note', 'first in this turn'))
      a.edit((d) => insertTerm(d, 't-new', { title: 'Jurisdiction', body: 'Either territory.' }))
      await s.settle()

      const boardRows = await s.store.readUpdates(boardDocName(s.id), 0)
      const ledgerRows = await s.store.readUpdates(ledgerDocName(s.id), 0)
      const created = boardRows.at(-1)!
      const propose = ledgerRows.find((r) => moveMeta(r.meta)?.kind === 'propose')!
      // Ann's first edit introduced her client id: the ledger names her (authors) once that commit
      // is durable, in a write of its own after it — the last ledger row, after the note and the propose.
      const [note, proposeRow, names] = ledgerRows.slice(-3) as [StoredUpdate, StoredUpdate, StoredUpdate]
      expect(proposeRow).toBe(propose)
      expect(moveMeta(note.meta)).toBeNull()
      expect(names.meta).toBeUndefined()
      expect(names.gseq).toBeGreaterThan(propose.gseq)
      const named = new Y.Doc()
      for (const r of ledgerRows.slice(0, -1)) Y.applyUpdate(named, r.update)
      expect(authorsOf(named).size).toBe(0)
      Y.applyUpdate(named, names.update)
      expect(Object.fromEntries(authorsOf(named))).toEqual({ [a.doc.clientID]: { party: 'a', user: 'Ann' } })
      // one commit: the note and the propose are consecutive ledger rows, and the board row comes before the propose
      expect(propose.seq).toBe(note.seq + 1)
      expect(propose.gseq).toBe(note.gseq + 1)
      expect(created.gseq).toBeLessThan(propose.gseq)

      const versions = await s.index.list(s.id)
      const v = versions.find((x) => x.kind === 'propose')!
      expect(v).toMatchObject({ boardSeq: created.seq, ledgerSeq: propose.seq, summary: "Alpha proposed 'Jurisdiction'" })
      expect((await s.history.sheetAt(s.id, v.n))!.terms.map((t) => t.id)).toEqual(['t-new'])
    } finally {
      await s.close()
    }
  })
})

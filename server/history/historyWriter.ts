/**
 * Keeps one negotiation's materialised history (materialiser.ts) up with its
 * logs: each board and ledger row, in seq order, becomes an attributed delta
 * (rowDelta.ts) that goes into the blocks; `flush` stores what was produced
 * together with where the writer stands, in one store transaction.
 *
 * The writer is derived data all the way down: it has its own copy of both
 * docs (the version fold's copies must not be touched by anyone else, see
 * RowDeltas), resumes from its stored state after a restart, and starts over
 * from the log when nothing is stored or when HISTORY_FORMAT changed. The
 * version index (versionIndex.ts) feeds it the rows it folds, under the same
 * per-negotiation queue (and, with several instances, the same lock).
 */
import type * as Y from 'yjs'
import { boardDocName, ledgerDocName } from '../../shared/docNames'
import type { HistoryState, Store } from '../store/types'
import type { LogDoc, LogRow } from './logRows'
import { BlockWriter, HISTORY_FORMAT, type WriterState } from './materialiser'
import { docAt } from './reconstruct'
import { RowDeltas } from './rowDelta'

interface StoredWriterState {
  board: WriterState
  ledger: WriterState
}

/** Where the stored materialised history of a negotiation ends, per doc (0, 0 when there is none or it is stale). */
export async function storedHistoryPosition(store: Store, negotiationId: string): Promise<Record<LogDoc, number>> {
  const stored = parseState(await store.historyState(negotiationId))
  return { board: stored?.board.seq ?? 0, ledger: stored?.ledger.seq ?? 0 }
}

function parseState(s: HistoryState | null): StoredWriterState | null {
  if (!s || s.format !== HISTORY_FORMAT) return null
  try {
    const parsed = JSON.parse(s.state) as StoredWriterState
    return parsed.board && parsed.ledger ? parsed : null
  } catch {
    return null
  }
}

interface DocWriter {
  deltas: RowDeltas
  blocks: BlockWriter
}

export class HistoryWriter {
  /** where the stored history ends (what readers may rely on) */
  readonly stored: Record<LogDoc, number>

  private constructor(
    private readonly negotiationId: string,
    private readonly docs: Record<LogDoc, DocWriter>,
  ) {
    this.stored = { board: docs.board.blocks.position, ledger: docs.ledger.blocks.position }
  }

  /** Resumes from the stored state, or starts from nothing (dropping a stale history) when there is none. */
  static async open(store: Store, negotiationId: string): Promise<HistoryWriter> {
    const raw = await store.historyState(negotiationId)
    let state = parseState(raw)
    if (raw && !state) await store.dropHistory(negotiationId)
    const openDoc = async (doc: LogDoc, s: WriterState | undefined): Promise<DocWriter> => {
      const blocks = s ? await BlockWriter.resume(store, negotiationId, doc, s) : BlockWriter.fresh(doc)
      const y: Y.Doc = await docAt(
        store,
        doc === 'board' ? boardDocName(negotiationId) : ledgerDocName(negotiationId),
        blocks.position,
      )
      return { deltas: new RowDeltas(y, doc), blocks }
    }
    try {
      return new HistoryWriter(negotiationId, {
        board: await openDoc('board', state?.board),
        ledger: await openDoc('ledger', state?.ledger),
      })
    } catch (err) {
      if (!state) throw err
      // What was stored cannot be resumed (a block is missing): derived data, so start over from the log.
      state = null
      await store.dropHistory(negotiationId)
      return new HistoryWriter(negotiationId, {
        board: await openDoc('board', undefined),
        ledger: await openDoc('ledger', undefined),
      })
    }
  }

  /** The seq of the last row of `doc` this writer has taken (stored or not). */
  position(doc: LogDoc): number {
    return this.docs[doc].blocks.position
  }

  /** Takes the next row of its doc (rows it already has are skipped; a gap is an error: the caller reads the store). */
  add(row: LogRow): void {
    const w = this.docs[row.doc]
    if (row.seq <= w.blocks.position) return
    if (row.seq !== w.blocks.position + 1)
      throw new Error(`history of ${this.negotiationId}: ${row.doc} row ${row.seq} after ${w.blocks.position}`)
    w.blocks.add(row.seq, w.deltas.apply(row.update, row.author.party, row.seq))
  }

  /** Whether rows were taken since the last flush. */
  get unflushed(): boolean {
    return this.position('board') > this.stored.board || this.position('ledger') > this.stored.ledger
  }

  /** Stores the blocks and snapshots made since the last flush, and the state to resume from. */
  async flush(store: Store): Promise<void> {
    if (!this.unflushed) return
    const board = this.docs.board.blocks.take()
    const ledger = this.docs.ledger.blocks.take()
    const state: StoredWriterState = { board: { ...this.docs.board.blocks.state }, ledger: { ...this.docs.ledger.blocks.state } }
    await store.putHistory(
      this.negotiationId,
      { blocks: [...board.blocks, ...ledger.blocks], snapshots: [...board.snapshots, ...ledger.snapshots] },
      { format: HISTORY_FORMAT, state: JSON.stringify(state) },
    )
    this.stored.board = state.board.seq
    this.stored.ledger = state.ledger.seq
  }

  destroy(): void {
    for (const w of Object.values(this.docs)) {
      w.deltas.destroy()
      w.deltas.doc.destroy()
    }
  }
}

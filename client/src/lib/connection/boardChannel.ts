/**
 * What the board, its cards and editor, and the session need of a board
 * document's connection — met by the stock y-websocket channel
 * (docChannel.svelte.ts) and by the sealed caucus's (sealed/sealedChannel.svelte.ts),
 * so one set of components draws both.
 */
import type * as Y from 'yjs'
import type { Awareness } from 'y-protocols/awareness'
import type { LinkStatus } from './docChannel.svelte'
import type { LocalCopy } from './localCopy'

export interface BoardChannel {
  readonly doc: Y.Doc
  readonly docName: string
  readonly writable: boolean
  readonly awareness: Awareness
  readonly status: LinkStatus
  readonly synced: boolean
  readonly loaded: boolean
  readonly fromLocalCopy: boolean
  readonly closed: { code: number; reason: string } | null
  readonly unsaved: number
  readonly savingPaused: boolean
  readonly refusedAsConcluded: boolean
  transact(fn: (doc: Y.Doc) => void): void
  reconnect(): void
  takeLocalCopy(): LocalCopy | null
  destroy(): void
}

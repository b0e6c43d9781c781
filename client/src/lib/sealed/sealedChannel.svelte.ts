/**
 * The sealed caucus as the board sees a doc: the same reactive fields as the
 * stock channel (connection/docChannel.svelte.ts) over the sealed provider, so
 * the board, cards, notes and editor draw it with the same components.
 *
 * On top: this device's copy (the plaintext stays in this browser's IndexedDB,
 * as the open caucus's does, with the last seq applied, so a reload catches up
 * from there), the local history, and what went wrong that the person must
 * know: rows that did not open (altered, or another key), or a key that opens
 * nothing at all.
 *
 * Nobody's cursor is relayed here: the sealed protocol carries Yjs updates
 * only, and an awareness message in clear would tell the operator who looks
 * at which term. The awareness below is this page's own.
 */
import * as Y from 'yjs'
import { Awareness } from 'y-protocols/awareness'
import { importSealedKey, decodeSealedKey, sealedCryptoAvailable } from '../../../../shared/sealedCrypto'
import { LocalCopy } from '../connection/localCopy'
import { board } from '../../../../shared/docLayout'
import { LOCAL_ORIGIN, type LinkStatus } from '../connection/docChannel.svelte'
import { SealedProvider, type Unopenable } from './sealedProvider'
import { SealedHistory } from './sealedHistory.svelte'
import { introduce, type SealedAuthor } from './sealedChanges'

export interface SealedChannelOptions {
  /** ws(s)://host/yjs */
  baseUrl: string
  docName: string
  token: string
  name: string
  /** base64url, as links carry it */
  key: string
  writable: boolean
  me: SealedAuthor
  /** the IndexedDB database of this device's copy (localCopyName) */
  localCopy: string
  /** a state to bring in as this person's edit once caught up (the open caucus's drafts, when sealing it) */
  seed?: Uint8Array
}

const META_SEQ = 'sealed-last-seq'
const META_SINCE = 'sealed-since-compaction'
const META_HISTORY = 'sealed-history'
const HISTORY_WRITE_MS = 1000
/** The seq reached is written at most this often (a lagging seq only means a few rows caught up twice). */
const SEQ_WRITE_MS = 300

export class SealedChannel {
  readonly doc = new Y.Doc()
  readonly docName: string
  readonly awareness: Awareness
  readonly history: SealedHistory

  status = $state<LinkStatus>('connecting')
  synced = $state(false)
  loaded = $state(false)
  fromLocalCopy = $state(false)
  closed = $state<{ code: number; reason: string } | null>(null)
  unsaved = $state(0)
  readonly savingPaused = false
  /** a sealed caucus is a delegation's own: a concluded negotiation does not close it */
  readonly refusedAsConcluded = false
  /** rows that did not open with this key: never applied */
  unopenable = $state<Unopenable[]>([])
  /**
   * Every row this key tried failed: it is another delegation's key, or another caucus's (some rows failing
   * among others that open: those rows were altered). The provider's rule (keyOpensNothing), kept here reactive.
   */
  wrongKey = $state(false)
  /** why the key cannot be used here: it is no key, or this page has no WebCrypto (not https, not localhost) */
  keyError = $state<'no-crypto' | 'bad-key' | null>(null)
  /** an edit too large for one sealed message, kept on this device only */
  tooLarge = $state(false)

  private provider: SealedProvider | null = null
  private local: LocalCopy | null
  private rowClients: number[] = []
  /** the rows of the catch-up being applied, for the history once it is all in */
  private caughtUp: Array<{ seq: number; update: Uint8Array }> = []
  private historyTimer: ReturnType<typeof setTimeout> | null = null
  private seqTimer: ReturnType<typeof setTimeout> | null = null
  private destroyed = false

  constructor(private opts: SealedChannelOptions) {
    this.docName = opts.docName
    this.awareness = new Awareness(this.doc)
    // The layout's roots exist before anything is applied: a change is then made to them, never to a
    // placeholder Yjs replaces later (which the history could not place).
    board(this.doc)
    this.local = new LocalCopy(opts.localCopy, this.doc, () => this.provider?.unsaved ?? 0)
    const localOrigin = this.local.origin
    this.history = new SealedHistory(
      this.doc,
      () => this.rowClients.splice(0),
      () => this.keepHistory(),
      () => this.provider?.replaying ?? false,
      opts.me,
      (origin) => origin === localOrigin,
    )
    void this.start()
  }

  /**
   * This person may write here: their role lets them, the key opens the caucus, and no edit of this page
   * was too large to seal (after one, nothing more of this page could be applied anywhere: see the provider).
   */
  get writable(): boolean {
    return this.opts.writable && this.keyError === null && !this.wrongKey && !this.tooLarge
  }

  private async start(): Promise<void> {
    const raw = decodeSealedKey(this.opts.key)
    let key: CryptoKey | null = null
    if (!sealedCryptoAvailable()) this.keyError = 'no-crypto'
    else if (!raw) this.keyError = 'bad-key'
    else key = await importSealedKey(raw).catch(() => ((this.keyError = 'bad-key'), null))
    if (!key) {
      // Nothing to connect: the caucus says why, and the rest of the session is not held "connecting" by it.
      this.loaded = true
      this.synced = true
      this.status = 'connected'
      return
    }
    const restored = await this.restoreLocal()
    if (this.destroyed) return
    const provider = new SealedProvider({
      url: this.opts.baseUrl,
      docName: this.docName,
      token: this.opts.token,
      name: this.opts.name,
      key,
      doc: this.doc,
      writable: this.opts.writable,
      restored,
    })
    this.provider = provider
    provider.on('status', (s) => (this.status = s))
    provider.on('synced', (s) => {
      this.synced = s
      if (!s) return
      this.loaded = true
      this.local?.noteSynced()
      // Name this page's Yjs client in the doc, so the others' histories say who wrote what.
      if (!this.writable) return
      introduce(this.doc, this.opts.me, LOCAL_ORIGIN)
      const seed = this.opts.seed
      this.opts.seed = undefined
      if (seed) Y.applyUpdate(this.doc, seed, LOCAL_ORIGIN)
    })
    provider.on('unsaved', (n) => {
      this.unsaved = n
      this.local?.note()
    })
    provider.on('opened', ({ seq, update }) => {
      if (provider.replaying) this.caughtUp.push({ seq, update })
      else for (const client of Y.parseUpdateMeta(update).to.keys()) this.rowClients.push(client)
    })
    provider.on('replayed', () => this.history.addCaughtUp(this.caughtUp.splice(0)))
    provider.on('unopenable', (row) => {
      this.unopenable = [...this.unopenable, row]
      this.wrongKey = provider.keyOpensNothing
    })
    provider.on('row', () => (this.wrongKey = provider.keyOpensNothing))
    provider.on('closed', (e) => (this.closed = e))
    provider.on('tooLarge', () => {
      this.tooLarge = true
      // This device's copy holds the edit that cannot be sent: a reload must start from what the server has.
      const local = this.takeLocalCopy()
      if (local) void local.clear()
    })
    provider.on('changed', () => this.keepSeq())
    this.unsaved = provider.unsaved
  }

  /** Reads this device's copy: the doc, the seq it reached, what was not confirmed, the history. */
  private async restoreLocal(): Promise<{ lastSeq: number; pending: Uint8Array[]; sinceCompaction: number } | undefined> {
    const local = this.local
    if (!local) return undefined
    const restored = await local.load()
    if (restored === null) {
      this.local = null
      return undefined
    }
    const [seq, since, kept] = await Promise.all([local.readMeta(META_SEQ), local.readMeta(META_SINCE), local.readMeta(META_HISTORY)])
    this.history.restore(kept)
    if (restored.content) {
      this.fromLocalCopy = true
      this.loaded = true
    }
    const lastSeq = typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 0 ? seq : 0
    // Edits made here the server had not confirmed: sent again as the whole state (Yjs applies what others
    // already have as nothing). The count from the copy is only "some"; the state carries all of them.
    const pending = restored.unsaved > 0 ? [Y.encodeStateAsUpdate(this.doc)] : []
    // A copy without a seq (written before it caught up) is read from the start.
    return { lastSeq: restored.content ? lastSeq : 0, pending, sinceCompaction: typeof since === 'number' ? since : 0 }
  }

  private keepSeq(): void {
    if (this.seqTimer !== null) return
    this.seqTimer = setTimeout(() => {
      this.seqTimer = null
      const p = this.provider
      if (!p) return
      this.local?.writeMeta(META_SEQ, p.lastSeq)
      this.local?.writeMeta(META_SINCE, p.sinceCompaction)
      this.local?.note()
    }, SEQ_WRITE_MS)
  }

  private keepHistory(): void {
    if (this.historyTimer !== null) return
    this.historyTimer = setTimeout(() => {
      this.historyTimer = null
      this.local?.writeMeta(META_HISTORY, this.history.entries)
    }, HISTORY_WRITE_MS)
  }

  /** Runs `fn` as one local transaction (one update, one sealed message). */
  transact(fn: (doc: Y.Doc) => void): void {
    if (!this.writable) throw new Error(`${this.docName} is read-only for this role`)
    this.doc.transact(() => fn(this.doc), LOCAL_ORIGIN)
  }

  reconnect(): void {
    if (this.closed) return
    this.provider?.connect()
  }

  /** Stops keeping the local copy and hands it over, for removal (the link lost its access). */
  takeLocalCopy(): LocalCopy | null {
    const local = this.local
    this.local = null
    return local
  }

  destroy(): void {
    this.destroyed = true
    if (this.historyTimer !== null) clearTimeout(this.historyTimer)
    if (this.seqTimer !== null) clearTimeout(this.seqTimer)
    this.history.destroy()
    this.provider?.destroy()
    this.local?.drop()
    this.awareness.destroy()
    this.doc.destroy()
  }
}

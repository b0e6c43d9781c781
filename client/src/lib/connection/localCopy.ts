/**
 * This device's copy of a doc (y-indexeddb, CONTRACT.md issue 14): the board
 * and the caucus are kept in IndexedDB so they show at once after a reload or
 * a browser restart, offline too, and edits made without a connection survive
 * until the provider's next sync carries them to the server.
 *
 * One database per doc and per link: `parley:<docName>:<identity>`, where the
 * identity is the token's `jti`. Two links of different parties opened in one
 * browser never share a caucus copy, and a revoked link's copies are found
 * and removed without touching anyone else's.
 *
 * Next to the updates, the copy records what the save receipts said: how many
 * edits were unsaved, and, whenever none were, a Yjs snapshot of the doc as it
 * stood (then all of it was on the server). A copy that reloads to exactly
 * that snapshot has nothing unsaved; anything else counts as unsaved until the
 * server confirms it, so the count may be too high for a moment, never too low.
 */
import * as Y from 'yjs'
import { IndexeddbPersistence } from 'y-indexeddb'
import { boardDocName, caucusDocName } from '../../../../shared/docNames'

const PREFIX = 'parley:'
/** A copy that has not opened by then is given up for this page: the server still serves the doc. */
const LOAD_TIMEOUT_MS = 4000
/** Receipt bookkeeping is written at most this often. */
const NOTE_DELAY_MS = 300
/** the encoded Y snapshot of the doc when it last had no unsaved edit */
const SAVED_KEY = 'saved'
/** how many edits were unsaved when last written */
const UNSAVED_KEY = 'unsaved'
/** set once the doc synced with the server: an empty copy is then an empty doc, not a missing one */
const SYNCED_KEY = 'synced'

export interface TokenClaims {
  /** the token's `jti`, or a hash of the token when it has none */
  identity: string
  negotiationId: string | null
  party: string | null
}

/**
 * What a token says about itself, read without verifying it (the server
 * verifies; here it only names the local copies). Never the token itself.
 */
export function tokenClaims(token: string): TokenClaims {
  let payload: Record<string, unknown> = {}
  try {
    const part = token.split('.')[1] ?? ''
    const json = atob(
      part
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(part.length / 4) * 4, '='),
    )
    const parsed: unknown = JSON.parse(json)
    if (parsed && typeof parsed === 'object') payload = parsed as Record<string, unknown>
  } catch {
    // not a JWT: the hash below still tells tokens apart
  }
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 && v.length <= 64 ? v : null)
  const jti = str(payload.jti)
  return {
    identity: jti && /^[A-Za-z0-9_-]+$/.test(jti) ? jti : `h${hash(token)}`,
    negotiationId: str(payload.neg),
    party: str(payload.party),
  }
}

/** Two FNV-1a rounds (64 bits): enough to tell one person's links apart, no secret. */
function hash(s: string): string {
  let a = 0x811c9dc5
  let b = 0x01000193
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x811c9dc5)
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0')
}

export const localCopyName = (docName: string, identity: string) => `${PREFIX}${docName}:${identity}`

/** What a copy held when it was opened. */
export interface Restored {
  /** it held the doc (content, or a doc the server had empty): it can be shown before the server answers */
  content: boolean
  /** edits in it that the server had not confirmed when it was written (0: none) */
  unsaved: number
}

export class LocalCopy {
  private readonly persistence: IndexeddbPersistence
  private noteTimer: ReturnType<typeof setTimeout> | null = null
  private ready = false
  private gone = false
  private syncedNoted = false

  /**
   * @param unsavedNow the channel's count of unsaved edits; null for a doc this
   *   client only reads (nothing of its own to keep track of)
   */
  constructor(
    readonly name: string,
    private readonly doc: Y.Doc,
    private readonly unsavedNow: (() => number) | null,
  ) {
    this.persistence = new IndexeddbPersistence(name, doc)
  }

  /** The transaction origin of the updates the copy applies when it loads. */
  get origin(): unknown {
    return this.persistence
  }

  /**
   * Reads the copy into the doc. Null when IndexedDB is unusable or too slow:
   * then this page keeps no copy, and the doc comes from the server alone.
   */
  async load(): Promise<Restored | null> {
    let timer: ReturnType<typeof setTimeout> | undefined
    const opened = await Promise.race([
      this.persistence.whenSynced.then(() => true),
      this.persistence._db.then(
        () => new Promise<boolean>(() => {}),
        () => false,
      ),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), LOAD_TIMEOUT_MS))),
    ])
    clearTimeout(timer)
    if (!opened || this.gone) {
      this.drop()
      return null
    }
    // Another tab of the same link removing this copy (its access ended) closes it here too.
    this.persistence.db?.addEventListener('versionchange', () => this.drop())
    this.ready = true
    const hasStructs = this.doc.store.clients.size > 0
    const content = hasStructs || (await this.read(SYNCED_KEY)) === 1
    if (!hasStructs || this.unsavedNow === null) return { content, unsaved: 0 }
    const [saved, count] = await Promise.all([this.read(SAVED_KEY), this.read(UNSAVED_KEY)])
    let same = false
    if (saved instanceof ArrayBuffer || ArrayBuffer.isView(saved)) {
      try {
        const bytes =
          saved instanceof ArrayBuffer ? new Uint8Array(saved) : new Uint8Array(saved.buffer, saved.byteOffset, saved.byteLength)
        same = Y.equalSnapshots(Y.decodeSnapshot(bytes), Y.snapshot(this.doc))
      } catch {
        same = false
      }
    }
    const unsaved = same ? 0 : Math.max(1, typeof count === 'number' && Number.isInteger(count) ? count : 1)
    return { content, unsaved }
  }

  /** The doc synced with the server (once is enough). */
  noteSynced(): void {
    if (!this.ready || this.gone || this.syncedNoted) return
    this.syncedNoted = true
    this.persistence.set(SYNCED_KEY, 1).catch(() => {})
  }

  /** The unsaved count changed, or the doc did: write down what the receipts say (throttled). */
  note(): void {
    if (!this.ready || this.gone || this.unsavedNow === null || this.noteTimer !== null) return
    this.noteTimer = setTimeout(() => {
      this.noteTimer = null
      void this.write()
    }, NOTE_DELAY_MS)
  }

  private async write(): Promise<void> {
    if (this.gone || this.unsavedNow === null) return
    const unsaved = this.unsavedNow()
    try {
      await this.persistence.set(UNSAVED_KEY, unsaved)
      // With nothing unsaved, all of the doc as it stands is on the server.
      if (unsaved === 0 && !this.gone) {
        const snap = Y.encodeSnapshot(Y.snapshot(this.doc))
        await this.persistence.set(SAVED_KEY, snap.slice().buffer)
      }
    } catch {
      // a copy that cannot be written only means a higher count after the next reload
    }
  }

  /** A value of the owner's own kept beside the doc (the sealed caucus's seq and history); undefined if none. */
  readMeta(key: string): Promise<unknown> {
    return this.ready && !this.gone ? this.read(`meta:${key}`) : Promise.resolve(undefined)
  }

  /** Keeps a value beside the doc; a copy that cannot be written loses only this page's value. */
  writeMeta(key: string, value: unknown): void {
    if (!this.ready || this.gone) return
    this.persistence.set(`meta:${key}`, value as never).catch(() => {})
  }

  private async read(key: string): Promise<unknown> {
    try {
      return await this.persistence.get(key)
    } catch {
      return undefined
    }
  }

  /** Stops keeping the copy on this page (it stays on the device). */
  drop(): void {
    if (this.noteTimer !== null) clearTimeout(this.noteTimer)
    this.noteTimer = null
    this.gone = true
    this.ready = false
    this.persistence.destroy().catch(() => {})
  }

  /** Removes the copy from the device (y-indexeddb's clearData), resolving once it is gone. */
  async clear(): Promise<void> {
    this.drop()
    try {
      await this.persistence.clearData()
    } catch {
      // IndexedDB never opened: the delete below still runs
    }
    // clearData does not wait for the deletion it starts; this request runs after it.
    await deleteDatabase(this.name)
  }
}

function deleteDatabase(name: string): Promise<void> {
  return new Promise((resolve) => {
    try {
      const req = indexedDB.deleteDatabase(name)
      req.onsuccess = () => resolve()
      req.onerror = () => resolve()
    } catch {
      resolve()
    }
  })
}

/**
 * Removes every copy this device keeps for a link of a negotiation: the ones
 * open on this page (`open`), the board and caucus its token names, and any
 * other database of that negotiation and identity IndexedDB lists.
 */
export async function removeLocalCopies(negotiationId: string, token: string, open: LocalCopy[] = []): Promise<void> {
  const claims = tokenClaims(token)
  const neg = claims.negotiationId ?? negotiationId
  const names = new Set<string>([localCopyName(boardDocName(neg), claims.identity)])
  if (claims.party) names.add(localCopyName(caucusDocName(neg, claims.party), claims.identity))
  try {
    for (const db of await indexedDB.databases()) {
      const n = db.name
      if (n && n.startsWith(`${PREFIX}${neg}/`) && n.endsWith(`:${claims.identity}`)) names.add(n)
    }
  } catch {
    // indexedDB.databases() is missing in some browsers: the names above are the ones this client makes
  }
  await Promise.all(open.map((c) => c.clear()))
  for (const c of open) names.delete(c.name)
  await Promise.all([...names].map(deleteDatabase))
}

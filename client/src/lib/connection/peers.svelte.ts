/**
 * Awareness between the negotiators of one board (watchers' awareness is not
 * relayed by the server). The local state is declared here once; remote
 * states come from other browsers, so they are read defensively.
 *
 * `user.name/color/colorLight` and `cursor` are the fields y-codemirror.next
 * reads for remote carets; the rest is Parley's.
 */
import { createSubscriber } from 'svelte/reactivity'
import type { Awareness } from 'y-protocols/awareness'
import type { Role } from '../../../../shared/roles'
import { m } from '../../paraglide/messages'

export interface Viewport {
  /** world coordinates of the centre of the visible area */
  cx: number
  cy: number
  zoom: number
}

export interface DragPreview {
  kind: 'term' | 'note'
  id: string
  x: number
  y: number
}

export interface PeerUser {
  name: string
  color: string
  colorLight: string
  party: string | null
  role: Role
}

export interface LocalPresence {
  user: PeerUser
  viewport: Viewport | null
  drag: DragPreview | null
  /** the term whose text this person has open */
  focus: string | null
}

export interface Peer extends LocalPresence {
  clientId: number
}

const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v)
const COLOR = /^#[0-9a-f]{6}([0-9a-f]{2})?$/i
const color = (v: unknown, fallback: string) => (typeof v === 'string' && COLOR.test(v) ? v : fallback)

/**
 * Remote awareness comes from other people's browsers and y-codemirror.next
 * writes `user.color` into a style attribute: anything but a plain hex colour
 * is replaced in place, before any listener registered later (the editors) reads it.
 */
function sanitize(awareness: Awareness, clients: number[]): void {
  const states = awareness.getStates()
  for (const id of clients) {
    if (id === awareness.clientID) continue
    const user = (states.get(id) as { user?: Record<string, unknown> } | undefined)?.user
    if (!user || typeof user !== 'object') continue
    user.color = color(user.color, '#667080')
    user.colorLight = color(user.colorLight, '#66708033')
    if (typeof user.name !== 'string') user.name = m.connection_peer_anonymous()
  }
}
const str = (v: unknown, max = 200): string | null => (typeof v === 'string' ? v.slice(0, max) : null)

function readPeer(clientId: number, raw: Record<string, unknown>): Peer | null {
  const u = raw.user as Record<string, unknown> | undefined
  if (!u || typeof u !== 'object') return null
  const name = str(u.name, 64)
  if (!name) return null
  const v = raw.viewport as Record<string, unknown> | null | undefined
  const d = raw.drag as Record<string, unknown> | null | undefined
  const role = u.role === 'observer' || u.role === 'reviewer' ? u.role : 'negotiator'
  return {
    clientId,
    user: {
      name,
      color: color(u.color, '#667080'),
      colorLight: color(u.colorLight, '#66708033'),
      party: str(u.party, 32),
      role,
    },
    viewport: v && num(v.cx) && num(v.cy) && num(v.zoom) ? { cx: v.cx, cy: v.cy, zoom: v.zoom } : null,
    drag:
      d && (d.kind === 'term' || d.kind === 'note') && typeof d.id === 'string' && num(d.x) && num(d.y)
        ? { kind: d.kind, id: d.id, x: d.x, y: d.y }
        : null,
    focus: str(raw.focus, 64),
  }
}

/** Remote people on one board, reactive; plus setters for what this browser publishes. */
export class Peers {
  private readonly subscribe: () => void
  private cache: Peer[] | null = null

  constructor(private readonly awareness: Awareness) {
    awareness.on('change', ({ added, updated }: { added: number[]; updated: number[] }) => {
      sanitize(awareness, [...added, ...updated])
      this.cache = null
    })
    this.subscribe = createSubscriber((update) => {
      const onChange = () => update()
      awareness.on('change', onChange)
      return () => awareness.off('change', onChange)
    })
  }

  get list(): Peer[] {
    this.subscribe()
    if (!this.cache) {
      const out: Peer[] = []
      this.awareness.getStates().forEach((state, clientId) => {
        if (clientId === this.awareness.clientID) return
        const peer = readPeer(clientId, state as Record<string, unknown>)
        if (peer) out.push(peer)
      })
      this.cache = out.sort((a, b) => a.user.name.localeCompare(b.user.name) || a.clientId - b.clientId)
    }
    return this.cache
  }

  byClient(clientId: number): Peer | undefined {
    return this.list.find((p) => p.clientId === clientId)
  }

  get publishing(): boolean {
    return this.awareness.getLocalState() !== null
  }

  setUser(user: PeerUser): void {
    if (this.publishing) this.awareness.setLocalStateField('user', user)
  }

  setViewport(v: Viewport): void {
    if (this.publishing) this.awareness.setLocalStateField('viewport', v)
  }

  setDrag(d: DragPreview | null): void {
    if (this.publishing) this.awareness.setLocalStateField('drag', d)
  }

  setFocus(termId: string | null): void {
    if (!this.publishing) return
    this.awareness.setLocalStateField('focus', termId)
    if (termId === null) this.awareness.setLocalStateField('cursor', null)
  }
}

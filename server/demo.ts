/**
 * The sample negotiations behind `npm run demo`: the United States and the
 * Russian Federation settling reciprocal extradition of ransomware
 * operators, with a first round already played (edits, acceptances, an
 * agreement, a rejection, a new proposal and a checkpoint) so the board,
 * the ledger and the history all have something to show; and the same
 * talks one step from conclusion (CONCLUDING_DEMO), to show how they end.
 */
import { insertTerm, isConcluded, setTermText, termText, termsInOrder } from '../shared/docLayout'
import type { NegotiationRecord } from './store/types'
import type { Actor, CreatedNegotiation, NegotiationService } from './negotiation/service'

export const DEMO = {
  title: 'Reciprocal extradition of ransomware operators',
  parties: [
    { id: 'us', name: 'United States', color: '#1f5fbf' },
    { id: 'ru', name: 'Russian Federation', color: '#b3261e' },
  ],
  terms: [
    { title: 'Scope', body: 'Each party extradites persons charged with ransomware attacks against the other.' },
    { title: 'Equal obligations', body: 'Obligations are equal and reciprocal.' },
    { title: 'Response deadline', body: 'Requests are answered within 30 days.' },
    { title: 'Evidence', body: 'A request includes the charging document and a summary of the evidence.' },
    { title: 'Political offence exception', body: 'Extradition may be refused for offences of a political character.' },
    { title: 'Proceeds of crime', body: 'Ransom payments seized by either party are returned to the victims.' },
  ],
}

export async function createDemo(service: NegotiationService): Promise<CreatedNegotiation> {
  const created = await service.create(DEMO)
  const id = created.id
  const us: Actor = { negotiationId: id, role: 'negotiator', party: 'us', user: 'J. Carter (US)', session: 'demo-us' }
  const ru: Actor = { negotiationId: id, role: 'negotiator', party: 'ru', user: 'A. Volkova (RU)', session: 'demo-ru' }
  const board = await service.boardRoom(id)
  const termId = (title: string) => termsInOrder(board.doc).find((t) => t.title === title)!.id
  const edit = async (actor: Actor, title: string, change: (body: string) => string) => {
    const tid = termId(title)
    const text = termText(board.doc, tid)!
    await board.serverWrite(service.authorOf(actor), (doc) => setTermText(doc, tid, { ...text, body: change(text.body) }))
  }
  try {
    await service.move(us, 'accept', termId('Scope'))
    await service.move(ru, 'accept', termId('Scope'))
    await edit(ru, 'Response deadline', (b) => b.replace('30 days', '45 days'))
    await service.move(us, 'accept', termId('Equal obligations'))
    await service.move(ru, 'accept', termId('Equal obligations'))
    await service.move(us, 'reject', termId('Political offence exception'), 'Ransomware is never a political offence.')
    await board.serverWrite(service.authorOf(ru), (doc) =>
      insertTerm(doc, 't-dual-criminality', {
        title: 'Dual criminality',
        body: 'Extradition requires the conduct to be an offence under the laws of both parties.',
        x: 720,
        y: 520,
      }),
    )
    await edit(us, 'Evidence', (b) =>
      b.replace('a summary of the evidence', 'a summary of the evidence and the victims’ statements'),
    )
    await service.move(ru, 'accept', termId('Response deadline'))
    await service.checkpoint(us, 'End of round one')
  } finally {
    service.releaseRoom(board)
  }
  return created
}

/**
 * The same delegations at the end of their talks: every term closed — one settled from
 * brackets (`term:choose`), one accepted ad referendum and then confirmed, one rejected and so
 * outside the package — the package accepted by both and initialled by the United States. The
 * Russian Federation's "Initial" concludes it; the replay shows every step on the way.
 */
export const CONCLUDING_DEMO = {
  title: 'Reciprocal extradition of ransomware operators: final text',
  parties: DEMO.parties,
  terms: [
    { title: 'Scope', body: 'Each party extradites persons charged with ransomware attacks against the other.' },
    { title: 'Response deadline', body: 'Requests are answered within [30][45] days.' },
    { title: 'Evidence', body: 'A request includes the charging document and a summary of the evidence.' },
    { title: 'Political offence exception', body: 'Extradition may be refused for offences of a political character.' },
    { title: 'Proceeds of crime', body: 'Ransom payments seized by either party are returned to the victims.' },
  ],
}

const DAY_MS = 24 * 60 * 60 * 1000

export async function createConcludingDemo(service: NegotiationService): Promise<CreatedNegotiation> {
  const created = await service.create(CONCLUDING_DEMO)
  const id = created.id
  const us: Actor = { negotiationId: id, role: 'negotiator', party: 'us', user: 'J. Carter (US)', session: 'demo-us' }
  const ru: Actor = { negotiationId: id, role: 'negotiator', party: 'ru', user: 'A. Volkova (RU)', session: 'demo-ru' }
  const board = await service.boardRoom(id)
  const termId = (title: string) => termsInOrder(board.doc).find((t) => t.title === title)!.id
  const bothAccept = async (title: string) => {
    await service.move(us, 'accept', termId(title))
    await service.move(ru, 'accept', termId(title))
  }
  try {
    await bothAccept('Scope')
    // 30 or 45 days: Russia settles the bracket on 45, and both accept the text that leaves.
    await service.commands.choose(ru, termId('Response deadline'), 0, 1)
    await bothAccept('Response deadline')
    // Russia's delegate accepts subject to Moscow, which confirms: only then is the term agreed.
    const until = new Date(Date.now() + 14 * DAY_MS).toISOString().slice(0, 10)
    await service.move(us, 'accept', termId('Evidence'))
    await service.move(ru, 'accept', termId('Evidence'), undefined, { adReferendum: { principal: 'Moscow', until } })
    await service.move(ru, 'confirm', termId('Evidence'))
    await service.move(us, 'reject', termId('Political offence exception'), 'Ransomware is never a political offence.')
    await bothAccept('Proceeds of crime')
    // Every term closed: the package stands. Both bind themselves to it; the United States initials.
    const { hash } = await service.conclusion.acceptPackage(us, undefined)
    await service.conclusion.acceptPackage(ru, hash)
    await service.conclusion.initial(us)
  } finally {
    service.releaseRoom(board)
  }
  return created
}

// ── `npm run demo` again: the demos already in the store ──────────────────

/** A demo negotiation as `npm run demo` prints it: what it is and a fresh invite link per role. */
export type DemoLinks = Pick<CreatedNegotiation, 'id' | 'title' | 'parties' | 'links'>

export interface SeededDemo extends DemoLinks {
  /** true: it was in the store already (its links are new; the ones printed before still work) */
  reused: boolean
}

/** The newest negotiation in the store seeded from `spec` (same title, same delegations), if any. */
async function findDemo(service: NegotiationService, spec: typeof DEMO): Promise<NegotiationRecord | null> {
  const ids = spec.parties.map((p) => p.id).join(',')
  const found = (await service.list())
    .filter((n) => n.title === spec.title && n.parties.map((p) => p.id).join(',') === ids)
    .sort((a, b) => b.createdAt - a.createdAt)
  return found[0] ?? null
}

/** Invite links minted now for every role of `record` (a token cannot be read back, only minted again). */
async function linksFor(service: NegotiationService, record: NegotiationRecord): Promise<DemoLinks> {
  const links: DemoLinks['links'] = { negotiator: {}, observer: '', reviewer: '' }
  for (const p of record.parties)
    links.negotiator[p.id] = (await service.mintToken(record.id, { role: 'negotiator', party: p.id })).link
  for (const role of ['observer', 'reviewer'] as const) links[role] = (await service.mintToken(record.id, { role })).link
  return { id: record.id, title: record.title, parties: record.parties, links }
}

async function concluded(service: NegotiationService, id: string): Promise<boolean> {
  const ledger = await service.ledgerRoom(id)
  try {
    return isConcluded(ledger.doc)
  } finally {
    service.releaseRoom(ledger)
  }
}

/**
 * The language each demo delegation's invite links open the client in: a `lang` hint in the
 * link's fragment (`#token=…&lang=ru`), which the client takes unless the reader chose a
 * language with its switch before. Delegations not named here follow their browser.
 */
export const DEMO_LANGUAGES: Readonly<Record<string, string>> = { ru: 'ru' }

/** `demo` with DEMO_LANGUAGES' hints added to its delegations' invite links. */
export function withLanguageHints<T extends Pick<DemoLinks, 'links'>>(demo: T): T {
  const negotiator = Object.fromEntries(
    Object.entries(demo.links.negotiator).map(([party, link]) => {
      const lang = DEMO_LANGUAGES[party]
      return [party, lang ? `${link}${link.includes('#') ? '&' : '#'}lang=${lang}` : link]
    }),
  )
  return { ...demo, links: { ...demo.links, negotiator } }
}

/**
 * Both demos for `npm run demo`: the ones already in the store, with fresh links, unless `fresh`
 * asks for new ones (`--demo=new`); the links carry DEMO_LANGUAGES' hints. The demo one step from conclusion is seeded again once it was
 * concluded — it is no longer one step from it.
 */
export async function seedDemos(
  service: NegotiationService,
  fresh = false,
): Promise<{ main: SeededDemo; concluding: SeededDemo & { wasConcluded: boolean } }> {
  const mainFound = fresh ? null : await findDemo(service, DEMO)
  const main: SeededDemo = mainFound
    ? { ...(await linksFor(service, mainFound)), reused: true }
    : { ...(await createDemo(service)), reused: false }
  const closingFound = fresh ? null : await findDemo(service, CONCLUDING_DEMO)
  const wasConcluded = closingFound !== null && (await concluded(service, closingFound.id))
  const concluding =
    closingFound && !wasConcluded
      ? { ...(await linksFor(service, closingFound)), reused: true, wasConcluded }
      : { ...(await createConcludingDemo(service)), reused: false, wasConcluded }
  // The Russian Federation's links open in Russian (DEMO_LANGUAGES).
  return { main: withLanguageHints(main), concluding: withLanguageHints(concluding) }
}

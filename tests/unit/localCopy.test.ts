/**
 * This device's copy of a doc (client/src/lib/connection/localCopy.ts) on
 * fake-indexeddb: what it restores after a "reload" (a new Y.Doc on the same
 * database), how many edits it says were unsaved (from the receipts it
 * recorded: too many for a moment, never too few), one database per doc and
 * link, and removal of every copy of a link whose access ended.
 */
import 'fake-indexeddb/auto'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { LocalCopy, localCopyName, removeLocalCopies, tokenClaims } from '../../client/src/lib/connection/localCopy'

/** A JWT-shaped token with these claims (the client never verifies it; the server does). */
const token = (claims: Record<string, unknown>) => `e30.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.c2ln`

const open: LocalCopy[] = []
afterEach(() => {
  for (const c of open.splice(0)) c.drop()
})

/** A page: a fresh doc reading the copy, with the channel's unsaved count as `unsaved`. */
async function page(name: string, writable = true) {
  const doc = new Y.Doc()
  const state = { unsaved: 0 }
  const copy = new LocalCopy(name, doc, writable ? () => state.unsaved : null)
  open.push(copy)
  const restored = await copy.load()
  return { doc, copy, state, restored, text: () => doc.getText('t').toString() }
}

/** Lets the throttled bookkeeping write (NOTE_DELAY_MS is 300 ms). */
const settle = () => new Promise((r) => setTimeout(r, 450))

const names = async () => (await indexedDB.databases()).map((d) => d.name).sort()

describe('LocalCopy', () => {
  it('an empty copy restores nothing; the doc and its edits come back on reload', async () => {
    const first = await page('parley:n1/board:j1')
    expect(first.restored).toEqual({ content: false, unsaved: 0 })
    first.doc.getText('t').insert(0, 'offline words')
    first.state.unsaved = 1
    first.copy.note()
    await settle()
    first.copy.drop()

    const again = await page('parley:n1/board:j1')
    expect(again.text()).toBe('offline words')
    // no receipt ever came: the edit is unsaved after the reload
    expect(again.restored).toEqual({ content: true, unsaved: 1 })
  })

  it('a copy written when everything was saved reloads with nothing unsaved; later edits count again', async () => {
    const first = await page('parley:n2/board:j1')
    first.doc.getText('t').insert(0, 'confirmed')
    first.state.unsaved = 0 // the receipt came
    first.copy.note()
    await settle()
    first.copy.drop()

    const second = await page('parley:n2/board:j1')
    expect(second.restored).toEqual({ content: true, unsaved: 0 })
    second.doc.getText('t').insert(9, ' and more')
    second.doc.getText('t').delete(0, 1)
    second.state.unsaved = 2
    second.copy.note()
    await settle()
    second.copy.drop()

    const third = await page('parley:n2/board:j1')
    expect(third.text()).toBe('onfirmed and more')
    expect(third.restored).toEqual({ content: true, unsaved: 2 })
  })

  it('an edit stored before its count was written still counts (never too few)', async () => {
    const first = await page('parley:n3/board:j1')
    first.doc.getText('t').insert(0, 'saved')
    first.copy.note()
    await settle()
    // a deletion alone: the state vector stays, the delete set changes
    first.doc.getText('t').delete(0, 2)
    first.copy.drop() // the page went away before the throttled write

    const again = await page('parley:n3/board:j1')
    expect(again.text()).toBe('ved')
    expect(again.restored?.unsaved).toBe(1)
  })

  it('a read-only doc is restored without any count', async () => {
    const first = await page('parley:n4/board:j9', false)
    first.doc.getText('t').insert(0, 'from the server')
    await settle()
    first.copy.drop()
    const again = await page('parley:n4/board:j9', false)
    expect(again.restored).toEqual({ content: true, unsaved: 0 })
    expect(again.text()).toBe('from the server')
  })

  it('a doc the server had empty is restored as shown once it synced, not as missing', async () => {
    const first = await page('parley:n5/caucus/a:j1')
    expect(first.restored?.content).toBe(false)
    first.copy.noteSynced()
    await settle()
    first.copy.drop()
    const again = await page('parley:n5/caucus/a:j1')
    expect(again.restored).toEqual({ content: true, unsaved: 0 })
  })

  it('copies are per link: the identity is the token jti (a hash of a token without one)', () => {
    const a = tokenClaims(token({ neg: 'talks', role: 'negotiator', party: 'a', jti: 'jti-a' }))
    const b = tokenClaims(token({ neg: 'talks', role: 'negotiator', party: 'b', jti: 'jti-b' }))
    expect(a).toEqual({ identity: 'jti-a', negotiationId: 'talks', party: 'a' })
    expect(localCopyName('talks/caucus/a', a.identity)).not.toBe(localCopyName('talks/caucus/a', b.identity))
    const opaque = tokenClaims('not-a-jwt')
    expect(opaque.identity).toMatch(/^h[0-9a-f]{16}$/)
    expect(tokenClaims('not-a-jwt-2').identity).not.toBe(opaque.identity)
    expect(opaque.negotiationId).toBeNull()
  })

  it('removeLocalCopies removes every copy of the link — open or not — and only those', async () => {
    const tok = token({ neg: 'gone', role: 'negotiator', party: 'a', jti: 'revoked' })
    const other = tokenClaims(token({ neg: 'gone', role: 'negotiator', party: 'b', jti: 'still-valid' })).identity
    const board = await page(localCopyName('gone/board', 'revoked'))
    board.doc.getText('t').insert(0, 'x')
    const caucus = await page(localCopyName('gone/caucus/a', 'revoked'))
    caucus.doc.getText('t').insert(0, 'our line')
    const theirs = await page(localCopyName('gone/caucus/b', other))
    theirs.doc.getText('t').insert(0, 'their line')
    const elsewhere = await page(localCopyName('kept/board', 'revoked'))
    elsewhere.doc.getText('t').insert(0, 'another negotiation')
    await settle()
    caucus.copy.drop() // closed: found by name

    expect(await names()).toEqual(
      expect.arrayContaining([
        'parley:gone/board:revoked',
        'parley:gone/caucus/a:revoked',
        'parley:gone/caucus/b:still-valid',
        'parley:kept/board:revoked',
      ]),
    )
    await removeLocalCopies('gone', tok, [board.copy])
    const left = await names()
    expect(left).not.toContain('parley:gone/board:revoked')
    expect(left).not.toContain('parley:gone/caucus/a:revoked')
    expect(left).toContain('parley:gone/caucus/b:still-valid')
    expect(left).toContain('parley:kept/board:revoked')

    // Edits after the removal are not written anywhere.
    board.doc.getText('t').insert(1, 'y')
    await settle()
    expect(await names()).not.toContain('parley:gone/board:revoked')
  })
})

/**
 * Export snapshots (issue #5): a scripted negotiation on the history stack —
 * fixed ids, an injected clock — exported as Markdown, HTML and JSON. Hashes
 * are replaced by a placeholder (they cover Yjs client ids, which are random);
 * everything else is stable. Review a changed snapshot like a changed page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { board, replaceText } from '../../shared/docLayout'
import type { ExportDoc } from '../../server/history/export'
import { renderHtml, renderMarkdown } from '../../server/history/exportRender'
import { startHistoryStack, type HistoryStack, type StackClient } from '../helpers/historyStack'

let s: HistoryStack
let doc: ExportDoc

const GENERATED = Date.UTC(2026, 0, 12, 18, 0, 0)
const stable = (text: string) => text.replace(/[0-9a-f]{64}/g, '<sha256>')

beforeAll(async () => {
  s = await startHistoryStack({
    negotiationId: 'extradition-2026',
    title: 'Reciprocal extradition of ransomware operators',
    parties: [
      { id: 'us', name: 'United States', color: '#1f5fbf' },
      { id: 'ru', name: 'Russian Federation', color: '#b3261e' },
    ],
    terms: [
      { id: 't-scope', title: 'Scope', body: 'Each party extradites persons charged with ransomware attacks against the other.' },
      { id: 't-equal', title: 'Equal obligations', body: 'Obligations are equal and reciprocal.' },
      { id: 't-deadline', title: 'Response deadline', body: 'Requests are answered within 30 days.' },
      {
        id: 't-political',
        title: 'Political offence exception',
        body: 'Extradition may be refused for offences of a political character.',
      },
    ],
  })
  const us: StackClient = await s.client('us', 'J. Carter')
  const ru: StackClient = await s.client('ru', 'A. Volkova')
  const step = async (ms: number, act: () => unknown) => {
    s.clock.advance(ms)
    await act()
    await s.settle()
  }
  const text = (c: StackClient, id: string) => board(c.doc).terms.get(id)!.get('body') as Y.Text
  const usA = s.actor('us', 'J. Carter')
  const ruA = s.actor('ru', 'A. Volkova')

  await step(60_000, () => s.service.move(usA, 'accept', 't-scope'))
  await step(30_000, () => s.service.move(ruA, 'accept', 't-scope'))
  await step(45_000, () =>
    ru.edit((d) => replaceText(text({ ...ru, doc: d }, 't-deadline'), 'Requests are answered within 45 days.')),
  )
  await step(20_000, () => s.service.move(usA, 'accept', 't-equal'))
  await step(20_000, () => s.service.move(ruA, 'accept', 't-equal'))
  await step(40_000, () => s.service.move(usA, 'reject', 't-political', 'Ransomware is never a political offence.'))
  await step(90_000, () =>
    ru.edit((d) => {
      const m = new Y.Map<unknown>()
      m.set('title', new Y.Text('Dual criminality'))
      m.set('body', new Y.Text('Extradition requires the conduct to be an offence under the laws of both parties.'))
      m.set('x', 720)
      m.set('y', 520)
      board(d).terms.set('t-dual', m)
      board(d).order.push(['t-dual'])
    }),
  )
  await step(60_000, () =>
    us.edit((d) =>
      text({ ...us, doc: d }, 't-dual').insert(text({ ...us, doc: d }, 't-dual').length - 1, ' at the time of the request'),
    ),
  )
  await step(2_000, () => us.edit((d) => text({ ...us, doc: d }, 't-deadline').insert(0, 'Urgent ')))
  await step(30_000, () => s.service.move(ruA, 'accept', 't-deadline'))
  await step(15_000, () => s.service.checkpoint(usA, 'End of round one'))
  await step(120_000, () =>
    ru.edit((d) => {
      const m = new Y.Map<unknown>()
      m.set('title', new Y.Text('Costs'))
      m.set('body', new Y.Text('The requesting party bears the costs.'))
      board(d).terms.set('t-costs', m)
      board(d).order.push(['t-costs'])
    }),
  )
  await step(30_000, () => ru.edit((d) => board(d).terms.delete('t-costs')))
  await step(60_000, () =>
    us.edit((d) => replaceText(text({ ...us, doc: d }, 't-equal'), 'Obligations are equal, reciprocal and binding.')),
  )
  const before = (await s.index.list(s.id)).find((v) => v.kind === 'agree' && v.termIds.includes('t-equal'))!.n
  await step(45_000, () => s.restore('ru', 't-equal', before, 'A. Volkova'))
  doc = (await s.history.exportDoc(s.id, { now: () => GENERATED }))!
})

afterAll(async () => {
  await s.close()
})

describe('export', () => {
  it('[HX1] the record: terms by state with who agreed when, redlines, the full history, chain heads', () => {
    expect(doc.asOf.n).toBe(doc.versions.length)
    const byId = Object.fromEntries(doc.terms.map((t) => [t.id, t]))
    expect(byId['t-scope']).toMatchObject({ state: 'agreed', agreed: { n: 7 } })
    expect(byId['t-scope']!.acceptances.map((a) => [a.party, a.n, a.current])).toEqual([
      ['us', 5, true],
      ['ru', 6, true],
    ])
    expect(byId['t-political']).toMatchObject({ state: 'rejected', lastMove: { kind: 'reject', party: 'us' } })
    expect(byId['t-costs']).toMatchObject({ state: 'withdrawn', onBoard: false, body: 'The requesting party bears the costs.' })
    expect(byId['t-equal']!.state).toBe('reopened')
    expect(byId['t-deadline']!.redline.body).toEqual([
      { op: 'ins', text: 'Urgent ', party: 'us' },
      { op: 'eq', text: 'Requests are answered within ' },
      { op: 'del', text: '30', party: 'ru' },
      { op: 'ins', text: '45', party: 'ru' },
      { op: 'eq', text: ' days.' },
    ])
    expect(doc.heads.versions.hash).toBe(doc.versions.at(-1)!.hash)
  })

  it('[HX2] Markdown snapshot', async () => {
    await expect(stable(renderMarkdown(doc))).toMatchFileSnapshot('__snapshots__/history.export.md')
  })

  it('[HX3] HTML snapshot (self-contained, printable)', async () => {
    const html = renderHtml(doc)
    expect(html).not.toMatch(/<script|<link|\ssrc=/)
    expect(html).toContain('@media print')
    await expect(stable(html)).toMatchFileSnapshot('__snapshots__/history.export.html')
  })

  it('[HX4] JSON snapshot', async () => {
    await expect(stable(JSON.stringify(doc, null, 2))).toMatchFileSnapshot('__snapshots__/history.export.json')
  })
})

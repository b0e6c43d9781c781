/**
 * The bench's report compares Parley with its peers (bench/lib/report.ts): the floor is never a peer, and
 * parley-base (Parley at another revision) is one only when no real peer ran beside it — said in one
 * place (peersOf) for both the ratios and the table.
 */
import { describe, expect, it } from 'vitest'
import { markdownTable, peersOf, summarize, type CaseResult } from '../../bench/lib/report'

const result = (rounds: CaseResult['rounds']): CaseResult => ({
  scenario: 'fanout',
  case: 'a-10',
  title: 'a case',
  metrics: [{ key: 'p99', label: 'p99', format: 'ms', better: 'lower' }],
  rounds,
  notes: [],
})

describe('the peers Parley is compared with', () => {
  it('[BR1] the floor never; parley-base only alone; the table and the ratios agree', () => {
    expect(peersOf(['parley', 'floor', 'stock', 'parley-base'])).toEqual(['stock'])
    expect(peersOf(['parley', 'parley-base'])).toEqual(['parley-base'])
    expect(peersOf(['parley', 'floor'])).toEqual([])

    const withPeers = result({ parley: [{ p99: 10 }], floor: [{ p99: 1 }], stock: [{ p99: 5 }], 'parley-base': [{ p99: 2 }] })
    expect(summarize(withPeers).ratios.p99).toEqual({ ratio: 2, bestPeer: 'stock' })
    expect(summarize(withPeers).baseRatios.p99).toBe(5)
    expect(markdownTable(withPeers)).toContain('Parley / parley-base')

    const alone = result({ parley: [{ p99: 10 }], 'parley-base': [{ p99: 20 }] })
    expect(summarize(alone).ratios.p99).toEqual({ ratio: 0.5, bestPeer: 'parley-base' })
    expect(markdownTable(alone)).not.toContain('Parley / parley-base')
  })
})

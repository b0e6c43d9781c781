/**
 * Brackets as treaty drafters read them (issue 17, item 1; CONTRACT.md "Concluding a negotiation"): groups
 * of adjacent alternatives, outer brackets owning inner ones, unpaired brackets bracketing nothing, and the
 * edit that settles a group on one option.
 */
import { describe, expect, it } from 'vitest'
import { bracketGroups, chooseOption, openBracketGroups } from '../../shared/brackets'

const texts = (t: string) => bracketGroups(t).map((g) => g.options.map((o) => o.text))

describe('[BR1] bracket groups', () => {
  it('adjacent brackets (only whitespace between) are alternatives of one group; text between splits groups', () => {
    expect(texts('within [30][45] days')).toEqual([['30', '45']])
    expect(texts('within [30] [45]\n[60] days')).toEqual([['30', '45', '60']])
    expect(texts('[shall] extradite [nationals] or [residents]')).toEqual([['shall'], ['nationals'], ['residents']])
    expect(texts('no brackets here')).toEqual([])
  })

  it('a bracket inside a bracket is part of the outer option; an unpaired bracket brackets nothing', () => {
    expect(texts('[persons [charged]] with [ransomware]')).toEqual([['persons [charged]'], ['ransomware']])
    expect(texts('see article 3] and [the annex')).toEqual([])
    expect(texts('[a] b ] [c')).toEqual([['a']])
    expect(texts('[]')).toEqual([['']])
  })

  it('positions span the brackets; a term counts its title’s and body’s groups together', () => {
    const [g] = bracketGroups('within [30][45] days')
    expect(g).toEqual({
      from: 7,
      to: 15,
      options: [
        { from: 7, to: 11, text: '30' },
        { from: 11, to: 15, text: '45' },
      ],
    })
    expect(openBracketGroups({ title: 'Deadline [and fees]', body: 'within [30][45] days [of receipt]' })).toBe(3)
  })
})

describe('[BR2] choosing an option', () => {
  it('replaces the whole group by the option’s text, and nothing else', () => {
    const text = 'within [30] [45] days [of receipt]'
    const edit = chooseOption(text, 0, 1)!
    expect(edit).toEqual({ from: 7, to: 16, insert: '45' })
    const settled = text.slice(0, edit.from) + edit.insert + text.slice(edit.to)
    expect(settled).toBe('within 45 days [of receipt]')
    expect(texts(settled)).toEqual([['of receipt']])
    expect(chooseOption(text, 2, 0)).toBeNull()
    expect(chooseOption(text, 0, 2)).toBeNull()
  })
})

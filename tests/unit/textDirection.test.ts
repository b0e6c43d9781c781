/** [RTL1] A paragraph's direction by its first strong character (shared/textDirection.ts), as dir="auto" decides. */
import { describe, expect, it } from 'vitest'
import { firstStrongDirection, isRightToLeft } from '../../shared/textDirection'

describe('[RTL1] firstStrongDirection', () => {
  it.each([
    ['Latin', 'Payment within 30 days', 'ltr'],
    ['Cyrillic', 'Оплата в течение 30 дней', 'ltr'],
    ['Arabic', 'الدفع خلال ثلاثين يوما', 'rtl'],
    ['Hebrew', 'תשלום תוך 30 יום', 'rtl'],
    ['digits, then Arabic', '30 — الدفع', 'rtl'],
    ['punctuation, then Latin', '«§ 4» Scope', 'ltr'],
    ['Arabic-Indic digits then Latin', '٣٠ days', 'ltr'],
    ['Latin, then Arabic', 'Article 4: الدفع', 'ltr'],
    ['the right-to-left mark first', '\u200F30 %', 'rtl'],
  ] as const)('%s', (_, text, want) => {
    expect(firstStrongDirection(text)).toBe(want)
  })

  it('neutral text has no direction of its own', () => {
    for (const text of ['', '   ', '30.5 %', '§ 1 — (2)', '٣٠', '🙂']) expect(firstStrongDirection(text), text).toBeNull()
    expect(isRightToLeft('30.5 %')).toBe(false)
    expect(isRightToLeft('١٢ بند')).toBe(true)
  })
})

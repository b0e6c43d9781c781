/**
 * The direction a paragraph of text written by people reads in, decided as the browser does for
 * `dir="auto"` (Unicode's rule P2): by its first strongly directional character. Used where the
 * browser does not decide for us — the .docx export marks a paragraph bidi when it starts right to
 * left. Script properties stand in for Bidi_Class, which JavaScript's regular expressions lack:
 * letters of the right-to-left scripts (and the RLM / ALM marks) are strong right-to-left, any other
 * letter (and LRM) strong left-to-right; digits, punctuation, spaces and symbols are neutral.
 */
const RTL =
  /[\u200F\u061C\p{Script=Arabic}\p{Script=Hebrew}\p{Script=Syriac}\p{Script=Thaana}\p{Script=Nko}\p{Script=Samaritan}\p{Script=Mandaic}\p{Script=Adlam}\p{Script=Hanifi_Rohingya}\p{Script=Mende_Kikakui}\p{Script=Old_Hungarian}\p{Script=Imperial_Aramaic}\p{Script=Phoenician}\p{Script=Kharoshthi}\p{Script=Avestan}\p{Script=Yezidi}]/u
const STRONG = /[\u200E\u200F\u061C\p{L}]/u

export type TextDirection = 'ltr' | 'rtl'

/** 'rtl' or 'ltr' by the first strong character of `text`; null when it has none (digits, punctuation, empty). */
export function firstStrongDirection(text: string): TextDirection | null {
  for (const ch of text) {
    if (!STRONG.test(ch)) continue
    return RTL.test(ch) ? 'rtl' : 'ltr'
  }
  return null
}

/** Whether `text` reads right to left (neutral text reads as its surroundings, left to right here). */
export const isRightToLeft = (text: string): boolean => firstStrongDirection(text) === 'rtl'

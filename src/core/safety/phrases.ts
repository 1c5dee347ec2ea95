// The small phrase language of the safety data files, compiled to regular expressions over
// folded text (see src/core/text/normalize.ts): words separated by single spaces.
//   "a|b"    either word          "word*"  any word starting so
//   "~"      up to six words in between    "a_b"    two words as one alternative ("i_am|im")
// Phrases are folded like messages, so the data may keep accents and apostrophes.
import { foldText } from '../text/normalize.ts'

const GAP = '~'
const GAP_PATTERN = '(?: \\S+){0,6}'

/** One token of a phrase as a regex source: an alternation of folded words or prefixes. */
function tokenPattern(token: string): string {
  const alternatives = token.split('|').map((alt) => {
    const prefix = alt.endsWith('*')
    const word = foldText((prefix ? alt.slice(0, -1) : alt).replaceAll('_', ' '))
    if (!word) throw new Error(`empty word in safety phrase token '${token}'`)
    return prefix ? `${word}\\S*` : word
  })
  return alternatives.length === 1 ? alternatives[0] : `(?:${alternatives.join('|')})`
}

/** The regex source of one phrase, without the word boundaries around it. */
export function phrasePattern(phrase: string): string {
  let out = ''
  for (const token of phrase.trim().split(/\s+/)) {
    if (token === GAP) out += GAP_PATTERN
    else out += (out ? ' ' : '') + tokenPattern(token)
  }
  return out
}

/** One regex matching any of `phrases` as whole words of folded text; undefined for none. */
export function compilePhrases(phrases: readonly string[]): RegExp | undefined {
  if (phrases.length === 0) return undefined
  return new RegExp(`(?:^| )(?:${phrases.map(phrasePattern).join('|')})(?= |$)`, 'g')
}

/** The literal words of `phrases` (folded, no prefixes or gaps): the vocabulary fuzzy matching corrects towards. */
export function phraseWords(phrases: readonly string[]): string[] {
  const words: string[] = []
  for (const phrase of phrases) {
    for (const token of phrase.trim().split(/\s+/)) {
      if (token === GAP) continue
      for (const alt of token.split('|')) {
        if (alt.endsWith('*')) continue
        words.push(...foldText(alt.replaceAll('_', ' ')).split(' ').filter(Boolean))
      }
    }
  }
  return words
}

// Which language a visitor wrote in, among the ones the gateway answers in. Shared by the
// safety layer (its fixed replies) and the offline responder (its answers), so both agree.
// `eld` (an n-gram detector) does the work; children's messages are often two or three words,
// so a short list of unmistakable words per language settles what the n-grams cannot.
import { eld } from 'eld/small'
import { hintPairs, hintWords } from './language-hints.ts'
import { normalizeText } from './normalize.ts'

export const LANGUAGES = ['en', 'es', 'de', 'fr'] as const
export type Language = (typeof LANGUAGES)[number]

const detector = eld.newInstance ? eld.newInstance() : eld
detector.setLanguageSubset([...LANGUAGES])

export function isLanguage(value: unknown): value is Language {
  return (LANGUAGES as readonly unknown[]).includes(value)
}

/** Word -> the languages it may belong to: extra evidence a caller brings (its own word lists). */
export type LanguageHints = ReadonlyMap<string, readonly Language[]>

/**
 * The language of `text`, or `fallback` when nothing points anywhere (a name, "ok", an emoji).
 * Hint words decide first: n-grams of a three-word message are a weaker signal than "hola".
 */
export function detectLanguage(text: string, fallback: Language = 'en', extraHints?: LanguageHints): Language {
  const hinted = hintedLanguage(text, extraHints)
  if (hinted) return hinted
  const detected = detector.detect(text).language
  return isLanguage(detected) ? detected : fallback
}

/**
 * The language the hint words of `text` (and `extraHints`) vote for; undefined when no word is a
 * hint or the vote is tied. For callers that know better than n-grams what a short message
 * means, such as the language the conversation has been in so far.
 */
export function hintedLanguage(text: string, extraHints?: LanguageHints): Language | undefined {
  return languageByHints(normalizeText(text).words, extraHints)
}

/** The language most hint words belong to; undefined on no hint or a tie. */
function languageByHints(words: readonly string[], extraHints?: LanguageHints): Language | undefined {
  const votes = new Map<Language, number>()
  for (const word of words) {
    for (const language of hintWords.get(word) ?? extraHints?.get(word) ?? []) votes.set(language, (votes.get(language) ?? 0) + 1)
  }
  let best: Language | undefined
  let bestVotes = 0
  let tie = false
  for (const [language, count] of votes) {
    if (count > bestVotes) [best, bestVotes, tie] = [language, count, false]
    else if (count === bestVotes) tie = true
  }
  return tie ? pairLanguage(words) : best
}

/** The language of the first telling word pair ("tu es": French), to settle a tie. */
function pairLanguage(words: readonly string[]): Language | undefined {
  for (let i = 0; i + 1 < words.length; i++) {
    const language = hintPairs.get(`${words[i]} ${words[i + 1]}`)
    if (language) return language
  }
  return undefined
}

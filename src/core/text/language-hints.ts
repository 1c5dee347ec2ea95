// The hint words of language-hints.json as lookups: word -> the languages it may belong to, and
// word pairs ("tu es") -> the one language they belong to.
import hints from './language-hints.json' with { type: 'json' }
import type { Language } from './language.ts'

export const hintWords = new Map<string, Language[]>()
for (const [language, list] of Object.entries(hints)) {
  if (language.startsWith('_')) continue
  for (const word of list as string[]) hintWords.set(word, [...(hintWords.get(word) ?? []), language as Language])
}

export const hintPairs = new Map<string, Language>()
for (const [language, pairs] of Object.entries(hints._pairs)) for (const pair of pairs) hintPairs.set(pair, language as Language)

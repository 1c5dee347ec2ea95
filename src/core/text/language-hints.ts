// The hint words of language-hints.json as one lookup: word -> the languages it may belong to.
import hints from './language-hints.json' with { type: 'json' }
import type { Language } from './language.ts'

export const hintWords = new Map<string, Language[]>()
for (const [language, list] of Object.entries(hints)) {
  if (language.startsWith('_')) continue
  for (const word of list as string[]) hintWords.set(word, [...(hintWords.get(word) ?? []), language as Language])
}

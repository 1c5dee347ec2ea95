// The offline responder's own words per language (phrases/<language>.json): openers, closers,
// the kind "I don't know", fixed answers to "can I pet you?" and the like, and one question per
// topic it can suggest. The animal's own words (facts, jokes, favourites) are in its knowledge.
import type { Language } from '../core/text/language.ts'
import type { Feeling, KnowledgeTopic } from '../core/types.ts'
import de from './phrases/de.json' with { type: 'json' }
import en from './phrases/en.json' with { type: 'json' }
import es from './phrases/es.json' with { type: 'json' }
import fr from './phrases/fr.json' with { type: 'json' }

/** A topic a suggested question can be about: the fact topics, plus jokes, favourites and feelings. */
export type SuggestionTopic = KnowledgeTopic | 'joke' | 'favourite' | 'feelings'

export interface Phrases {
  openers: string[]
  hello: string[]
  closers: string[]
  askMe: string[]
  frames: string[]
  greeting: string
  intro: string[]
  introNoKind: string[]
  goodbye: string[]
  thanks: string[]
  dontKnow: string[]
  partlyDontKnow: string
  suggest: string[]
  or: string
  topicDone: string[]
  somethingElse: string
  really: string[]
  more: string[]
  onlyEnglish: string
  pet: string[]
  feed: string[]
  visit: string[]
  real: string[]
  noFavourite: string
  feelings: Record<Feeling, string>
  jokes: string[]
  questions: Record<SuggestionTopic, string>
}

export const PHRASES: Record<Language, Phrases> = { en, es, de, fr }

/** Fills {name}, {kind}, {question}, {questions} in a template. */
export function fill(template: string, values: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => values[key] ?? whole)
}

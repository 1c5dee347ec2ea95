// What the offline responder knows about an animal in one language, ready to match: the
// animal's `knowledge` for that language, else its English knowledge, else (animals stored
// before `knowledge` existed) its plain English `facts`, diet and habitat with topics found by
// the lexicon. Facts are folded and stemmed once per text and remembered.
import { withArticle } from '../core/prompt.ts'
import { foldText } from '../core/text/normalize.ts'
import type { Language } from '../core/text/language.ts'
import {
  KNOWLEDGE_TOPICS, type Animal, type AnimalKnowledge, type Favourite, type Feeling, type KnowledgeFact, type KnowledgeTopic,
} from '../core/types.ts'
import { LEXICONS } from './offline-lexicon.ts'
import { continuing, firstPerson } from './offline-voice.ts'

export interface PreparedFact extends KnowledgeFact {
  /** Position in the animal's list: earlier facts are the better first answers. */
  index: number
  /** The text folded, to find it in earlier replies. */
  folded: string
  /** Content stems, to rank facts by the question's own words. */
  stems: ReadonlySet<string>
  /** True when the text is not in the animal's own words and needs a frame ("Guess what?"). */
  framed: boolean
}

export interface Knowledge {
  /** The language the facts (and jokes, favourites, feelings) are in. */
  language: Language
  kind?: string
  greeting?: string
  goodbye?: string
  catchphrases: readonly string[]
  facts: readonly PreparedFact[]
  jokes: readonly string[]
  favourites: Partial<Record<Favourite, string>>
  feelings: Partial<Record<Feeling, string>>
  /** Folded words of the facts, the name and the kind: known words, never "corrected". */
  vocabulary: ReadonlySet<string>
  /** Stems of the name and the kind ("leo", "lion"): in every fact, so they say nothing. */
  selfStems: ReadonlySet<string>
}

interface TextInfo {
  folded: string
  words: string[]
  stems: Set<string>
}

const MEMO_LIMIT = 5_000
const textInfo = new Map<string, TextInfo>()
const legacyTopics = new Map<string, KnowledgeTopic[]>()

function infoOf(text: string, language: Language): TextInfo {
  const key = `${language}|${text}`
  let info = textInfo.get(key)
  if (!info) {
    if (textInfo.size >= MEMO_LIMIT) textInfo.clear()
    const lexicon = LEXICONS[language]
    const words = lexicon.words(text, false)
    const stems = new Set(words.map((word) => lexicon.stem(word)).filter((stem) => !lexicon.stopStems.has(stem)))
    info = { folded: foldText(text), words, stems }
    textInfo.set(key, info)
  }
  return info
}

/** The topics an English fact is about, found with the same lists as questions. */
function topicsOfLegacyFact(text: string): KnowledgeTopic[] {
  let topics = legacyTopics.get(text)
  if (!topics) {
    if (legacyTopics.size >= MEMO_LIMIT) legacyTopics.clear()
    const lexicon = LEXICONS.en
    const weights = new Map<string, number>()
    // Facts are spelt right: matched as they are, never "corrected".
    for (const hit of lexicon.cues(lexicon.words(text, false).map((word) => lexicon.stem(word)))) {
      if (hit.group === 'topics') weights.set(hit.key, (weights.get(hit.key) ?? 0) + hit.weight)
    }
    // As for questions: the topics that weigh more than half the strongest, strongest first.
    const strongest = Math.max(0, ...weights.values())
    topics = KNOWLEDGE_TOPICS.filter((topic) => (weights.get(topic) ?? 0) > strongest / 2).sort((a, b) => weights.get(b)! - weights.get(a)!)
    legacyTopics.set(text, topics)
  }
  return topics
}

/** An old-style fact may be about the animal rather than said by it: then it needs a frame. */
type SourceFact = KnowledgeFact & { framed?: boolean }

/** Knowledge built from the fields every animal has: English facts, diet, habitat, greeting. */
function legacyKnowledge(animal: Animal): AnimalKnowledge & { facts: SourceFact[] } {
  const facts: SourceFact[] = [
    ...(animal.diet ? [{ topics: ['food' as const], text: `I eat ${continuing(animal.diet)}.` }] : []),
    ...(animal.habitat ? [{ topics: ['home' as const], text: `In the wild, I live in ${continuing(animal.habitat)}.` }] : []),
    ...animal.facts.map((fact) => {
      const ownWords = firstPerson(fact, animal)
      return { topics: topicsOfLegacyFact(fact), text: ownWords ?? fact, framed: ownWords === undefined }
    }),
  ]
  return { kind: withArticle(animal.species), greeting: animal.greeting, facts }
}

function hasFacts(knowledge: AnimalKnowledge | undefined): knowledge is AnimalKnowledge {
  return (knowledge?.facts?.length ?? 0) > 0
}

export function knowledgeFor(animal: Animal, language: Language): Knowledge {
  const own = animal.knowledge?.[language]
  const english = animal.knowledge?.en
  const [source, sourceLanguage]: [AnimalKnowledge & { facts?: readonly SourceFact[] }, Language] = hasFacts(own)
    ? [own, language]
    : hasFacts(english)
      ? [english, 'en']
      : [legacyKnowledge(animal), 'en']

  const vocabulary = new Set<string>()
  const facts = (source.facts ?? []).map((fact: SourceFact, index): PreparedFact => {
    const info = infoOf(fact.text, sourceLanguage)
    for (const word of info.words) vocabulary.add(word)
    return { topics: fact.topics, text: fact.text, why: fact.why, index, folded: info.folded, stems: info.stems, framed: fact.framed ?? false }
  })
  const self = infoOf(`${animal.name} ${animal.species} ${source.kind ?? ''}`, sourceLanguage)
  for (const word of self.words) vocabulary.add(word)

  return {
    language: sourceLanguage,
    kind: source.kind,
    greeting: source.greeting ?? (sourceLanguage === 'en' ? animal.greeting : undefined),
    goodbye: source.goodbye,
    catchphrases: source.catchphrases ?? [],
    facts,
    jokes: source.jokes ?? [],
    favourites: source.favourites ?? {},
    feelings: source.feelings ?? {},
    vocabulary,
    selfStems: self.stems,
  }
}

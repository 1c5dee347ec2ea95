// What a visitor's message asks, in words the rest of the gateway can count: its language, what
// each question in it is (a greeting, a joke request, a question about food...) and whether the
// animal can answer it. The one source of truth for intents and topics: the offline responder
// answers from it, the engine records it with the turn, analytics counts it.
import { detectLanguage, hintedLanguage, type Language } from '../core/text/language.ts'
import { FAVOURITES, FEELINGS, KNOWLEDGE_TOPICS, type Animal, type Favourite, type Feeling, type KnowledgeTopic } from '../core/types.ts'
import { knowledgeFor, type Knowledge } from './offline-knowledge.ts'
import { LEXICON_HINTS, LEXICONS, type CueHit, type Lexicon } from './offline-lexicon.ts'

/**
 * What a question part does. `question` asks about the animal's facts (its `topics` say which);
 * the rest are answered from the animal's jokes, favourites, feelings or fixed replies.
 */
export const INTENTS = [
  'question', 'fact', 'follow_up', 'suggest', 'joke', 'favourite', 'feelings', 'name',
  'pet', 'feed', 'visit', 'real', 'greeting', 'goodbye', 'thanks', 'unknown',
] as const
export type Intent = (typeof INTENTS)[number]

/** Everything a message can be about, for counting: the fact topics, then the other intents. */
export const TOPICS = [...KNOWLEDGE_TOPICS, ...INTENTS.filter((intent) => intent !== 'question' && intent !== 'unknown')] as const
export type Topic = (typeof TOPICS)[number]

/** Intents that are a question of their own, in the order that breaks a tie. */
const PRIMARY: readonly Intent[] = ['suggest', 'real', 'pet', 'feed', 'visit', 'joke', 'favourite', 'feelings', 'name', 'question']
/** Conversation glue: chosen only when nothing above is asked ("why?", "hello", "thanks"). */
const GLUE: readonly Intent[] = ['follow_up', 'fact', 'goodbye', 'thanks', 'greeting']
/** Glue outscoring a primary intent by this many words still wins ("is that real?" is a follow-up). */
const GLUE_MARGIN = 2
const MAX_PARTS = 3

export type FollowUp = 'why' | 'really' | 'yes' | 'more'

export interface QuestionPart {
  intent: Intent
  /** For `question`: the fact topics asked about, strongest first. */
  topics: KnowledgeTopic[]
  /** The first topic weighs more than the others (false when they tie: "how long is your tongue"). */
  topicsRanked: boolean
  favourite?: Favourite
  feeling?: Feeling
  followUp?: FollowUp
  /** Asked "why": a fact's reason is part of the answer. */
  why: boolean
  /** Content stems of the part (not the animal's name or kind), to rank facts. */
  keywords: string[]
  answerable: boolean
}

export interface Understanding {
  language: Language
  /** One per question part, in order (a message may hold several questions). */
  intents: Intent[]
  /** What was asked about, for counting (see TOPICS); empty when nothing was recognised. */
  topics: Topic[]
  /** False when any question in the message could not be answered from what the animal knows. */
  answerable: boolean
  greeted: boolean
  thanked: boolean
  saidGoodbye: boolean
  parts: QuestionPart[]
}

export interface UnderstandOptions {
  /** The language the conversation was in: decides for a message that gives no hint ("ok", "Leo!"). */
  previousLanguage?: Language
}

/** The language of a visitor's message: hint words (shared and lexicon), then the conversation, then n-grams. */
export function messageLanguage(text: string, previousLanguage?: Language): Language {
  return hintedLanguage(text, LEXICON_HINTS) ?? previousLanguage ?? detectLanguage(text)
}

/**
 * Reads a visitor's message: pure, fast and deterministic. With an animal, `answerable` says
 * whether that animal can answer (a fact on the topic, a joke, a favourite...); without one,
 * whether the question was understood at all.
 */
export function understandQuestion(text: string, animal?: Animal, options: UnderstandOptions = {}): Understanding {
  const language = messageLanguage(text, options.previousLanguage)
  const knowledge = animal ? knowledgeFor(animal, language) : undefined
  return understandIn(text, language, knowledge)
}

/** `understandQuestion` for a caller that has the language and the knowledge already. */
export function understandIn(text: string, language: Language, knowledge?: Knowledge): Understanding {
  const lexicon = LEXICONS[language]
  const read = splitParts(text, lexicon).map((words) => readPart(words, lexicon, knowledge))
  const glueOnly = (intent: Intent) => intent === 'greeting' || intent === 'thanks' || intent === 'goodbye'
  const has = (intent: Intent) => read.some((part) => part.intent === intent)
  let parts = read.filter((part) => !glueOnly(part.intent))
  // A name alone ("Leo!") or an empty part says nothing when a real question came with it.
  if (parts.length > 1) parts = parts.filter((part) => part.intent !== 'unknown' || part.keywords.length > 0)
  if (parts.length === 0) {
    const intent: Intent = has('goodbye') ? 'goodbye' : has('thanks') ? 'thanks' : 'greeting'
    parts = [{ intent, topics: [], topicsRanked: true, why: false, keywords: [], answerable: true }]
  }
  parts = parts.slice(0, MAX_PARTS)

  const topics = new Set<Topic>()
  for (const part of parts) {
    if (part.intent === 'question') for (const topic of part.topics) topics.add(topic)
    else if (part.intent !== 'unknown') topics.add(part.intent)
  }
  return {
    language,
    intents: parts.map((part) => part.intent),
    topics: [...topics],
    answerable: parts.every((part) => part.answerable),
    greeted: has('greeting'),
    thanked: has('thanks'),
    saidGoodbye: has('goodbye'),
    parts,
  }
}

/**
 * Splits a message into its questions: at . ? ! ; and at a comma or "and" that a question word
 * follows ("what do you eat and where do you live?"), so "fish and meat" stays one question.
 */
function splitParts(text: string, lexicon: Lexicon): string[][] {
  const parts: string[][] = []
  for (const sentence of text.split(/[.?!;¿¡\n]+/)) {
    let current: string[] = []
    for (const chunk of sentence.split(',')) {
      const words = lexicon.words(chunk)
      if (words.length === 0) continue
      if (current.length > 0 && !lexicon.questionWords.has(words[0])) current.push(...words)
      else {
        if (current.length > 0) parts.push(current)
        current = [...words]
      }
    }
    if (current.length > 0) parts.push(current)
  }
  return parts.flatMap((words) => splitAtJoiners(words, lexicon)).slice(0, MAX_PARTS * 2)
}

function splitAtJoiners(words: string[], lexicon: Lexicon): string[][] {
  const parts: string[][] = []
  let start = 0
  for (let i = 1; i < words.length - 1; i++) {
    if (lexicon.joiners.has(words[i]) && lexicon.questionWords.has(words[i + 1]) && i > start) {
      parts.push(words.slice(start, i))
      start = i + 1
    }
  }
  parts.push(words.slice(start))
  return parts
}

function tally(hits: readonly CueHit[], group: CueHit['group']): Map<string, number> {
  const scores = new Map<string, number>()
  for (const hit of hits) if (hit.group === group) scores.set(hit.key, (scores.get(hit.key) ?? 0) + hit.weight)
  return scores
}

/** The key with the highest score; ties go to the one listed first in `order`. */
function best<K extends string>(scores: Map<string, number>, order: readonly K[]): K | undefined {
  let winner: K | undefined
  let top = 0
  for (const key of order) {
    const score = scores.get(key) ?? 0
    if (score > top) [winner, top] = [key, score]
  }
  return winner
}

function readPart(words: string[], lexicon: Lexicon, knowledge?: Knowledge): QuestionPart {
  const { stems, hits } = lexicon.analyse(words, knowledge?.vocabulary)
  const intents = tally(hits, 'intents')
  const topicWeights = tally(hits, 'topics')
  const strongest = Math.max(0, ...topicWeights.values())
  // A topic counts when it weighs more than half the strongest: "where do you sleep" is about sleep.
  const topics = KNOWLEDGE_TOPICS.filter((topic) => (topicWeights.get(topic) ?? 0) > strongest / 2).sort(
    (a, b) => topicWeights.get(b)! - topicWeights.get(a)!,
  )
  if (topics.length > 0) intents.set('question', strongest)
  const keywords = stems.filter((stem) => stem.length >= 3 && !lexicon.stopStems.has(stem) && !knowledge?.selfStems.has(stem))

  const primary = best(intents, PRIMARY)
  const glue = best(intents, GLUE)
  let intent: Intent =
    primary && !(glue && intents.get(glue)! >= intents.get(primary)! + GLUE_MARGIN && (glue === 'follow_up' || glue === 'fact'))
      ? primary
      : (glue ?? 'unknown')
  // A word of the animal's own facts ("matriarch", "ossicones") is a question about them.
  if (intent === 'unknown' && knowledge && keywords.some((stem) => stem.length >= 4 && knowledge.facts.some((fact) => fact.stems.has(stem)))) intent = 'question'

  const followUps = tally(hits, 'followUps')
  const part: QuestionPart = {
    intent,
    topics: intent === 'question' ? topics : [],
    topicsRanked: topics.length < 2 || topicWeights.get(topics[0])! > topicWeights.get(topics[1])!,
    why: (followUps.get('why') ?? 0) > 0,
    keywords,
    answerable: false,
  }
  if (intent === 'favourite') part.favourite = best(tally(hits, 'favourites'), FAVOURITES) ?? (topics.includes('food') ? 'food' : undefined)
  if (intent === 'feelings') part.feeling = best(tally(hits, 'feelings'), FEELINGS) ?? 'happy'
  if (intent === 'follow_up') part.followUp = best(followUps, ['why', 'really', 'yes'] as const) ?? 'more'
  part.answerable = canAnswer(part, knowledge)
  return part
}

function canAnswer(part: QuestionPart, knowledge?: Knowledge): boolean {
  switch (part.intent) {
    case 'unknown':
      return false
    case 'question':
      if (!knowledge) return part.topics.length > 0
      return knowledge.facts.some(
        (fact) => fact.topics.some((topic) => part.topics.includes(topic)) || part.keywords.some((stem) => fact.stems.has(stem)),
      )
    case 'favourite':
      return !knowledge || Object.keys(knowledge.favourites).length > 0
    case 'fact':
    case 'follow_up':
      return !knowledge || knowledge.facts.length > 0
    default:
      return true
  }
}

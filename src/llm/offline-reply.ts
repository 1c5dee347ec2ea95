// Composes the offline responder's answer: recognise what kind of question it is, find the
// animal's best-matching facts, and say them in the animal's voice. Phrasing is chosen by a
// hash of the question and the animal, so an answer is repeatable yet questions vary.
import { withArticle } from '../core/prompt.ts'
import type { Animal } from '../core/types.ts'
import { allStems, keywords, pick, topicsOf, words } from './offline-text.ts'
import { continuing, firstPerson, withoutFinalStop } from './offline-voice.ts'

const OPENERS = [
  'Great question!',
  'Ooh, I love this one!',
  'Let me tell you!',
  'Good thinking!',
  'Oh, I know this!',
  'What a fun thing to ask!',
  'Here is what I know.',
]
const FRAMES = ["Here's something about me:", "Here's a fun fact:", 'Guess what?', 'Did you know?']
const CLOSERS = [
  'What else would you like to know?',
  'Isn’t that amazing?',
  'Do you have another question for me?',
  'Pretty cool, right?',
  'Ask me anything else!',
]
const NOT_SURE = [
  "I'm not sure about that, but did you know that",
  "Hmm, I'm not sure about that one! But did you know that",
  "That's a tricky one, and I'm not sure. But did you know that",
]
const KEEP_PRIVATE = [
  "Oh, let's keep things like names, addresses and schools private, even from a friendly {kind} like me!",
  "Shh, that's private! It's best not to share things like where you live or go to school.",
]
const NOT_HERE = [
  "That's not something I talk about here. Let's chat about animals instead!",
  "Hmm, let's keep our chat friendly and talk about animals instead!",
]
const TELL_A_GROWN_UP =
  'That sounds really important. Please tell a grown-up you trust, like someone in your family or a zookeeper nearby, right away. They can help you.'

const GREETING_WORDS = new Set(['hello', 'hi', 'hey', 'hiya', 'howdy', 'greetings', 'yo'])

// Personal details the visitor is sharing: never echoed, gently discouraged.
const PERSONAL = [
  /\bmy (full |last )?name is\b/i,
  /\bmy (home |house |email |e-mail )?(address|phone|number|email|e-mail|school|password|birthday)\b/i,
  /\bi (live|go to school) (at|on|in)\b/i,
  /\b(call|text|email) me\b/i,
  /\d[\d\s-]{5,}\d/,
  /\S+@\S+\.\S+/,
]
const NEEDS_A_GROWN_UP = [
  /\b(hurt|kill) myself\b/i,
  /\bsuicid/i,
  /\bwant to die\b/i,
  /\b(someone|somebody) (is )?hurt(ing|s)? me\b/i,
  /\bbull(y|ied|ying)\b/i,
  /\b(lost|can'?t find)\b.*\b(mom|mum|mommy|mummy|dad|daddy|parents?|family|grown-?ups?|brother|sister|teacher|class)\b/i,
]
const UNSAFE =
  /\b(guns?|knife|knives|weapons?|bombs?|drugs?|alcohol|beer|wine|vodka|cigarettes?|smok\w*|vap(e|ing)|sex\w*|porn\w*|kill\w*|murder\w*|blood\w*|dead|death|die|dying|wars?|shoot\w*|stupid|idiot|dumb|shut up)\b/i

interface Fact {
  text: string
  /** The fact in the animal's own words, when it could be rewritten. */
  ownWords?: string
  stems: Set<string>
}

function toFact(text: string, ownWords: string | undefined, extraStems: string[] = []): Fact {
  return { text, ownWords, stems: new Set([...keywords(text), ...extraStems]) }
}

function inOwnWords(text: string, extraStems: string[]): Fact {
  return toFact(text, text, extraStems)
}

/** Its diet and habitat said as facts (first, so they win ties: they answer "what"/"where"), then its facts. */
function factsOf(animal: Animal): Fact[] {
  return [
    ...(animal.diet ? [inOwnWords(`I eat ${continuing(animal.diet)}.`, ['eat', 'food'])] : []),
    ...(animal.habitat ? [inOwnWords(`In the wild, I live in ${continuing(animal.habitat)}.`, ['live', 'home'])] : []),
    ...animal.facts.map((text) => toFact(text, firstPerson(text, animal))),
  ]
}

/**
 * Each question word found in the fact scores 3; each fact word on one of the question's topics
 * scores 1, at most 2 in all, so a fact that is about the topic beats one that mentions it once.
 */
function score(fact: Fact, stems: Set<string>, topics: Set<string>): number {
  let exact = 0
  for (const s of stems) if (fact.stems.has(s)) exact += 3
  let onTopic = 0
  for (const s of fact.stems) if ([...topicsOf([s])].some((t) => topics.has(t))) onTopic++
  return exact + Math.min(onTopic, 2)
}

function overlap(a: Fact, b: Fact): number {
  let shared = 0
  for (const s of a.stems) if (b.stems.has(s)) shared++
  return shared / Math.max(1, Math.min(a.stems.size, b.stems.size))
}

/** The best one or two facts for the question, best first. */
function bestFacts(facts: Fact[], stems: Set<string>, topics: Set<string>): Fact[] {
  const ranked = facts
    .map((fact, index) => ({ fact, index, score: score(fact, stems, topics) }))
    .filter((r) => r.score > 0)
    .sort((a, b) => b.score - a.score || a.index - b.index)
  const [best, ...rest] = ranked
  if (!best) return []
  const second = rest.find((r) => r.score * 2 >= best.score && overlap(r.fact, best.fact) < 0.5)
  return second ? [best.fact, second.fact] : [best.fact]
}

/** For a visitor who needs help, shares personal details or raises an unsafe topic. */
function safetyReply(question: string, key: string, kind: string): string | undefined {
  if (NEEDS_A_GROWN_UP.some((pattern) => pattern.test(question))) return TELL_A_GROWN_UP
  if (PERSONAL.some((pattern) => pattern.test(question))) return pick(KEEP_PRIVATE, key, 'private').replace('{kind}', kind)
  if (UNSAFE.test(question)) return pick(NOT_HERE, key, 'unsafe')
  return undefined
}

export function composeOfflineReply(animal: Animal, question: string): string {
  const key = `${animal.animalId}|${words(question).join(' ')}`
  const kind = animal.species
  const facts = factsOf(animal)
  const say = (fact: Fact) => fact.ownWords ?? `${pick(FRAMES, key + fact.text, 'frame')} ${fact.text}`
  const someFact = facts.length ? say(pick(facts, key, 'fact')) : ''
  const closer = pick(CLOSERS, key, 'closer')

  const safety = safetyReply(question, key, kind)
  if (safety) return `${safety} ${safety === TELL_A_GROWN_UP ? '' : someFact}`.trim()

  // The animal's own name and kind appear in most facts: they say nothing about the topic.
  const ignored = new Set(keywords(`${animal.name} ${animal.species}`))
  const stems = new Set(keywords(question).filter((s) => !ignored.has(s)))
  const topics = topicsOf(allStems(question).filter((s) => !ignored.has(s)))
  const matched = bestFacts(facts, stems, topics)
  const greeted = words(question).some((word) => GREETING_WORDS.has(word))

  if (matched.length > 0) {
    const opener = greeted ? 'Hi there!' : pick(OPENERS, key, 'opener')
    // Only the first fact gets a frame: two frames in a row sound like a list.
    const [first, second] = matched
    return [opener, say(first), ...(second ? [second.ownWords ?? second.text] : []), closer].join(' ')
  }
  if (greeted) return animal.greeting ?? `Hello! I'm ${animal.name} the ${kind}. What would you like to know about me?`
  if (stems.has('name') || /\bwho are you\b/i.test(question)) {
    return `My name is ${animal.name}, and I'm ${withArticle(kind)}! ${someFact}`.trim()
  }
  if (facts.length === 0) return `I'm ${animal.name} the ${kind}! I'm not sure about that one. ${closer}`
  const fact = pick(facts, key, 'fact')
  return `${pick(NOT_SURE, key, 'not-sure')} ${continuing(withoutFinalStop(fact.ownWords ?? fact.text))}?`
}

// Composes the offline responder's answer: understand the message (offline-understand.ts), choose
// what to say for each question in it from the animal's knowledge without repeating what this
// session already heard, and phrase it in the animal's voice and the visitor's language.
// Phrasing is chosen by a hash of the session's opening message and the turn number: the same
// session and turn always get the same reply, the next turn sounds different.
import { foldText } from '../core/text/normalize.ts'
import type { Language } from '../core/text/language.ts'
import { FAVOURITES, KNOWLEDGE_TOPICS, type Animal, type ChatMessage, type KnowledgeTopic } from '../core/types.ts'
import { readConversation, type Conversation } from './offline-context.ts'
import { knowledgeFor, type Knowledge, type PreparedFact } from './offline-knowledge.ts'
import { fill, PHRASES, type Phrases, type SuggestionTopic } from './offline-phrases.ts'
import { hash } from './offline-text.ts'
import { messageLanguage, understandIn, type QuestionPart, type Understanding } from './offline-understand.ts'

// Minimal stand-ins until the core safety layer classifies messages before any model is asked.
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

/** Suggested questions for "I don't know what to ask". */
const SUGGESTIONS = 3
/** Share of closers that suggest a next question (the rest are "Pretty cool, right?" or nothing). */
const ASK_ME = 'ask-me'

export interface OfflineReply {
  reply: string
  understanding: Understanding
}

/** Makes the turn's choices: the same session, turn and salt always choose the same item. */
class Chooser {
  readonly #seed: string
  readonly #turn: number
  constructor(seed: string, turn: number) {
    this.#seed = seed
    this.#turn = turn
  }
  /** Turn by turn the choice moves one item on, so consecutive turns never open alike. */
  pick<T>(items: readonly T[], salt: string): T {
    return items[(hash(`${salt}|${this.#seed}`) + this.#turn) % items.length]
  }
  /** The items in an order of this session's own. */
  shuffle<T>(items: readonly T[], salt: string): T[] {
    return items
      .map((item, index) => ({ item, key: hash(`${salt}|${index}|${this.#seed}|${this.#turn}`) }))
      .sort((a, b) => a.key - b.key)
      .map(({ item }) => item)
  }
}

/** One reply being composed: what the session already heard, plus what this reply says. */
class Reply {
  readonly said = new Set<string>()
  readonly values: Record<string, string>
  readonly animal: Animal
  readonly language: Language
  readonly knowledge: Knowledge
  readonly phrases: Phrases
  readonly conversation: Conversation
  readonly choose: Chooser

  constructor(animal: Animal, language: Language, knowledge: Knowledge, conversation: Conversation, choose: Chooser) {
    this.animal = animal
    this.language = language
    this.knowledge = knowledge
    this.phrases = PHRASES[language]
    this.conversation = conversation
    this.choose = choose
    // The kind ("a lion") only in the reply's language: "Soy Leo, a lion" would mix two.
    this.values = { name: animal.name, kind: knowledge.language === language ? (knowledge.kind ?? '') : '' }
  }

  given(folded: string): boolean {
    return this.said.has(folded) || this.conversation.said.includes(folded)
  }

  fresh(facts: readonly PreparedFact[] = this.knowledge.facts): PreparedFact[] {
    return facts.filter((fact) => !this.given(fact.folded))
  }

  say(fact: PreparedFact, withWhy = false): string {
    this.said.add(fact.folded)
    const text = fact.framed ? `${this.choose.pick(this.phrases.frames, fact.folded)} ${fact.text}` : fact.text
    if (!withWhy || !fact.why) return text
    this.said.add(foldText(fact.why))
    return `${text} ${fact.why}`
  }

  /**
   * The best fresh fact for a question: on its topics (the first topic counts most unless the
   * question weighs them alike; a fact mainly about a topic a little more), with more of the
   * question's words, then earlier in the list.
   * With topics, a fact must be on one of them; without, the question's words must meet it.
   */
  bestFact(topics: readonly KnowledgeTopic[], keywords: readonly string[] = [], firstCountsMore = true): PreparedFact | undefined {
    let winner: PreparedFact | undefined
    let top = 0
    for (const fact of this.fresh()) {
      let onTopic = 0
      topics.forEach((topic, i) => {
        if (fact.topics.includes(topic)) onTopic += (i === 0 || !firstCountsMore ? 10 : 6) + (fact.topics[0] === topic ? 2 : 0)
      })
      if (topics.length > 0 && onTopic === 0) continue
      // The question's own words ("tongue") say more than a second topic a fact happens to touch.
      let score = onTopic
      for (const stem of keywords) if (fact.stems.has(stem)) score += 12
      if (score > top) [winner, top] = [fact, score]
    }
    return winner
  }

  /** A fresh fact on a topic this session has not heard about yet, else any fresh fact. */
  newTopicFact(): PreparedFact | undefined {
    const fresh = this.fresh()
    const heard = new Set(this.knowledge.facts.filter((fact) => this.given(fact.folded)).flatMap((fact) => fact.topics))
    return fresh.find((fact) => !fact.topics.some((topic) => heard.has(topic))) ?? fresh[0]
  }

  /**
   * Topics worth suggesting: something fresh to say, not talked about yet, not just asked; a
   * joke or a favourite rounds off a list of three. Empty when everything has been said.
   */
  suggestionTopics(asked: ReadonlySet<string>, count: number): SuggestionTopic[] {
    const fresh = this.fresh()
    const heard = new Set(this.knowledge.facts.filter((fact) => this.given(fact.folded)).flatMap((fact) => fact.topics))
    const facts = KNOWLEDGE_TOPICS.filter((topic) => !asked.has(topic) && !heard.has(topic) && fresh.some((fact) => fact.topics.includes(topic)))
    const extras: SuggestionTopic[] = []
    if (!asked.has('joke') && this.freshJoke()) extras.push('joke')
    if (!asked.has('favourite') && Object.keys(this.knowledge.favourites).length > 0) extras.push('favourite')
    const topics: SuggestionTopic[] = this.choose.shuffle(facts, 'topics').slice(0, count)
    if (count >= 3 && extras.length > 0) topics.splice(count - 1, 1, this.choose.pick(extras, 'extra'))
    return topics.length > 0 ? topics : extras.slice(0, count)
  }

  askMe(topic: SuggestionTopic): string {
    return fill(this.choose.pick(this.phrases.askMe, 'ask-me'), { question: this.phrases.questions[topic] })
  }

  jokes(): readonly string[] {
    return this.knowledge.jokes.length > 0 && this.knowledge.language === this.language ? this.knowledge.jokes : this.phrases.jokes
  }

  freshJoke(): string | undefined {
    return this.jokes().find((joke) => !this.given(foldText(joke)))
  }

  tellJoke(): string {
    const joke = this.freshJoke() ?? this.choose.pick(this.jokes(), 'joke')
    this.said.add(foldText(joke))
    return joke
  }

  /** The fact the animal said last (or explained last), in its last reply. */
  lastFact(): PreparedFact | undefined {
    let last: PreparedFact | undefined
    let at = -1
    for (const fact of this.knowledge.facts) {
      const position = Math.max(
        this.conversation.lastReply.lastIndexOf(fact.folded),
        fact.why ? this.conversation.lastReply.lastIndexOf(foldText(fact.why)) : -1,
      )
      if (position > at) [last, at] = [fact, position]
    }
    return last
  }

  /** The topic of a question the last reply suggested ("You could ask me: 'How fast are you?'"), for "yes". */
  suggestedTopic(): SuggestionTopic | undefined {
    const topics = Object.keys(this.phrases.questions) as SuggestionTopic[]
    return topics.find((topic) => this.conversation.lastReply.includes(foldText(this.phrases.questions[topic])))
  }

  lastWasJoke(): boolean {
    return this.jokes().some((joke) => this.conversation.lastReply.includes(foldText(joke)))
  }
}

function safetyReply(question: string, language: Language, reply: Reply): string | undefined {
  const { choose, animal } = reply
  if (NEEDS_A_GROWN_UP.some((pattern) => pattern.test(question))) return TELL_A_GROWN_UP
  const fact = reply.newTopicFact()
  const withFact = (text: string) => (fact ? `${text} ${reply.say(fact)}` : text)
  if (PERSONAL.some((pattern) => pattern.test(question))) return withFact(choose.pick(KEEP_PRIVATE, 'private').replace('{kind}', animal.species))
  // English words only: "die" is German for "the".
  if (language === 'en' && UNSAFE.test(question)) return withFact(choose.pick(NOT_HERE, 'unsafe'))
  return undefined
}

/** A fresh fact on the topics, or, when they are all told, a kind "that's all" and something new. */
function answerTopics(reply: Reply, topics: readonly KnowledgeTopic[], keywords: readonly string[], withWhy: boolean, firstCountsMore = true): string {
  const fact = reply.bestFact(topics, keywords, firstCountsMore)
  if (fact) return reply.say(fact, withWhy)
  const { phrases, choose } = reply
  const other = reply.newTopicFact()
  const done = choose.pick(phrases.topicDone, 'done')
  return other ? `${done} ${phrases.somethingElse} ${reply.say(other)}` : done
}

function answerSuggested(reply: Reply, topic: SuggestionTopic): string {
  if (topic === 'joke') return reply.tellJoke()
  if (topic === 'favourite') return answerFavourite(reply, { intent: 'favourite', topics: [], topicsRanked: true, why: false, keywords: [], answerable: true })
  if (topic === 'feelings') return reply.knowledge.feelings.happy ?? reply.phrases.feelings.happy
  return answerTopics(reply, [topic], [], false)
}

function answerFollowUp(reply: Reply, part: QuestionPart): string {
  const { phrases, choose } = reply
  const suggested = part.followUp === 'yes' ? reply.suggestedTopic() : undefined
  if (suggested) return answerSuggested(reply, suggested)
  if (reply.lastWasJoke() && part.followUp !== 'why') return reply.tellJoke()

  const last = reply.lastFact()
  if (part.followUp === 'why' && last?.why && !reply.given(foldText(last.why))) {
    reply.said.add(foldText(last.why))
    return last.why
  }
  const lead = part.followUp === 'really' ? choose.pick(phrases.really, 'really') : choose.pick(phrases.more, 'more')
  const fact = last ? reply.bestFact(last.topics) : reply.newTopicFact()
  // A framed fact ("Guess what? ...") needs no lead of its own.
  if (fact) return lead && !fact.framed ? `${lead} ${reply.say(fact, part.followUp === 'why')}` : reply.say(fact, part.followUp === 'why')
  return last ? answerTopics(reply, last.topics, [], false) : choose.pick(phrases.topicDone, 'done')
}

function answerFavourite(reply: Reply, part: QuestionPart): string {
  const { favourites } = reply.knowledge
  const kind = part.favourite ?? reply.choose.pick(FAVOURITES.filter((key) => favourites[key]), 'favourite')
  const answer = kind ? favourites[kind] : undefined
  if (answer) return answer
  const other = FAVOURITES.map((key) => favourites[key]).find((text) => text !== undefined)
  return other ? `${reply.phrases.noFavourite} ${other}` : reply.phrases.noFavourite
}

function answerPart(reply: Reply, part: QuestionPart, asked: ReadonlySet<string>): string {
  const { phrases, choose, knowledge, values } = reply
  switch (part.intent) {
    case 'question':
      return answerTopics(reply, part.topics, part.keywords, part.why, part.topicsRanked)
    case 'follow_up':
      return answerFollowUp(reply, part)
    case 'fact': {
      const fact = reply.newTopicFact()
      return fact ? reply.say(fact) : choose.pick(phrases.topicDone, 'done')
    }
    case 'suggest': {
      const questions = reply.suggestionTopics(asked, SUGGESTIONS).map((topic) => `“${phrases.questions[topic]}”`)
      const listed = questions.length > 1 ? `${questions.slice(0, -1).join(', ')} ${phrases.or} ${questions.at(-1)}` : questions.join('')
      return fill(choose.pick(phrases.suggest, 'suggest'), { questions: listed })
    }
    case 'joke':
      return reply.tellJoke()
    case 'favourite':
      return answerFavourite(reply, part)
    case 'feelings':
      return knowledge.feelings[part.feeling ?? 'happy'] ?? phrases.feelings[part.feeling ?? 'happy']
    case 'name':
      return fill(choose.pick(values.kind ? phrases.intro : phrases.introNoKind, 'intro'), values)
    case 'pet':
    case 'visit':
    case 'real':
      return fill(choose.pick(phrases[part.intent], part.intent), values)
    case 'feed': {
      const food = reply.bestFact(['food'])
      const text = choose.pick(phrases.feed, 'feed')
      return food ? `${text} ${reply.say(food)}` : text
    }
    case 'greeting':
      if (knowledge.greeting) return knowledge.greeting
      return values.kind ? fill(phrases.greeting, values) : fill(choose.pick(phrases.introNoKind, 'intro'), values)
    case 'goodbye':
      return knowledge.goodbye ?? fill(choose.pick(phrases.goodbye, 'goodbye'), values)
    case 'thanks':
      return choose.pick(phrases.thanks, 'thanks')
    case 'unknown':
      return ''
  }
}

/** Opens with hello when greeted, else now and then with a catchphrase or "Great question!". */
function opener(reply: Reply, understanding: Understanding): string {
  const first = understanding.parts[0]
  if (first.intent === 'greeting' || first.intent === 'goodbye') return ''
  if (understanding.greeted) return reply.choose.pick(reply.phrases.hello, 'hello')
  if (first.intent !== 'question' && first.intent !== 'fact') return ''
  const own = reply.knowledge.language === reply.language ? reply.knowledge.catchphrases : []
  return reply.choose.pick([...own, ...reply.phrases.openers], 'opener')
}

/** Ends with a goodbye when said, a suggestion when nothing was answered, else now and then a closer. */
function closer(reply: Reply, understanding: Understanding, answered: boolean): string {
  const { phrases, choose, knowledge, values } = reply
  const asked = new Set<string>(understanding.topics)
  const last = understanding.parts.at(-1)!
  if (understanding.saidGoodbye && last.intent !== 'goodbye') return knowledge.goodbye ?? fill(choose.pick(phrases.goodbye, 'goodbye'), values)
  const [suggestion] = reply.suggestionTopics(asked, 1)
  if (!answered) return suggestion ? reply.askMe(suggestion) : phrases.closers[0]
  if (['goodbye', 'greeting', 'suggest', 'real', 'pet', 'visit'].includes(last.intent)) return ''
  const ending = choose.pick([...phrases.closers, ASK_ME, ASK_ME], 'closer')
  if (ending !== ASK_ME) return ending
  return suggestion ? reply.askMe(suggestion) : phrases.closers[0]
}

export function respondOffline(animal: Animal, question: string, messages: readonly ChatMessage[] = []): OfflineReply {
  const conversation = readConversation(messages, question)
  const language = messageLanguage(question, conversation.previousLanguage)
  const knowledge = knowledgeFor(animal, language)
  const understanding = understandIn(question, language, knowledge)
  const choose = new Chooser(`${animal.animalId}|${foldText(conversation.opening)}`, conversation.turn)
  const reply = new Reply(animal, language, knowledge, conversation, choose)

  const safety = safetyReply(question, language, reply)
  if (safety) return { reply: safety, understanding }

  const asked = new Set<string>(understanding.topics)
  const answers = understanding.parts.filter((part) => part.answerable).map((part) => answerPart(reply, part, asked)).filter(Boolean)
  const answered = answers.length > 0
  const unanswered = understanding.parts.some((part) => !part.answerable)
  const sentences = [
    opener(reply, understanding),
    // Facts in English for a visitor writing in another language: say so, kindly, once.
    answered && knowledge.language !== language && reply.said.size > 0 ? reply.phrases.onlyEnglish : '',
    ...answers,
    !answered ? choose.pick(reply.phrases.dontKnow, 'dont-know') : unanswered ? reply.phrases.partlyDontKnow : '',
    closer(reply, understanding, answered),
  ]
  return { reply: sentences.filter(Boolean).join(' '), understanding }
}

/** The reply text alone (see respondOffline). */
export function composeOfflineReply(animal: Animal, question: string, messages: readonly ChatMessage[] = []): string {
  return respondOffline(animal, question, messages).reply
}

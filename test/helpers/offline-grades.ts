// Grades the offline responder on the labelled questions of test/fixtures/offline-questions.json:
// each answer 0, 1 or 2 (see the fixture's comment). Used by test/offline-grades.test.ts.
import type { ChatMessage, Animal, Favourite, Feeling, KnowledgeTopic } from '../../src/core/types.ts'
import type { Language } from '../../src/core/text/language.ts'
import { foldText } from '../../src/core/text/normalize.ts'
import { PHRASES } from '../../src/llm/offline-phrases.ts'
import { respondOffline } from '../../src/llm/offline-reply.ts'
import { messageLanguage, type Intent } from '../../src/llm/offline-understand.ts'
import fixture from '../fixtures/offline-questions.json' with { type: 'json' }

export interface Expectation {
  topic?: KnowledgeTopic
  topics?: KnowledgeTopic[]
  intent?: Intent
  favourite?: Favourite
  feeling?: Feeling
  fresh?: boolean
  say?: string[]
}

export interface GradedQuestion {
  lang: Language
  q: string
  context?: string[]
  expect: Expectation
}

export interface Grade {
  animalId: string
  question: GradedQuestion
  reply: string
  score: 0 | 1 | 2
  failed: string[]
}

export const QUESTIONS = fixture as unknown as { common: GradedQuestion[]; animals: Record<string, GradedQuestion[]> }

export function questionsFor(animalId: string): GradedQuestion[] {
  return [...QUESTIONS.common, ...(QUESTIONS.animals[animalId] ?? [])]
}

/** Runs the context questions and then the question, as one session would. */
export function ask(animal: Animal, question: GradedQuestion): { reply: string; said: string[]; intents: Intent[]; answerable: boolean } {
  const messages: ChatMessage[] = []
  const said: string[] = []
  for (const earlier of question.context ?? []) {
    const { reply } = respondOffline(animal, earlier, [...messages, { role: 'user', content: earlier }])
    messages.push({ role: 'user', content: earlier }, { role: 'assistant', content: reply })
    said.push(reply)
  }
  const { reply, understanding } = respondOffline(animal, question.q, [...messages, { role: 'user', content: question.q }])
  return { reply, said, intents: understanding.intents, answerable: understanding.answerable }
}

const includesAny = (reply: string, texts: readonly string[] | undefined) =>
  (texts ?? []).some((text) => reply.includes(foldText(text)))

/** One of the templates, its {placeholders} aside: every longer piece of it is in the reply. */
function saysATemplate(folded: string, templates: readonly string[]): boolean {
  return templates.some((template) =>
    template.split(/\{\w+\}/).map(foldText).filter((piece) => piece.length >= 8).every((piece) => folded.includes(piece)),
  )
}

export function grade(animal: Animal, question: GradedQuestion): Grade {
  const { reply, said, intents, answerable } = ask(animal, question)
  const folded = foldText(reply)
  const knowledge = animal.knowledge![question.lang]!
  const facts = knowledge.facts ?? []
  const factOn = (topic: KnowledgeTopic) => facts.some((fact) => fact.topics.includes(topic) && folded.includes(foldText(fact.text)))
  const phrases = PHRASES[question.lang]
  const { expect } = question
  const checks: Array<[string, boolean]> = []

  if (expect.topic) checks.push([`a fact on ${expect.topic}`, factOn(expect.topic)])
  for (const topic of expect.topics ?? []) checks.push([`a fact on ${topic}`, factOn(topic)])
  if (expect.favourite) checks.push([`favourite ${expect.favourite}`, folded.includes(foldText(knowledge.favourites![expect.favourite]!))])
  if (expect.feeling) checks.push([`feeling ${expect.feeling}`, folded.includes(foldText(knowledge.feelings![expect.feeling]!))])
  if (expect.fresh) {
    const before = foldText(said.join(' '))
    checks.push(['a fact not said before', facts.some((fact) => folded.includes(foldText(fact.text)) && !before.includes(foldText(fact.text)))])
  }
  for (const pattern of expect.say ?? []) checks.push([`says /${pattern}/`, new RegExp(pattern).test(folded)])
  switch (expect.intent) {
    case undefined:
      break
    case 'joke':
      checks.push(['one of its jokes', includesAny(folded, knowledge.jokes)])
      break
    case 'greeting':
      checks.push(['its greeting', includesAny(folded, [knowledge.greeting!])])
      break
    case 'goodbye':
      checks.push(['its goodbye', includesAny(folded, [knowledge.goodbye!])])
      break
    case 'suggest':
      checks.push(['three questions', Object.values(phrases.questions).filter((q) => folded.includes(foldText(q))).length >= 3])
      break
    case 'name':
      checks.push(['its name and kind', folded.includes(foldText(animal.name)) && folded.includes(foldText(knowledge.kind!))])
      break
    case 'unknown':
      checks.push(['a kind "I don\'t know"', !answerable && includesAny(folded, phrases.dontKnow)])
      checks.push(['a question it can answer', includesAny(folded, Object.values(phrases.questions))])
      break
    default:
      checks.push([`intent ${expect.intent}`, intents.includes(expect.intent) && saysATemplate(folded, phrases[expect.intent as 'pet' | 'feed' | 'visit' | 'real'])])
  }
  if (expect.intent !== 'unknown') checks.push(['not "I don\'t know"', !includesAny(folded, phrases.dontKnow)])

  const failed = checks.filter(([, ok]) => !ok).map(([name]) => name)
  const inLanguage = messageLanguage(reply) === question.lang
  if (!inLanguage) failed.push(`in ${question.lang}`)
  const passed = checks.length - failed.filter((name) => !name.startsWith('in ')).length
  const score = failed.length === 0 ? 2 : passed * 2 >= checks.length && (inLanguage || passed === checks.length) ? 1 : 0
  return { animalId: animal.animalId, question, reply, score, failed }
}

export function average(grades: readonly Grade[]): number {
  return grades.reduce((sum, g) => sum + g.score, 0) / Math.max(1, grades.length)
}

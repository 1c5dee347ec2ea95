// Extractive summary for the offline responder: what the visitor asked about (topics and words
// the animal knows) and which of the animal's facts the replies gave. Words the visitor typed are
// only echoed when they are in the animal's own vocabulary, so names and addresses never leak.
import type { Animal, Turn } from '../core/types.ts'
import { keywords, stem, topicsOf, words } from './offline-text.ts'

const MAX_TOPICS = 5
const MAX_FACTS = 2
/** Share of a fact's words that must appear in the replies for it to count as "given". */
const FACT_COVERAGE = 0.6

function listed(items: string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`
}

function topicsAsked(animal: Animal, questions: string[]): string[] {
  const vocabulary = new Set(animal.facts.flatMap(keywords))
  const ignored = new Set(keywords(`${animal.name} ${animal.species}`))
  const asked: string[] = []
  for (const question of questions) {
    const stems = keywords(question).filter((s) => !ignored.has(s))
    const topics = [...topicsOf(stems)]
    const known = words(question).filter((word) => vocabulary.has(stem(word)) && !ignored.has(stem(word)))
    // Known words already covered by a topic ("hungry" under food) would only repeat it.
    const extra = known.filter((word) => topicsOf([stem(word)]).size === 0)
    for (const label of [...topics, ...extra]) if (!asked.includes(label)) asked.push(label)
  }
  return asked.slice(0, MAX_TOPICS)
}

function factsGiven(animal: Animal, replies: string[]): string[] {
  const said = new Set(replies.flatMap(keywords))
  return animal.facts
    .filter((fact) => {
      const stems = keywords(fact)
      return stems.length > 0 && stems.filter((s) => said.has(s)).length / stems.length >= FACT_COVERAGE
    })
    .slice(0, MAX_FACTS)
}

export function summarizeOffline(animal: Animal, turns: Turn[]): string {
  const complete = turns.filter((turn) => turn.status === 'complete')
  const who = `${animal.name} the ${animal.species}`
  if (complete.length === 0) return `The visitor has not finished a chat with ${who} yet.`

  const count = `${complete.length} question${complete.length === 1 ? '' : 's'}`
  const topics = topicsAsked(animal, complete.map((turn) => turn.userMessage))
  const facts = factsGiven(animal, complete.map((turn) => turn.reply))
  return [
    `The visitor asked ${who} ${count}${topics.length ? `, about ${listed(topics)}` : ''}.`,
    ...(facts.length ? [`${animal.name} shared: ${facts.join(' ')}`] : []),
  ].join(' ')
}

// Extractive summary for the offline responder: what the visitor asked about (the topic names
// understandQuestion gives, so nothing the visitor typed is echoed) and which of the animal's
// facts the replies gave, word for word. Turns the safety layer answered are left to the flag
// sentence every summary ends with (src/core/summaries.ts), so a disclosure is never retold as
// "asked about babies".
import { answeredBySafety } from '../core/flags.ts'
import { foldText } from '../core/text/normalize.ts'
import type { Animal, Turn } from '../core/types.ts'
import { knowledgeFor } from './offline-knowledge.ts'
import { messageLanguage, understandQuestion, type Topic } from './offline-understand.ts'

const MAX_TOPICS = 5
const MAX_FACTS = 2
/** Conversation glue is not something a visitor "asked about". */
const NOT_A_SUBJECT = new Set<Topic>(['greeting', 'goodbye', 'thanks', 'follow_up', 'suggest'])

function listed(items: string[]): string {
  return items.length < 2 ? items.join('') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`
}

function topicsAsked(animal: Animal, questions: string[]): string[] {
  const asked = new Set<string>()
  for (const question of questions) {
    for (const topic of understandQuestion(question, animal).topics) if (!NOT_A_SUBJECT.has(topic)) asked.add(topic)
  }
  return [...asked].slice(0, MAX_TOPICS)
}

function factsGiven(animal: Animal, replies: string[]): string[] {
  const said = foldText(replies.join(' '))
  const language = messageLanguage(replies.join(' '))
  return knowledgeFor(animal, language)
    .facts.filter((fact) => said.includes(fact.folded))
    .slice(0, MAX_FACTS)
    .map((fact) => fact.text)
}

export function summarizeOffline(animal: Animal, turns: Turn[]): string {
  const finished = turns.filter((turn) => turn.status === 'complete')
  const who = `${animal.name} the ${animal.species}`
  if (finished.length === 0) return `The visitor has not finished a chat with ${who} yet.`
  const complete = finished.filter((turn) => !answeredBySafety(turn))
  if (complete.length === 0) return `The visitor chatted with ${who}.`

  const count = `${complete.length} question${complete.length === 1 ? '' : 's'}`
  const topics = topicsAsked(animal, complete.map((turn) => turn.userMessage))
  const facts = factsGiven(animal, complete.map((turn) => turn.reply))
  return [
    `The visitor asked ${who} ${count}${topics.length ? `, about ${listed(topics)}` : ''}.`,
    ...(facts.length ? [`${animal.name} shared: ${facts.join(' ')}`] : []),
  ].join(' ')
}

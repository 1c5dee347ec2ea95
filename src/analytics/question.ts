// How an unanswered question is kept for zookeepers: scrubbed of personal details, lower-cased,
// spaces collapsed and cut short, so the same question asked twice counts as one.
import { scrubPersonalDetails as scrubForStorage } from '../core/safety/scrub.ts'

/** The longest question kept, in characters (a counter name carries it: keep items small). */
export const MAX_QUESTION_LENGTH = 80

/**
 * The safety layer's scrubber (names, addresses, phones, emails, schools, ages, handles), plus
 * links and any digit run it left: a counter name is read by every zookeeper.
 */
export function scrubPersonalDetails(text: string): string {
  return scrubForStorage(text).text
    .replace(/\b(?:https?:\/\/|www\.)\S+/gi, '[link]')
    .replace(/\d[\d\s().-]*\d|\d/g, '[number]')
}

/** The stored form of a visitor's question, or undefined when nothing is left of it. */
export function questionForAnalytics(message: string, scrub: (text: string) => string = scrubPersonalDetails): string | undefined {
  const text = scrub(message).toLowerCase().replace(/\s+/g, ' ').trim()
  if (text === '') return undefined
  return text.length <= MAX_QUESTION_LENGTH ? text : `${text.slice(0, MAX_QUESTION_LENGTH - 1).trimEnd()}…`
}

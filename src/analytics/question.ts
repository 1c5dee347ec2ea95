// How an unanswered question is kept for zookeepers: scrubbed of personal details, lower-cased,
// spaces collapsed and cut short, so the same question asked twice counts as one.

/** The longest question kept, in characters (a counter name carries it: keep items small). */
export const MAX_QUESTION_LENGTH = 80

/**
 * The seam for the safety layer's scrubber (issue 12): until it lands, only what can be
 * recognised without context is replaced: emails, links, and runs of digits (phone numbers,
 * house numbers, ages). Names and schools need the real scrubber.
 */
export function scrubPersonalDetails(text: string): string {
  return text
    .replace(/[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g, '[email]')
    .replace(/\b(?:https?:\/\/|www\.)\S+/gi, '[link]')
    .replace(/\d[\d\s().-]*\d|\d/g, '[number]')
}

/** The stored form of a visitor's question, or undefined when nothing is left of it. */
export function questionForAnalytics(message: string, scrub: (text: string) => string = scrubPersonalDetails): string | undefined {
  const text = scrub(message).toLowerCase().replace(/\s+/g, ' ').trim()
  if (text === '') return undefined
  return text.length <= MAX_QUESTION_LENGTH ? text : `${text.slice(0, MAX_QUESTION_LENGTH - 1).trimEnd()}…`
}

// The safety layer's fixed words: support and redirect replies, the safe reply that stands in
// for a blocked model reply, and the privacy reminder, per language (data/replies.json).
// SAFETY_HELP_TEXT (a helpline, the zoo's first-aid point) is appended to every support reply.
import type { Language } from '../text/language.ts'
import replies from './data/replies.json' with { type: 'json' }
import type { SafetyCategory } from './types.ts'

type PerLanguage = Record<Language, string>
const support = replies.support as Partial<Record<SafetyCategory, PerLanguage>>
const redirect = replies.redirect as Partial<Record<SafetyCategory | 'default', PerLanguage>>

/** The categories that have a support reply: a child in distress, harm or lost. */
export const SUPPORT_CATEGORIES = Object.keys(support) as SafetyCategory[]

const withName = (text: string, animalName: string) => text.replaceAll('{name}', animalName)

export function supportReply(category: SafetyCategory, language: Language, helpText?: string): string {
  const text = (support[category] ?? support.self_harm!)[language]
  return helpText ? `${text} ${helpText}` : text
}

export function redirectReply(category: SafetyCategory, language: Language, animalName: string): string {
  return withName((redirect[category] ?? redirect.default!)[language], animalName)
}

/** What the child gets instead of a model reply that was blocked. */
export function safeReply(language: Language): string {
  return replies.safe[language]
}

export function privacyReminder(language: Language): string {
  return replies.privacyReminder[language]
}

// Input classification: what a visitor's message is about, before the model is asked. The message
// is normalised (disguises undone, src/core/text/normalize.ts), misspellings of the rules' words
// corrected (fuzzy.ts), then matched against the phrases of data/input-rules.json; English
// profanity also goes through the `obscenity` library; personal details come from the scrubber.
// Every flag carries its severity; the strongest action wins (support > redirect > allow).
import { englishDataset, RegExpMatcher } from 'obscenity'
import hints from '../text/language-hints.json' with { type: 'json' }
import { detectLanguage, type Language } from '../text/language.ts'
import { normalizeText } from '../text/normalize.ts'
import rules from './data/input-rules.json' with { type: 'json' }
import { FuzzyCorrector } from './fuzzy.ts'
import { compilePhrases, phraseWords } from './phrases.ts'
import { SUPPORT_CATEGORIES } from './replies.ts'
import { scrubPersonalDetails, type PersonalDetailKind } from './scrub.ts'
import { SAFETY_ACTIONS, SEVERITIES, type SafetyAction, type SafetyCategory, type SafetyFlag, type Severity } from './types.ts'

export interface InputVerdict {
  action: SafetyAction
  /** One flag per category found, with its strongest severity (source `input`). */
  flags: SafetyFlag[]
  /** The category whose fixed reply answers a `support` or `redirect`. */
  replyCategory?: SafetyCategory
  language: Language
  /** The message with personal details replaced by placeholders: what the model and storage get. */
  scrubbed: string
  /** The child shared a personal detail: the reply ends with a gentle reminder. */
  privacyReminder: boolean
}

interface RuleGroup {
  severity: Severity
  action: SafetyAction
  phrases: Partial<Record<Language, string[]>>
}
interface CategoryRules {
  groups: RuleGroup[]
  except?: Partial<Record<Language, string[]>>
  obscenityHigh?: string[]
  obscenitySexual?: string[]
}

interface CompiledGroup {
  category: SafetyCategory
  severity: Severity
  action: SafetyAction
  pattern: RegExp
  except?: RegExp
}

const rank = <T>(list: readonly T[]) => (value: T) => list.indexOf(value)
const severityRank = rank(SEVERITIES)
const actionRank = rank(SAFETY_ACTIONS)

/** Support replies in this order when several apply: the most urgent help first. */
const SUPPORT_PRIORITY: SafetyCategory[] = ['self_harm', 'abuse', 'lost_child', 'stranger_danger', 'bullying']
const supportPriority = rank(SUPPORT_PRIORITY)

const PERSONAL_DETAIL_SEVERITY: Record<PersonalDetailKind, Severity> = {
  name: 'low', age: 'low', username: 'low', email: 'medium', phone: 'medium', address: 'medium', school: 'medium',
}

const ruleSet = rules as unknown as Record<string, CategoryRules>
const categories = Object.entries(ruleSet).filter(([key]) => !key.startsWith('_')) as Array<[SafetyCategory, CategoryRules]>

const groups: CompiledGroup[] = categories.flatMap(([category, spec]) => {
  const except = compilePhrases(Object.values(spec.except ?? {}).flat())
  return spec.groups.map((group) => {
    if (group.action === 'support' && !SUPPORT_CATEGORIES.includes(category)) throw new Error(`input-rules.json: no support reply for ${category}`)
    return { category, severity: group.severity, action: group.action, pattern: compilePhrases(Object.values(group.phrases).flat())!, except }
  })
})

const wordsOf = (spec: CategoryRules) => spec.groups.flatMap((group) => phraseWords(Object.values(group.phrases).flat()))
// Short swear words are not corrected towards: too many ordinary words are one edit away
// (Spanish "muerde" from French "merde"); obscenity and the normaliser catch their disguises.
const corrector = new FuzzyCorrector(
  categories.filter(([category]) => category !== 'profanity').flatMap(([, spec]) => wordsOf(spec)),
  [...wordsOf(ruleSet.profanity), ...Object.entries(hints).filter(([key]) => !key.startsWith('_')).flatMap(([, words]) => words as string[])],
)

// No obscenity transformers: the text is already folded (lower case, look-alikes, leetspeak, stretched letters).
const profanity = new RegExpMatcher({ ...englishDataset.build() })
const slurs = new Set(ruleSet.profanity.obscenityHigh ?? [])
const sexualWords = new Set(ruleSet.profanity.obscenitySexual ?? [])
const sexualExcept = compilePhrases(Object.values(ruleSet.sexual.except ?? {}).flat())

/** What `obscenity` finds in `text`: English profanity (slurs high), or sexual words. */
function obscenityFlags(text: string, note: (category: SafetyCategory, severity: Severity, action: SafetyAction) => void): void {
  const matches = profanity.getAllMatches(sexualExcept ? text.replace(sexualExcept, ' ') : text)
  for (const match of matches) {
    const word = englishDataset.getPayloadWithPhraseMetadata(match).phraseMetadata?.originalWord ?? ''
    if (sexualWords.has(word)) note('sexual', 'high', 'redirect')
    else note('profanity', slurs.has(word) ? 'high' : 'medium', 'redirect')
  }
}

/** Misspelt words corrected; letter runs the normaliser joined (not words of `folded`) cut into words. */
function repairWords(text: string, folded: ReadonlySet<string>): string {
  return text.split(' ').map((word) => (folded.has(word) ? corrector.correct(word) : corrector.split(word) ?? corrector.correct(word))).join(' ')
}

export function classifyInput(message: string): InputVerdict {
  const normalized = normalizeText(message)
  const words = new Set(normalized.words)
  const folded = repairWords(normalized.folded, words)
  const joined = normalized.joined === normalized.folded ? folded : repairWords(normalized.joined, words)
  const texts = joined === folded ? [folded] : [folded, joined]

  const found = new Map<SafetyCategory, { severity: Severity; action: SafetyAction }>()
  const note = (category: SafetyCategory, severity: Severity, action: SafetyAction) => {
    const seen = found.get(category)
    found.set(category, {
      severity: seen && severityRank(seen.severity) > severityRank(severity) ? seen.severity : severity,
      action: seen && actionRank(seen.action) > actionRank(action) ? seen.action : action,
    })
  }

  for (const group of groups) {
    for (const text of texts) {
      const checked = group.except ? text.replace(group.except, ' ') : text
      group.pattern.lastIndex = 0
      if (group.pattern.test(checked)) {
        note(group.category, group.severity, group.action)
        break
      }
    }
  }
  obscenityFlags(joined, note)

  const scrub = scrubPersonalDetails(message)
  for (const kind of scrub.found) note('personal_info', PERSONAL_DETAIL_SEVERITY[kind], 'allow')

  const flags: SafetyFlag[] = [...found].map(([category, { severity }]) => ({ category, severity, source: 'input' }))
  const action = [...found.values()].reduce<SafetyAction>((best, { action }) => (actionRank(action) > actionRank(best) ? action : best), 'allow')
  return {
    action,
    flags,
    replyCategory: action === 'allow' ? undefined : replyCategory(found, action),
    language: detectLanguage(message),
    scrubbed: scrub.text,
    privacyReminder: action === 'allow' && found.has('personal_info'),
  }
}

/** Which fixed reply answers: the most severe flag with that action, the most urgent on a tie. */
function replyCategory(found: Map<SafetyCategory, { severity: Severity; action: SafetyAction }>, action: SafetyAction): SafetyCategory {
  const candidates = [...found].filter(([, flag]) => flag.action === action)
  candidates.sort(([a, fa], [b, fb]) =>
    severityRank(fb.severity) - severityRank(fa.severity) || urgency(a) - urgency(b))
  return candidates[0][0]
}

const urgency = (category: SafetyCategory) => {
  const position = supportPriority(category)
  return position < 0 ? SUPPORT_PRIORITY.length : position
}

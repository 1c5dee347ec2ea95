// The safety layer's vocabulary: one list of categories, severities, actions and sources that
// the classifier, the output guard, storage, routes, metrics and docs all use.

export const SAFETY_CATEGORIES = [
  'self_harm', 'abuse', 'lost_child', 'stranger_danger', 'sexual', 'violence',
  'dangerous_activity', 'bullying', 'profanity', 'personal_info', 'prompt_injection',
] as const
export type SafetyCategory = (typeof SAFETY_CATEGORIES)[number]

export const SEVERITIES = ['low', 'medium', 'high'] as const
export type Severity = (typeof SEVERITIES)[number]

/** allow: answer as usual; redirect: the animal steers back (model not asked); support: a fixed caring reply. */
export const SAFETY_ACTIONS = ['allow', 'redirect', 'support'] as const
export type SafetyAction = (typeof SAFETY_ACTIONS)[number]

/** input: the visitor's message; output: the model's reply; provider: the model's own content filter. */
export const FLAG_SOURCES = ['input', 'output', 'provider'] as const
export type FlagSource = (typeof FLAG_SOURCES)[number]

export interface SafetyFlag {
  category: SafetyCategory
  severity: Severity
  source: FlagSource
}

/** A turn's safety outcome, stored with the turn (`turns[].safety`) when anything was flagged. */
export interface TurnSafety {
  action: SafetyAction
  flags: SafetyFlag[]
}

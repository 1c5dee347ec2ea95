// Safety flags for people: the events a flagged turn produces (GET /safety/events, the webhook,
// metrics) and the plain words that name flagged turns in summaries.
import type { SafetyCategory } from './safety/types.ts'
import type { SafetyEvent, Turn } from './types.ts'

/** How many flags the turn carries (0 when nothing was flagged). */
export function flagCount(turn: Pick<Turn, 'safety'>): number {
  return turn.safety?.flags.length ?? 0
}

/** One event per flag, in the order of the turn's flags. */
export function safetyEventsOf(turn: Turn): SafetyEvent[] {
  if (!turn.safety) return []
  const { turnId, sessionId, userId, animalId, createdAt } = turn
  const { action } = turn.safety
  return turn.safety.flags.map(({ category, severity, source }) => ({ turnId, sessionId, userId, animalId, category, severity, source, action, createdAt }))
}

/**
 * True when the safety layer, not the model, answered the turn: a fixed support or redirect
 * reply, or a reply replaced after an output or provider flag. Summaries name such turns
 * (describeFlaggedTurns) instead of retelling them.
 */
export function answeredBySafety(turn: Pick<Turn, 'safety'>): boolean {
  const safety = turn.safety
  return safety !== undefined && (safety.action !== 'allow' || safety.flags.some((flag) => flag.source !== 'input'))
}

/** What a parent or zookeeper reads for each category. */
export const CATEGORY_LABELS: Record<SafetyCategory, string> = {
  self_harm: 'self-harm',
  abuse: 'a child saying they are being hurt',
  lost_child: 'lost child',
  stranger_danger: 'stranger danger',
  sexual: 'sexual content',
  violence: 'violence',
  dangerous_activity: 'dangerous activity',
  bullying: 'bullying',
  profanity: 'bad language',
  personal_info: 'personal details',
  prompt_injection: 'trying to change the animal\'s rules',
}

function outcome(turn: Turn): string {
  const safety = turn.safety!
  if (safety.flags.some((flag) => flag.source !== 'input')) return 'the animal\'s reply was replaced with a safe one'
  if (safety.action === 'support') return 'answered by pointing the child to a trusted grown-up or zoo staff'
  if (safety.action === 'redirect') return 'the animal steered back to animal topics'
  return 'answered as usual'
}

/** "lost child", "bad language and personal details". */
export function categories(turn: Turn): string {
  const labels = [...new Set(turn.safety!.flags.map((flag) => CATEGORY_LABELS[flag.category]))]
  return labels.length < 2 ? labels.join('') : `${labels.slice(0, -1).join(', ')} and ${labels.at(-1)}`
}

/**
 * One sentence naming every flagged turn, oldest first, e.g. "One message was flagged (lost
 * child) and answered by pointing the child to a trusted grown-up or zoo staff.". Undefined when none was.
 * Summaries end with it whoever wrote them, so a summary never hides a flagged turn.
 */
export function describeFlaggedTurns(turns: Turn[]): string | undefined {
  const flagged = turns.filter((turn) => flagCount(turn) > 0)
  if (flagged.length === 0) return undefined
  if (flagged.length === 1) return `One message was flagged (${categories(flagged[0])}) and ${outcome(flagged[0])}.`
  const each = flagged.map((turn, i) => `${i + 1}. ${categories(turn)}: ${outcome(turn)}`)
  return `${flagged.length} messages were flagged: ${each.join('; ')}.`
}

// The safety layer as the conversation engine sees it: one object, the same for every transport.
// Input: classify (local, plus the moderation service when configured), scrub personal details,
// and the fixed reply for `support` and `redirect`. Output: a guard per reply, and the service's
// second opinion on the finished reply. The texts a child reads come from replies.ts.
import type { Log } from '../log.ts'
import type { Language } from '../text/language.ts'
import { classifyInput, type InputVerdict } from './classify.ts'
import { safetyIdentifier } from './identifier.ts'
import { moderateWithin, type ModerationFinding, type ModerationPort } from './moderation.ts'
import { OutputGuard, type OutputBlock } from './output-guard.ts'
import { privacyReminder, redirectReply, safeReply, SUPPORT_CATEGORIES, supportReply } from './replies.ts'
import { SEVERITIES, type SafetyFlag } from './types.ts'

export interface SafetyOptions {
  /** SAFETY_HELP_TEXT: appended to every support reply (a helpline, where first aid is). */
  helpText?: string
  /** MODERATION=openai: the service asked besides the local checks. */
  moderation?: ModerationPort
  /** How long the service may take before the local verdict stands alone. */
  moderationTimeoutMs: number
  /** Key of the hashed `safety_identifier` (SAFETY_ID_SECRET). */
  identifierSecret?: string
  log: Log
}

/** The key when none is configured: ids stay unreadable to the provider, but set your own. */
const DEFAULT_IDENTIFIER_SECRET = 'animal-chat-gateway'


export interface InputDecision extends InputVerdict {
  /** The fixed reply of a `support` or `redirect` (the model is not asked). */
  reply?: string
}

const stronger = (a: SafetyFlag['severity'], b: SafetyFlag['severity']) => (SEVERITIES.indexOf(a) >= SEVERITIES.indexOf(b) ? a : b)

export class SafetyLayer {
  readonly #options: SafetyOptions

  constructor(options: SafetyOptions) {
    this.#options = options
  }

  async checkInput(message: string, animalName: string): Promise<InputDecision> {
    const verdict = classifyInput(message)
    const { moderation, moderationTimeoutMs, log } = this.#options
    if (moderation) {
      // The service sees the scrubbed text, like the model.
      mergeFindings(verdict, await moderateWithin(moderation, verdict.scrubbed, moderationTimeoutMs, log, 'input'))
    }
    if (verdict.action === 'allow' || !verdict.replyCategory) return verdict
    const reply = verdict.action === 'support'
      ? supportReply(verdict.replyCategory, verdict.language, this.#options.helpText)
      : redirectReply(verdict.replyCategory, verdict.language, animalName)
    return { ...verdict, reply }
  }

  /** The visitor as the model provider may know them: a keyed hash, never the id itself. */
  identify(userId: string): string {
    return safetyIdentifier(userId, this.#options.identifierSecret ?? DEFAULT_IDENTIFIER_SECRET)
  }

  outputGuard(): OutputGuard {
    return new OutputGuard()
  }

  /** The service's verdict on a finished reply (the local guard already passed it); undefined when clean or unavailable. */
  async secondOpinion(reply: string): Promise<OutputBlock | undefined> {
    const { moderation, moderationTimeoutMs, log } = this.#options
    if (!moderation || reply.trim() === '') return undefined
    const [finding] = await moderateWithin(moderation, reply, moderationTimeoutMs, log, 'output')
    return finding
  }

  safeReply(language: Language): string {
    return safeReply(language)
  }

  privacyReminder(language: Language): string {
    return privacyReminder(language)
  }
}

/** Adds what the service found to a local verdict: more flags, and a stronger action when they call for one. */
function mergeFindings(verdict: InputVerdict, findings: ModerationFinding[]): void {
  for (const { category, severity } of findings) {
    const flag = verdict.flags.find((f) => f.category === category)
    if (flag) flag.severity = stronger(flag.severity, severity)
    else verdict.flags.push({ category, severity, source: 'input' })
    const action = SUPPORT_CATEGORIES.includes(category) && category !== 'bullying' ? 'support' : 'redirect'
    if (action === 'support' && verdict.action !== 'support') {
      Object.assign(verdict, { action, replyCategory: category, privacyReminder: false })
    } else if (verdict.action === 'allow') {
      Object.assign(verdict, { action, replyCategory: category, privacyReminder: false })
    }
  }
}

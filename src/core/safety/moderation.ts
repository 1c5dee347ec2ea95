// A second opinion from a moderation service (MODERATION=openai), on the visitor's message and on
// the finished reply. The local checks always run and always decide what they find; the service
// can only add flags. It gets a deadline: a service that is down or slow adds nothing and never
// fails the turn (the local verdict stands).
import type { Log } from '../log.ts'
import type { SafetyCategory, Severity } from './types.ts'

export interface ModerationFinding {
  category: SafetyCategory
  severity: Severity
}

/** The port a moderation adapter implements (src/llm/openai-moderation.ts). */
export interface ModerationPort {
  /** What the service flags in `text`; throws when it cannot say. Honours `signal`. */
  moderate(text: string, signal: AbortSignal): Promise<ModerationFinding[]>
}

/** Asks `port` about `text` within `timeoutMs`; [] when it fails or is late (logged, never thrown). */
export async function moderateWithin(port: ModerationPort, text: string, timeoutMs: number, log: Log, what: 'input' | 'output'): Promise<ModerationFinding[]> {
  const deadline = AbortSignal.timeout(timeoutMs)
  try {
    return await port.moderate(text, deadline)
  } catch (err) {
    log.warn({ err: deadline.aborted ? undefined : err, what, timedOut: deadline.aborted }, 'moderation service unavailable; the local check decides')
    return []
  }
}

// What happens when a turn is flagged, besides storing it: safety_events_total in /metrics and,
// for a turn with a `high` flag, a POST to SAFETY_WEBHOOK_URL. The payload carries ids,
// categories, severities, the action, the animal and the time: never what anyone typed.
import { Counter, type Registry } from '@prometheus-io/client'
import type { Log } from '../core/log.ts'
import type { SafetyObserver } from '../core/ports.ts'
import { SAFETY_ACTIONS, SAFETY_CATEGORIES, FLAG_SOURCES, type SafetyCategory, type SafetyFlag } from '../core/safety/types.ts'
import type { Turn } from '../core/types.ts'
import { WebhookQueue, type DeliveryOutcome, type WebhookOptions } from './webhook.ts'

/** What SAFETY_WEBHOOK_URL receives for each turn with at least one `high` flag. */
export interface SafetyWebhookPayload {
  type: 'safety.flag'
  turnId: string
  sessionId: string
  userId: string
  animalId: string
  /** The first high flag's category and severity (always `high`); every flag is in `flags`. */
  category: SafetyCategory
  severity: 'high'
  action: string
  flags: SafetyFlag[]
  /** When the visitor sent the message. */
  createdAt: string
}

export function webhookPayload(turn: Turn): SafetyWebhookPayload | undefined {
  const safety = turn.safety
  const high = safety?.flags.find((flag) => flag.severity === 'high')
  if (!safety || !high) return undefined
  const flags = safety.flags.map(({ category, severity, source }) => ({ category, severity, source }))
  return {
    type: 'safety.flag', turnId: turn.turnId, sessionId: turn.sessionId, userId: turn.userId, animalId: turn.animalId,
    category: high.category, severity: 'high', action: safety.action, flags, createdAt: turn.createdAt,
  }
}

export interface SafetyAlertsOptions {
  registry: Registry
  log: Log
  /** Without it nothing is POSTed; metrics are kept all the same. */
  webhook?: Omit<WebhookOptions, 'log' | 'onOutcome'>
}

export class SafetyAlerts implements SafetyObserver {
  readonly #events: Counter<'category' | 'action' | 'source'>
  readonly #webhook: WebhookQueue | undefined

  constructor(options: SafetyAlertsOptions) {
    this.#events = new Counter({
      name: 'safety_events_total',
      help: 'Safety flags raised, by category, the turn\'s action and where the flag came from (input, output, provider)',
      labelNames: ['category', 'action', 'source'],
      registers: [options.registry],
    })
    // Every series exists from the start at 0, so a rate() over a first flag is not lost.
    for (const category of SAFETY_CATEGORIES) {
      for (const action of SAFETY_ACTIONS) for (const source of FLAG_SOURCES) this.#events.inc({ category, action, source }, 0)
    }
    if (!options.webhook) return
    const deliveries = new Counter({
      name: 'safety_webhook_deliveries_total',
      help: 'High safety flags sent to SAFETY_WEBHOOK_URL, by outcome (delivered, failed after every retry, dropped because the queue was full)',
      labelNames: ['outcome'],
      registers: [options.registry],
    })
    for (const outcome of ['delivered', 'failed', 'dropped'] satisfies DeliveryOutcome[]) deliveries.inc({ outcome }, 0)
    this.#webhook = new WebhookQueue({ ...options.webhook, log: options.log, onOutcome: (outcome) => deliveries.inc({ outcome }) })
  }

  turnFlagged(turn: Turn): void {
    if (!turn.safety) return
    for (const { category, source } of turn.safety.flags) this.#events.inc({ category, action: turn.safety.action, source })
    const payload = webhookPayload(turn)
    if (payload) this.#webhook?.enqueue(payload)
  }

  async close(graceMs: number): Promise<void> {
    await this.#webhook?.close(graceMs)
  }
}

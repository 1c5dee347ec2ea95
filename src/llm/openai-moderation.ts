// OpenAI's moderation endpoint as a ModerationPort (MODERATION=openai), through the official SDK
// on the same base URL and key as the model. Its categories map onto the safety layer's one list.
import OpenAI from 'openai'
import type { Moderation } from 'openai/resources/moderations'
import type { ModerationFinding, ModerationPort } from '../core/safety/moderation.ts'

export const MODERATION_MODEL = 'omni-moderation-latest'

const CATEGORY_MAP: Record<keyof Moderation.Categories, ModerationFinding> = {
  'self-harm': { category: 'self_harm', severity: 'high' },
  'self-harm/intent': { category: 'self_harm', severity: 'high' },
  'self-harm/instructions': { category: 'self_harm', severity: 'high' },
  sexual: { category: 'sexual', severity: 'high' },
  'sexual/minors': { category: 'sexual', severity: 'high' },
  violence: { category: 'violence', severity: 'medium' },
  'violence/graphic': { category: 'violence', severity: 'high' },
  harassment: { category: 'bullying', severity: 'medium' },
  'harassment/threatening': { category: 'bullying', severity: 'high' },
  hate: { category: 'profanity', severity: 'high' },
  'hate/threatening': { category: 'profanity', severity: 'high' },
  illicit: { category: 'dangerous_activity', severity: 'medium' },
  'illicit/violent': { category: 'dangerous_activity', severity: 'high' },
}

export interface OpenAiModerationOptions {
  apiKey: string
  baseURL?: string
  model?: string
}

export class OpenAiModeration implements ModerationPort {
  readonly #client: OpenAI
  readonly #model: string

  constructor(options: OpenAiModerationOptions) {
    // No retries: the caller's deadline is short, and the local check decides without us.
    this.#client = new OpenAI({ apiKey: options.apiKey, baseURL: options.baseURL, maxRetries: 0 })
    this.#model = options.model ?? MODERATION_MODEL
  }

  async moderate(text: string, signal: AbortSignal): Promise<ModerationFinding[]> {
    const response = await this.#client.moderations.create({ model: this.#model, input: text }, { signal })
    const findings: ModerationFinding[] = []
    for (const result of response.results) {
      for (const [name, flagged] of Object.entries(result.categories)) {
        const finding = CATEGORY_MAP[name as keyof Moderation.Categories]
        if (flagged && finding) findings.push(finding)
      }
    }
    return findings
  }
}

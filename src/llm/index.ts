// Picks the model provider from the configuration.
import type { Config } from '../config.ts'
import type { Log } from '../core/log.ts'
import type { LlmProvider } from '../core/ports.ts'
import { FallbackProvider } from './fallback.ts'
import { OfflineResponder } from './offline.ts'
import { OpenAiProvider } from './openai.ts'

export { FallbackProvider } from './fallback.ts'
export { OfflineResponder } from './offline.ts'
export { OpenAiProvider } from './openai.ts'

/** A base URL as safe to log: any user:password@ part removed. */
function withoutCredentials(url: string): string {
  const parsed = new URL(url)
  parsed.username = ''
  parsed.password = ''
  return parsed.toString()
}

/**
 * No API key: the offline responder. With a key: the OpenAI-compatible upstream, backed by the
 * offline responder when LLM_FALLBACK=offline (the default).
 */
export function createLlmProvider(config: Config, log: Log): LlmProvider {
  const { apiKey, baseURL, model, temperature, maxTokens, timeoutMs, maxRetries, fallback } = config.llm
  if (!apiKey) {
    log.info({ provider: 'offline' }, 'no OPENAI_API_KEY: animals answer from their own facts (offline responder)')
    return new OfflineResponder()
  }
  const upstream = new OpenAiProvider({ apiKey, baseURL, model, temperature, maxTokens, timeoutMs, maxRetries, log })
  log.info(
    { provider: 'openai', model, baseURL: baseURL ? withoutCredentials(baseURL) : 'https://api.openai.com/v1', fallback },
    `model ${model}${fallback === 'offline' ? ', offline responder as fallback' : ''}`,
  )
  return fallback === 'offline' ? new FallbackProvider(upstream, new OfflineResponder(), log) : upstream
}

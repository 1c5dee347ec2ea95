// Keeps the kiosk talking when the model is down: if the primary fails before its first word
// (after its own retries), the offline responder answers instead and says so in `model`.
// A failure after the first word is not hidden (the visitor saw a reply start; the engine stores
// it as failed), a cancel is never answered by someone else, and neither is the provider's
// content filter refusing (a safety event the engine answers with the safe reply).
import { ContentFilterError } from '../core/errors.ts'
import type { Log } from '../core/log.ts'
import type { LlmChunk, LlmProvider, LlmRequest, SummaryResult } from '../core/ports.ts'
import type { Animal, Turn } from '../core/types.ts'
import { isAbortError } from './abort.ts'

/** The `model` reported when the fallback answered: "offline (fallback from gpt-4o-mini)". */
export function fallbackModelName(fallback: LlmProvider, primary: LlmProvider): string {
  return `${fallback.model} (fallback from ${primary.model})`
}

export class FallbackProvider implements LlmProvider {
  readonly #primary: LlmProvider
  readonly #fallback: LlmProvider
  readonly #log: Log | undefined

  constructor(primary: LlmProvider, fallback: LlmProvider, log?: Log) {
    this.#primary = primary
    this.#fallback = fallback
    this.#log = log
  }

  /** Announced before generation: the primary's, since it is the one asked first. */
  get model(): string {
    return this.#primary.model
  }

  async *stream(request: LlmRequest): AsyncIterable<LlmChunk> {
    let started = false
    try {
      for await (const chunk of this.#primary.stream(request)) {
        started = true
        yield chunk
      }
      return
    } catch (err) {
      if (started || isAbortError(err) || request.signal.aborted || err instanceof ContentFilterError) throw err
      this.#warn(err)
    }
    const model = fallbackModelName(this.#fallback, this.#primary)
    for await (const chunk of this.#fallback.stream(request)) {
      yield chunk.type === 'end' ? { ...chunk, model } : chunk
    }
  }

  async summarize(animal: Animal, turns: Turn[], signal: AbortSignal): Promise<SummaryResult> {
    try {
      return await this.#primary.summarize(animal, turns, signal)
    } catch (err) {
      if (isAbortError(err) || signal.aborted) throw err
      this.#warn(err)
    }
    const result = await this.#fallback.summarize(animal, turns, signal)
    return { ...result, model: fallbackModelName(this.#fallback, this.#primary) }
  }

  #warn(err: unknown): void {
    const reason = err instanceof Error ? err.message : String(err)
    this.#log?.warn({ model: this.#primary.model, fallback: this.#fallback.model, reason }, 'model unavailable, answering offline')
  }
}

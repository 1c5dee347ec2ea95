// Model metrics for /metrics, as a wrapper around whichever provider is active: replies by the
// model that gave them and how they ended, and the time to the first token.
import { performance } from 'node:perf_hooks'
import { Counter, Histogram, type Registry } from '@prometheus-io/client'
import type { LlmChunk, LlmProvider, LlmRequest, SummaryResult } from '../core/ports.ts'
import type { Animal, Turn } from '../core/types.ts'

/** How a reply ended: `aborted` is a cancel (or shutdown); `failed` an upstream failure. */
type ReplyStatus = 'complete' | 'failed' | 'aborted'

export class MeteredProvider implements LlmProvider {
  readonly #inner: LlmProvider
  readonly #replies: Counter<'model' | 'status'>
  readonly #firstToken: Histogram<'model'>

  constructor(inner: LlmProvider, registry: Registry) {
    this.#inner = inner
    this.#replies = new Counter({
      name: 'llm_replies_total',
      help: 'Replies streamed by the model, by the model that answered and how the reply ended (complete, failed, aborted)',
      labelNames: ['model', 'status'],
      registers: [registry],
    })
    this.#firstToken = new Histogram({
      name: 'llm_first_token_seconds',
      help: 'Time from asking the model to its first token (retries and fallback included), by the model that answered',
      labelNames: ['model'],
      buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: [registry],
    })
  }

  get model(): string {
    return this.#inner.model
  }

  async *stream(request: LlmRequest): AsyncIterable<LlmChunk> {
    const startedAt = performance.now()
    // Which model answered is only known at the end (a fallback names itself there).
    let firstTokenSeconds: number | undefined
    const observe = (model: string, status: ReplyStatus) => {
      this.#replies.inc({ model, status })
      if (firstTokenSeconds !== undefined) this.#firstToken.observe({ model }, firstTokenSeconds)
    }
    try {
      for await (const chunk of this.#inner.stream(request)) {
        if (chunk.type === 'deltas') firstTokenSeconds ??= (performance.now() - startedAt) / 1000
        else observe(chunk.model, 'complete')
        yield chunk
      }
    } catch (err) {
      observe(this.#inner.model, request.signal.aborted ? 'aborted' : 'failed')
      throw err
    }
  }

  summarize(animal: Animal, turns: Turn[], signal: AbortSignal): Promise<SummaryResult> {
    return this.#inner.summarize(animal, turns, signal)
  }
}

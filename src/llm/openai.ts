// The model behind an OpenAI-compatible chat completions API, through the official SDK.
// The SDK's own retries and timeout handling are replaced by ours: retries happen only before
// the first token (a reply is never restarted once the visitor has seen part of it), and the
// timeout bounds every silence, not just the wait for response headers.
import OpenAI from 'openai'
import type { ChatCompletionChunk } from 'openai/resources/chat/completions'
import type { CompletionUsage } from 'openai/resources/completions'
import { UpstreamError } from '../core/errors.ts'
import type { Log } from '../core/log.ts'
import { buildSummaryMessages } from '../core/prompt.ts'
import type { LlmChunk, LlmProvider, LlmRequest, SummaryResult } from '../core/ports.ts'
import type { Animal, Turn, Usage } from '../core/types.ts'
import { abortError, throwIfAborted } from './abort.ts'
import { backoffDelay, sleep } from './retry.ts'
import { UpstreamCall } from './upstream-call.ts'
import { EventStreamResponse, upstreamFetch } from './upstream-fetch.ts'
import { SseJsonParser } from './sse-lines.ts'
import { describeFailure } from './upstream-failure.ts'
import { estimateUsage } from './usage.ts'

const SUMMARY_TEMPERATURE = 0.3
const SUMMARY_MAX_TOKENS = 200

export interface OpenAiProviderOptions {
  apiKey: string
  /** Any OpenAI-compatible server, including its /v1; the SDK's default when absent. */
  baseURL?: string
  model: string
  temperature: number
  maxTokens: number
  /** Longest silence allowed: before the first token and between chunks. */
  timeoutMs: number
  /** Retries after the first attempt, all before the first token. */
  maxRetries: number
  /** First backoff delay in ms, doubled on each retry (default 250). */
  retryBaseMs?: number
  log?: Log
}

function toUsage(usage: CompletionUsage): Usage {
  return { promptTokens: usage.prompt_tokens, completionTokens: usage.completion_tokens, totalTokens: usage.total_tokens }
}

export class OpenAiProvider implements LlmProvider {
  readonly model: string
  readonly #client: OpenAI
  readonly #options: OpenAiProviderOptions
  readonly #retryBaseMs: number

  constructor(options: OpenAiProviderOptions) {
    this.model = options.model
    this.#options = options
    this.#retryBaseMs = options.retryBaseMs ?? 250
    this.#client = new OpenAI({ apiKey: options.apiKey, baseURL: options.baseURL, maxRetries: 0, timeout: options.timeoutMs, fetch: upstreamFetch })
  }

  async *stream({ messages, signal, sampling, safetyIdentifier }: LlmRequest): AsyncIterable<LlmChunk> {
    // A client's wishes (the OpenAI facade) within the configured bounds: never more tokens than OPENAI_MAX_TOKENS.
    const temperature = sampling?.temperature ?? this.#options.temperature
    const maxTokens = Math.min(sampling?.maxTokens ?? this.#options.maxTokens, this.#options.maxTokens)
    for (let retry = 0; ; retry++) {
      await this.#waitBeforeAttempt(retry, signal)
      const call = new UpstreamCall(signal, this.#options.timeoutMs)
      let reply = ''
      try {
        // The SDK makes the request (auth, base URL, an APIError for a non-2xx answer); the body
        // is parsed here, straight from the network chunks of the Node stream upstreamFetch hands
        // over: the SDK's Stream costs a line decoder, an SSE decoder and several async
        // generators, a promise hop each, per chunk.
        const response = await this.#client.chat.completions
          .create(
            {
              model: this.model,
              messages,
              temperature,
              // max_tokens rather than max_completion_tokens: every OpenAI-compatible server knows it.
              max_tokens: maxTokens,
              stream: true,
              stream_options: { include_usage: true },
              ...(safetyIdentifier ? { safety_identifier: safetyIdentifier } : {}),
            },
            { signal: call.signal },
          )
          .asResponse()
        if (!(response instanceof EventStreamResponse)) throw new UpstreamError('the model did not answer with an event stream')
        const parser = new SseJsonParser()
        let usage: Usage | undefined
        let finishReason: string | undefined
        const body = response.events[Symbol.asyncIterator]()
        for (;;) {
          // Rejects when the call is aborted (cancel, silence) or the connection breaks.
          const { done, value } = await body.next()
          call.restartTimer()
          const chunks = (done ? parser.end() : parser.feed(value)) as readonly ChatCompletionChunk[]
          const texts: string[] = []
          for (const chunk of chunks) {
            if (chunk.usage) usage = toUsage(chunk.usage)
            const choice = chunk.choices?.[0]
            if (choice?.finish_reason) finishReason = choice.finish_reason
            const text = choice?.delta?.content
            if (text) texts.push(text)
          }
          if (texts.length > 0) {
            reply += texts.join('')
            call.pauseTimer()
            yield { type: 'deltas', texts }
            call.restartTimer()
          }
          if (done) break
        }
        call.responseRead()
        if (!finishReason) throw new UpstreamError('the model stream ended early')
        yield { type: 'end', usage: usage ?? estimateUsage(messages, reply), finishReason, model: this.model }
        return
      } catch (err) {
        // Once the visitor has seen part of the reply it is never restarted: the engine keeps it.
        const error = this.#failure(err, call, signal, retry, reply.length > 0)
        if (error) throw error
      } finally {
        call.close()
      }
    }
  }

  async summarize(animal: Animal, turns: Turn[], signal: AbortSignal): Promise<SummaryResult> {
    const messages = buildSummaryMessages(animal, turns)
    for (let retry = 0; ; retry++) {
      await this.#waitBeforeAttempt(retry, signal)
      const call = new UpstreamCall(signal, this.#options.timeoutMs)
      try {
        const completion = await this.#client.chat.completions.create(
          { model: this.model, messages, temperature: SUMMARY_TEMPERATURE, max_tokens: SUMMARY_MAX_TOKENS },
          { signal: call.signal },
        )
        const summary = completion.choices[0]?.message?.content?.trim()
        if (!summary) throw new UpstreamError('the model returned an empty summary')
        return {
          summary,
          model: this.model,
          usage: completion.usage ? toUsage(completion.usage) : estimateUsage(messages, summary),
        }
      } catch (err) {
        const error = this.#failure(err, call, signal, retry, false)
        if (error) throw error
      } finally {
        call.close()
      }
    }
  }

  async #waitBeforeAttempt(retry: number, signal: AbortSignal): Promise<void> {
    if (retry > 0) await sleep(backoffDelay(retry, this.#retryBaseMs), signal)
    throwIfAborted(signal)
  }

  /** The error to throw for a failed attempt, or undefined when another attempt should follow. */
  #failure(err: unknown, call: UpstreamCall, signal: AbortSignal, retry: number, afterFirstToken: boolean): Error | undefined {
    if (signal.aborted) return abortError()
    const { error, retryable } = describeFailure(err, call.timedOut)
    if (afterFirstToken || !retryable || retry >= this.#options.maxRetries) return error
    this.#options.log?.warn({ model: this.model, retry: retry + 1, reason: error.message }, 'retrying the model request')
    return undefined
  }
}

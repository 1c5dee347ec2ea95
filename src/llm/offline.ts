// The provider used when there is no API key (and the fallback when the model is down): answers
// in character from the animal's own facts, streamed a few words at a time like a model would.
import { buildSummaryMessages } from '../core/prompt.ts'
import type { LlmChunk, LlmProvider, LlmRequest, SummaryResult } from '../core/ports.ts'
import type { Animal, Turn } from '../core/types.ts'
import { throwIfAborted } from './abort.ts'
import { composeOfflineReply } from './offline-reply.ts'
import { summarizeOffline } from './offline-summary.ts'
import { estimateUsage } from './usage.ts'

export const OFFLINE_MODEL = 'offline'
const WORDS_PER_CHUNK = 3

/** Splits text into chunks of a few words; the chunks joined give the text back exactly. */
export function chunkWords(text: string, size = WORDS_PER_CHUNK): string[] {
  const tokens = text.match(/\s*\S+\s*/g) ?? []
  const chunks: string[] = []
  for (let i = 0; i < tokens.length; i += size) chunks.push(tokens.slice(i, i + size).join(''))
  return chunks
}

/** Lets timers and cancel handlers run between chunks. */
const nextTick = () => new Promise<void>((resolve) => setImmediate(resolve))

export class OfflineResponder implements LlmProvider {
  readonly model = OFFLINE_MODEL

  async *stream(request: LlmRequest): AsyncIterable<LlmChunk> {
    const reply = composeOfflineReply(request.animal, request.question, request.messages)
    for (const text of chunkWords(reply)) {
      await nextTick()
      throwIfAborted(request.signal)
      yield { type: 'deltas', texts: [text] }
    }
    throwIfAborted(request.signal)
    yield { type: 'end', usage: estimateUsage(request.messages, reply), finishReason: 'stop', model: OFFLINE_MODEL }
  }

  async summarize(animal: Animal, turns: Turn[], signal: AbortSignal): Promise<SummaryResult> {
    throwIfAborted(signal)
    const summary = summarizeOffline(animal, turns)
    return { summary, model: OFFLINE_MODEL, usage: estimateUsage(buildSummaryMessages(animal, turns), summary) }
  }
}

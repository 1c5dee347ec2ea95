// Shared pieces for the model-provider tests: a seed animal, a ready request, a stream drained.
import type { LlmChunk, LlmRequest } from '../../src/core/ports.ts'
import { buildMessages } from '../../src/core/prompt.ts'
import type { Animal, Turn } from '../../src/core/types.ts'
import seed from '../../src/seed/animals.json' with { type: 'json' }

export const lion = (seed as Animal[]).find((a) => a.animalId === 'lion')!

export function llmRequest(question: string, signal = new AbortController().signal, history: Turn[] = []): LlmRequest {
  return { animal: lion, messages: buildMessages(lion, history, question, 10), question, signal }
}

/** Reads a provider's stream to its end: the deltas, the end chunk, and the error it threw, if any. */
export async function drain(stream: AsyncIterable<LlmChunk>) {
  const deltas: string[] = []
  let end: Extract<LlmChunk, { type: 'end' }> | undefined
  let error: unknown
  try {
    for await (const chunk of stream) {
      if (chunk.type === 'deltas') deltas.push(...chunk.texts)
      else end = chunk
    }
  } catch (err) {
    error = err
  }
  return { text: deltas.join(''), deltas, end, error }
}

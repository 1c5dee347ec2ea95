// Token estimates for when no tokenizer count is available (offline answers, upstreams that
// send no usage). Roughly 4 characters per token for English text.
import type { ChatMessage, Usage } from '../core/types.ts'

export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4)
}

export function estimateUsage(messages: ChatMessage[], reply: string): Usage {
  const promptTokens = messages.reduce((sum, message) => sum + estimateTokens(message.content), 0)
  const completionTokens = estimateTokens(reply)
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, estimated: true }
}

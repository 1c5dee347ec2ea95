// The OpenAI encoder: a turn's events as Chat Completions, the third wire form beside SSE and
// WebSocket. Streamed, each event becomes (at most) one `data: <chat.completion.chunk>` frame,
// exactly as the OpenAI API sends them: the same id (`chatcmpl-<turnId>`) and `created` on every
// chunk, a first chunk with the role, `finish_reason` null on every chunk but the finish chunk,
// then the usage chunk (empty choices) when asked for, then `data: [DONE]`. Not streamed, the
// events fold into one `chat.completion` (turnResult, as POST /convo_turn does).
//
// Caching: a chunk's `choices` part depends on its event alone and is cached per event; the
// chunk's head (id, object, created, model) depends on the turn alone and is cached on its
// metadata event. What one request adds (`"usage":null` when it asked for usage) is written around.
import type { ServerResponse } from 'node:http'
import { isFinalEvent, type TurnEvent } from '../core/events.ts'
import type { Subscription } from '../core/ports.ts'
import type { StartedTurnStream } from '../core/turns.ts'
import type { Usage } from '../core/types.ts'
import type { ChatCompletion } from '../../schemas/openai.ts'
import { cachedEncoder } from './encoders.ts'
import type { Heartbeats } from './heartbeats.ts'
import type { TurnResult } from './json.ts'
import { openAiErrorBody, openAiHttpError } from './openai-errors.ts'
import { openEventStream } from './sse.ts'

export type OpenAiFinishReason = 'stop' | 'length' | 'content_filter'

/** How a turn's finishReason reads in OpenAI's terms: a safety support/redirect is a normal `stop`. */
export function openAiFinishReason(finishReason: string): OpenAiFinishReason {
  return finishReason === 'length' || finishReason === 'content_filter' ? finishReason : 'stop'
}

export const completionId = (turnId: string) => `chatcmpl-${turnId}`
const unixSeconds = (iso: string) => Math.floor(Date.parse(iso) / 1000)

function openAiUsage(usage: Usage) {
  return { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.totalTokens }
}

/** The non-streamed answer. */
export function chatCompletion(result: TurnResult): ChatCompletion {
  return {
    id: completionId(result.turnId),
    object: 'chat.completion',
    created: unixSeconds(result.createdAt),
    model: result.animalId,
    choices: [{
      index: 0,
      message: { role: 'assistant', content: result.reply, refusal: null, annotations: [] },
      logprobs: null,
      finish_reason: openAiFinishReason(result.finishReason),
    }],
    usage: openAiUsage(result.usage),
  }
}

/** `{"id":…,"object":"chat.completion.chunk","created":…,"model":…,` from the turn's metadata event. */
const chunkHead = cachedEncoder((event) => {
  if (event.type !== 'metadata') throw new TypeError(`a chunk head is built from metadata, not ${event.type}`)
  const { turnId, createdAt, animalId } = event.data
  return `{"id":"${completionId(turnId)}","object":"chat.completion.chunk","created":${unixSeconds(createdAt)},"model":${JSON.stringify(animalId)},`
})

const choice = (delta: string, finishReason: OpenAiFinishReason | null) =>
  `"choices":[{"index":0,"delta":${delta},"logprobs":null,"finish_reason":${finishReason === null ? 'null' : `"${finishReason}"`}}]`
const contentChoice = (text: string) => choice(`{"content":${JSON.stringify(text)}}`, null)

/** The `choices` part of the chunk an event stands for; '' for events that send no chunk. */
const chunkChoices = cachedEncoder((event) => {
  switch (event.type) {
    case 'metadata':
      return choice('{"role":"assistant","content":"","refusal":null}', null)
    case 'message':
      return contentChoice(event.data.delta)
    case 'replace':
      // A chunk cannot be taken back: the text sent so far ends, the safe reply follows it (and the
      // finish chunk says content_filter).
      return contentChoice(`\n\n${event.data.reply}`)
    case 'complete':
      return choice('{}', openAiFinishReason(event.data.finishReason))
    case 'typing':
    case 'storage':
    case 'error':
      return ''
    default:
      return assertNever(event)
  }
})

/** The usage chunk's `"choices":[],"usage":{…}}`, from the complete event. */
const usageTail = cachedEncoder((event) => {
  if (event.type !== 'complete') throw new TypeError(`usage comes from complete, not ${event.type}`)
  return `"choices":[],"usage":${JSON.stringify(openAiUsage(event.data.usage))}}`
})

function assertNever(event: never): never {
  throw new TypeError(`no OpenAI chunk for event ${(event as TurnEvent).type}`)
}

export interface ChunkStreamOptions {
  /** Sends `: keep-alive` comments while the stream is open. */
  heartbeats: Heartbeats
  /** A consumer whose unsent bytes exceed this is disconnected (which cancels its turn). */
  maxBufferedBytes: number
  /** stream_options.include_usage: `"usage":null` on every chunk, and the usage chunk at the end. */
  includeUsage: boolean
  /** Response headers (X-Session-Id, CORS, ...). */
  headers: Record<string, string | string[] | number | undefined>
  /** The client went away before the turn ended: OpenAI clients expect that to stop generation. */
  onClientGone(): void
}

/**
 * Streams a started turn to `res` as chat.completion.chunk frames. A turn gone before its first
 * event is answered with its JSON error; an `error` event ends the stream with an `{"error":…}`
 * frame, as OpenAI does (the SDKs raise it as an APIError).
 */
export async function streamChatCompletion(res: ServerResponse, stream: StartedTurnStream, options: ChunkStreamOptions): Promise<void> {
  const usageNull = options.includeUsage ? ',"usage":null}' : '}'
  let head = ''
  let complete: TurnEvent | undefined
  /** A replay from storage (a retried Idempotency-Key) has no message events: the reply goes out with complete. */
  let sentContent = false
  let subscription: Subscription | undefined
  let stopHeartbeat: (() => void) | undefined
  let open = true
  let ended = false

  const start = () => {
    if (res.headersSent) return
    stopHeartbeat = openEventStream(res, options, ': keep-alive\n\n')
  }
  const finish = () => {
    if (!open) return
    open = false
    stopHeartbeat?.()
    subscription?.close()
    if (!ended) options.onClientGone()
    if (!res.destroyed) res.end()
  }
  res.on('close', finish)

  const write = (text: string) => {
    if (!res.write(text) && res.writableLength > options.maxBufferedBytes) res.destroy()
  }
  const chunk = (choices: string) => write(`data: ${head}${choices}${usageNull}\n\n`)

  const send = (event: TurnEvent) => {
    if (!open) return
    start()
    switch (event.type) {
      case 'metadata':
        head = chunkHead(event)
        break
      case 'message':
      case 'replace':
        sentContent = true
        break
      case 'complete':
        complete = event
        if (!sentContent && event.data.reply) chunk(contentChoice(event.data.reply))
        break
      case 'storage':
        if (options.includeUsage && complete) write(`data: ${head}${usageTail(complete)}\n\n`)
        write('data: [DONE]\n\n')
        break
      case 'error':
        write(`data: ${JSON.stringify(openAiErrorBody(event.data))}\n\n`)
        break
    }
    const choices = chunkChoices(event)
    if (choices) chunk(choices)
    if (isFinalEvent(event)) {
      ended = true
      finish()
    }
  }
  try {
    subscription = await stream.attach(send)
  } catch (err) {
    ended = true
    if (res.headersSent) throw err
    const { status, body } = openAiHttpError(err)
    res.writeHead(status, { ...options.headers, 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body))
    return
  }
  if (open) start()
  else subscription.close()
}

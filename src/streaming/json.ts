// The JSON encoder: a turn's events folded into the one answer of POST /convo_turn. It waits for
// `storage` (the turn is saved) or `error` (thrown as the AppError it stands for).
import { AppError } from '../core/errors.ts'
import type { EventPayloads, TurnEvent } from '../core/events.ts'
import type { TurnStream } from '../core/turns.ts'
import type { Subscription } from '../core/ports.ts'
import type { Usage } from '../core/types.ts'

/** The JSON answer of a turn. */
export interface TurnResult {
  sessionId: string
  turnId: string
  animalId: string
  reply: string
  usage: Usage
  latencyMs: number
  model: string
  createdAt: string
  /** How generation ended (`content_filter` when the safety layer replaced the reply). */
  finishReason: string
}

export async function turnResult(stream: TurnStream): Promise<TurnResult> {
  let metadata: EventPayloads['metadata'] | undefined
  let complete: EventPayloads['complete'] | undefined
  /** A `replace` event's text stands in for everything the model said. */
  let replaced: string | undefined
  let subscription: Subscription | undefined
  const ended = new Promise<TurnResult>((resolve, reject) => {
    const listener = (event: TurnEvent) => {
      switch (event.type) {
        case 'metadata':
          metadata = event.data
          break
        case 'complete':
          complete = event.data
          break
        case 'replace':
          replaced = event.data.reply
          break
        case 'error':
          reject(AppError.fromData(event.data))
          break
        case 'storage':
          if (!metadata || !complete) return reject(new Error(`turn ${stream.turnId} was stored without metadata or complete`))
          resolve({
            sessionId: metadata.sessionId,
            turnId: stream.turnId,
            animalId: metadata.animalId,
            reply: replaced ?? complete.reply,
            usage: complete.usage,
            latencyMs: complete.latencyMs,
            model: complete.model,
            createdAt: metadata.createdAt,
            finishReason: replaced === undefined ? complete.finishReason : 'content_filter',
          })
      }
    }
    stream.attach(listener).then((sub) => { subscription = sub }, reject)
  })
  try {
    return await ended
  } finally {
    subscription?.close()
  }
}

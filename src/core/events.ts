// The event protocol: one turn is a stream of typed events with ids `<turnId>:<seq>`.
// An event is plain data; the wire forms (SSE, WebSocket, JSON, ...) are built by the encoders in
// src/streaming/, each caching its own serialisation per event, so every listener of a format
// reuses one string.
import type { ErrorData } from './errors.ts'
import type { TurnSafety } from './safety/types.ts'
import type { Usage } from './types.ts'

/** The `data` of each event type: the one list of event types and their payloads. */
export interface EventPayloads {
  /** First event of every turn. */
  metadata: { sessionId: string; turnId: string; animalId: string; animalName: string; model: string; createdAt: string }
  /** Around generation. */
  typing: { state: 'start' | 'stop' }
  /** One text chunk as the model produces it. */
  message: { delta: string; index: number }
  /** Generation ended. `model` is the model that actually answered (the fallback may differ from metadata's). */
  complete: { reply: string; usage: Usage; latencyMs: number; finishReason: string; model: string; safety?: TurnSafety }
  /** The turn is durably saved: the last event of a successful turn. */
  storage: { stored: true; sessionId: string; turnId: string }
  /** Released text was blocked after the fact: the client replaces the turn's text with `reply`. */
  replace: { reply: string; reason: string }
  /** Anything failed: the last event of the turn. */
  error: ErrorData
}

export type EventType = keyof EventPayloads

/** Every event type, in the order a turn emits them (replace and error may come at any point). */
export const EVENT_TYPES = ['metadata', 'typing', 'message', 'complete', 'storage', 'replace', 'error'] as const satisfies readonly EventType[]

interface EventOf<K extends EventType> {
  readonly type: K
  /** `<turnId>:<seq>` */
  readonly id: string
  readonly seq: number
  readonly turnId: string
  /** Never changed once the event is created: encoders serialise it later and cache the result. */
  readonly data: Readonly<EventPayloads[K]>
}

/** One event of a turn: a discriminated union on `type`, so `data` is typed by a switch on it. */
export type TurnEvent = { [K in EventType]: EventOf<K> }[EventType]

export function createEvent<K extends EventType>(turnId: string, seq: number, type: K, data: EventPayloads[K]): TurnEvent {
  return { type, id: `${turnId}:${seq}`, seq, turnId, data } as EventOf<K> as TurnEvent
}

/** `storage` and `error` end a turn's stream. */
export function isFinalEvent(event: TurnEvent): boolean {
  return event.type === 'storage' || event.type === 'error'
}

/**
 * The sequence number after which a resuming client wants events: -1 (everything) when no id
 * is given, or `<turnId>:-1` (the id of a "resume later" error that came before any event).
 * Throws on an id that is not of this turn, so a client cannot confuse two turns.
 */
export function seqAfter(turnId: string, lastEventId: string | undefined): number {
  if (lastEventId === undefined || lastEventId === '') return -1
  const sep = lastEventId.lastIndexOf(':')
  const seq = Number(lastEventId.slice(sep + 1))
  if (sep < 0 || lastEventId.slice(0, sep) !== turnId || !Number.isInteger(seq) || seq < -1) {
    throw new RangeError(`lastEventId must look like ${turnId}:<seq>`)
  }
  return seq
}

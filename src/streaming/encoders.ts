// Encoders: the wire forms of a turn's events. Each encoder caches its serialisation per event
// (a WeakMap keyed by the event object, so it goes when the log drops the event): however many
// listeners follow a turn, each event is serialised once per format, and a format nobody asked
// for is never built. The core's events stay plain data.
import type { ErrorData } from '../core/errors.ts'
import { createEvent, type EventPayloads, type EventType, type TurnEvent } from '../core/events.ts'

export type Encoder = (event: TurnEvent) => string

/** Wraps `serialise` so that each event is serialised at most once. */
export function cachedEncoder(serialise: Encoder): Encoder {
  const cache = new WeakMap<TurnEvent, string>()
  return (event) => {
    let text = cache.get(event)
    if (text === undefined) {
      text = serialise(event)
      cache.set(event, text)
    }
    return text
  }
}

/** The JSON of an event's data: shared by the SSE and WebSocket forms. */
export const dataJson = cachedEncoder((event) => JSON.stringify(event.data))

/** The whole SSE frame: `id:`, `event:`, `data:` and the blank line. */
export const sseFrame = cachedEncoder((event) => `id: ${event.id}\nevent: ${event.type}\ndata: ${dataJson(event)}\n\n`)

/** The WebSocket text frame `{ type, id, turnId, data }`. */
export const wsFrame = cachedEncoder(
  (event) => `{"type":"${event.type}","id":"${event.id}","turnId":${JSON.stringify(event.turnId)},"data":${dataJson(event)}}`,
)

/** Reads a frame made by wsFrame back into its event (the Redis hub stores events in this form). */
export function eventFromWsFrame(turnId: string, seq: number, frame: string): TurnEvent {
  const { type, data } = JSON.parse(frame) as { type: EventType; data: EventPayloads[EventType] }
  return createEvent(turnId, seq, type, data)
}

/** An error that belongs to no event of a turn's log (a bad frame, a refused cancel), over WebSocket. */
export function wsErrorFrame(turnId: string | null, data: ErrorData): string {
  return JSON.stringify({ type: 'error', id: null, turnId, data })
}

// The event protocol: one turn is a stream of events with ids `<turnId>:<seq>`.
// Each event is serialised once, here, into both wire forms; every listener and both
// transports reuse the same strings.

export const EVENT_TYPES = ['metadata', 'typing', 'message', 'complete', 'storage', 'error'] as const
export type EventType = (typeof EVENT_TYPES)[number]

export interface TurnEvent {
  readonly type: EventType
  /** `<turnId>:<seq>` */
  readonly id: string
  readonly seq: number
  readonly turnId: string
  readonly data: Readonly<Record<string, unknown>>
  /** The whole SSE frame (`id:`, `event:`, `data:` and the blank line). */
  readonly sse: string
  /** The WebSocket text frame `{ type, id, turnId, data }`. */
  readonly ws: string
}

export function createEvent(turnId: string, seq: number, type: EventType, data: Record<string, unknown>): TurnEvent {
  const json = JSON.stringify(data)
  const id = `${turnId}:${seq}`
  return {
    type,
    id,
    seq,
    turnId,
    data,
    sse: `id: ${id}\nevent: ${type}\ndata: ${json}\n\n`,
    ws: `{"type":"${type}","id":"${id}","turnId":${JSON.stringify(turnId)},"data":${json}}`,
  }
}

/** `storage` and `error` end a turn's stream. */
export function isFinalEvent(event: TurnEvent): boolean {
  return event.type === 'storage' || event.type === 'error'
}

/**
 * The sequence number after which a resuming client wants events: -1 (everything) when no id
 * is given. Throws on an id that is not of this turn, so a client cannot confuse two turns.
 */
export function seqAfter(turnId: string, lastEventId: string | undefined): number {
  if (lastEventId === undefined || lastEventId === '') return -1
  const sep = lastEventId.lastIndexOf(':')
  const seq = Number(lastEventId.slice(sep + 1))
  if (sep < 0 || lastEventId.slice(0, sep) !== turnId || !Number.isInteger(seq) || seq < 0) {
    throw new RangeError(`lastEventId must look like ${turnId}:<seq>`)
  }
  return seq
}

// The event protocol: one turn is a stream of events with ids `<turnId>:<seq>`.
// Each event is serialised at most once per wire form, here, when a transport first asks for
// it; every listener and both transports reuse the same strings. A JSON (REST) answer needs
// neither form, an SSE or WebSocket stream only its own.

export const EVENT_TYPES = ['metadata', 'typing', 'message', 'complete', 'storage', 'error'] as const
export type EventType = (typeof EVENT_TYPES)[number]

export interface TurnEvent {
  readonly type: EventType
  /** `<turnId>:<seq>` */
  readonly id: string
  readonly seq: number
  readonly turnId: string
  /** Never changed once the event is created: the wire forms are serialised from it later. */
  readonly data: Readonly<Record<string, unknown>>
  /** The whole SSE frame (`id:`, `event:`, `data:` and the blank line). */
  readonly sse: string
  /** The WebSocket text frame `{ type, id, turnId, data }`. */
  readonly ws: string
}

export function createEvent(turnId: string, seq: number, type: EventType, data: Record<string, unknown>): TurnEvent {
  return new LazyEvent(turnId, seq, type, data)
}

/** A TurnEvent whose wire forms (and the JSON of its data they share) are built on first use. */
class LazyEvent implements TurnEvent {
  readonly type: EventType
  readonly id: string
  readonly seq: number
  readonly turnId: string
  readonly data: Readonly<Record<string, unknown>>
  #json: string | undefined
  #sse: string | undefined
  #ws: string | undefined

  constructor(turnId: string, seq: number, type: EventType, data: Record<string, unknown>) {
    this.type = type
    this.id = `${turnId}:${seq}`
    this.seq = seq
    this.turnId = turnId
    this.data = data
  }

  get sse(): string {
    return this.#sse ??= `id: ${this.id}\nevent: ${this.type}\ndata: ${this.#dataJson()}\n\n`
  }

  get ws(): string {
    return this.#ws ??= `{"type":"${this.type}","id":"${this.id}","turnId":${JSON.stringify(this.turnId)},"data":${this.#dataJson()}}`
  }

  #dataJson(): string {
    return this.#json ??= JSON.stringify(this.data)
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

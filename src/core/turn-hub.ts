// The streaming core: each running turn has an event log. The engine writes to it; any number
// of listeners (SSE, WebSocket, a JSON request waiting for the end) attach to it, get every
// event after the id they last saw exactly once, then the live rest. A finished log stays
// buffered for a while so clients can still resume.
import { createEvent, isFinalEvent, type EventType, type TurnEvent } from './events.ts'

/** What every attach and access check needs to know about a turn. */
export interface TurnInfo {
  turnId: string
  sessionId: string
  userId: string
  animalId: string
  animalName: string
  model: string
  createdAt: string
}

export type EventListener = (event: TurnEvent) => void

export interface Subscription {
  /** Stops delivery to this listener; the turn goes on. */
  close(): void
  /** True when the turn had already ended and attach delivered all that was left: nothing more will come. */
  readonly done: boolean
}

export interface TurnWriter {
  emit(type: EventType, data: Record<string, unknown>): TurnEvent
  /** Sequence number the next event will get. */
  readonly nextSeq: number
}

/** The port the engine and the transports use; in memory here, Redis-backed when scaled out. */
export interface TurnHub {
  /** Starts the log of a new turn; cancel() aborts `abort`. */
  open(info: TurnInfo, abort: AbortController): TurnWriter
  /** The turn's info while its log is buffered, undefined otherwise. */
  info(turnId: string): Promise<TurnInfo | undefined>
  /** Replays events with seq > afterSeq, then live ones. Undefined when the turn is not buffered. */
  attach(turnId: string, afterSeq: number, listener: EventListener): Promise<Subscription | undefined>
  /** Aborts a running turn. False when it is not running (unknown or already ended). */
  cancel(turnId: string): Promise<boolean>
  close(): Promise<void>
}

class TurnLog implements TurnWriter {
  readonly info: TurnInfo
  readonly events: TurnEvent[] = []
  readonly listeners = new Set<EventListener>()
  readonly abort: AbortController
  ended = false
  private readonly onEnd: () => void

  constructor(info: TurnInfo, abort: AbortController, onEnd: () => void) {
    this.info = info
    this.abort = abort
    this.onEnd = onEnd
  }

  get nextSeq(): number {
    return this.events.length
  }

  emit(type: EventType, data: Record<string, unknown>): TurnEvent {
    if (this.ended) throw new Error(`turn ${this.info.turnId} already ended`)
    const event = createEvent(this.info.turnId, this.events.length, type, data)
    this.events.push(event)
    for (const listener of this.listeners) deliver(listener, event)
    if (isFinalEvent(event)) {
      this.ended = true
      this.listeners.clear()
      this.onEnd()
    }
    return event
  }

  subscribe(afterSeq: number, listener: EventListener): Subscription {
    // Replay and registration happen in one synchronous step, so no live event slips between them.
    for (let seq = afterSeq + 1; seq < this.events.length; seq++) deliver(listener, this.events[seq])
    if (!this.ended) this.listeners.add(listener)
    return { close: () => this.listeners.delete(listener), done: this.ended }
  }
}

/** A throwing listener (a socket that just died) must not stop delivery to the others. */
function deliver(listener: EventListener, event: TurnEvent): void {
  try {
    listener(event)
  } catch {
    // the transport that owns the listener notices its own failure and detaches
  }
}

export class MemoryTurnHub implements TurnHub {
  private readonly logs = new Map<string, TurnLog>()
  private readonly timers = new Set<NodeJS.Timeout>()
  private readonly bufferTtlMs: number

  constructor(options: { bufferTtlMs: number }) {
    this.bufferTtlMs = options.bufferTtlMs
  }

  open(info: TurnInfo, abort: AbortController): TurnWriter {
    const log = new TurnLog(info, abort, () => this.expireLater(info.turnId))
    this.logs.set(info.turnId, log)
    return log
  }

  async info(turnId: string): Promise<TurnInfo | undefined> {
    return this.logs.get(turnId)?.info
  }

  async attach(turnId: string, afterSeq: number, listener: EventListener): Promise<Subscription | undefined> {
    return this.logs.get(turnId)?.subscribe(afterSeq, listener)
  }

  async cancel(turnId: string): Promise<boolean> {
    const log = this.logs.get(turnId)
    if (!log || log.ended) return false
    log.abort.abort()
    return true
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer)
    this.timers.clear()
    this.logs.clear()
  }

  private expireLater(turnId: string): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer)
      this.logs.delete(turnId)
    }, this.bufferTtlMs)
    timer.unref()
    this.timers.add(timer)
  }
}

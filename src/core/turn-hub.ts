// The in-memory turn hub: each running turn has an event log. The engine writes to it; any number
// of listeners (SSE, WebSocket, a JSON request waiting for the end) attach to it, get every
// event after the id they last saw exactly once, then the live rest. A finished log stays
// buffered for a while so clients can still resume. The port it implements is TurnHub (ports.ts).
import { createEvent, isFinalEvent, type EventPayloads, type EventType, type TurnEvent } from './events.ts'
import type { EventListener, PurgeTarget, Subscription, TurnHub, TurnInfo, TurnWriter } from './ports.ts'

class TurnLog implements TurnWriter {
  readonly info: TurnInfo
  readonly events: TurnEvent[] = []
  readonly listeners = new Set<EventListener>()
  readonly abort: AbortController
  ended = false
  readonly #onEnd: () => void

  constructor(info: TurnInfo, abort: AbortController, onEnd: () => void) {
    this.info = info
    this.abort = abort
    this.#onEnd = onEnd
  }

  get nextSeq(): number {
    return this.events.length
  }

  emit<K extends EventType>(type: K, data: EventPayloads[K]): TurnEvent {
    if (this.ended) throw new Error(`turn ${this.info.turnId} already ended`)
    const event = createEvent(this.info.turnId, this.events.length, type, data)
    this.events.push(event)
    for (const listener of this.listeners) deliver(listener, event)
    if (isFinalEvent(event)) {
      this.ended = true
      this.listeners.clear()
      this.#onEnd()
    }
    return event
  }

  retractText(): void {
    for (const [seq, event] of this.events.entries()) {
      if (event.type === 'message') this.events[seq] = createEvent(this.info.turnId, seq, 'message', { delta: '', index: event.data.index })
    }
  }

  subscribe(afterSeq: number, listener: EventListener): Subscription {
    // Replay and registration happen in one synchronous step, so no live event slips between them.
    for (let seq = afterSeq + 1; seq < this.events.length; seq++) deliver(listener, this.events[seq])
    if (!this.ended) this.listeners.add(listener)
    return { close: () => this.listeners.delete(listener), done: this.ended }
  }
}

/** Whether a purge removes this turn: one of its ids, or a turn of its user or session. */
export function purgeMatches(target: PurgeTarget, info: TurnInfo): boolean {
  return info.userId === target.userId || info.sessionId === target.sessionId || target.turnIds.includes(info.turnId)
}

/** A throwing listener (a socket that just died) must not stop delivery to the others. */
export function deliver(listener: EventListener, event: TurnEvent): void {
  try {
    listener(event)
  } catch {
    // the transport that owns the listener notices its own failure and detaches
  }
}

export class MemoryTurnHub implements TurnHub {
  readonly #logs = new Map<string, TurnLog>()
  readonly #timers = new Set<NodeJS.Timeout>()
  readonly #bufferTtlMs: number

  constructor(options: { bufferTtlMs: number }) {
    this.#bufferTtlMs = options.bufferTtlMs
  }

  open(info: TurnInfo, abort: AbortController): TurnWriter {
    const log = new TurnLog(info, abort, () => this.#expireLater(info.turnId))
    this.#logs.set(info.turnId, log)
    return log
  }

  async info(turnId: string): Promise<TurnInfo | undefined> {
    return this.#logs.get(turnId)?.info
  }

  /** The events of a buffered turn, in order (for a hub that mirrors them elsewhere). */
  events(turnId: string): readonly TurnEvent[] {
    return this.#logs.get(turnId)?.events ?? []
  }

  async attach(turnId: string, afterSeq: number, listener: EventListener): Promise<Subscription | undefined> {
    return this.#logs.get(turnId)?.subscribe(afterSeq, listener)
  }

  async cancel(turnId: string): Promise<boolean> {
    const log = this.#logs.get(turnId)
    if (!log || log.ended) return false
    log.abort.abort()
    return true
  }

  async purge(target: PurgeTarget): Promise<void> {
    this.purgeLocal(target)
  }

  /** The purge on this instance alone; returns the turns it dropped. */
  purgeLocal(target: PurgeTarget): TurnInfo[] {
    const dropped: TurnInfo[] = []
    for (const [turnId, log] of this.#logs) {
      if (!purgeMatches(target, log.info)) continue
      this.#logs.delete(turnId)
      if (!log.ended) log.abort.abort()
      dropped.push(log.info)
    }
    return dropped
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    this.#logs.clear()
  }

  #expireLater(turnId: string): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      this.#logs.delete(turnId)
    }, this.#bufferTtlMs)
    timer.unref()
    this.#timers.add(timer)
  }
}

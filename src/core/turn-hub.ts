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
  unstored = false
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

  markUnstored(): void {
    this.unstored = true
  }

  subscribe(afterSeq: number, listener: EventListener): Subscription {
    // Replay and registration happen in one synchronous step, so no live event slips between them.
    for (let seq = afterSeq + 1; seq < this.events.length; seq++) deliver(listener, this.events[seq])
    if (!this.ended) this.listeners.add(listener)
    return { close: () => this.listeners.delete(listener), done: this.ended }
  }
}

/** The abort reason of a running turn whose data was erased (purge): the engine stores nothing of it. */
export class TurnPurged extends Error {}

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

/** Finished logs kept for resumes, at most (the oldest go first, before their TTL). */
export const FINISHED_LOG_LIMITS = { maxFinished: 10_000, maxFinishedBytes: 64 * 2 ** 20 }

/**
 * About what a finished log holds: per event its object, id and data (about 300 bytes), and per
 * character of the reply its delta plus the SSE and WebSocket strings built from it (2 bytes
 * each, erring high: ASCII takes one).
 */
function logBytes(log: TurnLog): number {
  let chars = 0
  for (const event of log.events) if (event.type === 'message') chars += event.data.delta.length
  return 300 * log.events.length + 6 * chars
}

export class MemoryTurnHub implements TurnHub {
  readonly #logs = new Map<string, TurnLog>()
  /** Finished logs in the order they ended, with their expiry timers and estimated bytes. */
  readonly #finished = new Map<string, { timer: NodeJS.Timeout; bytes: number }>()
  #finishedBytes = 0
  readonly #bufferTtlMs: number
  readonly #limits: typeof FINISHED_LOG_LIMITS
  /** One instance: nothing is shared, so nothing is ever restored. */
  readonly restoring = false

  constructor(options: { bufferTtlMs: number; limits?: Partial<typeof FINISHED_LOG_LIMITS> }) {
    this.#bufferTtlMs = options.bufferTtlMs
    this.#limits = { ...FINISHED_LOG_LIMITS, ...options.limits }
  }

  /** Finished logs held now, and their estimated bytes. */
  get finished(): { logs: number; bytes: number } {
    return { logs: this.#finished.size, bytes: this.#finishedBytes }
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

  async unstored(turnId: string): Promise<boolean> {
    return this.#logs.get(turnId)?.unstored ?? false
  }

  async purge(target: PurgeTarget): Promise<void> {
    this.purgeLocal(target)
  }

  /** The purge on this instance alone; returns the turns it dropped. */
  purgeLocal(target: PurgeTarget): TurnInfo[] {
    const dropped: TurnInfo[] = []
    for (const [turnId, log] of this.#logs) {
      if (!purgeMatches(target, log.info)) continue
      this.#drop(turnId)
      this.#logs.delete(turnId)
      if (!log.ended) log.abort.abort(new TurnPurged('its conversation was deleted'))
      dropped.push(log.info)
    }
    return dropped
  }

  async close(): Promise<void> {
    for (const { timer } of this.#finished.values()) clearTimeout(timer)
    this.#finished.clear()
    this.#finishedBytes = 0
    this.#logs.clear()
  }

  /**
   * Keeps a finished log for resumes for bufferTtlMs, or less when the limits are reached: then
   * the longest-finished go first (a resume of one of them is answered from storage instead).
   */
  #expireLater(turnId: string): void {
    const log = this.#logs.get(turnId)
    if (!log) return // purged while it ran: nothing to keep
    const timer = setTimeout(() => this.#drop(turnId), this.#bufferTtlMs)
    timer.unref()
    const bytes = logBytes(log)
    this.#finished.set(turnId, { timer, bytes })
    this.#finishedBytes += bytes
    const { maxFinished, maxFinishedBytes } = this.#limits
    while (this.#finished.size > maxFinished || (this.#finishedBytes > maxFinishedBytes && this.#finished.size > 1)) {
      this.#drop(this.#finished.keys().next().value!)
    }
  }

  #drop(turnId: string): void {
    const entry = this.#finished.get(turnId)
    if (!entry) return
    clearTimeout(entry.timer)
    this.#finished.delete(turnId)
    this.#finishedBytes -= entry.bytes
    this.#logs.delete(turnId)
  }
}

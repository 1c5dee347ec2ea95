// Follows the Redis Streams of turns running on other instances, for the Redis hub.
import type { Redis } from 'ioredis'
import { createEvent, isFinalEvent, type TurnEvent } from '../core/events.ts'
import type { ErrorData } from '../core/errors.ts'
import type { Log } from '../core/log.ts'
import type { EventListener, Subscription, TurnInfo } from '../core/ports.ts'
import { deliver } from '../core/turn-hub.ts'
import { eventFromWsFrame } from './encoders.ts'

export interface Cursor {
  readonly key: string
  readonly info: TurnInfo
  /** The last seq this listener got. */
  lastSeq: number
  /** When it last got an event (or started following). */
  lastAt: number
  /**
   * The stream lacks the events this listener needs next (Redis lost or trimmed them): it is
   * not read for it any more; the hub waits for the turn's end or for its owner to write the stream back.
   */
  gapped: boolean
  readonly listener: EventListener
}

/** What a follower tells its listeners when Redis stays unreachable. */
export const HUB_UNAVAILABLE: ErrorData = {
  code: 'hub_unavailable', message: 'This turn cannot be followed right now; resume it in a moment', retryable: true,
}

/** Pause between reads after a failed one: never a busy loop, whatever Redis answers. */
const RETRY_MS = 1000

/**
 * One blocking connection per instance, however many listeners: a single XREAD BLOCK over every
 * followed stream, each from the oldest position a listener needs. A new listener interrupts the
 * wait (CLIENT UNBLOCK). Listeners whose stream has a hole are set aside (gapped), so a stream that
 * lost its beginning is never read again and again; when Redis fails for longer than
 * `deadlineMs`, every listener gets `error` hub_unavailable (it can resume later).
 */
export class StreamFollower {
  readonly #reader: Redis
  readonly #control: Redis
  readonly #log: Log
  readonly #deadlineMs: number
  readonly #cursors = new Set<Cursor>()
  #readerId: number | undefined
  #reading = false
  #blocked = false
  #closed = false

  constructor(control: Redis, reader: Redis, log: Log, deadlineMs: number) {
    this.#control = control
    this.#reader = reader
    this.#reader.on('close', () => { this.#readerId = undefined })
    this.#log = log
    this.#deadlineMs = deadlineMs
  }

  follow(key: string, info: TurnInfo, afterSeq: number, listener: EventListener): Subscription {
    const cursor: Cursor = { key, info, lastSeq: afterSeq, lastAt: Date.now(), gapped: false, listener }
    this.#cursors.add(cursor)
    this.#wake()
    return { close: () => this.#cursors.delete(cursor), done: false }
  }

  /** Listeners that got nothing for `idleMs`, or are gapped: the hub checks on their turns. */
  stale(idleMs: number): Cursor[] {
    const now = Date.now()
    return [...this.#cursors].filter((cursor) => cursor.gapped || now - cursor.lastAt >= idleMs)
  }

  /** The stream has the gapped listener's next events again (its owner wrote it back): read on. */
  resume(cursor: Cursor): void {
    if (!this.#cursors.has(cursor)) return
    cursor.gapped = false
    cursor.lastAt = Date.now()
    this.#wake()
  }

  /** Stops following and hands the events after the cursor's position to it, in order. */
  finish(cursor: Cursor, events: readonly TurnEvent[]): void {
    if (!this.#cursors.delete(cursor)) return
    for (const event of events) if (event.seq > cursor.lastSeq) deliver(cursor.listener, event)
  }

  /**
   * Ends the matching turns' listeners with an `error` event of `data`, and stops following them.
   * A `resumable` end takes the id of the last event the listener got, so a resume from it goes
   * on from there (the turn itself has not ended).
   */
  end(matches: (info: TurnInfo) => boolean, data: ErrorData, resumable = false): void {
    for (const cursor of this.#cursors) {
      if (!matches(cursor.info)) continue
      this.#cursors.delete(cursor)
      deliver(cursor.listener, createEvent(cursor.info.turnId, resumable ? cursor.lastSeq : cursor.lastSeq + 1, 'error', data))
    }
  }

  close(): void {
    this.#closed = true
    this.#cursors.clear()
    this.#reader.disconnect()
  }

  #wake(): void {
    if (!this.#reading) void this.#loop()
    else if (this.#blocked && this.#readerId !== undefined) {
      this.#control.client('UNBLOCK', this.#readerId).catch(() => {}) // worst case it waits one block
    }
  }

  async #loop(): Promise<void> {
    this.#reading = true
    let failingSince: number | undefined
    while (!this.#closed) {
      const from = new Map<string, number>()
      for (const { key, lastSeq, gapped } of this.#cursors) if (!gapped) from.set(key, Math.min(from.get(key) ?? Infinity, lastSeq))
      if (from.size === 0) break
      let reply: unknown
      try {
        this.#readerId ??= (await this.#reader.client('ID')) as number
        this.#blocked = true
        const ids = [...from.values()].map((seq) => `${seq + 1}-0`)
        reply = await this.#reader.xread('COUNT', 500, 'BLOCK', 1000, 'STREAMS', ...from.keys(), ...ids)
        failingSince = undefined
      } catch (err) {
        if (this.#closed) break
        failingSince ??= Date.now()
        if (Date.now() - failingSince >= this.#deadlineMs) this.end(() => true, HUB_UNAVAILABLE, true)
        else this.#log.warn({ err }, 'reading turn streams from redis failed; retrying')
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS))
        continue
      } finally {
        this.#blocked = false
      }
      for (const [key, entries] of (reply as Array<[string, Array<[string, string[]]>]> | null) ?? []) {
        this.#markGaps(key, Number.parseInt(entries[0][0], 10) - 1)
        for (const [id, fields] of entries) this.#deliver(key, Number.parseInt(id, 10) - 1, fields[1])
      }
    }
    this.#reading = false
  }

  /** A listener whose next event comes before the first one the stream still has cannot be served from it. */
  #markGaps(key: string, firstSeq: number): void {
    for (const cursor of this.#cursors) if (cursor.key === key && !cursor.gapped && cursor.lastSeq + 1 < firstSeq) cursor.gapped = true
  }

  #deliver(key: string, seq: number, ws: string): void {
    let event: TurnEvent | undefined
    for (const cursor of this.#cursors) {
      // Only the next event in order: a cursor added while this batch was read from further on
      // gets its own earlier events on the next read.
      if (cursor.key !== key || cursor.gapped || cursor.lastSeq !== seq - 1) continue
      event ??= eventFromWsFrame(cursor.info.turnId, seq, ws)
      cursor.lastSeq = seq
      cursor.lastAt = Date.now()
      deliver(cursor.listener, event)
      if (isFinalEvent(event)) this.#cursors.delete(cursor)
    }
  }
}

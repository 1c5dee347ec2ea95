// The turn hub for several instances behind a load balancer (REDIS_URL). Every turn's event log
// is mirrored to a Redis Stream, so a client can resume it on any instance, and a cancel reaches
// the instance running the turn over pub/sub. That instance serves its own listeners from memory,
// without a Redis round-trip; the others read the stream.
//
// Keys (all under the configured prefix):
//   turn:<turnId>        stream, entry id `<seq + 1>-0`, one field `ws` (the event's ws frame)
//   turn:<turnId>:info   hash: `info` (TurnInfo JSON), `state` (running | ended)
//   cancel               pub/sub channel carrying turnIds to abort
//   purge                pub/sub channel carrying PurgeTarget JSON (deleted data: drop these turns' logs)
// Both keys expire bufferTtlMs after the turn ends (an hour after it started if its instance dies).
//
// Connections: the app's shared one (plugins/redis.ts: fail-fast commands) for reads and
// publishing cancels and purges; three duplicates: a writer whose commands queue while Redis
// reconnects (so a blip does not leave holes in a turn's stream; a purge's deletes go there too,
// behind the writes they undo), the cancel and purge subscriber, and the blocking stream reader.
import type { Redis } from 'ioredis'
import { createEvent, isFinalEvent, type EventPayloads, type EventType, type TurnEvent } from '../core/events.ts'
import type { ErrorData } from '../core/errors.ts'
import type { Log } from '../core/log.ts'
import type { EventListener, PurgeTarget, Subscription, TurnHub, TurnInfo, TurnWriter } from '../core/ports.ts'
import { CANCELLED } from '../core/stored-turn.ts'
import { deliver, MemoryTurnHub, purgeMatches } from '../core/turn-hub.ts'
import { duplicateConnection } from '../redis.ts'
import { eventFromWsFrame, wsFrame } from './encoders.ts'

export interface RedisTurnHubOptions {
  /** The app's connected Redis client (app.redis). */
  redis: Redis
  keyPrefix: string
  /** How long a finished turn stays resumable. */
  bufferTtlMs: number
  /** Length bound (MAXLEN) of one turn's stream. */
  maxEventsPerTurn: number
  log: Log
}

/** Keys of a turn whose instance died before ending it still go away. */
const ORPHAN_TTL_MS = 60 * 60 * 1000
/** Purged turns still running here are remembered so their last events are not mirrored again. */
const MAX_PURGED = 10_000

export class RedisTurnHub implements TurnHub {
  readonly #local: MemoryTurnHub
  readonly #redis: Redis
  readonly #writer: Redis
  readonly #subscriber: Redis
  readonly #follower: StreamFollower
  readonly #options: RedisTurnHubOptions
  readonly #cancelChannel: string
  readonly #purgeChannel: string
  /** Turns purged while running on this instance: their remaining events stay local. */
  readonly #purged = new Set<string>()

  private constructor(options: RedisTurnHubOptions, connections: { writer: Redis; subscriber: Redis; reader: Redis }) {
    this.#options = options
    this.#local = new MemoryTurnHub({ bufferTtlMs: options.bufferTtlMs })
    this.#redis = options.redis
    this.#writer = connections.writer
    this.#subscriber = connections.subscriber
    this.#follower = new StreamFollower(this.#redis, connections.reader, options.log)
    this.#cancelChannel = `${options.keyPrefix}cancel`
    this.#purgeChannel = `${options.keyPrefix}purge`
  }

  /** Opens its connections and subscribes to cancels and purges, so one sent anywhere reaches this instance's turns. */
  static async connect(options: RedisTurnHubOptions): Promise<RedisTurnHub> {
    const { redis, log } = options
    const [writer, subscriber, reader] = await Promise.all([
      // Mirror writes queue while Redis reconnects: a short blip delays a turn's stream, it leaves no hole.
      duplicateConnection(redis, log, { enableOfflineQueue: true, maxRetriesPerRequest: 20 }),
      duplicateConnection(redis, log),
      duplicateConnection(redis, log),
    ])
    const hub = new RedisTurnHub(options, { writer, subscriber, reader })
    subscriber.on('message', (channel: string, message: string) => {
      if (channel === hub.#cancelChannel) void hub.#local.cancel(message)
      else if (channel === hub.#purgeChannel) {
        hub.#purgeHere(JSON.parse(message) as PurgeTarget).catch((err: unknown) => log.error({ err }, 'purged turns not deleted from redis'))
      }
    })
    await subscriber.subscribe(hub.#cancelChannel, hub.#purgeChannel)
    return hub
  }

  open(info: TurnInfo, abort: AbortController): TurnWriter {
    const writer = this.#local.open(info, abort)
    const infoKey = this.#infoKey(info.turnId)
    this.#write(this.#writer.multi().hset(infoKey, 'info', JSON.stringify(info), 'state', 'running').pexpire(infoKey, ORPHAN_TTL_MS), info.turnId)
    return {
      get nextSeq() {
        return writer.nextSeq
      },
      emit: <K extends EventType>(type: K, data: EventPayloads[K]) => {
        const event = writer.emit(type, data)
        if (!this.#purged.has(info.turnId)) this.#mirror(event)
        return event
      },
      retractText: () => {
        writer.retractText()
        if (!this.#purged.has(info.turnId)) this.#rewrite(info.turnId)
      },
    }
  }

  async info(turnId: string): Promise<TurnInfo | undefined> {
    const local = await this.#local.info(turnId)
    if (local) return local
    const json = await this.#redis.hget(this.#infoKey(turnId), 'info')
    return json ? (JSON.parse(json) as TurnInfo) : undefined
  }

  async attach(turnId: string, afterSeq: number, listener: EventListener): Promise<Subscription | undefined> {
    const local = await this.#local.attach(turnId, afterSeq, listener)
    if (local) return local
    const [json, state] = await this.#redis.hmget(this.#infoKey(turnId), 'info', 'state')
    if (!json || !state) return undefined
    // An ended turn with nothing after afterSeq: no reader needs to wait for it.
    if (state === 'ended' && (await this.#redis.xlen(this.#streamKey(turnId))) <= afterSeq + 1) return { close() {}, done: true }
    return this.#follower.follow(this.#streamKey(turnId), JSON.parse(json) as TurnInfo, afterSeq, listener)
  }

  async cancel(turnId: string): Promise<boolean> {
    if (await this.#local.cancel(turnId)) return true
    if (await this.#local.info(turnId)) return false // ours, and already ended
    if ((await this.#redis.hget(this.#infoKey(turnId), 'state')) !== 'running') return false
    // The instance running it aborts it; the turn's stream then ends with `error` cancelled.
    await this.#redis.publish(this.#cancelChannel, turnId)
    return true
  }

  /**
   * Deletes the known turns' keys, then tells every instance (this one included, through the
   * same channel) to drop its own matching turns, which may be running and not stored yet.
   */
  async purge(target: PurgeTarget): Promise<void> {
    await this.#purgeHere(target)
    await this.#redis.publish(this.#purgeChannel, JSON.stringify(target))
  }

  /** Closes the hub's own connections; the shared one belongs to the app. */
  async close(): Promise<void> {
    await this.#local.close()
    this.#follower.close()
    await Promise.allSettled([this.#subscriber.quit(), this.#writer.quit()])
  }

  /** Appends an event (its WebSocket frame) to the turn's stream; the final one starts the expiry of both keys. */
  #mirror(event: TurnEvent): void {
    const streamKey = this.#streamKey(event.turnId)
    const tx = this.#writer.multi().xadd(streamKey, 'MAXLEN', this.#options.maxEventsPerTurn, `${event.seq + 1}-0`, 'ws', wsFrame(event))
    if (isFinalEvent(event)) {
      const infoKey = this.#infoKey(event.turnId)
      tx.hset(infoKey, 'state', 'ended').pexpire(infoKey, this.#options.bufferTtlMs).pexpire(streamKey, this.#options.bufferTtlMs)
    } else if (event.seq === 0) {
      tx.pexpire(streamKey, ORPHAN_TTL_MS)
    }
    this.#write(tx, event.turnId)
  }

  /**
   * Replaces the turn's stream with the local log as it is now (after a retraction), in one
   * transaction: the withdrawn text leaves Redis, and the entry ids stay, so readers go on.
   */
  #rewrite(turnId: string): void {
    const streamKey = this.#streamKey(turnId)
    const tx = this.#writer.multi().del(streamKey)
    for (const event of this.#local.events(turnId)) tx.xadd(streamKey, 'MAXLEN', this.#options.maxEventsPerTurn, `${event.seq + 1}-0`, 'ws', wsFrame(event))
    this.#write(tx.pexpire(streamKey, ORPHAN_TTL_MS), turnId)
  }

  /**
   * Drops this instance's matching turns and deletes their keys. The deletes go through the
   * writer, after any mirror write still queued there, so no late write brings a key back.
   */
  async #purgeHere(target: PurgeTarget): Promise<void> {
    const dropped = this.#local.purgeLocal(target)
    // Their streams are about to go: listeners following them from here get the end the running instance sends its own.
    this.#follower.end((info) => purgeMatches(target, info), CANCELLED)
    for (const { turnId } of dropped) {
      this.#purged.add(turnId)
      if (this.#purged.size > MAX_PURGED) this.#purged.delete(this.#purged.values().next().value!)
    }
    const turnIds = new Set([...target.turnIds, ...dropped.map((info) => info.turnId)])
    const keys = [...turnIds].flatMap((turnId) => [this.#streamKey(turnId), this.#infoKey(turnId)])
    // In slices: one DEL with very many keys would block Redis for everyone meanwhile.
    for (let start = 0; start < keys.length; start += 500) await this.#writer.del(...keys.slice(start, start + 500))
  }

  /** Redis trouble must not break the turn: local listeners still get every event. */
  #write(tx: ReturnType<Redis['multi']>, turnId: string): void {
    tx.exec().catch((err: unknown) => this.#options.log.error({ err, turnId }, 'turn event not mirrored to redis'))
  }

  #streamKey(turnId: string): string {
    return `${this.#options.keyPrefix}turn:${turnId}`
  }

  #infoKey(turnId: string): string {
    return `${this.#options.keyPrefix}turn:${turnId}:info`
  }
}

interface Cursor {
  key: string
  info: TurnInfo
  /** The last seq this listener got. */
  lastSeq: number
  listener: EventListener
}

/**
 * Follows the streams of turns running on other instances with one blocking connection per
 * instance, however many listeners: a single XREAD BLOCK over every followed stream, each from
 * the oldest position a listener needs. A new listener interrupts the wait (CLIENT UNBLOCK).
 */
class StreamFollower {
  readonly #reader: Redis
  readonly #control: Redis
  readonly #log: Log
  readonly #cursors = new Set<Cursor>()
  #readerId: number | undefined
  #reading = false
  #blocked = false
  #closed = false

  constructor(control: Redis, reader: Redis, log: Log) {
    this.#control = control
    this.#reader = reader
    this.#reader.on('close', () => { this.#readerId = undefined })
    this.#log = log
  }

  follow(key: string, info: TurnInfo, afterSeq: number, listener: EventListener): Subscription {
    const cursor: Cursor = { key, info, lastSeq: afterSeq, listener }
    this.#cursors.add(cursor)
    if (!this.#reading) void this.#loop()
    else if (this.#blocked && this.#readerId !== undefined) {
      this.#control.client('UNBLOCK', this.#readerId).catch(() => {}) // worst case it waits one block
    }
    return { close: () => this.#cursors.delete(cursor), done: false }
  }

  /** Ends the matching turns' listeners with an `error` event of `data`, and stops following them. */
  end(matches: (info: TurnInfo) => boolean, data: ErrorData): void {
    for (const cursor of this.#cursors) {
      if (!matches(cursor.info)) continue
      this.#cursors.delete(cursor)
      deliver(cursor.listener, createEvent(cursor.info.turnId, cursor.lastSeq + 1, 'error', data))
    }
  }

  close(): void {
    this.#closed = true
    this.#cursors.clear()
    this.#reader.disconnect()
  }

  async #loop(): Promise<void> {
    this.#reading = true
    while (!this.#closed && this.#cursors.size > 0) {
      const from = new Map<string, number>()
      for (const { key, lastSeq } of this.#cursors) from.set(key, Math.min(from.get(key) ?? Infinity, lastSeq))
      let reply: unknown
      try {
        this.#readerId ??= (await this.#reader.client('ID')) as number
        this.#blocked = true
        const ids = [...from.values()].map((seq) => `${seq + 1}-0`)
        reply = await this.#reader.xread('COUNT', 500, 'BLOCK', 1000, 'STREAMS', ...from.keys(), ...ids)
      } catch (err) {
        if (this.#closed) break
        this.#log.warn({ err }, 'reading turn streams from redis failed; retrying')
        await new Promise((resolve) => setTimeout(resolve, 1000))
        continue
      } finally {
        this.#blocked = false
      }
      for (const [key, entries] of (reply as Array<[string, Array<[string, string[]]>]> | null) ?? []) {
        for (const [id, fields] of entries) this.#deliver(key, Number.parseInt(id, 10) - 1, fields[1])
      }
    }
    this.#reading = false
  }

  #deliver(key: string, seq: number, ws: string): void {
    let event: TurnEvent | undefined
    for (const cursor of this.#cursors) {
      // Only the next event in order: a cursor added while this batch was read from further on
      // gets its own earlier events on the next read.
      if (cursor.key !== key || cursor.lastSeq !== seq - 1) continue
      event ??= eventFromWsFrame(cursor.info.turnId, seq, ws)
      cursor.lastSeq = seq
      deliver(cursor.listener, event)
      if (isFinalEvent(event)) this.#cursors.delete(cursor)
    }
  }
}

// The turn hub for several instances behind a load balancer (REDIS_URL). Every turn's event log
// is mirrored to a Redis Stream, so a client can resume it on any instance, and a cancel reaches
// the instance running the turn over pub/sub. That instance serves its own listeners from memory,
// without a Redis round-trip; the others read the stream (stream-follower.ts).
//
// Keys (all under the configured prefix):
//   turn:<turnId>        stream, entry id `<seq + 1>-0`, one field `ws` (the event's ws frame)
//   turn:<turnId>:info   hash: `info` (TurnInfo JSON), `turn` (the draft Turn JSON, stored as
//                        failed if the instance dies), `state` (running | adopted | ended | stored | unstored)
//   turn-leases          sorted set: running turns by their owner lease's deadline (turn-leases.ts)
//   cancel               pub/sub channel carrying turnIds to abort
//   purge                pub/sub channel carrying PurgeTarget JSON (deleted data: drop these turns' logs)
// Both turn keys expire bufferTtlMs after the turn ends (an hour after it started if nobody ends it).
//
// Every half lease each instance renews its running turns' leases (writing back any Redis
// lost, from its memory), adopts turns whose lease lapsed (their instance died: the partial is
// stored and every follower gets `error` interrupted) and checks on the turns it follows that
// went quiet or whose stream has a hole.
//
// Connections: the app's shared one (plugins/redis.ts: fail-fast commands) for reads, leases and
// publishing cancels and purges; three duplicates: a writer whose commands queue while Redis
// reconnects (so a blip does not leave holes in a turn's stream; a purge's deletes go there too,
// behind the writes they undo), the cancel and purge subscriber, and the blocking stream reader.
import type { Redis } from 'ioredis'
import { createEvent, isFinalEvent, type EventPayloads, type EventType, type TurnEvent } from '../core/events.ts'
import { AppError, type ErrorData } from '../core/errors.ts'
import type { Log } from '../core/log.ts'
import type { EventListener, PurgeTarget, Subscription, TurnArchive, TurnHub, TurnInfo, TurnWriter } from '../core/ports.ts'
import { CANCELLED, INTERRUPTED } from '../core/stored-turn.ts'
import { deliver, MemoryTurnHub, purgeMatches } from '../core/turn-hub.ts'
import type { Turn } from '../core/types.ts'
import { duplicateConnection } from '../redis.ts'
import { eventFromWsFrame, wsFrame } from './encoders.ts'
import { HUB_UNAVAILABLE, StreamFollower, type Cursor } from './stream-follower.ts'
import { TurnLeases } from './turn-leases.ts'

export interface RedisTurnHubOptions {
  /** The app's connected Redis client (app.redis). */
  redis: Redis
  keyPrefix: string
  /** How long a finished turn stays resumable. */
  bufferTtlMs: number
  /** Length bound (MAXLEN) of one turn's stream. */
  maxEventsPerTurn: number
  /** How long a running turn's owner lease lasts (TURN_LEASE_MS); renewed every half of it. */
  leaseMs: number
  /** Stores and replays turns for instances that died. */
  archive: TurnArchive
  log: Log
}

/** Keys of a turn nobody ended still go away. */
const ORPHAN_TTL_MS = 60 * 60 * 1000
/** Purged turns still running here are remembered so their last events are not mirrored again. */
const MAX_PURGED = 10_000
/** How long a follower waits for Redis before its listeners get `error` hub_unavailable. */
const REDIS_DEADLINE_MS = 3000
/** An ended turn whose stream lost events that storage does not have either. */
const TURN_GONE: ErrorData = { code: 'turn_unavailable', message: 'The rest of this turn is no longer available; send the message again', retryable: true }

/** Redis is unreachable: the caller learns it at once, with a code it may retry on. */
function hubUnavailable(cause: unknown): AppError {
  return new AppError(HUB_UNAVAILABLE.code, 'Turns of other servers cannot be reached right now; retry in a moment', { cause })
}

/** A command on the shared connection: any failure (Redis down, a command timed out) is hub_unavailable. */
async function shared<T>(command: Promise<T>): Promise<T> {
  try {
    return await command
  } catch (err) {
    throw hubUnavailable(err)
  }
}

/** The reply so far, from a turn's events: the safe reply of a `replace`, else `complete`'s, else the deltas. */
function partialReply(events: readonly TurnEvent[]): string {
  let text = ''
  for (const event of events) {
    if (event.type === 'message') text += event.data.delta
    else if (event.type === 'complete' || event.type === 'replace') text = event.data.reply
  }
  return text
}

type StreamEntries = Array<[string, string[]]>

export class RedisTurnHub implements TurnHub {
  readonly #local: MemoryTurnHub
  readonly #redis: Redis
  readonly #writer: Redis
  readonly #subscriber: Redis
  readonly #follower: StreamFollower
  readonly #leases: TurnLeases
  readonly #options: RedisTurnHubOptions
  readonly #cancelChannel: string
  readonly #purgeChannel: string
  /** Turns purged while running on this instance: their remaining events stay local. */
  readonly #purged = new Set<string>()
  /** Turns running here, with their drafts: their leases are renewed, and written back if Redis loses them. */
  readonly #owned = new Map<string, { info: TurnInfo; draft?: Turn; unstored: boolean }>()
  /** Adoptions in progress here, so one sweep's and one request's wait on the same work. */
  readonly #adopting = new Map<string, Promise<void>>()
  readonly #timer: NodeJS.Timeout
  /** When the shared connection came back after a loss (Redis may have restarted empty). */
  #reconnectedAt = 0
  /** Since when every lease renewal succeeded (undefined after a failure): adoption waits for a lease of it. */
  #healthySince: number | undefined = Date.now()
  #ticking = false

  private constructor(options: RedisTurnHubOptions, connections: { writer: Redis; subscriber: Redis; reader: Redis }) {
    this.#options = options
    this.#local = new MemoryTurnHub({ bufferTtlMs: options.bufferTtlMs })
    this.#redis = options.redis
    this.#writer = connections.writer
    this.#subscriber = connections.subscriber
    this.#follower = new StreamFollower(this.#redis, connections.reader, options.log, REDIS_DEADLINE_MS)
    this.#leases = new TurnLeases(this.#redis, options.keyPrefix, options.leaseMs)
    this.#cancelChannel = `${options.keyPrefix}cancel`
    this.#purgeChannel = `${options.keyPrefix}purge`
    this.#timer = setInterval(() => void this.#tick(), Math.max(10, Math.floor(options.leaseMs / 2)))
    this.#timer.unref()
  }

  /** Opens its connections and subscribes to cancels and purges, so one sent anywhere reaches this instance's turns. */
  static async connect(options: RedisTurnHubOptions): Promise<RedisTurnHub> {
    const { redis, log } = options
    const [writer, subscriber, reader] = await Promise.all([
      // Mirror writes queue while Redis reconnects: a short blip delays a turn's stream, it leaves no hole.
      duplicateConnection(redis, log, { enableOfflineQueue: true, maxRetriesPerRequest: 20, commandTimeout: undefined }),
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
    // Back after a loss: Redis may have restarted empty, so this instance's turns are written back at once.
    redis.on('ready', hub.#reconnected)
    return hub
  }

  readonly #reconnected = () => {
    this.#reconnectedAt = Date.now()
    this.#healthySince = undefined
    void this.#tick()
  }

  get restoring(): boolean {
    return Date.now() - this.#reconnectedAt < this.#options.leaseMs + REDIS_DEADLINE_MS
  }

  open(info: TurnInfo, abort: AbortController, draft?: Turn): TurnWriter {
    const writer = this.#local.open(info, abort)
    const owned = { info, draft, unstored: false }
    this.#owned.set(info.turnId, owned)
    this.#write(this.#describe(this.#writer.multi(), owned), info.turnId)
    return {
      get nextSeq() {
        return writer.nextSeq
      },
      emit: <K extends EventType>(type: K, data: EventPayloads[K]) => {
        const event = writer.emit(type, data)
        if (isFinalEvent(event)) this.#owned.delete(info.turnId)
        if (!this.#purged.has(info.turnId)) this.#mirror(event, owned.unstored)
        return event
      },
      retractText: () => {
        writer.retractText()
        if (!this.#purged.has(info.turnId)) this.#write(this.#rewrite(this.#writer.multi(), info.turnId), info.turnId)
      },
      markUnstored: () => {
        writer.markUnstored()
        owned.unstored = true
      },
    }
  }

  async info(turnId: string): Promise<TurnInfo | undefined> {
    const local = await this.#local.info(turnId)
    if (local) return local
    const json = await shared(this.#redis.hget(this.#infoKey(turnId), 'info'))
    return json ? (JSON.parse(json) as TurnInfo) : undefined
  }

  async attach(turnId: string, afterSeq: number, listener: EventListener): Promise<Subscription | undefined> {
    const local = await this.#local.attach(turnId, afterSeq, listener)
    if (local) return local
    let [json, state] = await shared(this.#redis.hmget(this.#infoKey(turnId), 'info', 'state'))
    if (!json || !state) return undefined
    if (state === 'running' && (await this.#adoptIfLapsed(turnId))) state = 'unstored'
    if (state === 'running' || state === 'adopted') return this.#follower.follow(this.#streamKey(turnId), JSON.parse(json) as TurnInfo, afterSeq, listener)
    // Ended: what the stream has after afterSeq, when it has it all; otherwise storage replays it (undefined).
    const [[, entries], [, length]] = (await shared(this.#redis.multi().xrange(this.#streamKey(turnId), `(${afterSeq + 1}-0`, '+').xlen(this.#streamKey(turnId)).exec()))! as [
      [null, StreamEntries], [null, number],
    ]
    if (entries.length === 0) return length > 0 ? { close() {}, done: true } : undefined
    if (Number.parseInt(entries[0][0], 10) - 1 !== afterSeq + 1) return undefined
    for (const [id, fields] of entries) deliver(listener, eventFromWsFrame(turnId, Number.parseInt(id, 10) - 1, fields[1]))
    return { close() {}, done: true }
  }

  async cancel(turnId: string): Promise<boolean> {
    if (await this.#local.cancel(turnId)) return true
    if (await this.#local.info(turnId)) return false // ours, and already ended
    if ((await shared(this.#redis.hget(this.#infoKey(turnId), 'state'))) !== 'running') return false
    // Its instance died: it is ended for it (interrupted), there is nothing left to cancel.
    if (await this.#adoptIfLapsed(turnId)) return false
    // The instance running it aborts it; the turn's stream then ends with `error` cancelled.
    await shared(this.#redis.publish(this.#cancelChannel, turnId))
    return true
  }

  async unstored(turnId: string): Promise<boolean> {
    if (await this.#local.info(turnId)) return this.#local.unstored(turnId)
    const state = await shared(this.#redis.hget(this.#infoKey(turnId), 'state'))
    if (state === 'running') return this.#adoptIfLapsed(turnId)
    return state === 'unstored' || state === 'adopted'
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
    clearInterval(this.#timer)
    this.#redis.off('ready', this.#reconnected)
    await Promise.allSettled(this.#adopting.values())
    await this.#local.close()
    this.#follower.close()
    await Promise.allSettled([this.#subscriber.quit(), this.#writer.quit()])
  }

  /** The periodic work of every instance (each half lease, and at once after a reconnect). */
  async #tick(): Promise<void> {
    if (this.#ticking) return
    this.#ticking = true
    try {
      // Own leases first: a turn of this instance must never look lapsed to its own sweep.
      const renewed = await this.#renew()
      await Promise.all([renewed ? this.#sweep() : undefined, this.#checkFollowed()])
    } finally {
      this.#ticking = false
    }
  }

  /** Renews this instance's leases (false when Redis failed); turns Redis forgot (it restarted) are written back whole. */
  async #renew(): Promise<boolean> {
    let missing: string[]
    try {
      missing = await this.#leases.renew([...this.#owned.keys()])
      this.#healthySince ??= Date.now()
    } catch (err) {
      this.#healthySince = undefined
      this.#options.log.warn({ err }, 'turn leases not renewed')
      return false
    }
    for (const turnId of missing) {
      const owned = this.#owned.get(turnId)
      if (owned && !this.#purged.has(turnId)) this.#write(this.#rewrite(this.#describe(this.#writer.multi(), owned), turnId), turnId)
    }
    return true
  }

  /**
   * Whether a lapsed lease means a dead instance. Not while Redis failed, nor for a lease after:
   * when Redis itself was away (down, restarted, paused) every lease lapsed meanwhile, and the
   * instances running those turns get to renew them first.
   */
  #mayAdopt(): boolean {
    return this.#healthySince !== undefined && Date.now() - this.#healthySince >= this.#options.leaseMs
  }

  /** Adopts every turn whose lease lapsed (called right after a successful renewal of this instance's own). */
  async #sweep(): Promise<void> {
    if (!this.#mayAdopt()) return
    try {
      await Promise.all((await this.#leases.adopt()).map((turnId) => this.#adoption(turnId)))
    } catch (err) {
      this.#healthySince = undefined
      this.#options.log.warn({ err }, 'lapsed turn leases not checked')
    }
  }

  /** Adopts this running turn if its lease lapsed; true when it is (now) ended for its dead instance. */
  async #adoptIfLapsed(turnId: string): Promise<boolean> {
    const pending = this.#adopting.get(turnId)
    if (pending) return pending.then(() => true)
    if (!this.#mayAdopt()) return false
    const [adopted] = await shared(this.#leases.adopt(turnId))
    if (!adopted) return false
    await this.#adoption(turnId)
    return true
  }

  #adoption(turnId: string): Promise<void> {
    const adoption = this.#adopt(turnId)
      .catch((err: unknown) => this.#options.log.error({ err, turnId }, 'interrupted turn not ended'))
      .finally(() => this.#adopting.delete(turnId))
    this.#adopting.set(turnId, adoption)
    return adoption
  }

  /**
   * Ends a turn whose instance died: its partial reply is stored as failed (unless it was stored
   * already), and its stream gets the ending every follower, on any instance, reads.
   */
  async #adopt(turnId: string): Promise<void> {
    const streamKey = this.#streamKey(turnId)
    const infoKey = this.#infoKey(turnId)
    const [[, draftJson], [, entries]] = (await this.#redis.multi().hget(infoKey, 'turn').xrange(streamKey, '-', '+').exec())! as [
      [null, string | null], [null, StreamEntries],
    ]
    const events = entries.map(([id, fields]) => eventFromWsFrame(turnId, Number.parseInt(id, 10) - 1, fields[1]))
    const nextSeq = (events.at(-1)?.seq ?? -1) + 1
    this.#options.log.warn({ turnId }, 'turn of a stopped instance adopted: ending it as interrupted')
    const ending = draftJson
      ? await this.#options.archive.endOrphan(JSON.parse(draftJson) as Turn, partialReply(events), nextSeq)
      : { events: [createEvent(turnId, nextSeq, 'error', INTERRUPTED)], storedBefore: false }
    const tx = this.#writer.multi()
    for (const event of ending.events) tx.xadd(streamKey, 'MAXLEN', this.#options.maxEventsPerTurn, `${event.seq + 1}-0`, 'ws', wsFrame(event))
    const state = !ending.storedBefore ? 'unstored' : ending.events.at(-1)?.type === 'storage' ? 'stored' : 'ended'
    tx.hset(infoKey, 'state', state).pexpire(infoKey, this.#options.bufferTtlMs).pexpire(streamKey, this.#options.bufferTtlMs)
    await tx.exec()
  }

  /**
   * Looks after listeners following turns that went quiet for a lease, or whose stream has a
   * hole: a lapsed lease is adopted, a stream written back is read on, an ended turn (or one
   * Redis forgot and nobody wrote back) is finished from storage.
   */
  async #checkFollowed(): Promise<void> {
    await Promise.all(this.#follower.stale(this.#options.leaseMs).map(async (cursor) => {
      try {
        await this.#check(cursor)
      } catch (err) {
        if (Date.now() - cursor.lastAt >= this.#options.leaseMs + REDIS_DEADLINE_MS) this.#follower.end((info) => info === cursor.info, HUB_UNAVAILABLE, true)
        else this.#options.log.warn({ err, turnId: cursor.info.turnId }, 'followed turn not checked')
      }
    }))
  }

  async #check(cursor: Cursor): Promise<void> {
    const { turnId } = cursor.info
    let state = await this.#redis.hget(this.#infoKey(turnId), 'state')
    if (state === 'running' && (await this.#adoptIfLapsed(turnId))) state = 'unstored'
    if (!state && this.restoring) return // its instance may not have written it back yet
    // Being ended by another instance (unless that one died too, meanwhile).
    if (state === 'adopted' && Date.now() - cursor.lastAt < 3 * this.#options.leaseMs) return
    if (state === 'running') {
      if (cursor.gapped && (await this.#redis.xrange(this.#streamKey(turnId), `${cursor.lastSeq + 1}-0`, `${cursor.lastSeq + 1}-0`)).length > 0) {
        this.#follower.resume(cursor)
      }
      return
    }
    // Ended with a hole in its stream, or forgotten by Redis: storage has the ending, if anyone stored it.
    const stored = await this.#options.archive.storedEvents(turnId)
    const ending = stored?.filter((event) => event.seq > cursor.lastSeq)
    this.#follower.finish(cursor, ending?.length ? ending : [createEvent(turnId, cursor.lastSeq + 1, 'error', state ? TURN_GONE : INTERRUPTED)])
  }

  /** Writes the turn's info hash and takes its lease. */
  #describe(tx: ReturnType<Redis['multi']>, owned: { info: TurnInfo; draft?: Turn }): ReturnType<Redis['multi']> {
    const infoKey = this.#infoKey(owned.info.turnId)
    const fields = ['info', JSON.stringify(owned.info), 'state', 'running', ...(owned.draft ? ['turn', JSON.stringify(owned.draft)] : [])]
    return tx.hset(infoKey, ...fields).pexpire(infoKey, ORPHAN_TTL_MS).zadd(this.#leases.key, this.#leases.deadline(), owned.info.turnId)
  }

  /** Appends an event (its WebSocket frame) to the turn's stream; the final one ends its lease and starts the expiry of both keys. */
  #mirror(event: TurnEvent, unstored: boolean): void {
    const streamKey = this.#streamKey(event.turnId)
    const tx = this.#writer.multi().xadd(streamKey, 'MAXLEN', this.#options.maxEventsPerTurn, `${event.seq + 1}-0`, 'ws', wsFrame(event))
    if (isFinalEvent(event)) {
      const infoKey = this.#infoKey(event.turnId)
      const state = unstored ? 'unstored' : event.type === 'storage' ? 'stored' : 'ended'
      tx.hset(infoKey, 'state', state).zrem(this.#leases.key, event.turnId)
        .pexpire(infoKey, this.#options.bufferTtlMs).pexpire(streamKey, this.#options.bufferTtlMs)
    } else if (event.seq === 0) {
      tx.pexpire(streamKey, ORPHAN_TTL_MS)
    }
    this.#write(tx, event.turnId)
  }

  /**
   * Replaces the turn's stream with the local log as it is now (after a retraction, or after
   * Redis lost it), in one transaction: withdrawn text leaves Redis, and the entry ids stay, so readers go on.
   */
  #rewrite(tx: ReturnType<Redis['multi']>, turnId: string): ReturnType<Redis['multi']> {
    const streamKey = this.#streamKey(turnId)
    tx.del(streamKey)
    for (const event of this.#local.events(turnId)) tx.xadd(streamKey, 'MAXLEN', this.#options.maxEventsPerTurn, `${event.seq + 1}-0`, 'ws', wsFrame(event))
    return tx.pexpire(streamKey, ORPHAN_TTL_MS)
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
      this.#owned.delete(turnId)
      this.#purged.add(turnId)
      if (this.#purged.size > MAX_PURGED) this.#purged.delete(this.#purged.values().next().value!)
    }
    const turnIds = [...new Set([...target.turnIds, ...dropped.map((info) => info.turnId)])]
    const keys = turnIds.flatMap((turnId) => [this.#streamKey(turnId), this.#infoKey(turnId)])
    // In slices: one DEL with very many keys would block Redis for everyone meanwhile.
    for (let start = 0; start < keys.length; start += 500) await this.#writer.del(...keys.slice(start, start + 500))
    for (let start = 0; start < turnIds.length; start += 500) await this.#writer.zrem(this.#leases.key, ...turnIds.slice(start, start + 500))
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

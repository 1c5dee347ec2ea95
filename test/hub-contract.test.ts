// The TurnHub contract, run against the memory hub and the Redis hub (real Redis at
// 127.0.0.1:6379): listeners on the instance running the turn, and on another instance that
// follows it through Redis, get the same events, exactly once, in order; a purge (deleted data)
// reaches every instance.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import type { ErrorData } from '../src/core/errors.ts'
import { EVENT_TYPES, type EventPayloads, type TurnEvent } from '../src/core/events.ts'
import { silentLog } from '../src/core/log.ts'
import type { TurnHub, TurnInfo, TurnWriter } from '../src/core/ports.ts'
import type { Session, Turn } from '../src/core/types.ts'
import { CANCELLED } from '../src/core/stored-turn.ts'
import { StorageTurnArchive } from '../src/core/turn-archive.ts'
import { MemoryTurnHub } from '../src/core/turn-hub.ts'
import { connectRedis } from '../src/redis.ts'
import { MemoryStorage } from '../src/storage/memory.ts'
import { RedisTurnHub } from '../src/streaming/redis-hub.ts'
import { eventually, sleep } from './helpers/stream.ts'

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = `test-${randomUUID()}:`
const redis = await connectRedis(REDIS_URL, silentLog)
const storage = new MemoryStorage()
t.teardown(async () => {
  const keys = await redis.keys(`${prefix}*`)
  if (keys.length > 0) await redis.del(...keys)
  await redis.quit()
})

const redisHub = async () => {
  const hub = await RedisTurnHub.connect({
    redis, keyPrefix: prefix, bufferTtlMs: 60_000, maxEventsPerTurn: 100, leaseMs: 5000, archive: new StorageTurnArchive(storage, silentLog), log: silentLog,
  })
  t.teardown(() => hub.close())
  return hub
}

/** `writer` runs the turns, `reader` attaches, resumes and cancels. */
const setups: Record<string, () => Promise<{ writer: TurnHub; reader: TurnHub }>> = {
  memory: async () => {
    const hub = new MemoryTurnHub({ bufferTtlMs: 60_000 })
    t.teardown(() => hub.close())
    return { writer: hub, reader: hub }
  },
  'redis, same instance': async () => {
    const hub = await redisHub()
    return { writer: hub, reader: hub }
  },
  'redis, another instance': async () => ({ writer: await redisHub(), reader: await redisHub() }),
}

const info = (): TurnInfo => ({
  turnId: randomUUID(), sessionId: randomUUID(), userId: 'kid', animalId: 'lion', animalName: 'Leo', model: 'offline',
  createdAt: '2030-01-01T00:00:00.000Z',
})

/** One event of each type that may come before the end, then `storage`: the whole protocol. */
function emitTurn(writer: TurnWriter, turn: TurnInfo, through = Infinity): void {
  const steps: Array<() => void> = [
    () => writer.emit('metadata', { ...turn }),
    () => writer.emit('typing', { state: 'start' }),
    () => writer.emit('message', { delta: 'Hello ', index: 0 }),
    () => writer.emit('message', { delta: 'there', index: 1 }),
    () => writer.emit('typing', { state: 'stop' }),
    () => writer.emit('complete', { reply: 'Hello there', usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 }, latencyMs: 12, finishReason: 'stop', model: 'offline' }),
    () => writer.emit('replace', { reply: 'Let us talk about lions!', reason: 'personal_info' }),
    () => writer.emit('storage', { stored: true, sessionId: turn.sessionId, turnId: turn.turnId }),
  ]
  steps.slice(0, through).forEach((step) => step())
}

/** Collects events until the final one. */
function collector() {
  const events: TurnEvent[] = []
  return { events, listener: (event: TurnEvent) => void events.push(event), ended: () => eventually(async () => events.some((e) => e.type === 'storage' || e.type === 'error') || undefined) }
}

for (const [name, setup] of Object.entries(setups)) {
  t.test(name, async (t) => {
    const { writer, reader } = await setup()

    t.test('a listener gets the replay, then the live rest, each event once, with ids <turnId>:<seq>', async (t) => {
      const turn = info()
      const log = writer.open(turn, new AbortController())
      emitTurn(log, turn, 3)
      t.equal(log.nextSeq, 3)
      const { events, listener, ended } = collector()
      const subscription = await reader.attach(turn.turnId, -1, listener)
      t.ok(subscription, 'attached')
      t.equal(subscription!.done, false, 'the turn is still running')
      log.emit('message', { delta: 'there', index: 1 })
      log.emit('typing', { state: 'stop' })
      log.emit('complete', { reply: 'Hello there', usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 }, latencyMs: 12, finishReason: 'stop', model: 'offline' })
      log.emit('replace', { reply: 'Let us talk about lions!', reason: 'personal_info' })
      log.emit('storage', { stored: true, sessionId: turn.sessionId, turnId: turn.turnId })
      await ended()
      t.same(events.map((e) => e.id), events.map((_, seq) => `${turn.turnId}:${seq}`), 'no gap, no repeat')
      t.same(events.map((e) => e.type), ['metadata', 'typing', 'message', 'message', 'typing', 'complete', 'replace', 'storage'])
      t.same(events.map((e) => e.turnId), events.map(() => turn.turnId))
      t.same(events[0].data, turn, 'metadata data arrives as it was written')
      t.same(events.find((e) => e.type === 'replace')!.data, { reply: 'Let us talk about lions!', reason: 'personal_info' } satisfies EventPayloads['replace'])
      t.same(events[5].data, { reply: 'Hello there', usage: { promptTokens: 3, completionTokens: 2, totalTokens: 5 }, latencyMs: 12, finishReason: 'stop', model: 'offline' })
      t.ok(EVENT_TYPES.every((type) => type === 'error' || events.some((e) => e.type === type)), 'every non-error event type went through')
    })

    t.test('a resume gets only the events after its seq', async (t) => {
      const turn = info()
      const log = writer.open(turn, new AbortController())
      emitTurn(log, turn, 4)
      const { events, listener, ended } = collector()
      await reader.attach(turn.turnId, 2, listener)
      log.emit('error', { code: 'interrupted', message: 'the instance went away', retryable: true } satisfies ErrorData)
      await ended()
      t.same(events.map((e) => e.seq), [3, 4])
      t.same(events.at(-1)!.data, { code: 'interrupted', message: 'the instance went away', retryable: true }, 'an error event ends the stream and keeps its data')
    })

    t.test('an ended turn: a late listener gets what is left and is told nothing more will come', async (t) => {
      const turn = info()
      emitTurn(writer.open(turn, new AbortController()), turn)
      const all = collector()
      // Another instance may see the end a moment later (the mirror write is asynchronous).
      await eventually(async () => (await reader.info(turn.turnId)) && true)
      const first = await reader.attach(turn.turnId, -1, all.listener)
      await all.ended()
      t.equal(all.events.length, 8, 'the whole turn')
      t.ok(first, 'attached')
      const late = collector()
      const caughtUp = await eventually(async () => {
        const subscription = await reader.attach(turn.turnId, 7, late.listener)
        return subscription?.done ? subscription : undefined
      })
      t.equal(caughtUp.done, true, 'nothing after the last seq: done')
      t.same(late.events, [], 'and nothing delivered')
    })

    t.test('info while buffered; unknown turns are undefined everywhere', async (t) => {
      const turn = info()
      writer.open(turn, new AbortController())
      t.same(await eventually(() => reader.info(turn.turnId)), turn)
      t.equal(await reader.info('no-such-turn'), undefined)
      t.equal(await reader.attach('no-such-turn', -1, () => {}), undefined)
      t.equal(await reader.cancel('no-such-turn'), false)
    })

    t.test('cancel aborts a running turn (wherever it runs); an ended turn is not running', async (t) => {
      const turn = info()
      const abort = new AbortController()
      const log = writer.open(turn, abort)
      emitTurn(log, turn, 1)
      await eventually(() => reader.info(turn.turnId))
      t.equal(await reader.cancel(turn.turnId), true)
      await eventually(async () => abort.signal.aborted || undefined)
      t.ok(abort.signal.aborted, 'the running instance aborted the turn')
      log.emit('error', { code: 'cancelled', message: 'The turn was cancelled', retryable: false })
      t.equal(await eventually(async () => ((await reader.cancel(turn.turnId)) ? undefined : false)), false, 'once ended, not running')
    })

    t.test('purge forgets the matching turns everywhere, aborts the running ones, and ends their listeners', async (t) => {
      const user = `kid-${randomUUID()}`
      const byId = info()
      const bySession = info()
      const bystander = info()
      for (const turn of [byId, bySession, bystander]) emitTurn(writer.open(turn, new AbortController()), turn)
      // Running, and matched by its user only: not stored yet, so no id of it is known.
      const running = { ...info(), userId: user }
      const abort = new AbortController()
      const log = writer.open(running, abort)
      // As the engine does: the abort ends the turn a moment later, after trying to store it.
      const ended = new Promise<void>((resolve) => abort.signal.addEventListener('abort', () => setImmediate(() => {
        log.emit('error', CANCELLED)
        resolve()
      })))
      emitTurn(log, running, 3)
      const listening = collector()
      await eventually(() => reader.attach(running.turnId, -1, listening.listener))
      await eventually(async () => listening.events.length === 3 || undefined)
      for (const turn of [byId, bySession, bystander]) await eventually(() => reader.info(turn.turnId))

      await reader.purge({ turnIds: [byId.turnId], sessionId: bySession.sessionId, userId: user })
      await eventually(async () => abort.signal.aborted || undefined)
      t.ok(abort.signal.aborted, 'the instance running the turn aborted it')
      await listening.ended()
      t.same(listening.events.at(-1)!.data, CANCELLED, 'the attached listener got the end')
      await ended
      // A turn opened after the end, on the same writer: once another instance sees it, every
      // write the purged turn's end could have queued has landed too.
      const marker = info()
      writer.open(marker, new AbortController())
      await eventually(() => reader.info(marker.turnId))
      for (const turn of [byId, bySession, running]) {
        for (const [side, hub] of [['reader', reader], ['writer', writer]] as const) {
          t.equal(await hub.info(turn.turnId), undefined, `${side} forgot the ${turn === running ? 'running' : 'ended'} turn ${turn.turnId}`)
          t.equal(await hub.attach(turn.turnId, -1, () => {}), undefined, `${side} cannot replay it`)
        }
      }
      t.same(await reader.info(bystander.turnId), bystander, 'a turn the purge does not match stays')
      const replay = collector()
      await reader.attach(bystander.turnId, -1, replay.listener)
      await replay.ended()
      t.equal(replay.events.length, 8, 'and stays resumable')
    })

    t.test('a turn marked unstored is unstored for every instance (a retry of its key runs anew); a stored one is not', async (t) => {
      const failed = info()
      const log = writer.open(failed, new AbortController())
      emitTurn(log, failed, 1)
      log.markUnstored()
      log.emit('error', { code: 'storage_failed', message: 'not saved', retryable: true })
      const stored = info()
      emitTurn(writer.open(stored, new AbortController()), stored)
      t.equal(await writer.unstored(failed.turnId), true)
      t.equal(await eventually(async () => (await reader.unstored(failed.turnId)) || undefined), true)
      t.equal(await reader.unstored(stored.turnId), false)
      t.equal(reader.restoring, false, 'nothing is being restored')
    })

    t.test('a closed subscription gets nothing more; a throwing listener does not stop the others', async (t) => {
      const turn = info()
      const log = writer.open(turn, new AbortController())
      emitTurn(log, turn, 1)
      const closed: TurnEvent[] = []
      const subscription = await eventually(() => reader.attach(turn.turnId, -1, (e) => void closed.push(e)))
      await eventually(async () => closed.length === 1 || undefined)
      subscription.close()
      await reader.attach(turn.turnId, -1, () => { throw new Error('socket died') })
      const other = collector()
      await reader.attach(turn.turnId, -1, other.listener)
      log.emit('storage', { stored: true, sessionId: turn.sessionId, turnId: turn.turnId })
      await other.ended()
      t.same(other.events.map((e) => e.type), ['metadata', 'storage'])
      t.equal(closed.length, 1, 'the closed listener got only what came before close')
    })
  })
}

/** Redis alone: owner leases. A turn whose hub stops (its instance died) is ended by another. */
t.test('redis: leases', async (t) => {
  const LEASE_MS = 200
  /** Counts the turns stored, so a turn stored twice shows (the memory store itself ignores a second write). */
  class CountingStorage extends MemoryStorage {
    saves = 0
    override async saveTurn(turn: Turn, newSession?: Session): Promise<void> {
      this.saves++
      return super.saveTurn(turn, newSession)
    }
  }
  const storage = new CountingStorage()
  const leaseHub = async () => {
    const hub = await RedisTurnHub.connect({
      redis, keyPrefix: prefix, bufferTtlMs: 60_000, maxEventsPerTurn: 100, leaseMs: LEASE_MS, archive: new StorageTurnArchive(storage, silentLog), log: silentLog,
    })
    t.teardown(() => hub.close())
    return hub
  }
  const startTurn = async (hub: TurnHub) => {
    const turn = info()
    await storage.createSession({ sessionId: turn.sessionId, userId: turn.userId, animalId: turn.animalId, createdAt: turn.createdAt, updatedAt: turn.createdAt, messageCount: 0, totalTokens: 0, totalLatencyMs: 0 })
    const draft: Turn = {
      turnId: turn.turnId, sessionId: turn.sessionId, userId: turn.userId, animalId: turn.animalId, clientTurnId: 'key-1', userMessage: 'Hi',
      reply: '', status: 'failed', createdAt: turn.createdAt, latencyMs: 0, model: turn.model, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 },
    }
    const log = hub.open(turn, new AbortController(), draft)
    emitTurn(log, turn, 4)
    return { turn, log, draft }
  }

  t.test('a turn whose instance died is adopted once: followers get interrupted, the partial is stored as failed', async (t) => {
    const dead = await leaseHub()
    const [first, second] = [await leaseHub(), await leaseHub()]
    const { turn } = await startTurn(dead)
    const followers = [collector(), collector()]
    await eventually(() => first.attach(turn.turnId, -1, followers[0].listener))
    await second.attach(turn.turnId, 1, followers[1].listener)
    await dead.close() // no renewals any more: the lease lapses
    await Promise.all(followers.map((f) => f.ended()))
    t.same(followers[0].events.map((e) => e.type), ['metadata', 'typing', 'message', 'message', 'error'])
    t.same(followers[1].events.map((e) => e.seq), [2, 3, 4], 'a resumed follower too, each event once')
    t.match(followers[0].events.at(-1), { seq: 4, data: { code: 'interrupted', retryable: true } })
    t.match(await storage.getTurn(turn.turnId), { status: 'failed', reply: 'Hello there', finishReason: 'interrupted', endSeq: 4 })
    t.equal(storage.saves, 1, 'stored once, though two instances were there to adopt it')
    t.equal(await second.unstored(turn.turnId), true, 'its clientTurnId runs anew')
    t.equal(await first.cancel(turn.turnId), false, 'and there is nothing to cancel')
  })

  t.test('a turn stored just before its instance died is served as stored: never stored again, its key not freed', async (t) => {
    const dead = await leaseHub()
    const other = await leaseHub()
    const { turn, draft } = await startTurn(dead)
    const saves = storage.saves
    await storage.saveTurn({ ...draft, reply: 'Hello there', status: 'complete', finishReason: 'stop', endSeq: 6 })
    const follower = collector()
    await eventually(() => other.attach(turn.turnId, 3, follower.listener))
    await dead.close()
    await follower.ended()
    t.same(follower.events.map((e) => [e.seq, e.type]), [[5, 'complete'], [6, 'storage']], 'the stored ending')
    t.equal(storage.saves, saves + 1, 'stored once')
    t.equal(await other.unstored(turn.turnId), false, 'a retry of its key gets it')
  })

  t.test('a running turn is not adopted while its instance renews the lease', async (t) => {
    const owner = await leaseHub()
    const other = await leaseHub()
    const { turn, log } = await startTurn(owner)
    await sleep(3 * LEASE_MS)
    t.equal(await other.unstored(turn.turnId), false)
    t.equal(await other.cancel(turn.turnId), true, 'a cancel still reaches it')
    log.emit('storage', { stored: true, sessionId: turn.sessionId, turnId: turn.turnId })
  })

  t.test('a follower whose stream lost its beginning waits for the end, then storage answers it', async (t) => {
    const owner = await leaseHub()
    const other = await leaseHub()
    const { turn, log, draft } = await startTurn(owner)
    await eventually(() => other.info(turn.turnId))
    await redis.xtrim(`${prefix}turn:${turn.turnId}`, 'MAXLEN', 1) // only seq 3 is left
    const follower = collector()
    await other.attach(turn.turnId, 0, follower.listener)
    await sleep(3 * LEASE_MS)
    t.same(follower.events, [], 'nothing yet: the turn is running and its stream cannot serve seq 1')
    log.emit('typing', { state: 'stop' })
    const done = { ...draft, reply: 'Hello there', status: 'complete' as const, endSeq: 6 }
    await storage.saveTurn(done)
    log.emit('complete', { reply: 'Hello there', usage: done.usage, latencyMs: 0, finishReason: 'stop', model: turn.model })
    log.emit('storage', { stored: true, sessionId: turn.sessionId, turnId: turn.turnId })
    await follower.ended()
    t.same(follower.events.map((e) => [e.seq, e.type]), [[5, 'complete'], [6, 'storage']], 'the stored ending, with the live ids')
  })
})

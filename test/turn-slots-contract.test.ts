// The TurnSlots contract (the per-user concurrent-turn cap), run against the memory slots and the
// Redis slots (real Redis at 127.0.0.1:6379, two instances on their own connections): concurrent
// acquires take exactly the limit, release frees a slot, users are independent. Then what only
// Redis has: a crashed instance's slots lapse with their lease, and a Redis that is down or stalled
// answers at once from this instance's own count.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { silentLog } from '../src/core/log.ts'
import { MemoryTurnSlots, type TurnSlots } from '../src/core/turn-slots.ts'
import { RedisTurnSlots } from '../src/limits/redis-turn-slots.ts'
import { connectRedis } from '../src/redis.ts'
import { startRedisServer } from './helpers/cluster.ts'
import { eventually } from './helpers/stream.ts'

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'
const prefix = `test-${randomUUID()}:`
const admin = await connectRedis(REDIS_URL, silentLog)
t.teardown(async () => {
  const keys = await admin.keys(`${prefix}*`)
  if (keys.length > 0) await admin.del(...keys)
  await admin.quit()
})

const redisSlots = async (options: { leaseMs?: number; url?: string } = {}) => {
  const redis = await connectRedis(options.url ?? REDIS_URL, silentLog)
  const slots = new RedisTurnSlots({ redis, keyPrefix: prefix, log: silentLog, leaseMs: options.leaseMs })
  t.teardown(async () => {
    await slots.close()
    redis.disconnect()
  })
  return { slots, redis }
}

/** `first` and `second` count one cap: the same object, or two instances on one Redis. */
const setups: Record<string, () => Promise<{ first: TurnSlots; second: TurnSlots }>> = {
  memory: async () => {
    const slots = new MemoryTurnSlots()
    return { first: slots, second: slots }
  },
  'redis, two instances': async () => ({ first: (await redisSlots()).slots, second: (await redisSlots()).slots }),
}

const acquireAll = (slots: TurnSlots[], userId: string, count: number, limit: number) =>
  Promise.all(Array.from({ length: count }, (_, i) => slots[i % slots.length]!.acquire(userId, `turn-${i}`, limit)))

for (const [name, setup] of Object.entries(setups)) {
  t.test(`${name}: acquires made at once take exactly the limit`, async (t) => {
    const { first, second } = await setup()
    const user = randomUUID()
    const taken = await acquireAll([first, second], user, 20, 4)
    t.equal(taken.filter(Boolean).length, 4, '4 of 20 get a slot')
    t.equal(await first.acquire(randomUUID(), 'other-user', 4), true, 'another user has slots of their own')
  })

  t.test(`${name}: a released slot can be taken again, from either side`, async (t) => {
    const { first, second } = await setup()
    const user = randomUUID()
    t.equal(await first.acquire(user, 'a', 2), true)
    t.equal(await second.acquire(user, 'b', 2), true)
    t.equal(await second.acquire(user, 'c', 2), false, 'full')
    first.release(user, 'a')
    first.release(user, 'a') // twice: still one slot freed
    await eventually(async () => (await second.acquire(user, 'c', 2)) || undefined)
    t.equal(await first.acquire(user, 'd', 2), false, 'full again: the second release freed nothing more')
    t.equal(await second.acquire(user, 'c', 2), true, 'a turn that holds a slot is not refused its own')
  })
}

t.test('redis: the slots of an instance that stops renewing lapse within the lease', async (t) => {
  const crashed = await redisSlots({ leaseMs: 300 })
  const survivor = await redisSlots({ leaseMs: 300 })
  const user = randomUUID()
  t.equal(await crashed.slots.acquire(user, 'a', 1), true)
  t.equal(await survivor.slots.acquire(user, 'b', 1), false, 'the cap is shared')
  await new Promise((resolve) => setTimeout(resolve, 600))
  t.equal(await survivor.slots.acquire(user, 'b', 1), false, 'renewed while its instance lives')
  crashed.redis.disconnect() // renews nothing from now on
  const started = Date.now()
  await eventually(async () => (await survivor.slots.acquire(user, 'b', 1)) || undefined, 5000)
  t.ok(Date.now() - started < 300 + 3000, 'free within the lease and a few seconds')
})

t.test('redis down: the cap answers at once, counting this instance\'s turns', async (t) => {
  const server = await startRedisServer(t)
  const { slots } = await redisSlots({ url: server.url })
  const user = randomUUID()
  t.equal(await slots.acquire(user, 'shared', 2), true, 'taken in Redis')

  server.pause() // stalled: commands get no answer
  let started = Date.now()
  t.equal(await slots.acquire(user, 'stalled', 2), true, 'the local count has room')
  t.ok(Date.now() - started < 3000, 'answered by the deadline (500 ms), not held up')
  t.equal(await slots.acquire(user, 'refused', 2), false, 'this instance\'s turns count: both slots are held')
  slots.release(user, 'stalled')

  server.resume()
  await server.stop() // gone: commands fail at once
  started = Date.now()
  t.equal(await slots.acquire(user, 'down', 2), true)
  t.equal(await slots.acquire(user, 'refused', 2), false)
  t.ok(Date.now() - started < 3000, 'answered at once')
})

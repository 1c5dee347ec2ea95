// Two app instances behind an imaginary load balancer, as the Redis scale-out tests need them:
// one Redis (keys under a prefix of their own, deleted at the end), one dynalite, one fake
// OpenAI upstream, and A and B built from the same environment.
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { Test } from 'tap'
import { startApp, type TestApp } from './app.ts'
import { startDynalite } from './dynalite.ts'
import { startFakeOpenAI, type FakeOpenAI } from './fake-openai.ts'

export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

export interface TwoInstances {
  a: TestApp
  b: TestApp
  fake: FakeOpenAI
  /** The test's own client of the shared Redis. */
  redis: Redis
  /** REDIS_KEY_PREFIX of both instances. */
  prefix: string
}

export async function startTwoInstances(t: Test, env: Record<string, string> = {}): Promise<TwoInstances> {
  const prefix = `test-${randomUUID()}:`
  const redis = new Redis(REDIS_URL)
  t.teardown(async () => {
    const keys = await redis.keys(`${prefix}*`)
    if (keys.length > 0) await redis.del(...keys)
    await redis.quit()
  })
  const fake = await startFakeOpenAI()
  t.teardown(() => fake.close())
  const dynalite = await startDynalite()
  t.teardown(() => dynalite.close())
  const shared = {
    REDIS_URL, REDIS_KEY_PREFIX: prefix, DYNAMODB_ENDPOINT: dynalite.endpoint,
    OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, ...env,
  }
  const a = await startApp(t, shared)
  const b = await startApp(t, shared)
  return { a, b, fake, redis, prefix }
}

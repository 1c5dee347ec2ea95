// The caps under a race: turns that arrive at the same moment. The per-user cap starts exactly its
// number of model calls (counted on the fake upstream), on one instance or two on one Redis; the
// per-socket cap runs exactly its number of turns; the per-user turn budget admits exactly the
// budget of a burst, in memory and through Redis.
import { randomUUID } from 'node:crypto'
import t, { type Test } from 'tap'
import { startApp, type TestApp } from './helpers/app.ts'
import { startFakeOpenAI, type FakeOpenAI } from './helpers/fake-openai.ts'
import { json } from './helpers/http.ts'
import { readSse } from './helpers/sse.ts'
import { postSse } from './helpers/stream.ts'
import { TestSocket, type Frame } from './helpers/ws.ts'

const REDIS_URL = 'redis://127.0.0.1:6379'

/** A fake model whose every reply stalls after one word: a started turn keeps its slot until the app closes. */
async function stallingModel(t: Test): Promise<FakeOpenAI> {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  for (let i = 0; i < 50; i++) fake.enqueue({ kind: 'stall', afterChunks: 1 })
  return fake
}

const modelEnv = (fake: FakeOpenAI) => ({
  OPENAI_API_KEY: 'test', OPENAI_BASE_URL: fake.url, LLM_FALLBACK: 'none',
  SHUTDOWN_GRACE_MS: '0', // the stalled turns are aborted when the test closes the app
})

/** `count` SSE turns from one user, all sent at once, spread over `apps`; the admitted ones are read to their first word. */
async function restBurst(apps: TestApp[], sub: string, count: number) {
  const responses = await Promise.all(Array.from({ length: count }, (_, i) => {
    const app = apps[i % apps.length]!
    return postSse(app.url, app.auth(sub), { animalId: 'lion', message: `Question ${i}` })
  }))
  const admitted = responses.filter((response) => response.status === 200)
  const refused = responses.filter((response) => response.status !== 200)
  // Each admitted turn has asked the model once it streams a word.
  await Promise.all(admitted.map(async (response) => {
    for await (const event of readSse(response)) if (event.event === 'message') break
  }))
  const errors = await Promise.all(refused.map(async (response) => ({ status: response.status, body: await json(response) })))
  return { admitted: admitted.length, errors }
}

/** Sends `count` turn frames at once; resolves once each has started (metadata) or been refused (error). */
async function frameBurst(ws: TestSocket, count: number): Promise<{ running: number; errors: Frame[] }> {
  const ids = new Set(Array.from({ length: count }, (_, i) => `burst-${i}`))
  for (const id of ids) ws.send({ type: 'turn', animalId: 'lion', message: `Question ${id}`, clientTurnId: id })
  // A refusal carries the frame's clientTurnId; a started turn's events carry its new turnId.
  const outcome = () => {
    const errors = ws.frames.filter((f) => f.type === 'error' && ids.has(f.turnId ?? ''))
    const running = ws.frames.filter((f) => f.type === 'metadata').length
    return { running, errors }
  }
  await ws.waitFor(() => { const { running, errors } = outcome(); return running + errors.length >= count })
  return outcome()
}

t.test('20 REST turns at once from one user with a cap of 4 ask the model exactly 4 times', async (t) => {
  const fake = await stallingModel(t)
  // On dynalite: the session is created over the wire, the await the cap once raced across.
  const app = await startApp(t, { ...modelEnv(fake), MAX_CONCURRENT_TURNS_PER_USER: '4' })
  const { admitted, errors } = await restBurst([app], 'alice', 20)
  t.equal(admitted, 4, '4 turns run')
  t.equal(fake.requests.length, 4, 'the model was asked 4 times')
  t.equal(errors.length, 16)
  t.ok(errors.every((e) => e.status === 429 && e.body.error === 'too_many_turns' && e.body.retryable === true), 'the rest: 429 too_many_turns, retryable')
  t.equal((await fetch(`${app.url}/animals`, { headers: app.auth('bob') })).status, 200)
})

t.test('with REDIS_URL the per-user cap is one cap for every instance', async (t) => {
  const fake = await stallingModel(t)
  const env = { STORAGE: 'memory', REDIS_URL, REDIS_KEY_PREFIX: `test-${randomUUID()}:`, ...modelEnv(fake), MAX_CONCURRENT_TURNS_PER_USER: '4' }
  const first = await startApp(t, env)
  const second = await startApp(t, env)
  const { admitted, errors } = await restBurst([first, second], 'alice', 20)
  t.equal(admitted, 4, '4 turns run across both instances')
  t.equal(fake.requests.length, 4, 'the model was asked 4 times')
  t.ok(errors.length === 16 && errors.every((e) => e.body.error === 'too_many_turns'), 'the other 16 are too_many_turns')
})

t.test('12 turn frames at once on one socket run exactly the per-socket cap', async (t) => {
  const fake = await stallingModel(t)
  const app = await startApp(t, { STORAGE: 'memory', ...modelEnv(fake), MAX_CONCURRENT_TURNS_PER_SOCKET: '4', MAX_CONCURRENT_TURNS_PER_USER: '20' })
  const ws = await TestSocket.open(`${app.wsUrl}/ws`, app.auth('kiosk'))
  t.teardown(() => ws.close())
  const { running, errors } = await frameBurst(ws, 12)
  t.equal(running, 4, '4 turns run')
  t.equal(errors.length, 8)
  t.ok(errors.every((f) => f.data.code === 'too_many_turns' && /one socket/.test(String(f.data.message))), 'the rest: too_many_turns (per socket)')
  // Each running turn has asked the model once it streams a word.
  await ws.waitFor(() => new Set(ws.frames.filter((f) => f.type === 'message').map((f) => f.turnId)).size >= running)
  t.equal(fake.requests.length, 4, 'the model was asked 4 times')
})

for (const redis of [false, true]) {
  t.test(`a burst of 40 frames with a budget of 30 admits exactly 30 (${redis ? 'Redis' : 'memory'})`, async (t) => {
    const app = await startApp(t, {
      STORAGE: 'memory', RATE_LIMIT_TURNS_PER_MINUTE: '30', MAX_CONCURRENT_TURNS_PER_SOCKET: '40', MAX_CONCURRENT_TURNS_PER_USER: '40',
      ...(redis ? { REDIS_URL, REDIS_KEY_PREFIX: `test-${randomUUID()}:` } : {}),
    })
    const ws = await TestSocket.open(`${app.wsUrl}/ws`, app.auth('kiosk'))
    t.teardown(() => ws.close())
    const { running, errors } = await frameBurst(ws, 40)
    t.equal(running, 30, '30 turns run')
    t.equal(errors.length, 10)
    t.ok(errors.every((f) => f.data.code === 'rate_limited'), 'the other 10 are rate_limited')
  })
}

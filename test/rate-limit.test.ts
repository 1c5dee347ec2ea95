// Limits: the per-user turn budget (shared by REST and WebSocket, and by instances through Redis),
// the per-IP limit, concurrency caps, body and frame sizes.
import { randomUUID } from 'node:crypto'
import t from 'tap'
import { Redis } from 'ioredis'
import { startApp, type TestApp } from './helpers/app.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { json } from './helpers/http.ts'
import { TestSocket } from './helpers/ws.ts'

const REDIS_URL = 'redis://127.0.0.1:6379'

const turn = (app: TestApp, sub: string, body: Record<string, unknown> = {}) =>
  fetch(`${app.url}/convo_turn`, {
    method: 'POST',
    headers: { ...app.auth(sub), 'content-type': 'application/json' },
    body: JSON.stringify({ animalId: 'lion', message: 'What do you eat?', ...body }),
  })

t.test('per user: the N+1th turn in a minute is 429 with Retry-After; another user is not affected', async (t) => {
  const app = await startApp(t, { RATE_LIMIT_TURNS_PER_MINUTE: '3' })
  for (let i = 0; i < 3; i++) t.equal((await turn(app, 'alice')).status, 200, `turn ${i + 1} is allowed`)
  const refused = await turn(app, 'alice')
  t.equal(refused.status, 429)
  const retryAfter = Number(refused.headers.get('retry-after'))
  t.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After is in seconds within the window (${retryAfter})`)
  t.match(await json(refused), { error: 'rate_limited', message: /3 turns per minute/ })
  t.equal((await turn(app, 'bob')).status, 200, 'bob has his own budget')
  const reads = await fetch(`${app.url}/animals`, { headers: app.auth('alice') })
  t.equal(reads.status, 200, 'the turn budget limits turns only')
})

t.test('summaries ask the model too, so they spend from the same budget', async (t) => {
  const app = await startApp(t, { RATE_LIMIT_TURNS_PER_MINUTE: '2' })
  const { sessionId } = await json(turn(app, 'alice'))
  const summarize = () => fetch(`${app.url}/summarize_convo`, {
    method: 'POST', headers: { ...app.auth('alice'), 'content-type': 'application/json' }, body: JSON.stringify({ sessionId }),
  })
  t.equal((await summarize()).status, 200, 'the second request of the minute is allowed')
  const refused = await summarize()
  t.equal(refused.status, 429)
  t.ok(refused.headers.get('retry-after'), 'with Retry-After')
})

t.test('WebSocket turns spend from the same budget and are refused with a rate_limited event', async (t) => {
  const app = await startApp(t, { RATE_LIMIT_TURNS_PER_MINUTE: '3' })
  t.equal((await turn(app, 'kiosk')).status, 200)
  t.equal((await turn(app, 'kiosk')).status, 200)
  const ws = await TestSocket.open(`${app.wsUrl}/ws`, app.auth('kiosk'))
  t.teardown(() => ws.close())
  ws.send({ type: 'turn', animalId: 'lion', message: 'Hello', clientTurnId: 'third' })
  const stored = await ws.waitFor((f) => f.type === 'storage')
  t.ok(stored.turnId, 'the third turn (over WebSocket) runs')
  ws.send({ type: 'turn', animalId: 'lion', message: 'Hello again', clientTurnId: 'fourth' })
  const refused = await ws.waitFor((f) => f.type === 'error')
  t.match(refused, { turnId: 'fourth', data: { code: 'rate_limited', retryable: true } })
  t.equal((await turn(app, 'kiosk')).status, 429, 'REST sees the budget the socket spent')
  t.equal(ws.socket.readyState, ws.socket.OPEN, 'the socket stays open')
})

t.test('with REDIS_URL two instances share one budget', async (t) => {
  const env = { STORAGE: 'memory', REDIS_URL, REDIS_KEY_PREFIX: `test-${randomUUID()}:`, RATE_LIMIT_TURNS_PER_MINUTE: '3' }
  const first = await startApp(t, env)
  const second = await startApp(t, env)
  t.equal((await turn(first, 'alice')).status, 200)
  t.equal((await turn(second, 'alice')).status, 200)
  t.equal((await turn(first, 'alice')).status, 200)
  const refused = await turn(second, 'alice')
  t.equal(refused.status, 429, 'the second instance counts the first one\'s turns')
  t.ok(Number(refused.headers.get('retry-after')) >= 1)
  t.equal((await turn(second, 'bob')).status, 200)

  const redis = new Redis(REDIS_URL)
  t.teardown(() => redis.quit())
  const counters = await redis.keys(`${env.REDIS_KEY_PREFIX}rate-limit:*`)
  t.ok(counters.length > 0, 'the counters live in Redis under the prefix')
  // The turns' event logs live under the same prefix (the streaming hub); clean up both.
  await redis.del(...(await redis.keys(`${env.REDIS_KEY_PREFIX}*`)))
})

t.test('an unreachable REDIS_URL stops start-up naming the variable', async (t) => {
  await t.rejects(startApp(t, { STORAGE: 'memory', REDIS_URL: 'redis://127.0.0.1:1' }), /REDIS_URL/)
})

t.test('per IP: every route counts, before authentication; probes and metrics are exempt', async (t) => {
  const app = await startApp(t, { STORAGE: 'memory', RATE_LIMIT_IP_PER_MINUTE: '3' })
  t.equal((await fetch(`${app.url}/animals`)).status, 401)
  t.equal((await fetch(`${app.url}/animals`, { headers: { authorization: 'Bearer forged' } })).status, 401)
  t.equal((await fetch(`${app.url}/no-such-route`)).status, 404)
  const refused = await fetch(`${app.url}/animals`, { headers: app.auth('alice') })
  t.equal(refused.status, 429)
  t.ok(refused.headers.get('retry-after'))
  t.match(await json(refused), { error: 'rate_limited', message: /address/ })
  for (const path of ['/healthz', '/readyz', '/metrics', '/healthz', '/readyz', '/metrics']) {
    t.equal((await fetch(`${app.url}${path}`)).status, 200, `${path} is never limited`)
  }
})

t.test('with TRUST_PROXY the per-IP limit counts the client address from X-Forwarded-For', async (t) => {
  const app = await startApp(t, { STORAGE: 'memory', RATE_LIMIT_IP_PER_MINUTE: '2', TRUST_PROXY: 'true' })
  const from = (ip: string) => fetch(`${app.url}/animals`, { headers: { ...app.auth('alice'), 'x-forwarded-for': ip } })
  t.equal((await from('203.0.113.1')).status, 200)
  t.equal((await from('203.0.113.1')).status, 200)
  t.equal((await from('203.0.113.1')).status, 429)
  t.equal((await from('203.0.113.2')).status, 200, 'another client behind the same proxy has its own budget')
})

t.test('concurrent turns: per socket and per user caps', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(fake.close)
  const app = await startApp(t, {
    STORAGE: 'memory', OPENAI_API_KEY: 'test', OPENAI_BASE_URL: fake.url, LLM_FALLBACK: 'none',
    MAX_CONCURRENT_TURNS_PER_SOCKET: '1', MAX_CONCURRENT_TURNS_PER_USER: '2',
    SHUTDOWN_GRACE_MS: '0', // the stalled turns are aborted when the test closes the app
  })
  // Every model request stalls, so turns stay running until the app closes.
  for (let i = 0; i < 3; i++) fake.enqueue({ kind: 'stall', afterChunks: 1 })
  const ws = await TestSocket.open(`${app.wsUrl}/ws`, app.auth('kiosk'))
  t.teardown(() => ws.close())
  ws.send({ type: 'turn', animalId: 'lion', message: 'One', clientTurnId: 'one' })
  await ws.waitFor((f) => f.type === 'message')
  ws.send({ type: 'turn', animalId: 'lion', message: 'Two', clientTurnId: 'two' })
  t.match(await ws.waitFor((f) => f.type === 'error'), { turnId: 'two', data: { code: 'too_many_turns' } }, 'one turn per socket')

  const second = await fetch(`${app.url}/convo_turn`, {
    method: 'POST',
    headers: { ...app.auth('kiosk'), 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ animalId: 'lion', message: 'Two' }),
  })
  t.equal(second.status, 200, 'a second turn for the user runs over SSE')
  const third = await turn(app, 'kiosk')
  t.equal(third.status, 429, 'the user\'s third concurrent turn is refused')
  t.match(await json(third), { error: 'too_many_turns' })
  await second.body?.cancel()
})

t.test('body and frame sizes', async (t) => {
  const app = await startApp(t, { STORAGE: 'memory', BODY_LIMIT_BYTES: '2048', WS_MAX_PAYLOAD_BYTES: '2048' })
  const big = await turn(app, 'alice', { message: 'x'.repeat(3000) })
  t.equal(big.status, 413, 'a body over BODY_LIMIT_BYTES is 413')
  t.equal((await json(big)).error, 'payload_too_large')
  const long = await turn(app, 'alice', { message: 'x'.repeat(2001) })
  t.equal(long.status, 400, 'a message over 2000 characters is 400')
  t.match(await json(long), { message: /message/ })

  const ws = await TestSocket.open(`${app.wsUrl}/ws`, app.auth('kiosk'))
  const closed = new Promise<number>((resolve) => ws.socket.once('close', (code) => resolve(code)))
  ws.send({ type: 'turn', animalId: 'lion', message: 'x'.repeat(3000) })
  t.equal(await closed, 1009, 'a frame over WS_MAX_PAYLOAD_BYTES closes the socket with 1009 (message too big)')
})

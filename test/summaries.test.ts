// POST /summarize_convo: written by the model (through the fake upstream) or, offline, extracted
// from the turns; stored on the session; the same access rules as reading the session.
import { request } from 'node:http'
import t from 'tap'
import { startApp, type TestApp } from './helpers/app.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { json } from './helpers/http.ts'

const fake = await startFakeOpenAI()
t.teardown(() => fake.close())
const upstreamEnv = { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, OPENAI_MODEL: 'gpt-test', OPENAI_MAX_RETRIES: '2', OPENAI_TIMEOUT_MS: '60000' }
const strict = await startApp(t, { ...upstreamEnv, LLM_FALLBACK: 'none' })
const offline = await startApp(t, { STORAGE: 'memory' })

const post = (app: TestApp, path: string, body: unknown, user = 'alice', role?: 'user' | 'parent' | 'zookeeper' | 'admin') =>
  fetch(`${app.url}${path}`, { method: 'POST', headers: { ...app.auth(user, role), 'content-type': 'application/json' }, body: JSON.stringify(body) })

/** A session of `alice` with the given questions; returns its id. */
async function session(app: TestApp, animalId: string, questions: string[]): Promise<string> {
  let sessionId: string | undefined
  for (const message of questions) {
    const res = await json(post(app, '/convo_turn', { animalId, message, sessionId }))
    sessionId = res.sessionId
  }
  return sessionId!
}

const storedSummary = async (app: TestApp, sessionId: string) => {
  const list = await json(fetch(`${app.url}/convo_history`, { headers: app.auth('alice') }))
  return list.sessions.find((s: any) => s.sessionId === sessionId)
}

t.test('the model writes the summary from the session\'s turns; it is stored on the session', async (t) => {
  fake.enqueue({ kind: 'stream', chunks: ['I eat meat.'] }, { kind: 'stream', chunks: ['I sleep 20 hours.'] })
  const sessionId = await session(strict, 'lion', ['What do you eat?', 'How long do you sleep?'])
  fake.enqueue({ kind: 'stream', chunks: ['The visitor asked Leo about food and sleep.'] })
  const res = await post(strict, '/summarize_convo', { sessionId })
  t.equal(res.status, 200)
  const body: any = await res.json()
  t.match(body, { sessionId, summary: 'The visitor asked Leo about food and sleep.', turnCount: 2, model: 'gpt-test', usage: { totalTokens: Number }, createdAt: String })
  t.notOk(body.usage.estimated)

  const sent = fake.requests.at(-1)!.body
  t.equal(sent.stream, undefined, 'a summary is one non-streamed completion')
  const transcript = sent.messages.map((m: any) => m.content).join('\n')
  for (const line of ['What do you eat?', 'I eat meat.', 'How long do you sleep?', 'I sleep 20 hours.']) t.match(transcript, line)

  t.match(await storedSummary(strict, sessionId), { summary: 'The visitor asked Leo about food and sleep.', summaryTurnCount: 2 })
})

t.test('offline: an extractive summary of the topics asked and the facts given', async (t) => {
  const sessionId = await session(offline, 'lion', ['What do you eat?', 'When do you sleep?'])
  const body = await json(post(offline, '/summarize_convo', { sessionId }))
  t.match(body, { sessionId, turnCount: 2, model: 'offline', usage: { estimated: true } })
  t.match(body.summary, /^The visitor asked Leo the lion 2 questions, about food and sleep\./)
  t.match(body.summary, /Leo shared: /)
  t.match(await storedSummary(offline, sessionId), { summary: body.summary, summaryTurnCount: 2 })
})

t.test('a session without a completed exchange: a kind "nothing yet", no model asked', async (t) => {
  fake.enqueue({ kind: 'status', status: 400 })
  const failed = await post(strict, '/convo_turn', { animalId: 'penguin', message: 'Hello?' })
  t.equal(failed.status, 502)
  const { sessionId } = (await json(fetch(`${strict.url}/convo_history`, { headers: strict.auth('alice') }))).sessions[0]
  const requests = fake.requests.length
  const body = await json(post(strict, '/summarize_convo', { sessionId }))
  t.match(body, { sessionId, turnCount: 1, model: 'none', summary: /Nothing to summarise yet.*Pip the gentoo penguin/ })
  t.notOk('usage' in body)
  t.equal(fake.requests.length, requests, 'the model was not asked')
})

t.test('upstream down without fallback: 502, or 503 when rate limited; with fallback: the offline summary', async (t) => {
  fake.enqueue({ kind: 'stream', chunks: ['Fish!'] })
  const sessionId = await session(strict, 'penguin', ['What do you eat?'])

  fake.enqueue(...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 500 })))
  const failed = await post(strict, '/summarize_convo', { sessionId })
  t.equal(failed.status, 502)
  t.match(await failed.json(), { error: 'upstream_failed', message: /500/, retryable: true })

  fake.enqueue(...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 429 })))
  const limited = await post(strict, '/summarize_convo', { sessionId })
  t.equal(limited.status, 503)
  t.match(await limited.json(), { error: 'upstream_rate_limited' })

  const lenient = await startApp(t, { ...upstreamEnv, DYNAMODB_ENDPOINT: strict.dynamoEndpoint, LLM_FALLBACK: 'offline' })
  fake.enqueue(...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 500 })))
  const body = await json(post(lenient, '/summarize_convo', { sessionId }))
  t.match(body, { model: 'offline (fallback from gpt-test)', summary: /Pip the gentoo penguin 1 question, about food/, turnCount: 1 })
})

// Only the hang-up can close the upstream request within the subtest's timeout (the model's is a minute).
t.test('a client that hangs up aborts the model request', { timeout: 20000 }, async (t) => {
  fake.enqueue({ kind: 'stream', chunks: ['Hi!'] })
  const sessionId = await session(strict, 'lion', ['Hi'])
  const closed = fake.closedEarly()
  const requests = fake.requests.length
  fake.enqueue({ kind: 'stall', afterChunks: 0 })
  // A plain node:http request, destroyed by hand: a fetch abort leaves undici opening a spare
  // connection that would hold up the app's close.
  const body = JSON.stringify({ sessionId })
  const client = request(`${strict.url}/summarize_convo`, {
    method: 'POST', headers: { ...strict.auth('alice'), 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  })
  client.on('error', () => {})
  client.end(body)
  while (fake.requests.length === requests) await new Promise((resolve) => setTimeout(resolve, 10))
  client.destroy()
  await fake.waitForClientClose(closed + 1)
  t.equal(fake.requests.length, requests + 1, 'not retried')
})

t.test('the same access rules as reading the session; bad bodies are 400 naming the field', async (t) => {
  const sessionId = await session(offline, 'penguin', ['Can you fly?'])
  t.equal((await post(offline, '/summarize_convo', { sessionId }, 'mallory')).status, 404, 'another user')
  t.equal((await post(offline, '/summarize_convo', { sessionId }, 'pam', 'parent')).status, 404, 'a parent not linked')
  await offline.app.storage.linkChild('pam', 'alice')
  t.equal((await post(offline, '/summarize_convo', { sessionId }, 'pam', 'parent')).status, 200, 'the linked parent')
  t.equal((await post(offline, '/summarize_convo', { sessionId }, 'zoe', 'zookeeper')).status, 200, 'a zookeeper')
  t.equal((await post(offline, '/summarize_convo', { sessionId: 'no-such-session' })).status, 404)

  for (const [body, message] of [[{}, /body\.sessionId is required/], [{ sessionId: '' }, /sessionId/], [{ sessionId: 'a b' }, /sessionId/], [{ sessionId, extra: 1 }, /extra is not allowed/]] as const) {
    const res = await post(offline, '/summarize_convo', body)
    t.equal(res.status, 400)
    t.match(await res.json(), { error: 'bad_request', message })
  }
  const unauthenticated = await fetch(`${offline.url}/summarize_convo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ sessionId }) })
  t.equal(unauthenticated.status, 401)
})

// The model upstream end to end: the app, the real openai SDK and a fake OpenAI-compatible server
// that streams, stalls, answers 429/500 and drops connections. What is sent, what is stored, and
// what a visitor sees on each fault path, with and without the offline fallback.
import t from 'tap'
import { startApp } from './helpers/app.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { json } from './helpers/http.ts'
import { collectSse } from './helpers/sse.ts'
import { TestSocket } from './helpers/ws.ts'

const fake = await startFakeOpenAI()
t.teardown(() => fake.close())
const upstreamEnv = {
  OPENAI_API_KEY: 'sk-test',
  OPENAI_BASE_URL: fake.url,
  OPENAI_MODEL: 'gpt-test',
  OPENAI_TEMPERATURE: '0.2',
  OPENAI_MAX_TOKENS: '123',
  OPENAI_MAX_RETRIES: '2',
  OPENAI_TIMEOUT_MS: '300',
}
const strict = await startApp(t, { ...upstreamEnv, STORAGE: 'memory', LLM_FALLBACK: 'none' })
const { url, auth, wsUrl } = strict

const turn = (body: object, headers: Record<string, string> = {}, base = url) =>
  fetch(`${base}/convo_turn`, { method: 'POST', headers: { ...auth('alice'), 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })
const streamTurn = (body: object) => turn(body, { accept: 'text/event-stream' })
const history = async (sessionId: string) =>
  (await json(fetch(`${url}/convo_history?sessionId=${sessionId}`, { headers: auth('alice') }))).turns
/** Upstream requests made while `action` ran. */
async function requestsDuring(action: () => Promise<unknown>): Promise<number> {
  const before = fake.requests.length
  await action()
  return fake.requests.length - before
}

t.test('the request carries the persona, the rules and the configured model options', async (t) => {
  fake.enqueue({ kind: 'stream', chunks: ['Meat, ', 'mostly.'] })
  const res = await turn({ animalId: 'penguin', message: 'What do you eat?' })
  t.equal(res.status, 200)
  const sent = fake.requests.at(-1)!.body
  t.match(sent, { model: 'gpt-test', temperature: 0.2, max_tokens: 123, stream: true, stream_options: { include_usage: true } })
  const system = sent.messages[0]
  t.equal(system.role, 'system')
  t.match(system.content, /^You are Pip the gentoo penguin/)
  t.match(system.content, /Gentoo penguins are the fastest swimming penguins/, 'the animal\'s facts')
  t.match(system.content, /Speak as Pip in the first person/, 'rule: speak as the animal')
  t.match(system.content, /short: 2 to 4 sentences/, 'rule: short answers')
  t.match(system.content, /Never ask for personal details/, 'rule: no personal details')
  t.same(sent.messages.slice(1), [{ role: 'user', content: 'What do you eat?' }], 'a new session has no context')
})

t.test('usage and latency are stored per turn; usage is estimated when the upstream sends none', async (t) => {
  // 100 ms before each of the 3 chunks: the first token comes after one delay, the reply after three.
  fake.enqueue({ kind: 'stream', chunks: ['One, ', 'two, ', 'three.'], delayMs: 100 })
  const reported = await json(turn({ animalId: 'lion', message: 'Can you count?' }))
  t.same(reported.usage, { promptTokens: reported.usage.promptTokens, completionTokens: 3, totalTokens: reported.usage.promptTokens + 3 })
  t.ok(reported.usage.promptTokens > 0)
  const [stored] = await history(reported.sessionId)
  t.same(stored.usage, reported.usage, 'the upstream\'s usage is stored')
  t.equal(stored.latencyMs, reported.latencyMs)
  t.ok(stored.firstTokenMs >= 90, `first token after the first delay (${stored.firstTokenMs} ms)`)
  t.ok(stored.latencyMs >= stored.firstTokenMs + 180, `total time covers all three delays (${stored.latencyMs} ms)`)

  fake.enqueue({ kind: 'stream', chunks: ['No usage here.'], usage: false })
  const estimated = await json(turn({ animalId: 'lion', message: 'Anything?' }))
  t.match(estimated.usage, { completionTokens: Number, estimated: true })
  t.match((await history(estimated.sessionId))[0].usage, { estimated: true })
})

t.test('429 then success: one retry, and the visitor gets the reply', async (t) => {
  fake.enqueue({ kind: 'status', status: 429 }, { kind: 'stream', chunks: ['Roar!'] })
  let res: any
  t.equal(await requestsDuring(async () => { res = await json(turn({ animalId: 'lion', message: 'Roar?' })) }), 2)
  t.match(res, { reply: 'Roar!', model: 'gpt-test' })
})

t.test('500 on every attempt, no fallback: 502 with a clear message after exactly 3 requests', async (t) => {
  fake.enqueue(...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 500 })))
  let res!: Response
  t.equal(await requestsDuring(async () => { res = await turn({ animalId: 'lion', message: 'Hello?' }) }), 3)
  t.equal(res.status, 502)
  t.match(await res.json(), { error: 'upstream_failed', message: /model.*500/, retryable: true })
})

t.test('429 on every attempt, no fallback: 503 rate limited', async (t) => {
  fake.enqueue(...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 429 })))
  let res!: Response
  t.equal(await requestsDuring(async () => { res = await turn({ animalId: 'lion', message: 'Hello?' }) }), 3)
  t.equal(res.status, 503)
  t.match(await res.json(), { error: 'upstream_rate_limited', message: /rate limited/, retryable: true })
})

t.test('silence before the first token: each attempt is aborted (the upstream sees its socket close), then 502', async (t) => {
  const closedBefore = fake.closedEarly()
  fake.enqueue(...Array.from({ length: 3 }, () => ({ kind: 'stall' as const, afterChunks: 0 })))
  let res!: Response
  t.equal(await requestsDuring(async () => { res = await turn({ animalId: 'lion', message: 'Are you there?' }) }), 3)
  await fake.waitForClientClose(closedBefore + 3)
  t.equal(res.status, 502)
  t.match(await res.json(), { error: 'upstream_failed', message: /timed out/ })
})

for (const fault of ['stall', 'drop'] as const) {
  t.test(`${fault} after the first token: error upstream_failed, the partial reply stored as failed, no retry`, async (t) => {
    const closedBefore = fake.closedEarly()
    fake.enqueue({ kind: fault, afterChunks: 1, chunks: ['Once upon a time ', 'there was'] })
    let events!: Awaited<ReturnType<typeof collectSse>>
    t.equal(await requestsDuring(async () => { events = await collectSse(await streamTurn({ animalId: 'lion', message: 'Tell me a story' })) }), 1)
    t.same(events.filter((e) => e.event === 'message').map((e) => e.data.delta), ['Once upon a time '])
    t.match(events.at(-1), { event: 'error', data: { code: 'upstream_failed', retryable: true } })
    t.notOk(events.some((e) => e.event === 'complete'))
    if (fault === 'stall') await fake.waitForClientClose(closedBefore + 1)

    const [stored] = await history(events[0].data.sessionId as string)
    t.match(stored, { status: 'failed', reply: 'Once upon a time ', userMessage: 'Tell me a story' })
  })
}

t.test('cancel over the WebSocket aborts the upstream request and stores the partial reply as cancelled', async (t) => {
  const ws = await TestSocket.open(`${wsUrl}/ws`, auth('alice'))
  t.teardown(() => ws.close())
  const closedBefore = fake.closedEarly()
  fake.enqueue({ kind: 'stall', afterChunks: 1, chunks: ['Well, ', 'you see'] })
  ws.send({ type: 'turn', animalId: 'lion', message: 'Why is the sky blue?' })
  const first = await ws.waitFor((f) => f.type === 'message')
  ws.send({ type: 'cancel', turnId: first.turnId })
  await fake.waitForClientClose(closedBefore + 1)
  const frames = await ws.turnFrames(first.turnId!)
  t.match(frames.at(-1), { type: 'error', data: { code: 'cancelled', retryable: false } })

  const sessionId = frames[0].data.sessionId as string
  t.match((await history(sessionId))[0], { status: 'cancelled', reply: 'Well, ' })
})

t.test('with LLM_FALLBACK=offline the offline responder answers when the upstream is down, and says so', async (t) => {
  const lenient = await startApp(t, { ...upstreamEnv, STORAGE: 'memory', LLM_FALLBACK: 'offline' })
  for (const status of [500, 429]) {
    fake.enqueue(...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status })))
    let res!: Response
    t.equal(await requestsDuring(async () => { res = await turn({ animalId: 'lion', message: 'What do you eat?' }, {}, lenient.url) }), 3)
    t.equal(res.status, 200, `after ${status}s`)
    const body: any = await res.json()
    t.match(body, { model: 'offline (fallback from gpt-test)', reply: /meat/i, usage: { estimated: true } })
    const stored = await json(fetch(`${lenient.url}/convo_history?sessionId=${body.sessionId}`, { headers: auth('alice') }))
    t.match(stored.turns[0], { status: 'complete', model: 'offline (fallback from gpt-test)' })
  }
})

// Storage going away and coming back under a running app: turns and /readyz answer 503 with a
// clear message (never hang), and recover by themselves; a reply generated while storage died
// ends with `storage_failed`, and a retry with the same clientTurnId then runs the turn again.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { startApp } from './helpers/app.ts'
import { startDynalite } from './helpers/dynalite.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { json } from './helpers/http.ts'
import { readSse, type SseEvent } from './helpers/sse.ts'

// On disk, so the tables and data are still there when it comes back on the same port. (Not
// under t.testdir(): startApp's own t.testdir() call would wipe it.)
const dir = await mkdtemp(join(tmpdir(), 'outage-'))
const dynalite = await startDynalite({ path: dir })
t.teardown(async () => {
  await dynalite.close()
  await rm(dir, { recursive: true, force: true })
})
const fake = await startFakeOpenAI()
t.teardown(() => fake.close())
const { url, auth } = await startApp(t, {
  DYNAMODB_ENDPOINT: dynalite.endpoint, OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, RATE_LIMIT_TURNS_PER_MINUTE: '10000',
})

// Generous: an outage must answer, not hang, but the machine may be slow.
const PATIENCE_MS = 20_000
const post = (body: object, headers: Record<string, string> = {}) => fetch(`${url}/convo_turn`, {
  method: 'POST',
  headers: { ...auth('alice'), 'content-type': 'application/json', ...headers },
  body: JSON.stringify(body),
  signal: AbortSignal.timeout(PATIENCE_MS),
})
const ready = () => fetch(`${url}/readyz`, { signal: AbortSignal.timeout(PATIENCE_MS) })

t.test('storage down: 503 with a clear message; back up: both recover without a restart', async (t) => {
  const first = await post({ animalId: 'lion', message: 'Hi!' })
  t.equal(first.status, 200)
  const session = (await json(first)).sessionId
  t.equal((await ready()).status, 200)

  await dynalite.stop()
  // A turn in a session reads it before the model is asked: refused at once.
  const turn = await post({ animalId: 'lion', message: 'Are you there?', sessionId: session })
  t.equal(turn.status, 503)
  t.match(await json(turn), { error: 'storage_unavailable', message: /storage/i, retryable: true })
  const readiness = await ready()
  t.equal(readiness.status, 503)
  t.match(await json(readiness), { status: 'unavailable', storage: 'dynamodb', message: /storage/i })
  const sse = await post({ animalId: 'lion', message: 'Are you there?', sessionId: session }, { accept: 'text/event-stream' })
  t.equal(sse.status, 503, 'a refused SSE turn is a plain 503 too')
  // A new session's first turn reads nothing (the animal is cached; the session is written with
  // the turn): it is answered, and ends with storage_failed, leaving nothing behind.
  const fresh = await post({ animalId: 'lion', message: 'Is anyone there?' })
  t.equal(fresh.status, 503)
  t.match(await json(fresh), { error: 'storage_failed', retryable: true })

  await dynalite.restart()
  t.equal((await ready()).status, 200, 'ready again')
  const back = await post({ animalId: 'lion', message: 'Back again?' })
  t.equal(back.status, 200, 'turns work again')
  const { sessionId } = await json(back)
  t.equal((await json(fetch(`${url}/convo_history?sessionId=${sessionId}`, { headers: auth('alice') }))).turns.length, 1)
})

t.test('a reply generated but not stored ends with storage_failed; the same clientTurnId then works', async (t) => {
  const before = fake.requests.length
  fake.enqueue({ kind: 'stream', chunks: ['Roar! ', 'I ', 'am ', 'still ', 'talking.'], delayMs: 150 })
  const body = { animalId: 'lion', message: 'Tell me a story', clientTurnId: 'story-1' }
  const res = await post(body, { accept: 'text/event-stream' })
  t.equal(res.status, 200)
  const events: SseEvent[] = []
  for await (const event of readSse(res)) {
    events.push(event)
    if (event.event === 'message' && events.filter((e) => e.event === 'message').length === 1) await dynalite.stop()
  }
  const types = events.map((e) => e.event)
  t.ok(types.includes('complete'), 'the reply was generated')
  t.notOk(types.includes('storage'), 'but not stored')
  t.same(events.at(-1), { id: events.at(-1)!.id, event: 'error', data: { code: 'storage_failed', message: events.at(-1)!.data.message, retryable: true } })
  t.match(events.at(-1)!.data.message, /saved/)
  const failedTurnId = events[0]!.data.turnId

  const whileDown = await post(body)
  t.equal(whileDown.status, 503, 'a retry while storage is still down: 503')
  t.equal((await json(whileDown)).retryable, true)

  await dynalite.restart()
  const retry = await post(body)
  t.equal(retry.status, 200, 'the retry with the same clientTurnId succeeds once storage is back')
  const answer = await json(retry)
  t.not(answer.turnId, failedTurnId, 'as a new turn: the failed one was never stored')
  t.equal(fake.requests.length - before, 2, 'the model was asked again, once')
  const history = await json(fetch(`${url}/convo_history?sessionId=${answer.sessionId}`, { headers: auth('alice') }))
  t.same(history.turns.map((x: { turnId: string }) => x.turnId), [answer.turnId], 'stored once')
  t.same(await json(post(body)), answer, 'and from now on the key returns that stored turn')
})

t.test('a JSON turn whose reply could not be stored answers 503 storage_failed', async (t) => {
  fake.enqueue({ kind: 'stream', chunks: ['One ', 'moment ', 'please.'], delayMs: 300 })
  const pending = post({ animalId: 'lion', message: 'Slowly, please' })
  // Wait until the model is being asked, then take storage away.
  while (fake.requests.at(-1)?.body.messages.at(-1).content !== 'Slowly, please') await new Promise((resolve) => setTimeout(resolve, 20))
  await dynalite.stop()
  t.teardown(() => dynalite.restart())
  const res = await pending
  t.equal(res.status, 503)
  t.match(await json(res), { error: 'storage_failed', message: /saved/, retryable: true })
})

// Retries with a clientTurnId against the real app, a fake OpenAI server (slow enough that the turn
// is still running when the duplicates arrive) and dynalite: one model call, one stored turn.
import t from 'tap'
import { startApp } from './helpers/app.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { json } from './helpers/http.ts'
import { collectSse } from './helpers/sse.ts'
import { TestSocket } from './helpers/ws.ts'

const fake = await startFakeOpenAI()
t.teardown(() => fake.close())
const { url, wsUrl, auth } = await startApp(t, { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, RATE_LIMIT_TURNS_PER_MINUTE: '10000' })

const slowReply = () => fake.enqueue({ kind: 'stream', chunks: ['I ', 'eat ', 'meat, ', 'mostly ', 'zebras.'], delayMs: 60 })

const post = (body: object, user = 'alice', headers: Record<string, string> = {}) =>
  fetch(`${url}/convo_turn`, { method: 'POST', headers: { ...auth(user), 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

const turnsOf = async (sessionId: string, user = 'alice') =>
  (await json(fetch(`${url}/convo_history?sessionId=${sessionId}`, { headers: auth(user) }))).turns as Array<{ turnId: string; reply: string }>

t.test('five concurrent duplicates: one model call, one stored turn, the same answer for all', async (t) => {
  const before = fake.requests.length
  slowReply()
  const body = { animalId: 'lion', message: 'What do you eat?', clientTurnId: 'kiosk-7-turn-1' }
  const responses = await Promise.all(Array.from({ length: 5 }, () => post(body)))
  t.same(responses.map((r) => r.status), [200, 200, 200, 200, 200])
  const answers = await Promise.all(responses.map((r) => json(r)))
  t.equal(new Set(answers.map((a) => a.turnId)).size, 1, 'one turnId')
  t.same(new Set(answers.map((a) => a.reply)), new Set(['I eat meat, mostly zebras.']), 'one reply')
  t.equal(fake.requests.length - before, 1, 'exactly one request reached the model')

  const stored = await turnsOf(answers[0].sessionId)
  t.equal(stored.length, 1, 'exactly one turn stored')
  t.equal(stored[0]!.turnId, answers[0].turnId)

  const later = await json(post(body))
  t.same(later, answers[0], 'a retry after completion returns the stored turn')
  t.equal(fake.requests.length - before, 1, 'and asks the model nothing')
})

t.test('a retry returns the stored turn even once the live buffer is gone', async (t) => {
  const { url: otherUrl, auth: otherAuth } = await startApp(t, { STREAM_BUFFER_TTL_MS: '1000', RATE_LIMIT_TURNS_PER_MINUTE: '10000' })
  const body = JSON.stringify({ animalId: 'penguin', message: 'Can you fly?', clientTurnId: 'k-buffer' })
  const send = () => fetch(`${otherUrl}/convo_turn`, { method: 'POST', headers: { ...otherAuth('alice'), 'content-type': 'application/json' }, body })
  const first = await json(send())
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.same(await json(send()), first, 'replayed from storage')
})

t.test('an SSE retry replays the same events with the same ids', async (t) => {
  const before = fake.requests.length
  slowReply()
  const body = { animalId: 'lion', message: 'Do you sleep a lot?', clientTurnId: 'sse-1' }
  const sse = { accept: 'text/event-stream' }
  const [first, duringRun] = await Promise.all([collectSse(await post(body, 'alice', sse)), post(body, 'alice', sse).then(collectSse)])
  const after = await collectSse(await post(body, 'alice', sse))
  t.equal(first.at(-1)!.event, 'storage')
  t.same(duringRun.map((e) => e.id), first.map((e) => e.id), 'a concurrent retry gets every event')
  t.same(after.map((e) => [e.id, e.event, e.data]), first.map((e) => [e.id, e.event, e.data]), 'a later retry replays them exactly')
  t.equal(fake.requests.length - before, 1, 'one model call')

  const json200 = await json(post(body))
  t.equal(json200.turnId, first[0]!.data.turnId, 'the JSON form of the same retry names the same turn')
})

t.test('a WebSocket retry with the same clientTurnId gets the same turn', async (t) => {
  const before = fake.requests.length
  slowReply()
  const socket = await TestSocket.open(`${wsUrl}/ws`, auth('alice'))
  t.teardown(() => socket.close())
  const frame = { type: 'turn', animalId: 'lion', message: 'How fast can you run?', clientTurnId: 'ws-1' }
  socket.send(frame)
  const metadata = await socket.waitFor((f) => f.type === 'metadata')
  const turnId = metadata.turnId!
  await socket.turnFrames(turnId)

  const second = await TestSocket.open(`${wsUrl}/ws`, auth('alice'))
  t.teardown(() => second.close())
  second.send(frame)
  const replayed = await second.turnFrames(turnId)
  t.same(replayed.map((f) => f.id), socket.frames.filter((f) => f.turnId === turnId).map((f) => f.id), 'same events, same ids, on a new socket')
  t.equal(fake.requests.length - before, 1, 'one model call')
})

t.test('the same clientTurnId from another user is a separate turn', async (t) => {
  const before = fake.requests.length
  const body = { animalId: 'lion', message: 'Hello!', clientTurnId: 'shared-key' }
  const alice = await json(post(body, 'alice'))
  const bob = await json(post(body, 'bob'))
  t.not(bob.turnId, alice.turnId)
  t.not(bob.sessionId, alice.sessionId)
  t.equal(fake.requests.length - before, 2, 'each user\'s turn asked the model')
  t.equal((await turnsOf(bob.sessionId, 'bob')).length, 1)
  t.equal((await fetch(`${url}/convo_history?sessionId=${alice.sessionId}`, { headers: auth('bob') })).status, 404, 'and bob cannot see alice\'s')
})

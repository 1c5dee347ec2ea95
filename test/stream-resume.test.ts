// Resume: a client that lost its stream asks again with the last id it saw and gets every later
// event exactly once, then the live rest; the model is asked once. Over fetch, EventSource and ws.
import { EventSource } from 'eventsource'
import t from 'tap'
import { startApp } from './helpers/app.ts'
import { startCutProxy } from './helpers/cut-proxy.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { json } from './helpers/http.ts'
import { collectSse } from './helpers/sse.ts'
import { idsInOrder, postSse, readThenDrop, words } from './helpers/stream.ts'
import { TestSocket } from './helpers/ws.ts'

const fake = await startFakeOpenAI()
t.teardown(() => fake.close())
const { url, wsUrl, auth, token } = await startApp(t, { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url })

const slowTurn = (count = 30) => fake.enqueue({ kind: 'stream', chunks: words(count), delayMs: 30 })
const stream = (turnId: string, headers: Record<string, string>, query = '') =>
  fetch(`${url}/convo_turn/${turnId}/stream${query}`, { headers })

t.test('SSE: resume mid-turn with Last-Event-ID gets every later event once, then the live rest', async (t) => {
  slowTurn()
  const asked = fake.requests.length
  const abort = new AbortController()
  const res = await postSse(url, auth('alice'), { animalId: 'lion', message: 'Tell me a story' }, abort.signal)
  const before = await readThenDrop(res, abort, (events) => events.filter((e) => e.event === 'message').length === 5)
  const turnId = before[0].data.turnId as string

  const resumed = await stream(turnId, { ...auth('alice'), 'last-event-id': before.at(-1)!.id! })
  t.equal(resumed.status, 200)
  t.equal(resumed.headers.get('x-accel-buffering'), 'no')
  const after = await collectSse(resumed)
  const all = [...before, ...after]
  t.ok(idsInOrder(all, turnId), 'ids run 0..n with no gap and no repeat')
  t.equal(all.at(-1)!.event, 'storage')
  const reply = all.filter((e) => e.event === 'message').map((e) => e.data.delta).join('')
  t.equal(reply, words(30).join(''), 'the whole reply, once')
  t.equal(all.find((e) => e.event === 'complete')!.data.reply, reply)
  t.equal(fake.requests.length, asked + 1, 'the model was asked once')
})

t.test('SSE: resume after the turn finished replays from the buffer (?lastEventId= works too)', async (t) => {
  slowTurn(5)
  const events = await collectSse(await postSse(url, auth('alice'), { animalId: 'lion', message: 'Hi' }))
  const turnId = events[0].data.turnId as string
  const replay = await collectSse(await stream(turnId, auth('alice'), `?lastEventId=${turnId}:3`))
  t.same(replay.map((e) => e.id), events.slice(4).map((e) => e.id), 'everything after :3, once')
  t.same(replay, events.slice(4))
  const everything = await collectSse(await stream(turnId, auth('alice')))
  t.same(everything, events, 'no Last-Event-ID: the whole turn')
})

t.test('resume is only for those who may read the session, and ids must belong to the turn', async (t) => {
  slowTurn(3)
  const events = await collectSse(await postSse(url, auth('alice'), { animalId: 'lion', message: 'Hi' }))
  const turnId = events[0].data.turnId as string
  t.equal((await stream(turnId, auth('bob'))).status, 404, 'another user: as if it did not exist')
  t.equal((await stream(turnId, auth('keeper', 'zookeeper'))).status, 200, 'a zookeeper may read everyone\'s')
  t.equal((await stream('no-such-turn', auth('alice'))).status, 404)
  const wrongId = await stream(turnId, { ...auth('alice'), 'last-event-id': 'other-turn:3' })
  t.equal(wrongId.status, 400)
  t.match((await json(wrongId)).message, /Last-Event-ID/)
  t.equal((await stream(turnId, {}, `?access_token=${token('alice')}`)).status, 200, 'EventSource may pass the token in the query')
})

t.test('EventSource reconnects after a dropped connection with Last-Event-ID and gets each event once', async (t) => {
  const proxy = await startCutProxy(t, Number(new URL(url).port))

  slowTurn(40)
  const abort = new AbortController()
  const started = await readThenDrop(await postSse(url, auth('alice'), { animalId: 'lion', message: 'Go on' }, abort.signal), abort, (e) => e.length === 1)
  const turnId = started[0].data.turnId as string

  const source = new EventSource(`${proxy.url}/convo_turn/${turnId}/stream?access_token=${token('alice')}`)
  const seen: Array<{ id: string; type: string; data: Record<string, unknown> }> = []
  let cut = false
  const done = new Promise<void>((resolve) => {
    for (const type of ['metadata', 'typing', 'message', 'complete', 'storage', 'error']) {
      source.addEventListener(type, (event) => {
        if (!('data' in event)) return // a connection error, not the server's `error` event
        seen.push({ id: event.lastEventId, type, data: JSON.parse(event.data) })
        if (!cut && seen.filter((e) => e.type === 'message').length === 5) {
          cut = true
          proxy.cut()
        }
        if (type === 'storage' || type === 'error') resolve()
      })
    }
  })
  await done
  source.close()

  t.ok(cut, 'the connection was cut mid-turn')
  t.ok(proxy.connections >= 2, 'EventSource reconnected')
  t.ok(idsInOrder(seen, turnId), 'every event exactly once across the reconnect')
  t.equal(seen.at(-1)!.type, 'storage')
  t.equal(seen.filter((e) => e.type === 'message').map((e) => e.data.delta).join(''), words(40).join(''))
})

t.test('WebSocket: a resume frame on a new socket replays after lastEventId, then the live rest', async (t) => {
  slowTurn()
  const asked = fake.requests.length
  const first = await TestSocket.open(`${wsUrl}/ws`, auth('kiosk'))
  first.send({ type: 'turn', animalId: 'lion', message: 'Story time' })
  await first.waitFor(() => first.frames.filter((f) => f.type === 'message').length >= 5)
  first.close()
  const before = first.frames.filter((f) => f.id !== null)
  const turnId = before[0].turnId!

  const second = await TestSocket.open(`${wsUrl}/ws`, auth('kiosk'))
  t.teardown(() => second.close())
  second.send({ type: 'resume', turnId, lastEventId: before.at(-1)!.id })
  const after = await second.turnFrames(turnId)
  const all = [...before, ...after]
  t.ok(idsInOrder(all, turnId), 'each event exactly once')
  t.equal(all.filter((f) => f.type === 'message').map((f) => f.data.delta).join(''), words(30).join(''))
  t.equal(fake.requests.length, asked + 1, 'the model was asked once')

  second.send({ type: 'resume', turnId: 'no-such-turn', lastEventId: 'no-such-turn:1' })
  const missing = await second.waitFor((f) => f.type === 'error' && f.turnId === 'no-such-turn')
  t.equal(missing.data.code, 'not_found')
  const other = await TestSocket.open(`${wsUrl}/ws`, auth('bob'))
  t.teardown(() => other.close())
  other.send({ type: 'resume', turnId })
  t.equal((await other.waitFor((f) => f.type === 'error')).data.code, 'not_found', 'bob may not read it')
})

t.test('a finished turn whose buffer expired replays from storage: metadata, complete, storage', async (t) => {
  const short = await startApp(t, { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, STREAM_BUFFER_TTL_MS: '1000' })
  slowTurn(5)
  const events = await collectSse(await postSse(short.url, short.auth('alice'), { animalId: 'lion', message: 'Hi' }))
  const turnId = events[0].data.turnId as string
  const complete = events.find((e) => e.event === 'complete')!
  await new Promise((resolve) => setTimeout(resolve, 2500)) // the buffer is gone after 1000 ms
  const fromStorage = await collectSse(await fetch(`${short.url}/convo_turn/${turnId}/stream`, { headers: { ...short.auth('alice'), 'last-event-id': `${turnId}:1` } }))
  t.same(fromStorage.map((e) => e.event), ['complete', 'storage'], 'no deltas: they came from storage')
  t.same(fromStorage.map((e) => e.id), events.slice(-2).map((e) => e.id), 'with the ids the live stream used')
  t.equal(fromStorage[0].data.reply, complete.data.reply)
})

t.test('a resume after the last event answers 204, so EventSource stops reconnecting', async (t) => {
  slowTurn(3)
  const events = await collectSse(await postSse(url, auth('alice'), { animalId: 'lion', message: 'Hi' }))
  const turnId = events[0].data.turnId as string
  const atEnd = await stream(turnId, { ...auth('alice'), 'last-event-id': events.at(-1)!.id! })
  t.equal(atEnd.status, 204)
  t.equal(await atEnd.text(), '')
  const beforeEnd = await collectSse(await stream(turnId, { ...auth('alice'), 'last-event-id': events.at(-2)!.id! }))
  t.same(beforeEnd, events.slice(-1), 'one id earlier: just the last event')
})

t.test('resuming finished turns on a socket does not use up its concurrent-turn slots', async (t) => {
  slowTurn(3)
  const events = await collectSse(await postSse(url, auth('kiosk'), { animalId: 'lion', message: 'Hi' }))
  const turnId = events[0].data.turnId as string
  const ws = await TestSocket.open(`${wsUrl}/ws`, auth('kiosk'))
  t.teardown(() => ws.close())
  for (let i = 0; i < 6; i++) ws.send({ type: 'resume', turnId, lastEventId: `${turnId}:1` })
  await ws.waitFor(() => ws.frames.filter((f) => f.type === 'storage').length === 6)
  ws.send({ type: 'turn', animalId: 'lion', message: 'And now?' })
  const next = await ws.waitFor((f) => f.type === 'metadata')
  t.not(next.turnId, turnId, 'a new turn starts')
  t.notOk(ws.frames.some((f) => f.type === 'error'), 'no too_many_turns')
})

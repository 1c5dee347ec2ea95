// Cancel aborts the upstream model request and stores the partial reply as cancelled; a client
// that merely disconnects cancels nothing: the turn runs to the end and is stored.
import t from 'tap'
import { startApp } from './helpers/app.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { json } from './helpers/http.ts'
import { collectSse, readSse } from './helpers/sse.ts'
import { eventually, postSse, readThenDrop, words } from './helpers/stream.ts'
import { TestSocket } from './helpers/ws.ts'

const fake = await startFakeOpenAI()
t.teardown(() => fake.close())
const { url, wsUrl, auth } = await startApp(t, { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url })

const slowTurn = () => fake.enqueue({ kind: 'stream', chunks: words(200), delayMs: 50 })
const cancel = (turnId: string, headers: Record<string, string>) => fetch(`${url}/convo_turn/${turnId}`, { method: 'DELETE', headers })
const storedTurn = async (sessionId: string, user = 'alice') => {
  const history = await json(fetch(`${url}/convo_history?sessionId=${sessionId}`, { headers: auth(user) }))
  return history.turns?.[0]
}

t.test('DELETE /convo_turn/{turnId} aborts the upstream, ends the stream with cancelled, stores the partial reply', async (t) => {
  slowTurn()
  const closedBefore = fake.closedEarly()
  const res = await postSse(url, auth('alice'), { animalId: 'lion', message: 'Talk forever' })
  const events = []
  let cancelled: Response | undefined
  for await (const event of readSse(res)) {
    events.push(event)
    if (!cancelled && events.filter((e) => e.event === 'message').length === 3) {
      const turnId = events[0].data.turnId as string
      t.equal((await cancel(turnId, auth('bob'))).status, 404, 'someone else\'s turn is not found')
      t.equal((await cancel(turnId, auth('keeper', 'zookeeper'))).status, 403, 'a zookeeper reads but may not cancel')
      cancelled = await cancel(turnId, auth('alice'))
    }
  }
  t.equal(cancelled!.status, 202)
  const { turnId, sessionId } = events[0].data as { turnId: string; sessionId: string }
  t.same(await json(cancelled!), { turnId, cancelled: true })
  t.match(events.at(-1), { event: 'error', data: { code: 'cancelled', retryable: false } }, 'an error event ends the stream')
  await fake.waitForClientClose(closedBefore + 1)
  t.pass('the upstream request was aborted')

  const partial = events.filter((e) => e.event === 'message').map((e) => e.data.delta).join('')
  const stored = await storedTurn(sessionId)
  t.match(stored, { turnId, status: 'cancelled' })
  t.ok(stored.reply.length > 0 && words(200).join('').startsWith(stored.reply), 'the partial reply is stored')
  t.equal(stored.reply, partial, 'exactly what the client saw')

  const again = await cancel(turnId, auth('alice'))
  t.equal(again.status, 409, 'a turn that is not running cannot be cancelled')
  t.equal((await json(again)).error, 'not_running')
  t.equal((await cancel('no-such-turn', auth('alice'))).status, 404)
  t.equal((await cancel('bad turn id', auth('alice'))).status, 400)

  const replay = await collectSse(await fetch(`${url}/convo_turn/${turnId}/stream`, { headers: auth('alice') }))
  t.same(replay, events, 'a resume after the cancel sees the same stream')
})

t.test('a cancel frame on the WebSocket does the same', async (t) => {
  slowTurn()
  const closedBefore = fake.closedEarly()
  const ws = await TestSocket.open(`${wsUrl}/ws`, auth('alice'))
  t.teardown(() => ws.close())
  ws.send({ type: 'turn', animalId: 'penguin', message: 'Talk forever' })
  const metadata = await ws.waitFor((f) => f.type === 'metadata')
  await ws.waitFor((f) => f.type === 'message')
  ws.send({ type: 'cancel', turnId: metadata.turnId })
  const frames = await ws.turnFrames(metadata.turnId!)
  t.match(frames.at(-1), { type: 'error', data: { code: 'cancelled' } })
  await fake.waitForClientClose(closedBefore + 1)
  t.match(await storedTurn(metadata.data.sessionId as string), { status: 'cancelled' })

  ws.send({ type: 'cancel', turnId: metadata.turnId })
  const late = await ws.waitFor((f) => f.type === 'error' && f.data.code === 'not_running')
  t.equal(late.turnId, metadata.turnId, 'cancelling an ended turn is an error event, the socket stays open')
  ws.send({ type: 'cancel' })
  t.equal((await ws.waitFor((f) => f.type === 'error' && f.data.code === 'bad_request')).turnId, null)
})

t.test('a dropped connection is not a cancel: the turn runs to the end and is stored', async (t) => {
  fake.enqueue({ kind: 'stream', chunks: words(20), delayMs: 30 })
  const closedBefore = fake.closedEarly()
  const abort = new AbortController()
  const res = await postSse(url, auth('alice'), { animalId: 'lion', message: 'Keep going' }, abort.signal)
  const seen = await readThenDrop(res, abort, (events) => events.some((e) => e.event === 'message'))
  const { sessionId } = seen[0].data as { sessionId: string }
  const stored = await eventually(async () => await storedTurn(sessionId))
  t.match(stored, { status: 'complete', reply: words(20).join('') })
  t.equal(fake.closedEarly(), closedBefore, 'the upstream request ran to its end')

  const ws = await TestSocket.open(`${wsUrl}/ws`, auth('alice'))
  fake.enqueue({ kind: 'stream', chunks: words(20), delayMs: 30 })
  ws.send({ type: 'turn', animalId: 'lion', message: 'Keep going' })
  await ws.waitFor((f) => f.type === 'message')
  ws.close()
  const wsSession = ws.frames[0].data.sessionId as string
  t.match(await eventually(async () => await storedTurn(wsSession)), { status: 'complete', reply: words(20).join('') }, 'nor is a closed socket')
  t.equal(fake.closedEarly(), closedBefore)
})

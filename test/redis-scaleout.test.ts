// Two app instances behind an imaginary load balancer, sharing Redis and one DynamoDB endpoint:
// a turn started on A can be resumed, cancelled and retried (same clientTurnId) through B.
import t from 'tap'
import { startTwoInstances } from './helpers/two-instances.ts'
import { json } from './helpers/http.ts'
import { collectSse } from './helpers/sse.ts'
import { idsInOrder, postSse, readThenDrop, words } from './helpers/stream.ts'
import { TestSocket } from './helpers/ws.ts'

const { a, b, fake, redis, prefix } = await startTwoInstances(t, { STREAM_BUFFER_TTL_MS: '60000' })

t.test('a turn started on A resumes on B exactly once; a retry on B gets the same turn; the model is asked once', async (t) => {
  fake.enqueue({ kind: 'stream', chunks: words(40), delayMs: 30 })
  const asked = fake.requests.length
  const body = { animalId: 'lion', message: 'Tell me everything', clientTurnId: 'scale-1' }
  const abort = new AbortController()
  const before = await readThenDrop(await postSse(a.url, a.auth('alice'), body, abort.signal), abort, (events) => events.filter((e) => e.event === 'message').length === 5)
  const turnId = before[0].data.turnId as string

  const retried = json(fetch(`${b.url}/convo_turn`, { method: 'POST', headers: { ...b.auth('alice'), 'content-type': 'application/json' }, body: JSON.stringify(body) }))
  const resumed = await fetch(`${b.url}/convo_turn/${turnId}/stream`, { headers: { ...b.auth('alice'), 'last-event-id': before.at(-1)!.id! } })
  t.equal(resumed.status, 200)
  const all = [...before, ...(await collectSse(resumed))]
  t.ok(idsInOrder(all, turnId), 'every event once, across instances')
  t.equal(all.at(-1)!.event, 'storage')
  t.equal(all.filter((e) => e.event === 'message').map((e) => e.data.delta).join(''), words(40).join(''))

  const retry = await retried
  t.equal(retry.turnId, turnId, 'the retry on B is the same turn')
  t.equal(retry.reply, words(40).join(''))
  t.equal(fake.requests.length, asked + 1, 'the model was asked once')

  const replay = await collectSse(await fetch(`${b.url}/convo_turn/${turnId}/stream?lastEventId=${turnId}:2`, { headers: b.auth('alice') }))
  t.same(replay, all.slice(3), 'a finished turn replays on B from Redis, deltas included')
  t.equal((await fetch(`${b.url}/convo_turn/${turnId}/stream`, { headers: b.auth('bob') })).status, 404, 'only readers of the session may attach')
  const atEnd = await fetch(`${b.url}/convo_turn/${turnId}/stream`, { headers: { ...b.auth('alice'), 'last-event-id': all.at(-1)!.id! } })
  t.equal(atEnd.status, 204, 'nothing after the last event: 204')

  const key = `${prefix}turn:${turnId}`
  t.equal(await redis.xlen(key), all.length, 'the stream holds the turn\'s events')
  const ttl = await redis.pttl(key)
  t.ok(ttl > 0 && ttl <= 60000, 'and expires STREAM_BUFFER_TTL_MS after the turn')
})

t.test('a cancel sent to B stops the turn running on A', async (t) => {
  fake.enqueue({ kind: 'stream', chunks: words(300), delayMs: 30 })
  const closedBefore = fake.closedEarly()
  const ws = await TestSocket.open(`${a.wsUrl}/ws`, a.auth('alice'))
  t.teardown(() => ws.close())
  ws.send({ type: 'turn', animalId: 'lion', message: 'Never stop' })
  const metadata = await ws.waitFor((f) => f.type === 'metadata')
  const turnId = metadata.turnId!
  await ws.waitFor(() => ws.frames.filter((f) => f.type === 'message').length >= 3)

  const watcher = await TestSocket.open(`${b.wsUrl}/ws`, b.auth('alice'))
  t.teardown(() => watcher.close())
  watcher.send({ type: 'resume', turnId, lastEventId: `${turnId}:1` })
  await watcher.waitFor((f) => f.type === 'message' && f.turnId === turnId)

  t.equal((await fetch(`${b.url}/convo_turn/${turnId}`, { method: 'DELETE', headers: b.auth('bob') })).status, 404)
  const cancelled = await fetch(`${b.url}/convo_turn/${turnId}`, { method: 'DELETE', headers: b.auth('alice') })
  t.equal(cancelled.status, 202)
  t.match((await ws.turnFrames(turnId)).at(-1), { type: 'error', data: { code: 'cancelled' } }, 'A\'s client sees the cancel')
  t.match((await watcher.turnFrames(turnId)).at(-1), { type: 'error', data: { code: 'cancelled' } }, 'and so does B\'s')
  await fake.waitForClientClose(closedBefore + 1)
  t.pass('A aborted its upstream request')

  const history = await json(fetch(`${b.url}/convo_history?sessionId=${metadata.data.sessionId}`, { headers: b.auth('alice') }))
  t.match(history.turns[0], { turnId, status: 'cancelled' })
  t.equal((await fetch(`${b.url}/convo_turn/${turnId}`, { method: 'DELETE', headers: b.auth('alice') })).status, 409, 'an ended turn is not running anywhere')
})

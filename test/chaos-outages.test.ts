// Chaos: two real instances (child processes) on a Redis of the test's own and one dynalite.
// Redis restarted empty mid-turn and down meanwhile: no hang and no busy loop, errors that say
// "retry" within seconds, and recovery without restarting the gateway. A stream trimmed under
// a resume: answered from storage once the turn ends. Storage down mid-turn: a retry with the
// same clientTurnId on the other instance runs anew.
import t from 'tap'
import { bearer, ownDir, startInstance, startRedisServer } from './helpers/cluster.ts'
import { startDynalite } from './helpers/dynalite.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { json } from './helpers/http.ts'
import { readSse, type SseEvent } from './helpers/sse.ts'
import { eventually, idsInOrder, sleep, words } from './helpers/stream.ts'
import { TestSocket } from './helpers/ws.ts'

const LEASE_MS = 1000

const fake = await startFakeOpenAI()
t.teardown(() => fake.close())
const dynalite = await startDynalite({ path: ownDir(t) })
t.teardown(() => dynalite.close())
const redis = await startRedisServer(t)
const env = {
  REDIS_URL: redis.url, DYNAMODB_ENDPOINT: dynalite.endpoint, OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url,
  TURN_LEASE_MS: String(LEASE_MS), STREAM_BUFFER_TTL_MS: '60000', RATE_LIMIT_TURNS_PER_MINUTE: '1000',
  // A turn's stream keeps 2 * 40 + 16 = 96 events (MAXLEN): a longer reply loses its beginning.
  OPENAI_MAX_TOKENS: '40',
}
const [a, b] = await Promise.all([startInstance(t, env), startInstance(t, env)])

/** Reads an SSE response into `into` until it ends. */
async function drain(response: Response, into: SseEvent[]): Promise<void> {
  for await (const event of readSse(response)) into.push(event)
}

const timed = async <T>(work: Promise<T>): Promise<{ value: T; ms: number }> => {
  const began = Date.now()
  const value = await work
  return { value, ms: Date.now() - began }
}

t.test('Redis restarted empty mid-turn and down for 3 s: bounded errors, no busy loop, recovery', async (t) => {
  fake.enqueue({ kind: 'stream', chunks: words(80), delayMs: 100 })
  const kiosk = await TestSocket.open(`${a.wsUrl}/ws`, bearer('rita'))
  kiosk.send({ type: 'turn', animalId: 'lion', message: 'A very long story please', clientTurnId: 'redis-1' })
  const turnId = (await kiosk.waitFor((f) => f.type === 'metadata')).turnId!
  await kiosk.waitFor((f) => f.type === 'message' && f.data.index === 3)
  const followed: SseEvent[] = []
  const following = drain(await fetch(`${b.url}/convo_turn/${turnId}/stream`, { headers: bearer('rita') }), followed)
  await eventually(async () => followed.some((e) => e.event === 'message') || undefined)

  await redis.stop()
  const downAt = Date.now()
  const messagesOnA = kiosk.frames.filter((f) => f.type === 'message').length
  const cpuBefore = b.cpuMs()
  const retry = await timed(fetch(`${b.url}/convo_turn`, {
    method: 'POST', headers: { ...bearer('rita'), 'content-type': 'application/json' },
    body: JSON.stringify({ animalId: 'lion', message: 'A very long story please', clientTurnId: 'redis-1' }),
  }))
  t.equal(retry.value.status, 503, 'a same-key retry on B while Redis is down: 503')
  t.match(await retry.value.json(), { error: 'hub_unavailable', retryable: true })
  t.ok(retry.ms < 3000, `answered in ${retry.ms} ms`)
  const cancel = await timed(fetch(`${b.url}/convo_turn/${turnId}`, { method: 'DELETE', headers: bearer('rita') }))
  t.equal(cancel.value.status, 503, 'a cancel on B: 503')
  t.ok(cancel.ms < 3000, `answered in ${cancel.ms} ms`)
  const resume = await timed(fetch(`${b.url}/convo_turn/${turnId}/stream`, { headers: bearer('rita') }))
  t.equal(resume.value.status, 503, 'a resume on B: 503')
  t.ok(resume.ms < 3000, `answered in ${resume.ms} ms`)
  await following
  t.match(followed.at(-1), { event: 'error', data: { code: 'hub_unavailable', retryable: true } }, 'the follower on B is told to resume later')
  t.ok(Date.now() - downAt < 6000, `within ${Date.now() - downAt} ms of the outage`)
  await sleep(Math.max(0, 3000 - (Date.now() - downAt)))
  t.ok(kiosk.frames.filter((f) => f.type === 'message').length > messagesOnA, 'the turn on A went on meanwhile, for its own kiosk')
  const cpu = b.cpuMs() - cpuBefore
  t.ok(cpu < 0.5 * (Date.now() - downAt), `B did not spin while Redis was down (${cpu} ms CPU in ${Date.now() - downAt} ms)`)

  await redis.start()
  const restartedAt = Date.now()
  // Resume on B where the follower stopped: A writes the turn back, B follows it to the end.
  const lastId = followed.filter((e) => e.id).at(-1)!.id!
  const resumed = await eventually(async () => {
    const response = await fetch(`${b.url}/convo_turn/${turnId}/stream`, { headers: { ...bearer('rita'), 'last-event-id': lastId } })
    if (response.status === 200) return response
    t.equal(((await response.json()) as { retryable: boolean }).retryable, true, `a retryable ${response.status} meanwhile, never a final 404`)
    await sleep(200)
    return undefined
  }, LEASE_MS + 5000)
  t.ok(Date.now() - restartedAt < LEASE_MS + 5000, `B serves the turn again ${Date.now() - restartedAt} ms after the restart`)
  const xreadsBefore = await redis.calls('xread')
  const rest: SseEvent[] = []
  await drain(resumed, rest)
  t.equal(followed.at(-1)!.id, followed.at(-2)!.id, 'the "resume later" error carries the id of the last event it got')
  const all = [...followed.slice(0, -1), ...rest]
  t.ok(idsInOrder(all, turnId), 'every event once, in order, across the outage')
  t.equal(all.filter((e) => e.event === 'message').map((e) => e.data.delta).join(''), words(80).join(''))
  t.equal(all.at(-1)!.event, 'storage')
  const xreads = (await redis.calls('xread')) - xreadsBefore
  t.ok(xreads < 100, `B read the stream ${xreads} times, not in a loop`)
  const frames = await kiosk.turnFrames(turnId)
  t.equal(frames.at(-1)!.type, 'storage', 'the kiosk on A got the whole turn, stored')

  // No gateway restart needed: a new turn on B is followed from A through Redis.
  fake.enqueue({ kind: 'stream', chunks: words(20), delayMs: 20 })
  const next = await TestSocket.open(`${b.wsUrl}/ws`, bearer('rita'))
  next.send({ type: 'turn', animalId: 'lion', message: 'And another one' })
  const nextId = (await next.waitFor((f) => f.type === 'metadata')).turnId!
  const onA: SseEvent[] = []
  await drain(await fetch(`${a.url}/convo_turn/${nextId}/stream`, { headers: bearer('rita') }), onA)
  t.equal(onA.at(-1)!.event, 'storage', 'after the restart turns are shared again')
  next.close()
  kiosk.close()
})

t.test('Redis paused for longer than the lease: no live turn is taken from its instance', async (t) => {
  fake.enqueue({ kind: 'stream', chunks: words(60), delayMs: 100 })
  const kiosk = await TestSocket.open(`${a.wsUrl}/ws`, bearer('paula'))
  kiosk.send({ type: 'turn', animalId: 'lion', message: 'Slowly now' })
  const metadata = await kiosk.waitFor((f) => f.type === 'metadata')
  await kiosk.waitFor((f) => f.type === 'message' && f.data.index === 3)
  redis.pause()
  await sleep(3 * LEASE_MS)
  redis.resume()
  const frames = await kiosk.turnFrames(metadata.turnId!)
  t.equal(frames.at(-1)!.type, 'storage', 'the turn ran to its end on its instance')
  t.equal(frames.filter((f) => f.type === 'message').map((f) => f.data.delta).join(''), words(60).join(''))
  const history = await json(fetch(`${b.url}/convo_history?sessionId=${metadata.data.sessionId}`, { headers: bearer('paula') }))
  t.match(history.turns, [{ status: 'complete' }], 'stored complete, not as interrupted')
  kiosk.close()
})

t.test('a resume whose stream was trimmed waits for the end and is answered from storage, without a busy loop', async (t) => {
  fake.enqueue({ kind: 'stream', chunks: words(120), delayMs: 25 })
  const kiosk = await TestSocket.open(`${a.wsUrl}/ws`, bearer('tess'))
  kiosk.send({ type: 'turn', animalId: 'lion', message: 'Count for me' })
  const turnId = (await kiosk.waitFor((f) => f.type === 'metadata')).turnId!
  await kiosk.waitFor((f) => f.type === 'message' && f.data.index === 100)
  const xreadsBefore = await redis.calls('xread')
  const cpuBefore = b.cpuMs()
  const began = Date.now()
  const resumed: SseEvent[] = []
  await drain(await fetch(`${b.url}/convo_turn/${turnId}/stream`, { headers: { ...bearer('tess'), 'last-event-id': `${turnId}:3` } }), resumed)
  const ms = Date.now() - began
  t.same(resumed.map((e) => e.event), ['complete', 'storage'], 'the ending, from storage (the stream lost what came after :3)')
  t.equal(resumed[0].data.reply, words(120).join(''))
  const xreads = (await redis.calls('xread')) - xreadsBefore
  t.ok(xreads < 20, `${xreads} stream reads in ${ms} ms`)
  const cpu = b.cpuMs() - cpuBefore
  t.ok(cpu < 0.5 * ms, `${cpu} ms CPU in ${ms} ms`)
  kiosk.close()
})

t.test('storage down mid-turn, then a same-key retry on the other instance runs anew', async (t) => {
  fake.enqueue({ kind: 'stream', chunks: words(30), delayMs: 40 })
  const kiosk = await TestSocket.open(`${a.wsUrl}/ws`, bearer('sam'))
  kiosk.send({ type: 'turn', animalId: 'lion', message: 'Tell me about manes', clientTurnId: 'store-1' })
  const metadata = await kiosk.waitFor((f) => f.type === 'metadata')
  await kiosk.waitFor((f) => f.type === 'message' && f.data.index === 3)
  await dynalite.stop()
  const [end] = (await kiosk.turnFrames(metadata.turnId!)).slice(-1)
  t.match(end, { type: 'error', data: { code: 'storage_failed', retryable: true } })
  await dynalite.restart()

  const asked = fake.requests.length
  // As a kiosk does: send again while storage still answers storage_unavailable (the client's breaker is open).
  const retry = await eventually(async () => {
    const response = await fetch(`${b.url}/convo_turn`, {
      method: 'POST', headers: { ...bearer('sam'), 'content-type': 'application/json' },
      body: JSON.stringify({ animalId: 'lion', message: 'Tell me about manes', sessionId: metadata.data.sessionId, clientTurnId: 'store-1' }),
    })
    const body = (await response.json()) as { error?: string; turnId?: string }
    if (body.error === 'storage_unavailable') return sleep(500).then(() => undefined)
    return body
  })
  t.not(retry.turnId, metadata.turnId, 'the retry on B runs anew, as on A')
  t.equal(fake.requests.length, asked + 1, 'the model was asked again, once')
  const history = await json(fetch(`${b.url}/convo_history?sessionId=${metadata.data.sessionId}`, { headers: bearer('sam') }))
  t.same(history.turns.map((turn: { turnId: string; status: string }) => [turn.turnId, turn.status]), [[retry.turnId, 'complete']])
  kiosk.close()
})

// Chaos: two real instances (child processes) on one Redis and one dynalite, and `kill -9` of
// the instance producing turns. Within the lease (1 s here) plus a few seconds the survivor
// adopts its turns: followers end with `error` interrupted, the partial replies are stored as
// failed, a cancel answers the truth, and a retry with the same clientTurnId runs once.
import t from 'tap'
import { bearer, startInstance, startRedisServer, type Instance } from './helpers/cluster.ts'
import { startDynalite } from './helpers/dynalite.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { json } from './helpers/http.ts'
import { readSse, type SseEvent } from './helpers/sse.ts'
import { words } from './helpers/stream.ts'
import { TestSocket, type Frame } from './helpers/ws.ts'

const LEASE_MS = 1000
/** What a client may wait for the end of a crashed instance's turn, at most. */
const BOUND_MS = LEASE_MS + 5000

const fake = await startFakeOpenAI()
t.teardown(() => fake.close())
const dynalite = await startDynalite()
t.teardown(() => dynalite.close())
const redis = await startRedisServer(t)
const env = {
  REDIS_URL: redis.url, DYNAMODB_ENDPOINT: dynalite.endpoint, OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url,
  TURN_LEASE_MS: String(LEASE_MS), STREAM_BUFFER_TTL_MS: '60000', RATE_LIMIT_TURNS_PER_MINUTE: '1000',
}

// Started together (each takes seconds); B survives the first test and serves the second too.
const [doomed, b] = await Promise.all([startInstance(t, env), startInstance(t, env)])

const history = async (at: Instance, user: string, sessionId: string) =>
  (await json(fetch(`${at.url}/convo_history?sessionId=${sessionId}`, { headers: bearer(user) }))).turns as Array<Record<string, unknown>>

t.test('SIGKILL of the producer mid-turn: followers get interrupted in time, the partial is stored, a retry runs once', async (t) => {
  const a = doomed
  fake.enqueue({ kind: 'stream', chunks: words(200), delayMs: 50 })
  const kiosk = await TestSocket.open(`${a.wsUrl}/ws`, bearer('alice'))
  kiosk.send({ type: 'turn', animalId: 'lion', message: 'Tell me a long story', clientTurnId: 'crash-1' })
  const metadata = await kiosk.waitFor((f) => f.type === 'metadata')
  const turnId = metadata.turnId!
  const sessionId = metadata.data.sessionId as string
  await kiosk.waitFor((f) => f.type === 'message' && f.data.index === 3)

  // Followers on B: a resumed WebSocket and an SSE stream.
  const follower = await TestSocket.open(`${b.wsUrl}/ws`, bearer('alice'))
  follower.send({ type: 'resume', turnId, lastEventId: kiosk.frames.at(-1)!.id })
  const sse: SseEvent[] = []
  const sseDone = (async () => {
    for await (const event of readSse(await fetch(`${b.url}/convo_turn/${turnId}/stream`, { headers: bearer('alice') }))) sse.push(event)
  })()
  await follower.waitFor((f) => f.type === 'message')
  const asked = fake.requests.length

  a.child.kill('SIGKILL')
  const killedAt = Date.now()
  const [end] = (await follower.turnFrames(turnId)).slice(-1)
  const waited = Date.now() - killedAt
  t.match(end, { type: 'error', data: { code: 'interrupted', retryable: true } }, 'the follower on B got interrupted')
  t.ok(waited < BOUND_MS, `within lease + 5 s (${waited} ms)`)
  await sseDone
  t.match(sse.at(-1), { event: 'error', data: { code: 'interrupted' } }, 'the SSE follower too, and its stream ended')
  const ids = sse.map((e) => e.id)
  t.equal(new Set(ids).size, ids.length, 'no event twice')

  const cancel = await fetch(`${b.url}/convo_turn/${turnId}`, { method: 'DELETE', headers: bearer('alice') })
  t.equal(cancel.status, 409, 'a cancel of the dead turn answers not_running, not 202')

  const [stored] = await history(b, 'alice', sessionId)
  t.match(stored, { turnId, status: 'failed' }, 'the partial reply is stored as failed')
  const shown = follower.frames.filter((f) => f.type === 'message').at(-1)!
  t.ok((stored.reply as string).length > 0 && words(200).join('').startsWith(stored.reply as string), 'with the text produced before the crash')
  t.ok((stored.reply as string).length >= (shown.data.delta as string).length)
  const { sessions } = await json(fetch(`${b.url}/convo_history`, { headers: bearer('alice') }))
  t.match(sessions, [{ sessionId, messageCount: 2 }], 'its session (opened by this first turn) is stored with it, in the child\'s list')

  const retry = async () => json(fetch(`${b.url}/convo_turn`, {
    method: 'POST', headers: { ...bearer('alice'), 'content-type': 'application/json' },
    body: JSON.stringify({ animalId: 'lion', message: 'Tell me a long story', sessionId, clientTurnId: 'crash-1' }),
  }))
  const first = await retry()
  t.not(first.turnId, turnId, 'the retry on the survivor runs anew')
  t.match(first, { reply: String }, 'and completes')
  const second = await retry()
  t.equal(second.turnId, first.turnId, 'once: a further retry gets that turn')
  t.equal(fake.requests.length, asked + 1, 'the model was asked once more, not twice')
  t.same((await history(b, 'alice', sessionId)).map((turn) => turn.status), ['failed', 'complete'], 'nothing stored twice')

  const replay: SseEvent[] = []
  for await (const event of readSse(await fetch(`${b.url}/convo_turn/${turnId}/stream`, { headers: bearer('alice') }))) replay.push(event)
  t.match(replay.at(-1), { event: 'error', data: { code: 'interrupted' } }, 'a later resume of the dead turn ends the same way')
})

/** One kiosk as the real ones behave: reconnect and resume after a drop, send again (same key) after a retryable error. */
async function kiosk(i: number, first: Instance, survivor: Instance) {
  const user = `kiosk-${i}`
  const body = { type: 'turn', animalId: 'lion', message: `Question number ${i}`, clientTurnId: `ask-${i}` }
  let socket = await TestSocket.open(`${first.wsUrl}/ws`, bearer(user))
  socket.send(body)
  const turnIds = new Set<string>()
  let sessionId: string | undefined
  let seen: Frame | undefined
  for (let attempt = 0; attempt < 5; attempt++) {
    const final = await socket.waitFor((f) => f.turnId !== null && !turnIds.has(`${f.turnId}:done`) && (f.type === 'storage' || f.type === 'error'), 20000)
      .catch(() => undefined)
    for (const frame of socket.frames) {
      if (frame.type === 'metadata') { turnIds.add(frame.turnId!); sessionId = frame.data.sessionId as string }
      if (frame.id) seen = frame
    }
    if (final?.type === 'storage') return { user, sessionId: sessionId!, turnIds, completed: true }
    if (final) {
      turnIds.add(`${final.turnId}:done`)
      socket.send({ ...body, sessionId })
      continue
    }
    // The socket dropped (its instance died): reconnect to the survivor and resume.
    socket = await TestSocket.open(`${survivor.wsUrl}/ws`, bearer(user))
    socket.send({ type: 'resume', turnId: seen!.turnId, lastEventId: seen!.id })
  }
  return { user, sessionId: sessionId!, turnIds, completed: false }
}

t.test('50 kiosks across a SIGKILL: every question answered and stored once, none lost, none duplicated', async (t) => {
  const a = await startInstance(t, env)
  const requestsBefore = fake.requests.length
  for (let i = 0; i < 50; i++) fake.enqueue({ kind: 'stream', chunks: words(40), delayMs: 50 })
  const started = Array.from({ length: 50 }, (_, i) => kiosk(i, i % 2 === 0 ? a : b, b))
  // Every turn is under way (the fake has begun all 50 answers), then A dies.
  const deadline = Date.now() + 10000
  while (fake.requests.length < requestsBefore + 50 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  await new Promise((resolve) => setTimeout(resolve, 300))
  a.child.kill('SIGKILL')
  const kiosks = await Promise.all(started)

  const turnsStarted = new Set(kiosks.flatMap((k) => [...k.turnIds].filter((id) => !id.endsWith(':done'))))
  let stored = 0
  let duplicated = 0
  let lost = 0
  let interrupted = 0
  for (const k of kiosks) {
    const turns = await history(b, k.user, k.sessionId)
    const complete = turns.filter((turn) => turn.status === 'complete').length
    stored += complete
    duplicated += Math.max(0, complete - 1)
    if (complete === 0) lost++
    interrupted += turns.filter((turn) => turn.status === 'failed').length
  }
  t.equal(kiosks.filter((k) => k.completed).length, 50, 'completed: 50')
  t.equal(turnsStarted.size, 75, 'started: 50, and 25 again after the crash')
  t.equal(stored, 50, 'stored complete: 50')
  t.equal(interrupted, 25, 'the 25 interrupted turns are stored as failed')
  t.equal(duplicated, 0, 'duplicated: 0')
  t.equal(lost, 0, 'lost: 0')
  t.equal(fake.requests.length - requestsBefore, 75, 'the model was asked 75 times: once per turn')
})

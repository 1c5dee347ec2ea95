// The client library (client/) against the real gateway over real sockets: a turn streams, a
// connection cut mid-reply is reconnected and resumed with every event once, a restarted server is
// found again by itself, a message typed while it was down goes out once, cancel, SSE, and a token
// about to expire is replaced without the visitor noticing.
import t from 'tap'
import { GatewayClient, backoffDelay, type Turn, type TurnEvent } from '../client/index.js'
import { startApp } from './helpers/app.ts'
import { startCutProxy } from './helpers/cut-proxy.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { startRestartableGateway } from './helpers/restartable.ts'
import { eventually, idsInOrder, sleep, words } from './helpers/stream.ts'

const fake = await startFakeOpenAI()
t.teardown(() => fake.close())
const model = { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url }
const fastBackoff = { baseMs: 50, maxMs: 400 }

/** Every event a turn took, in order. */
function recordEvents(turn: Turn): TurnEvent[] {
  const events: TurnEvent[] = []
  turn.on('event', (event) => events.push(event))
  return events
}

/** Resolves once `count` deltas have arrived. */
const deltas = (turn: Turn, count: number) => new Promise<void>((resolve) => {
  let seen = 0
  const off = turn.on('delta', () => { if (++seen === count) { off(); resolve() } })
})

t.test('backoff: full jitter over an exponentially growing window, capped', async (t) => {
  t.equal(backoffDelay(0, { baseMs: 100, maxMs: 1000, random: () => 0.999 }), 99)
  t.equal(backoffDelay(3, { baseMs: 100, maxMs: 1000, random: () => 0.999 }), 799)
  t.equal(backoffDelay(10, { baseMs: 100, maxMs: 1000, random: () => 0.999 }), 999, 'capped at maxMs')
  t.equal(backoffDelay(5, { baseMs: 100, maxMs: 1000, random: () => 0 }), 0, 'full jitter reaches down to zero')
})

t.test('over the real gateway', async (t) => {
  const { app, url, token } = await startApp(t, { ...model, STORAGE: 'memory' })
  const proxy = await startCutProxy(t, Number(new URL(url).port))

  t.test('a turn streams its reply over one WebSocket', async (t) => {
    fake.enqueue({ kind: 'stream', chunks: words(6) })
    const client = new GatewayClient({ url: proxy.url, getToken: () => token('kid-1') })
    t.teardown(() => client.close())
    const states: string[] = []
    client.on('state', (state) => states.push(state))
    const turn = client.startTurn({ animalId: 'lion', message: 'Tell me a story' })
    const texts: string[] = []
    turn.on('text', (text) => texts.push(text))
    const events = recordEvents(turn)
    await turn.done
    t.equal(turn.state, 'complete')
    t.equal(turn.saved, true, 'the storage event arrived')
    t.equal(turn.text, words(6).join(''))
    t.equal(texts.length, 6, 'the text grew delta by delta')
    t.ok(idsInOrder(events, turn.turnId!), 'every event once, in order')
    t.same(states, ['connecting', 'online'])
  })

  t.test('the connection is cut mid-reply: the client reconnects and resumes, every event once', async (t) => {
    fake.enqueue({ kind: 'stream', chunks: words(30), delayMs: 30 })
    const requestsBefore = fake.requests.length
    const client = new GatewayClient({ url: proxy.url, getToken: () => token('kid-2'), backoff: fastBackoff })
    t.teardown(() => client.close())
    const disconnects: number[] = []
    client.on('disconnect', ({ code }) => disconnects.push(code))
    const turn = client.startTurn({ animalId: 'lion', message: 'A long story please' })
    const events = recordEvents(turn)
    const connectionsBefore = proxy.connections
    await deltas(turn, 5)
    proxy.cut()
    await turn.done
    t.equal(turn.state, 'complete')
    t.equal(turn.text, words(30).join(''), 'the whole reply, no word twice')
    t.ok(idsInOrder(events, turn.turnId!), 'each event exactly once across the two sockets')
    t.ok(proxy.connections > connectionsBefore, 'a new connection was opened')
    t.ok(disconnects.length >= 1, 'the drop was seen')
    t.equal(fake.requests.length - requestsBefore, 1, 'the model was asked once')
  })

  t.test('over SSE: cut mid-reply, resumed with Last-Event-ID', async (t) => {
    fake.enqueue({ kind: 'stream', chunks: words(30), delayMs: 30 })
    const client = new GatewayClient({ url: proxy.url, getToken: () => token('kid-3'), transport: 'sse', backoff: fastBackoff })
    t.teardown(() => client.close())
    const turn = client.startTurn({ animalId: 'penguin', message: 'Tell me about ice' })
    const events = recordEvents(turn)
    await deltas(turn, 5)
    proxy.cut()
    await turn.done
    t.equal(turn.state, 'complete')
    t.equal(turn.text, words(30).join(''))
    t.ok(idsInOrder(events, turn.turnId!), 'each event exactly once across the two requests')
  })

  t.test('cancel stops the turn; the partial reply is stored as cancelled', async (t) => {
    fake.enqueue({ kind: 'stream', chunks: words(50), delayMs: 30 })
    const client = new GatewayClient({ url: proxy.url, getToken: () => token('kid-4') })
    t.teardown(() => client.close())
    const turn = client.startTurn({ animalId: 'lion', message: 'Count to fifty' })
    await deltas(turn, 3)
    turn.cancel()
    await turn.done
    t.equal(turn.state, 'cancelled')
    const history = await app.inject({ url: `/convo_history?sessionId=${turn.sessionId}`, headers: { authorization: `Bearer ${token('kid-4')}` } })
    t.match(history.json().turns, [{ status: 'cancelled' }])
  })

  t.test('a conversation keeps its session, and a second message waits for the first to name it', async (t) => {
    const client = new GatewayClient({ url: proxy.url, getToken: () => token('kid-5') })
    t.teardown(() => client.close())
    const { Conversation } = await import('../client/index.js')
    const convo = new Conversation(client, { animalId: 'giraffe' })
    const first = convo.send('How tall are you?')
    const second = convo.send('What do you eat?')
    await Promise.all([first.done, second.done])
    t.equal(first.state, 'complete')
    t.equal(second.state, 'complete')
    t.equal(second.sessionId, first.sessionId, 'one session for both')
    t.equal(convo.sessionId, first.sessionId)
  })

  t.test('a bad request fails the turn at once, without retries', async (t) => {
    const client = new GatewayClient({ url: proxy.url, getToken: () => token('kid-6') })
    t.teardown(() => client.close())
    const turn = client.startTurn({ animalId: 'unicorn', message: 'Hello?' })
    await turn.done
    t.equal(turn.state, 'failed')
    t.equal(turn.error?.code, 'not_found')
    t.equal(turn.attempt, 0)
  })
})

t.test('the server restarts under the client: it reconnects by itself, and a message typed meanwhile goes out once', async (t) => {
  const gateway = await startRestartableGateway(t, model)
  const client = new GatewayClient({ url: gateway.url, getToken: () => gateway.token('kiosk-restart'), backoff: fastBackoff })
  t.teardown(() => client.close())
  const first = client.startTurn({ animalId: 'lion', message: 'Hello Leo' })
  await first.done
  t.equal(first.state, 'complete')

  const disconnects: number[] = []
  const reconnects: Array<{ attempt: number; delayMs: number }> = []
  client.on('disconnect', ({ code }) => disconnects.push(code))
  client.on('reconnecting', (r) => reconnects.push(r))
  await gateway.stop()
  t.same(disconnects, [1012], 'closed with 1012, service restart')
  await eventually(async () => (reconnects.length >= 3 ? true : undefined))
  t.equal(client.state, 'reconnecting')
  reconnects.forEach(({ attempt, delayMs }) => {
    t.ok(delayMs >= 0 && delayMs < Math.min(fastBackoff.maxMs, fastBackoff.baseMs * 2 ** (attempt - 1)), `attempt ${attempt} waits within its jitter window`)
  })

  fake.enqueue({ kind: 'stream', chunks: words(5) })
  const requestsBefore = fake.requests.length
  const queued = client.startTurn({ animalId: 'lion', message: 'Are you still there?', sessionId: first.sessionId })
  await sleep(100)
  t.equal(queued.state, 'queued', 'offline: the message waits')

  await gateway.start()
  await queued.done
  t.equal(queued.state, 'complete')
  t.equal(client.state, 'online')
  t.equal(queued.text, words(5).join(''))
  t.equal(fake.requests.length - requestsBefore, 1, 'the model was asked once')
  const history = await gateway.app.inject({ url: `/convo_history?sessionId=${first.sessionId}`, headers: { authorization: `Bearer ${gateway.token('kiosk-restart')}` } })
  t.same(history.json().turns.map((turn: { userMessage: string }) => turn.userMessage), ['Hello Leo', 'Are you still there?'], 'stored once, in the same session')
})

t.test('a token about to expire is replaced on the open socket: the client keeps working past the old token\'s expiry', async (t) => {
  const { url, app } = await startApp(t, { STORAGE: 'memory', JWT_CLOCK_TOLERANCE_SECONDS: '0' })
  const now = () => Math.floor(Date.now() / 1000)
  // @fastify/jwt's payload type names sub and role only; exp is a standard claim it signs as given.
  const sign = (exp: number) => app.jwt.sign({ sub: 'kiosk-rotate', role: 'user', exp } as { sub: string; role: 'user' })
  const tokens = [sign(now() + 3)]
  const client = new GatewayClient({ url, getToken: () => tokens.at(-1), backoff: fastBackoff })
  t.teardown(() => client.close())
  const disconnects: number[] = []
  client.on('disconnect', ({ code }) => disconnects.push(code))
  const first = client.startTurn({ animalId: 'lion', message: 'Hi' })
  await first.done
  tokens.push(sign(now() + 600)) // the new token is ready before the old one runs out
  const acknowledged = new Promise((resolve) => client.once('auth', resolve))
  t.match(await acknowledged, { expiresAt: Number }, 'the server took the new token (auth frame)')
  await sleep(Math.max(0, (now() + 1) * 1000 - Date.now()) + 3000) // the first token has expired
  const later = client.startTurn({ animalId: 'lion', message: 'Still here?', sessionId: first.sessionId })
  await later.done
  t.equal(later.state, 'complete', 'a turn after the old token expired still works')
  t.equal(client.state, 'online')
  t.same(disconnects, [], 'on the same socket: no reconnect')
})

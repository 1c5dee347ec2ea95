// One conversation turn end to end over JSON and SSE, with history, against dynalite.
import t from 'tap'
import { startApp } from './helpers/app.ts'
import { json } from './helpers/http.ts'
import { collectSse } from './helpers/sse.ts'

const { url, auth } = await startApp(t, { STORAGE: 'memory' })

const post = (body: unknown, headers: Record<string, string> = auth('alice'), path = '/convo_turn') =>
  fetch(url + path, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) })

t.test('a JSON turn answers with the contract fields and is stored', async (t) => {
  const res = await post({ animalId: 'lion', message: 'What do you eat?' })
  t.equal(res.status, 200)
  const body = await json(res)
  t.match(body, { sessionId: String, turnId: String, animalId: 'lion', reply: String, model: 'offline', createdAt: String, latencyMs: Number })
  t.ok(body.reply.length > 10, 'the reply says something')
  t.ok(body.usage.totalTokens > 0, 'usage is counted')
  t.equal(body.usage.totalTokens, body.usage.promptTokens + body.usage.completionTokens)

  const history = await json(fetch(`${url}/convo_history?sessionId=${body.sessionId}`, { headers: auth('alice') }))
  t.equal(history.turns.length, 1)
  t.match(history.turns[0], { turnId: body.turnId, userMessage: 'What do you eat?', reply: body.reply, status: 'complete', model: 'offline' })
  t.equal(history.nextCursor, null)
})

t.test('a session continues, and its turns come back oldest first', async (t) => {
  const first = await json(post({ animalId: 'penguin', message: 'Hello!' }))
  const second = await json(post({ animalId: 'penguin', message: 'Can you fly?', sessionId: first.sessionId }))
  t.equal(second.sessionId, first.sessionId)
  const history = await json(fetch(`${url}/convo_history?sessionId=${first.sessionId}`, { headers: auth('alice') }))
  t.same(history.turns.map((turn: { userMessage: string }) => turn.userMessage), ['Hello!', 'Can you fly?'])

  const sessions = await json(fetch(`${url}/convo_history`, { headers: auth('alice') }))
  t.equal(sessions.sessions[0].sessionId, first.sessionId, 'the most recently active session comes first')
  t.match(sessions.sessions[0], { animalId: 'penguin', userId: 'alice', messageCount: Number })
})

t.test('SSE streams metadata, typing, message deltas, complete and storage with increasing ids', async (t) => {
  const res = await post({ animalId: 'lion', message: 'How loud is your roar?' }, { ...auth('alice'), accept: 'text/event-stream' })
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/event-stream/)
  const events = await collectSse(res)
  const types = events.map((e) => e.event)
  t.same(types.slice(0, 2), ['metadata', 'typing'])
  t.same(types.slice(-3), ['typing', 'complete', 'storage'])
  const deltas = events.filter((e) => e.event === 'message')
  t.ok(deltas.length > 1, 'several message deltas')
  const { turnId, sessionId } = events[0].data as { turnId: string; sessionId: string }
  t.same(events.map((e) => e.id), events.map((_, seq) => `${turnId}:${seq}`), 'ids are <turnId>:<seq>, in order')
  const complete = events.find((e) => e.event === 'complete')!.data
  t.equal(complete.reply, deltas.map((e) => e.data.delta).join(''), 'complete.reply is the deltas joined')
  t.same(deltas.map((e) => e.data.index), deltas.map((_, i) => i))
  t.match(events.at(-1)!.data, { stored: true, sessionId, turnId })
})

t.test('?stream=true negotiates SSE as well', async (t) => {
  const res = await post({ animalId: 'lion', message: 'Where do you sleep?' }, auth('alice'), '/convo_turn?stream=true')
  t.match(res.headers.get('content-type'), /^text\/event-stream/)
  t.equal((await collectSse(res)).at(-1)!.event, 'storage')
})

t.test('bad input answers 400 naming the field, never 500', async (t) => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['blank message', { animalId: 'lion', message: '   ' }, /message/],
    ['empty message', { animalId: 'lion', message: '' }, /message/],
    ['missing message', { animalId: 'lion' }, /message/],
    ['message too long', { animalId: 'lion', message: 'a'.repeat(2001) }, /message/],
    ['message of the wrong type', { animalId: 'lion', message: 42 }, /message/],
    ['missing animalId', { message: 'hi' }, /animalId/],
    ['unknown field', { animalId: 'lion', message: 'hi', mood: 'happy' }, /mood/],
    ['malformed JSON', '{"animalId": "lion", "message": ', /JSON/i],
  ]
  for (const [name, body, field] of cases) {
    const res = await post(body)
    t.equal(res.status, 400, name)
    const error = await json(res)
    t.equal(error.error, 'bad_request', `${name}: error code`)
    t.match(error.message, field, `${name}: message names the field`)
  }
  const notJson = await post('animalId=lion', { ...auth('alice'), 'content-type': 'application/x-www-form-urlencoded' })
  t.equal(notJson.status, 415, 'a body that is not JSON')
  t.equal((await json(notJson)).error, 'unsupported_media_type')
  const padded = await post({ animalId: 'lion', message: `  ${'a'.repeat(2000)}  ` })
  t.equal(padded.status, 200, '2000 characters after trimming is fine')
})

t.test('unknown animals and other people\'s sessions are 404', async (t) => {
  const unknown = await post({ animalId: 'unicorn', message: 'hi' })
  t.equal(unknown.status, 404)
  t.match((await json(unknown)).message, /unicorn/)

  const mine = await json(post({ animalId: 'lion', message: 'hi' }))
  const theirs = await post({ animalId: 'lion', message: 'hi', sessionId: mine.sessionId }, auth('bob'))
  t.equal(theirs.status, 404, 'bob cannot continue alice\'s session')
  const missing = await post({ animalId: 'lion', message: 'hi', sessionId: 'no-such-session' })
  t.equal(missing.status, 404)
  const readTheirs = await fetch(`${url}/convo_history?sessionId=${mine.sessionId}`, { headers: auth('bob') })
  t.equal(readTheirs.status, 404, 'bob cannot read it either')
  const wrongAnimal = await post({ animalId: 'penguin', message: 'hi', sessionId: mine.sessionId })
  t.equal(wrongAnimal.status, 400, 'a session stays with its animal')
})

t.test('a missing, malformed or badly signed token is 401 with a JSON error', async (t) => {
  const body = { animalId: 'lion', message: 'hi' }
  for (const [name, headers] of [
    ['no token', {}],
    ['not a bearer token', { authorization: 'Basic abc' }],
    ['malformed', { authorization: 'Bearer not.a.jwt' }],
    ['wrong signature', { authorization: `Bearer ${auth('alice').authorization.split(' ')[1].slice(0, -4)}AAAA` }],
  ] as const) {
    const res = await post(body, headers)
    t.equal(res.status, 401, name)
    t.equal((await json(res)).error, 'unauthorized', name)
  }
  const queryToken = await post(body, {}, `/convo_turn?access_token=${auth('alice').authorization.split(' ')[1]}`)
  t.equal(queryToken.status, 401, 'a query token is not accepted on POST /convo_turn')
})

// A turn through the real openai SDK against a fake OpenAI-compatible server that streams real
// chat.completion.chunk frames.
import t from 'tap'
import { startApp } from './helpers/app.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { json } from './helpers/http.ts'
import { collectSse } from './helpers/sse.ts'

const fake = await startFakeOpenAI()
t.teardown(() => fake.close())
const { url, auth } = await startApp(t, { STORAGE: 'memory', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, OPENAI_MODEL: 'gpt-test' })

const turn = (body: object, headers: Record<string, string> = {}) =>
  fetch(`${url}/convo_turn`, { method: 'POST', headers: { ...auth('alice'), 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

t.test('the model\'s chunks stream through as message deltas, with its usage stored', async (t) => {
  fake.enqueue({ kind: 'stream', chunks: ['I eat ', 'zebras ', 'and antelope.'] })
  const events = await collectSse(await turn({ animalId: 'lion', message: 'What do you eat?' }, { accept: 'text/event-stream' }))
  // The output guard releases text once checked ("eat" waits for the word after it: "eat bleach"?).
  const deltas = events.filter((e) => e.event === 'message').map((e) => e.data.delta)
  t.ok(deltas.length > 1, 'streamed in pieces')
  t.equal(deltas.join(''), 'I eat zebras and antelope.')
  t.equal(events[0].data.model, 'gpt-test')
  const complete = events.find((e) => e.event === 'complete')!.data
  t.match(complete, { reply: 'I eat zebras and antelope.', finishReason: 'stop', usage: { completionTokens: 3 } })
  t.notOk((complete.usage as { estimated?: boolean }).estimated, 'usage came from the upstream')

  const sent = fake.requests.at(-1)!.body
  t.equal(sent.model, 'gpt-test')
  t.equal(sent.stream, true)
  t.match(sent.messages[0], { role: 'system', content: /Leo/ })
  t.same(sent.messages.at(-1), { role: 'user', content: 'What do you eat?' })

  const sessionId = events[0].data.sessionId
  const history = await json(fetch(`${url}/convo_history?sessionId=${sessionId}`, { headers: auth('alice') }))
  t.match(history.turns[0], { reply: 'I eat zebras and antelope.', status: 'complete', model: 'gpt-test', usage: { completionTokens: 3 } })
})

t.test('the next turn of a session sends the earlier turn as context', async (t) => {
  fake.enqueue({ kind: 'stream', chunks: ['Meat!'] }, { kind: 'stream', chunks: ['Lots!'] })
  const first = await json(turn({ animalId: 'lion', message: 'What do you eat?' }))
  await json(turn({ animalId: 'lion', message: 'How much?', sessionId: first.sessionId }))
  const messages = fake.requests.at(-1)!.body.messages
  t.same(messages.slice(1), [
    { role: 'user', content: 'What do you eat?' },
    { role: 'assistant', content: 'Meat!' },
    { role: 'user', content: 'How much?' },
  ])
})

// MODERATION=openai against a fake moderation endpoint: it adds to the local checks when it is
// up, on the message and on the finished reply, and when it is down or slow the local checks
// decide alone: the turn never fails and never waits past MODERATION_TIMEOUT_MS.
import t from 'tap'
import { startApp } from './helpers/app.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { json } from './helpers/http.ts'
import { collectSse } from './helpers/sse.ts'

const fake = await startFakeOpenAI()
t.teardown(() => fake.close())
const { url, auth } = await startApp(t, {
  OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, OPENAI_MODEL: 'gpt-test', MODERATION: 'openai', MODERATION_TIMEOUT_MS: '300',
})
const post = (body: object, headers: Record<string, string> = {}) =>
  fetch(`${url}/convo_turn`, { method: 'POST', headers: { ...auth('alice'), 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) })

t.test('up: the service flags what the local rules miss, before the model is asked; it sees the scrubbed text', async (t) => {
  fake.setModeration({ flagged: ['self-harm/intent'], match: /disappear/ })
  const asked = fake.requests.length
  const answer = await json(post({ animalId: 'lion', message: 'my name is Emma and I feel like I should just disappear' }))
  t.equal(fake.requests.length, asked, 'the model was not asked')
  t.match(answer.reply, /not your fault/)
  const sent = fake.moderationRequests.at(-1)!.body
  t.equal(sent.input, 'my name is [name] and I feel like I should just disappear')
  t.equal(sent.model, 'omni-moderation-latest')
})

t.test('up: a finished reply the service flags is replaced by the safe reply', async (t) => {
  fake.setModeration({ flagged: ['violence/graphic'], match: /bite them hard/ })
  fake.enqueue({ kind: 'stream', chunks: ['I ', 'bite ', 'them ', 'hard.'] })
  const events = await collectSse(await post({ animalId: 'lion', message: 'what do you do to zebras?' }, { accept: 'text/event-stream' }))
  const replaced = events.find((e) => e.event === 'replace')
  t.match(replaced?.data, { reply: /lost my train of thought/, reason: 'violence' })
  const complete = events.find((e) => e.event === 'complete')!.data
  t.match(complete.safety, { flags: [{ category: 'violence', severity: 'high', source: 'output' }] })
  t.ok(fake.moderationRequests.some((r) => r.body.input === 'I bite them hard.'), 'the reply was sent for moderation')
})

t.test('down: the local checks decide and the turn goes on', async (t) => {
  fake.setModeration({ status: 500 })
  fake.enqueue({ kind: 'stream', chunks: ['I ', 'love ', 'naps.'] })
  const answer = await json(post({ animalId: 'lion', message: 'do you like naps?' }))
  t.equal(answer.reply, 'I love naps.')
  const support = await json(post({ animalId: 'lion', message: 'my dad hits me' }))
  t.match(support.reply, /not your fault/)
})

t.test('slow: past MODERATION_TIMEOUT_MS the local verdict stands, and the turn is not held up', async (t) => {
  fake.setModeration({ flagged: ['violence'], delayMs: 3000 })
  fake.enqueue({ kind: 'stream', chunks: ['Roar!'] })
  const started = Date.now()
  const answer = await json(post({ animalId: 'lion', message: 'can you roar?' }))
  t.equal(answer.reply, 'Roar!', 'the late flag never arrived in time to matter')
  t.ok(Date.now() - started < 2000, `answered in ${Date.now() - started} ms`)
  fake.setModeration({})
})

// /metrics counts the model's replies by model and status, and times the first token.
import t from 'tap'
import { startApp } from './helpers/app.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { TestSocket } from './helpers/ws.ts'

const fake = await startFakeOpenAI()
t.teardown(() => fake.close())

const scrape = async (url: string) => (await fetch(`${url}/metrics`)).text()
/** The value of one sample line, e.g. sample(text, 'llm_replies_total{model="x",status="complete"}'); 0 when absent. */
const sample = (text: string, series: string) => Number(text.split('\n').find((line) => line.startsWith(`${series} `))?.slice(series.length + 1) ?? 0)

t.test('replies by model and status: complete, failed, aborted, and the offline fallback', async (t) => {
  const env = { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, OPENAI_MODEL: 'gpt-test', OPENAI_MAX_RETRIES: '0', OPENAI_TIMEOUT_MS: '5000' }
  const strict = await startApp(t, { ...env, STORAGE: 'memory', LLM_FALLBACK: 'none' })
  const turn = (url: string, message: string) => fetch(`${url}/convo_turn`, {
    method: 'POST', headers: { ...strict.auth('alice'), 'content-type': 'application/json' }, body: JSON.stringify({ animalId: 'lion', message }),
  })

  fake.enqueue({ kind: 'stream', chunks: ['Roar!'] }, { kind: 'status', status: 500 })
  t.equal((await turn(strict.url, 'Hi')).status, 200)
  t.equal((await turn(strict.url, 'Hi again')).status, 502)

  const ws = await TestSocket.open(`${strict.wsUrl}/ws`, strict.auth('alice'))
  t.teardown(() => ws.close())
  fake.enqueue({ kind: 'stall', afterChunks: 1, chunks: ['Well, ', 'you see'] })
  ws.send({ type: 'turn', animalId: 'lion', message: 'Tell me more' })
  const first = await ws.waitFor((f) => f.type === 'message')
  ws.send({ type: 'cancel', turnId: first.turnId })
  await ws.turnFrames(first.turnId!)

  const text = await scrape(strict.url)
  t.equal(sample(text, 'llm_replies_total{model="gpt-test",status="complete"}'), 1)
  t.equal(sample(text, 'llm_replies_total{model="gpt-test",status="failed"}'), 1)
  t.equal(sample(text, 'llm_replies_total{model="gpt-test",status="aborted"}'), 1)
  t.equal(sample(text, 'llm_first_token_seconds_count{model="gpt-test"}'), 2, 'the complete and the aborted reply had a first token')

  const lenient = await startApp(t, { ...env, STORAGE: 'memory', LLM_FALLBACK: 'offline' })
  fake.enqueue({ kind: 'status', status: 500 })
  t.equal((await turn(lenient.url, 'What do you eat?')).status, 200)
  const fallback = await scrape(lenient.url)
  t.equal(sample(fallback, 'llm_replies_total{model="offline (fallback from gpt-test)",status="complete"}'), 1)
  t.equal(sample(fallback, 'llm_first_token_seconds_count{model="offline (fallback from gpt-test)"}'), 1)
})

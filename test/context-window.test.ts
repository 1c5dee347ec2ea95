// The context a turn sends upstream: the last CONTEXT_MESSAGES (10) messages of the session's
// completed turns, oldest first, alternating; cancelled and failed turns are never fed back.
import t from 'tap'
import { startApp } from './helpers/app.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { json } from './helpers/http.ts'
import { TestSocket } from './helpers/ws.ts'

const fake = await startFakeOpenAI()
t.teardown(() => fake.close())
const { url, wsUrl, auth } = await startApp(t, {
  STORAGE: 'memory',
  OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, OPENAI_MAX_RETRIES: '0', OPENAI_TIMEOUT_MS: '5000', LLM_FALLBACK: 'none',
})

let sessionId: string | undefined
/** One JSON turn in the shared session, answered `reply` by the fake. */
async function say(message: string, reply: string): Promise<void> {
  fake.enqueue({ kind: 'stream', chunks: [reply] })
  const res = await json(fetch(`${url}/convo_turn`, {
    method: 'POST',
    headers: { ...auth('kid'), 'content-type': 'application/json' },
    body: JSON.stringify({ animalId: 'giraffe', message, sessionId }),
  }))
  sessionId = res.sessionId
}
/** A turn that fails (the fake answers 400, not retried): stored with status failed. */
async function fail(message: string): Promise<void> {
  fake.enqueue({ kind: 'status', status: 400 })
  const res = await fetch(`${url}/convo_turn`, {
    method: 'POST',
    headers: { ...auth('kid'), 'content-type': 'application/json' },
    body: JSON.stringify({ animalId: 'giraffe', message, sessionId }),
  })
  if (res.status !== 502) throw new Error(`expected 502, got ${res.status}`)
}
const contextSent = () => fake.requests.at(-1)!.body.messages.slice(1, -1)
const pair = (n: number) => [{ role: 'user', content: `question ${n}` }, { role: 'assistant', content: `answer ${n}` }]

t.test('at the 13th turn, the last 10 messages go upstream, oldest first, alternating', async (t) => {
  for (let n = 1; n <= 12; n++) await say(`question ${n}`, `answer ${n}`)
  await say('question 13', 'answer 13')
  const messages = fake.requests.at(-1)!.body.messages
  t.equal(messages[0].role, 'system')
  t.same(contextSent(), [8, 9, 10, 11, 12].flatMap(pair))
  t.same(messages.at(-1), { role: 'user', content: 'question 13' })
})

t.test('a cancelled or failed turn\'s partial reply is not fed back', async (t) => {
  // A failure after the first token keeps a partial reply (stored as failed).
  fake.enqueue({ kind: 'drop', afterChunks: 1, chunks: ['half a failed ', 'answer'] })
  const res = await fetch(`${url}/convo_turn`, {
    method: 'POST',
    headers: { ...auth('kid'), 'content-type': 'application/json', accept: 'text/event-stream' },
    body: JSON.stringify({ animalId: 'giraffe', message: 'question failed', sessionId }),
  })
  await res.text()

  // A cancel over the kiosk socket keeps a partial reply (stored as cancelled).
  const ws = await TestSocket.open(`${wsUrl}/ws`, auth('kid'))
  t.teardown(() => ws.close())
  fake.enqueue({ kind: 'stall', afterChunks: 1, chunks: ['half a cancelled ', 'answer'] })
  ws.send({ type: 'turn', animalId: 'giraffe', message: 'question cancelled', sessionId })
  const first = await ws.waitFor((f) => f.type === 'message')
  ws.send({ type: 'cancel', turnId: first.turnId })
  await ws.turnFrames(first.turnId!)

  const stored = await json(fetch(`${url}/convo_history?sessionId=${sessionId}&limit=100`, { headers: auth('kid') }))
  t.same(stored.turns.slice(-2).map((turn: any) => [turn.status, turn.reply]), [['failed', 'half a failed '], ['cancelled', 'half a cancelled ']])

  await say('question 14', 'answer 14')
  t.same(contextSent(), [9, 10, 11, 12, 13].flatMap(pair))
})

t.test('many skipped turns in a row still leave the window full of earlier completed turns', async (t) => {
  // With the two above, 8 of the last 10 turns are skipped: older turns are read to fill the window.
  for (let n = 0; n < 6; n++) await fail(`question lost ${n}`)
  await say('question 15', 'answer 15')
  t.same(contextSent(), [10, 11, 12, 13, 14].flatMap(pair))
})

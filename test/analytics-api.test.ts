// GET /analytics/animals over HTTP against dynalite: aggregates after a known set of turns over
// several days and animals, real turns through the engine (concurrent ones counted exactly
// once), access by role, bad ranges, CSV.
import t from 'tap'
import { SAFETY_CATEGORIES, type TurnSafety } from '../src/core/safety/types.ts'
import type { Animal, Turn } from '../src/core/types.ts'
import { startApp } from './helpers/app.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { json } from './helpers/http.ts'

const app = await startApp(t)
const { url, auth } = app
const keeper = auth('kim', 'zookeeper')
const get = (path: string, headers: Record<string, string> = keeper) => fetch(`${url}${path}`, { headers })
const animal = async (id: string) => (await app.app.storage.getAnimal(id)) as Animal

let n = 0
function turn(animalId: string, userId: string, day: string, message: string, fields: Partial<Turn> = {}): Turn {
  n++
  return {
    turnId: `turn-${n}`, sessionId: `session-${userId}-${day}`, userId, animalId, userMessage: message, reply: '…', status: 'complete',
    createdAt: `${day}T1${n % 10}:00:00.000Z`, usage: { promptTokens: 10 * n, completionTokens: n, totalTokens: 11 * n }, latencyMs: 100, model: 'test', ...fields,
  }
}

t.test('aggregates after a known set of turns, across days and animals', async (t) => {
  const abuse: TurnSafety = { action: 'support', flags: [{ category: 'abuse', severity: 'high', source: 'input' }] }
  const profanity: TurnSafety = { action: 'allow', flags: [{ category: 'profanity', severity: 'low', source: 'output' }] }
  const lion = await animal('lion')
  const penguin = await animal('penguin')
  const known: [Turn, Animal, boolean][] = [
    [turn('lion', 'alice', '2030-03-01', 'What do you eat?', { latencyMs: 120, firstTokenMs: 40 }), lion, true],
    [turn('lion', 'alice', '2030-03-01', 'Hello! You are great, I love lions', { latencyMs: 400, firstTokenMs: 90 }), lion, false],
    [turn('lion', 'bob', '2030-03-01', 'Can you juggle?', { latencyMs: 2500, firstTokenMs: 300 }), lion, true],
    [turn('lion', 'bob', '2030-03-01', 'Can you  JUGGLE?', { latencyMs: 2600, firstTokenMs: 310 }), lion, false],
    [turn('lion', 'carol', '2030-03-01', 'Tell me about the war', { latencyMs: 800, firstTokenMs: 200, status: 'cancelled' }), lion, true],
    [turn('lion', 'carol', '2030-03-01', 'my dad hits me', { latencyMs: 30, safety: abuse }), lion, false],
    [turn('lion', 'alice', '2030-03-02', 'Where do you live?', { latencyMs: 600, firstTokenMs: 100, safety: profanity }), lion, true],
    [turn('lion', 'dave', '2030-03-02', 'I hate rain, it is awful', { latencyMs: 5000, status: 'failed' }), lion, true],
    [turn('penguin', 'erin', '2030-03-04', 'Can you fly?', { latencyMs: 70, firstTokenMs: 20 }), penguin, true],
  ]
  await Promise.all(known.map(([stored, which, newSession]) => app.app.analytics.recorder.record(stored, which, newSession)))
  const lionTokens = known.filter(([x]) => x.animalId === 'lion').map(([x]) => x.usage)

  const res = await get('/analytics/animals?from=2030-03-01&to=2030-03-04')
  t.equal(res.status, 200)
  const body = await json(res)
  t.equal(body.from, '2030-03-01')
  t.equal(body.to, '2030-03-04')
  t.same(body.animals.map((a: any) => a.animalId), ['elephant', 'giraffe', 'lion', 'penguin', 'red-panda', 'sea-otter'], 'every animal, those without turns too')
  const lionUsage = body.animals.find((a: any) => a.animalId === 'lion')
  const { totals, days } = lionUsage
  t.equal(totals.turns, 8)
  t.equal(totals.sessions, 5)
  t.equal(totals.visitors, 4, 'alice, bob, carol, dave')
  t.same(totals.replies, { complete: 6, cancelled: 1, failed: 1 })
  t.same(totals.tokens, { input: lionTokens.reduce((s, u) => s + u.promptTokens, 0), output: lionTokens.reduce((s, u) => s + u.completionTokens, 0) })
  // Latencies 30, 120, 400, 600, 800, 2500, 2600, 5000 ms fall in buckets ≤50, ≤250, ≤500, ≤750, ≤1000, ≤3000 (2), ≤5000.
  t.same(totals.histograms.latencyMs, [1, 0, 1, 1, 1, 1, 0, 0, 2, 1, 0, 0, 0, 0])
  t.same(totals.latencyMs, { p50: 750, p95: 4200 }, 'the 4th of 8 tops (500, 750]; the 7.6th is 60% into (3000, 5000]')
  t.same(totals.histograms.firstTokenMs, [1, 2, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 'turns without a first token are not in it')
  t.same(totals.firstTokenMs, { p50: 100, p95: 462 }, 'the 3rd of 6 tops (50, 100]; the 5.7th is 85% into (250, 500]')
  const noFlags = Object.fromEntries(SAFETY_CATEGORIES.map((category) => [category, 0]))
  t.same(totals.safetyFlags, { ...noFlags, abuse: 1, profanity: 1 }, 'every category, counted')
  t.same(totals.sentiment, { positive: 1, neutral: 5, negative: 2 })
  t.equal(totals.unansweredTurns, 2, 'not the failed turn, not the safety reply')
  t.same(lionUsage.unanswered, [{ question: 'can you juggle?', count: 2 }], 'the same question asked twice, normalised, once with its count')
  // understandQuestion's topic names (TOPICS); "my dad hits me" would be `family`, but a safety reply adds no topic.
  t.same(lionUsage.topics, [{ topic: 'food', count: 1 }, { topic: 'home', count: 1 }, { topic: 'water', count: 1 }], 'a safety reply adds no topic')

  t.same(days.map((d: any) => d.date), ['2030-03-01', '2030-03-02', '2030-03-03', '2030-03-04'], 'every day of the range')
  t.same(days.map((d: any) => d.turns), [6, 2, 0, 0])
  t.same(days.map((d: any) => d.visitors), [3, 2, 0, 0], 'per day; the total counts alice once')
  t.same(days[1].replies, { complete: 1, cancelled: 0, failed: 1 })
  t.same(days[1].latencyMs, { p50: 750, p95: 4800 })
  t.same(days[2].latencyMs, { p50: null, p95: null }, 'no turns, no percentiles')
  t.same(days[0].safetyFlags, { ...noFlags, abuse: 1 })

  const one = await json(get('/analytics/animals/penguin?from=2030-03-04&to=2030-03-04'))
  t.same({ from: one.from, to: one.to, animalId: one.animalId, turns: one.totals.turns, days: one.days.length }, { from: '2030-03-04', to: '2030-03-04', animalId: 'penguin', turns: 1, days: 1 })
  t.same(one.unanswered, [], "the penguin's own facts answer that")
  t.same(one.topics, [{ topic: 'movement', count: 1 }])

  const outside = await json(get('/analytics/animals/lion?from=2030-03-03&to=2030-03-09'))
  t.equal(outside.totals.turns, 0, 'days outside the range are not read')
})

t.test('real turns through the engine: counted once each, concurrent ones too', async (t) => {
  const send = (user: string, message: string, sessionId?: string) => fetch(`${url}/convo_turn`, {
    method: 'POST', headers: { ...auth(user), 'content-type': 'application/json' },
    body: JSON.stringify({ animalId: 'giraffe', message, ...(sessionId ? { sessionId } : {}) }),
  })
  const users = Array.from({ length: 12 }, (_, i) => `visitor-${i}`)
  const responses = await Promise.all(users.map((user) => send(user, 'What do you eat?')))
  t.same(responses.map((r) => r.status), users.map(() => 200), 'all 12 answered and stored')
  const answers = await Promise.all(responses.map((r) => json(r)))
  const follow = await send(users[0]!, 'Can you juggle?', answers[0].sessionId)
  t.equal(follow.status, 200)
  await app.app.analytics.recorder.idle()

  const { totals, days } = await json(get('/analytics/animals/giraffe'))
  t.equal(days.length, 7, 'the last 7 days by default')
  t.equal(days.at(-1).date, new Date().toISOString().slice(0, 10), 'up to today')
  t.equal(totals.turns, 13, 'each turn once')
  t.equal(totals.sessions, 12, 'the follow-up continued a session')
  t.same(totals.replies, { complete: 13, cancelled: 0, failed: 0 })
  t.ok(Math.abs(totals.visitors - 12) <= 2, `12 visitors, estimated ${totals.visitors} (approximate by design)`)
  t.ok(totals.tokens.input > 0 && totals.tokens.output > 0, 'usage counted')
  t.equal(totals.histograms.latencyMs.reduce((a: number, b: number) => a + b, 0), 13)
  t.equal(totals.histograms.firstTokenMs.reduce((a: number, b: number) => a + b, 0), 13)
  const body = await json(get('/analytics/animals/giraffe'))
  t.same(body.topics, [{ topic: 'food', count: 12 }])
  t.same(body.unanswered, [{ question: 'can you juggle?', count: 1 }])
})

t.test('a failed upstream turn is counted as failed', async (t) => {
  const fake = await startFakeOpenAI()
  t.teardown(() => fake.close())
  const upstream = await startApp(t, { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, OPENAI_MAX_RETRIES: '0', LLM_FALLBACK: 'none' })
  fake.enqueue({ kind: 'stream', chunks: ['Roar', '!'] }, { kind: 'status', status: 500 })
  const send = () => fetch(`${upstream.url}/convo_turn`, {
    method: 'POST', headers: { ...upstream.auth('alice'), 'content-type': 'application/json' }, body: JSON.stringify({ animalId: 'lion', message: 'Hi' }),
  })
  t.equal((await send()).status, 200)
  t.equal((await send()).status, 502)
  await upstream.app.analytics.recorder.idle()
  const { totals } = await json(fetch(`${upstream.url}/analytics/animals/lion`, { headers: upstream.auth('kim', 'zookeeper') }))
  t.same(totals.replies, { complete: 1, cancelled: 0, failed: 1 })
  t.equal(totals.histograms.firstTokenMs.reduce((a: number, b: number) => a + b, 0), 1, 'only the reply that had a first token')
})

t.test('STORAGE=memory counts the same way', async (t) => {
  const memory = await startApp(t, { STORAGE: 'memory' })
  const res = await fetch(`${memory.url}/convo_turn`, {
    method: 'POST', headers: { ...memory.auth('alice'), 'content-type': 'application/json' }, body: JSON.stringify({ animalId: 'lion', message: 'Can you juggle?' }),
  })
  t.equal(res.status, 200)
  await memory.app.analytics.recorder.idle()
  const body = await json(fetch(`${memory.url}/analytics/animals/lion`, { headers: memory.auth('kim', 'zookeeper') }))
  t.same([body.totals.turns, body.totals.sessions, body.totals.visitors], [1, 1, 1])
  t.same(body.unanswered, [{ question: 'can you juggle?', count: 1 }])
})

t.test('zookeepers and admins only', async (t) => {
  for (const path of ['/analytics/animals', '/analytics/animals/lion']) {
    for (const role of ['user', 'parent'] as const) {
      const res = await get(path, auth('someone', role))
      t.equal(res.status, 403, `${role}: ${path}`)
      t.match(await json(res), { error: 'forbidden', message: /zookeepers and admins/ })
    }
    t.equal((await get(path, auth('boss', 'admin'))).status, 200, `admin: ${path}`)
    t.equal((await get(path, auth('kim', 'zookeeper'))).status, 200, `zookeeper: ${path}`)
    t.equal((await get(path, {})).status, 401, `no token: ${path}`)
  }
})

t.test('bad ranges and unknown animals are 4xx naming what is wrong', async (t) => {
  const cases: [string, number, RegExp][] = [
    ['/analytics/animals?from=2030-02-30', 400, /querystring\.from must be a calendar date/],
    ['/analytics/animals?to=yesterday', 400, /querystring\.to /],
    ['/analytics/animals?from=2030-03-05&to=2030-03-01', 400, /querystring\.from .*must not be after to/],
    ['/analytics/animals/lion?from=2029-01-01&to=2030-03-01', 400, /querystring\.to: a range may span at most 366 days/],
    ['/analytics/animals?format=xlsx', 400, /querystring\.format/],
    ['/analytics/animals?animal=lion', 400, /querystring\.animal is not allowed/],
    ['/analytics/animals/unicorn', 404, /animal 'unicorn' not found/],
  ]
  for (const [path, status, message] of cases) {
    const res = await get(path)
    t.equal(res.status, status, path)
    t.match((await json(res)).message, message, path)
  }
})

t.test('?format=csv: the days as CSV, formula-safe', async (t) => {
  const put = await fetch(`${url}/animals/-cmd`, {
    method: 'PUT', headers: { ...keeper, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'Eve', species: 'snake', personality: 'sly', facts: ['I hiss.'] }),
  })
  t.equal(put.status, 200)
  const res = await get('/analytics/animals?from=2030-03-01&to=2030-03-02&format=csv')
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/csv/)
  t.match(res.headers.get('content-disposition'), /attachment; filename="analytics-animals-2030-03-01-2030-03-02.csv"/)
  const rows = (await res.text()).split('\r\n').filter(Boolean)
  t.match(rows[0], /^animalId,date,turns,sessions,visitors,replies_complete,replies_cancelled,replies_failed,tokens_input,tokens_output,latency_p50_ms,/)
  t.ok(rows[0]!.endsWith(`,${SAFETY_CATEGORIES.map((c) => `safety_${c}`).join(',')}`), 'a column per safety category')
  t.equal(rows.length, 1 + 7 * 2, 'a header, then a row per animal per day')
  t.ok(rows.includes(`'-cmd,2030-03-01,0,0,0,0,0,0,0,0,,,,,0,0,0,0${',0'.repeat(SAFETY_CATEGORIES.length)}`), 'a cell a spreadsheet would run as a formula is defused')
  const lionFirst = rows.find((row) => row.startsWith('lion,2030-03-01,'))!.split(',')
  t.equal(lionFirst[18 + SAFETY_CATEGORIES.indexOf('abuse')], '1', 'the day\'s abuse flag in its column')
  const lionDay = rows.find((row) => row.startsWith('lion,2030-03-02,'))!.split(',')
  t.same(lionDay.slice(2, 8), ['2', '2', '2', '1', '0', '1'])

  const one = await get('/analytics/animals/penguin?from=2030-03-04&to=2030-03-04&format=csv')
  t.equal((await one.text()).split('\r\n').filter(Boolean).length, 2)
})

t.test('the OpenAPI document describes both routes', async (t) => {
  const doc = await json(fetch(`${url}/docs/json`))
  const list = doc.paths['/analytics/animals']?.get
  t.ok(list, '/analytics/animals')
  t.ok(doc.paths['/analytics/animals/{animalId}']?.get, '/analytics/animals/{animalId}')
  t.same(list.parameters.map((p: any) => p.name).sort(), ['format', 'from', 'to'])
  t.ok(list.responses['200'] && list.responses['403'], 'its answers, the 403 included')
})

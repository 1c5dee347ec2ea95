// GET /convo_history/export over HTTP against dynalite: the three formats, a session longer than
// one storage page, and who may export.
import t from 'tap'
import { CSV_COLUMNS, markdownText } from '../src/core/export-format.ts'
import { startApp } from './helpers/app.ts'
import { json } from './helpers/http.ts'

const { url, auth } = await startApp(t, { STORAGE: 'memory', RATE_LIMIT_TURNS_PER_MINUTE: '10000' })

async function turn(body: Record<string, unknown>): Promise<{ sessionId: string; turnId: string; reply: string }> {
  const res = await fetch(`${url}/convo_turn`, { method: 'POST', headers: { ...auth('alice'), 'content-type': 'application/json' }, body: JSON.stringify(body) })
  if (res.status !== 200) throw new Error(`turn answered ${res.status}`)
  return json(res)
}

const exportOf = (query: string, user = 'alice', role?: Parameters<typeof auth>[1]) =>
  fetch(`${url}/convo_history/export?${query}`, { headers: auth(user, role) })

const messages = ['What do you eat?', 'Is it "tasty", or just food?', '=1+1 is what, Leo?\nAnd the next line']
const answers: Array<{ sessionId: string; turnId: string; reply: string }> = []
for (const message of messages) answers.push(await turn({ animalId: 'lion', message, sessionId: answers[0]?.sessionId }))
const { sessionId } = answers[0]!

t.test('json (the default): the session and all its turns in order', async (t) => {
  const res = await exportOf(`sessionId=${sessionId}`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^application\/json/)
  t.equal(res.headers.get('content-disposition'), `attachment; filename="session-${sessionId}.json"`)
  const body = await json(res)
  t.match(body, { sessionId, animalId: 'lion', animalName: 'Leo', userId: 'alice', messageCount: 6 })
  t.same(body.turns.map((x: { turnId: string }) => x.turnId), answers.map((a) => a.turnId))
  t.same(body.turns.map((x: { userMessage: string }) => x.userMessage), messages)
  t.same(body.turns.map((x: { reply: string }) => x.reply), answers.map((a) => a.reply))
  t.match(body.turns[0], { status: 'complete', model: 'offline', usage: { totalTokens: Number }, createdAt: String })
})

t.test('csv: a header row, one row per turn, quoting and no formulas', async (t) => {
  const res = await exportOf(`sessionId=${sessionId}&format=csv`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/csv/)
  t.equal(res.headers.get('content-disposition'), `attachment; filename="session-${sessionId}.csv"`)
  const text = await res.text()
  t.ok(text.startsWith(`${CSV_COLUMNS.join(',')}\r\n`))
  t.ok(text.includes(`${answers[1]!.turnId},`) && text.includes('"Is it ""tasty"", or just food?"'), 'quotes and commas are quoted')
  t.ok(text.includes('"\'=1+1 is what, Leo?\nAnd the next line"'), 'a formula is defused; the newline stays inside its quoted cell')
  t.equal(text.split('\r\n').filter(Boolean).length, 1 + messages.length, 'header + one row per turn')
})

t.test('md: a readable transcript with the animal\'s name', async (t) => {
  const res = await exportOf(`sessionId=${sessionId}&format=md`)
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^text\/markdown/)
  t.equal(res.headers.get('content-disposition'), `attachment; filename="session-${sessionId}.md"`)
  const text = await res.text()
  t.match(text, /^# Conversation with Leo/)
  let at = 0
  for (const [i, message] of messages.entries()) {
    const next = text.indexOf(`> ${markdownText(message.split('\n')[0]!)}`, at)
    t.ok(next > at, `message ${i} appears, in order`)
    at = next
  }
  t.ok(text.includes(`**Leo**:\n\n> ${markdownText(answers[0]!.reply.split('\n')[0]!)}`), 'the animal\'s reply, under its name, escaped')
})

t.test('a session longer than one storage page is exported whole', async (t) => {
  const long = [await turn({ animalId: 'penguin', message: 'Turn 0' })]
  for (let i = 1; i < 105; i++) long.push(await turn({ animalId: 'penguin', message: `Turn ${i}`, sessionId: long[0]!.sessionId }))
  const body = await json(exportOf(`sessionId=${long[0]!.sessionId}`))
  t.same(body.turns.map((x: { turnId: string }) => x.turnId), long.map((a) => a.turnId))
})

t.test('who may export: whoever may read the session', async (t) => {
  const notFound = await exportOf(`sessionId=${sessionId}`, 'bob')
  t.equal(notFound.status, 404, 'another user: 404, as if it did not exist')
  t.equal((await json(notFound)).error, 'not_found')
  t.equal((await exportOf(`sessionId=${sessionId}&format=csv`, 'keeper', 'zookeeper')).status, 200, 'zookeepers read everyone\'s')
  t.equal((await exportOf(`sessionId=${sessionId}&format=md`, 'root', 'admin')).status, 200, 'admins too')
  t.equal((await exportOf('sessionId=no-such-session')).status, 404)
})

t.test('bad requests name the field', async (t) => {
  const badFormat = await exportOf(`sessionId=${sessionId}&format=xml`)
  t.equal(badFormat.status, 400)
  t.match((await json(badFormat)).message, /format/)
  const noSession = await exportOf('format=json')
  t.equal(noSession.status, 400)
  t.match((await json(noSession)).message, /sessionId/)
  t.equal((await fetch(`${url}/convo_history/export?sessionId=${sessionId}`)).status, 401, 'a token is required')
})

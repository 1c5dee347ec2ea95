// GET and DELETE /convo_history through the HTTP API against dynalite: pagination while turns are
// being written, cursor checks, session bookkeeping, and the delete cascade checked in the raw table.
import { DynamoDBDocumentClient, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb'
import t from 'tap'
import { createDynamoClient } from '../src/storage/dynamo-client.ts'
import { startApp } from './helpers/app.ts'
import { json } from './helpers/http.ts'

// Generous turn limits: these tests write many turns quickly as one user.
const { app, url, auth, dynamoEndpoint } = await startApp(t, { RATE_LIMIT_TURNS_PER_MINUTE: '10000' })
const tables = app.config.storage.tables
const raw = DynamoDBDocumentClient.from(createDynamoClient({ endpoint: dynamoEndpoint }))
t.teardown(() => raw.destroy())

interface TurnAnswer { sessionId: string; turnId: string; reply: string; createdAt: string; latencyMs: number; usage: { totalTokens: number } }

async function turn(user: string, body: Record<string, unknown>): Promise<TurnAnswer> {
  const res = await fetch(`${url}/convo_turn`, { method: 'POST', headers: { ...auth(user), 'content-type': 'application/json' }, body: JSON.stringify(body) })
  if (res.status !== 200) throw new Error(`turn answered ${res.status}: ${await res.text()}`)
  return json(res)
}

/** A session of `count` turns by `user` with the lion; the answers in order. */
async function sessionWith(user: string, count: number, clientTurnIdPrefix?: string): Promise<TurnAnswer[]> {
  const answers: TurnAnswer[] = []
  for (let i = 0; i < count; i++) {
    const body = { animalId: 'lion', message: `Question ${i}?`, sessionId: answers[0]?.sessionId, ...(clientTurnIdPrefix ? { clientTurnId: `${clientTurnIdPrefix}-${i}` } : {}) }
    answers.push(await turn(user, body))
  }
  return answers
}

const history = (query: string, user = 'alice', role?: Parameters<typeof auth>[1]) =>
  fetch(`${url}/convo_history?${query}`, { headers: auth(user, role) })

t.test('paging through a session while new turns are written: no duplicates, no gaps, null at the end', async (t) => {
  const first = await sessionWith('alice', 5)
  const { sessionId } = first[0]!
  const seen: string[] = []
  let cursor: string | null | undefined
  let written = 5
  let pages = 0
  do {
    const res = await history(`sessionId=${sessionId}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`)
    t.equal(res.status, 200)
    const page = await json(res)
    t.ok(page.turns.length > 0 && page.turns.length <= 2, 'a page holds 1..limit turns')
    seen.push(...page.turns.map((x: { turnId: string }) => x.turnId))
    cursor = page.nextCursor
    pages++
    // A new turn lands between page requests.
    if (cursor !== null) {
      await turn('alice', { animalId: 'lion', message: `Written between pages ${written}`, sessionId })
      written++
    }
  } while (cursor !== null)

  const all = await json(history(`sessionId=${sessionId}&limit=100`))
  t.equal(all.turns.length, written)
  t.equal(all.nextCursor, null)
  t.same(seen, all.turns.map((x: { turnId: string }) => x.turnId), 'every turn exactly once, oldest first')
  t.equal(new Set(seen).size, seen.length, 'no duplicates')
  t.ok(pages >= 4, 'it took several pages')
})

t.test('limit defaults to 20 and must be 1..100', async (t) => {
  const answers = await sessionWith('alice', 21)
  const page = await json(history(`sessionId=${answers[0]!.sessionId}`))
  t.equal(page.turns.length, 20)
  t.type(page.nextCursor, 'string')
  for (const limit of ['0', '101', 'abc', '-1', '']) {
    const res = await history(`sessionId=${answers[0]!.sessionId}&limit=${limit}`)
    t.equal(res.status, 400, `limit=${limit}`)
    t.match((await json(res)).message, /limit/, `limit=${limit}: the message names the field`)
  }
})

t.test('a tampered, malformed or foreign cursor is a 400', async (t) => {
  const mine = await sessionWith('alice', 3)
  const other = await sessionWith('alice', 3)
  const { nextCursor } = await json(history(`sessionId=${mine[0]!.sessionId}&limit=1`))
  t.type(nextCursor, 'string')
  const [payload, signature] = (nextCursor as string).split('.')
  const flipped = payload!.slice(0, -2) + (payload!.at(-2) === 'A' ? 'B' : 'A') + payload!.at(-1)
  const forged = Buffer.from(JSON.stringify({ v: 1, s: `turns:${mine[0]!.sessionId}`, k: { pk: 'x', sk: 'y' } })).toString('base64url')
  const cases: Array<[string, string, string]> = [
    ['tampered payload', mine[0]!.sessionId, `${flipped}.${signature}`],
    ['tampered signature', mine[0]!.sessionId, `${payload}.${signature!.slice(0, -1)}${signature!.endsWith('A') ? 'B' : 'A'}`],
    ['forged payload, old signature', mine[0]!.sessionId, `${forged}.${signature}`],
    ['not a cursor', mine[0]!.sessionId, 'abc'],
    ['garbage with a dot', mine[0]!.sessionId, '%%%.###'],
    ['from another session', other[0]!.sessionId, nextCursor],
  ]
  for (const [name, sessionId, cursor] of cases) {
    const res = await history(`sessionId=${sessionId}&limit=1&cursor=${encodeURIComponent(cursor)}`)
    t.equal(res.status, 400, name)
    t.match(await json(res), { error: 'bad_request', message: /cursor/ }, name)
  }
  const sessions = await history(`cursor=${encodeURIComponent(nextCursor)}`)
  t.equal(sessions.status, 400, 'a turns cursor does not page a session list')
})

t.test('session bookkeeping is updated by every turn', async (t) => {
  const answers = await sessionWith('carol', 3)
  const { sessionId } = answers[0]!
  const list = await json(history('', 'carol'))
  const summary = list.sessions.find((s: { sessionId: string }) => s.sessionId === sessionId)
  t.match(summary, { sessionId, userId: 'carol', animalId: 'lion', messageCount: 6 })
  t.equal(summary.updatedAt, answers.at(-1)!.createdAt, 'updatedAt is the latest turn')
  t.ok(summary.createdAt <= answers[0]!.createdAt)

  const stored = (await raw.send(new GetCommand({ TableName: tables.sessions, Key: { sessionId }, ConsistentRead: true }))).Item!
  t.equal(stored.totalTokens, answers.reduce((sum, a) => sum + a.usage.totalTokens, 0), 'total tokens')
  t.equal(stored.totalLatencyMs, answers.reduce((sum, a) => sum + a.latencyMs, 0), 'summed latency, so the average is one read')
  t.equal(stored.lastModel, 'offline', 'the model used')
})

t.test('DELETE /convo_history removes the session and every item of its turns (more than 25)', async (t) => {
  const answers = await sessionWith('dave', 30, 'doomed')
  const { sessionId } = answers[0]!
  const kept = await sessionWith('dave', 2, 'kept')
  const turnIds = new Set(answers.map((a) => a.turnId))
  const itemsOfSession = async () => {
    const { Items = [] } = await raw.send(new ScanCommand({ TableName: tables.conversations, ConsistentRead: true }))
    return Items.filter((item) => item.sessionId === sessionId || turnIds.has(item.turnId))
  }
  t.equal((await itemsOfSession()).length, 90, 'before: 30 turns, 30 pointers, 30 idempotency claims')

  for (const role of ['user', 'parent', 'zookeeper'] as const) {
    const res = await fetch(`${url}/convo_history?sessionId=${sessionId}`, { method: 'DELETE', headers: auth(role === 'user' ? 'dave' : `a-${role}`, role) })
    t.equal(res.status, 403, `${role}: 403`)
    t.equal((await json(res)).error, 'forbidden')
  }
  t.equal((await json(history(`sessionId=${sessionId}&limit=100`, 'dave'))).turns.length, 30, 'a refused delete changes nothing')

  const res = await fetch(`${url}/convo_history?sessionId=${sessionId}`, { method: 'DELETE', headers: auth('root', 'admin') })
  t.equal(res.status, 204)
  t.equal(await res.text(), '', 'no body')

  t.equal((await history(`sessionId=${sessionId}`, 'dave')).status, 404, 'the history is gone')
  t.equal((await history(`sessionId=${sessionId}`, 'root', 'admin')).status, 404, 'for admins too')
  const { Items: turnItems = [] } = await raw.send(new QueryCommand({
    TableName: tables.conversations, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `SESSION#${sessionId}` }, ConsistentRead: true,
  }))
  t.same(turnItems, [], 'no turn items left under the session')
  t.same(await itemsOfSession(), [], 'no pointers or claims left either')
  t.notOk((await raw.send(new GetCommand({ TableName: tables.sessions, Key: { sessionId }, ConsistentRead: true }))).Item, 'no session item')

  t.equal((await json(history(`sessionId=${kept[0]!.sessionId}`, 'dave'))).turns.length, 2, 'other sessions are untouched')
  const again = await turn('dave', { animalId: 'lion', message: 'Hello again', clientTurnId: 'doomed-0' })
  t.not(again.turnId, answers[0]!.turnId, 'a deleted turn\'s clientTurnId is free again')

  const missing = await fetch(`${url}/convo_history?sessionId=${sessionId}`, { method: 'DELETE', headers: auth('root', 'admin') })
  t.equal(missing.status, 404, 'deleting again: 404')
  t.match(await json(missing), { error: 'not_found', message: new RegExp(sessionId) })
  const noId = await fetch(`${url}/convo_history`, { method: 'DELETE', headers: auth('root', 'admin') })
  t.equal(noId.status, 400)
  t.match((await json(noId)).message, /sessionId/, 'a missing sessionId is named')
})

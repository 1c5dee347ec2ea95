// Data rights over HTTP against dynalite: a linked parent (or an admin) exports and deletes all of
// a child's data; nothing deleted can be replayed (SSE stream, WebSocket resume, clientTurnId);
// who may do what, exactly as the contract's roles table says.
import t from 'tap'
import type { Turn } from '../src/core/types.ts'
import { USER_CSV_COLUMNS } from '../src/core/export-format.ts'
import { startApp } from './helpers/app.ts'
import { json } from './helpers/http.ts'
import { TestSocket } from './helpers/ws.ts'

const { app, url, wsUrl, auth, token } = await startApp(t, { RATE_LIMIT_TURNS_PER_MINUTE: '10000' })
type Role = Parameters<typeof auth>[1]

async function turn(user: string, body: Record<string, unknown>): Promise<{ sessionId: string; turnId: string }> {
  const res = await fetch(`${url}/convo_turn`, { method: 'POST', headers: { ...auth(user), 'content-type': 'application/json' }, body: JSON.stringify(body) })
  if (res.status !== 200) throw new Error(`turn answered ${res.status}: ${await res.text()}`)
  return json(res)
}
const get = (path: string, user: string, role?: Role) => fetch(`${url}${path}`, { headers: auth(user, role) })
const del = (path: string, user: string, role?: Role) => fetch(`${url}${path}`, { method: 'DELETE', headers: auth(user, role) })

/** A flagged turn stored the way the engine stores one (the safety layer sets `safety`). */
async function flaggedTurn(userId: string): Promise<Turn> {
  const createdAt = new Date().toISOString()
  const sessionId = `flagged-${userId}`
  await app.storage.createSession({ sessionId, userId, animalId: 'otter', createdAt, updatedAt: createdAt, messageCount: 0, totalTokens: 0, totalLatencyMs: 0 })
  const stored: Turn = {
    turnId: `flagged-turn-${userId}`, sessionId, userId, animalId: 'otter', userMessage: 'i cant find my mum', reply: 'Stay where you are and ask a zoo keeper in uniform.',
    status: 'complete', createdAt, usage: { promptTokens: 0, completionTokens: 0, totalTokens: 0 }, latencyMs: 1, model: 'offline',
    safety: { action: 'support', flags: [{ category: 'lost_child', severity: 'high', source: 'input' }] },
  }
  await app.storage.saveTurn(stored)
  return stored
}

// The family: pam is kid's parent; pete is a parent too, but not kid's.
if ((await fetch(`${url}/families/pam/children/kid`, { method: 'PUT', headers: auth('root', 'admin') })).status !== 200) throw new Error('linking failed')
const lion1 = await turn('kid', { animalId: 'lion', message: 'What do you eat?', clientTurnId: 'kid-1' })
const lion2 = await turn('kid', { animalId: 'lion', message: 'Do you sleep a lot?', sessionId: lion1.sessionId })
const penguin = await turn('kid', { animalId: 'penguin', message: 'Can you fly?' })
const lost = await flaggedTurn('kid')
const other = await turn('other-kid', { animalId: 'lion', message: 'Hello Leo' })
const otherLost = await flaggedTurn('other-kid')
const kidTurns = [lion1.turnId, lion2.turnId, penguin.turnId, lost.turnId]

t.test('export ?userId=: every session of the child, in each format, for whoever may read them', async (t) => {
  const res = await get('/convo_history/export?userId=kid', 'pam', 'parent')
  t.equal(res.status, 200)
  t.match(res.headers.get('content-type'), /^application\/json/)
  t.equal(res.headers.get('content-disposition'), 'attachment; filename="visitor-kid.json"')
  const body = await json(res)
  t.equal(body.userId, 'kid')
  t.same(body.sessions.map((s: { sessionId: string }) => s.sessionId).sort(), [lion1.sessionId, penguin.sessionId, lost.sessionId].sort())
  const turns = body.sessions.flatMap((s: { turns: Turn[] }) => s.turns)
  t.same(turns.map((x: Turn) => x.turnId).sort(), [...kidTurns].sort(), 'every turn, nobody else\'s')
  t.same(turns.find((x: Turn) => x.turnId === lost.turnId).safety, lost.safety, 'flags are part of the export')
  t.same(body.sessions.find((s: { sessionId: string }) => s.sessionId === lion1.sessionId).turns.map((x: Turn) => x.turnId), [lion1.turnId, lion2.turnId], 'a session\'s turns oldest first')

  const csv = await (await get('/convo_history/export?userId=kid&format=csv', 'pam', 'parent')).text()
  t.ok(csv.startsWith(`${USER_CSV_COLUMNS.join(',')}\r\n`))
  t.equal(csv.split('\r\n').filter(Boolean).length, 1 + kidTurns.length, 'header + one row per turn')
  const md = await get('/convo_history/export?userId=kid&format=md', 'keeper', 'zookeeper')
  t.equal(md.headers.get('content-disposition'), 'attachment; filename="visitor-kid.md"')
  const text = await md.text()
  t.match(text, /^# Conversations of kid\n/)
  t.equal(text.match(/^## Conversation with /gm)?.length, 3)

  t.equal((await get('/convo_history/export?userId=kid', 'kid')).status, 200, 'the child itself')
  t.equal((await get('/convo_history/export?userId=kid', 'root', 'admin')).status, 200, 'an admin')
  t.equal((await get('/convo_history/export?userId=kid', 'pete', 'parent')).status, 403, 'a parent, but not this child\'s')
  t.equal((await get('/convo_history/export?userId=kid', 'other-kid')).status, 403, 'another child')
  t.same(await json(get('/convo_history/export?userId=nobody', 'root', 'admin')), { userId: 'nobody', sessions: [] })
  const both = await get(`/convo_history/export?userId=kid&sessionId=${lion1.sessionId}`, 'kid')
  t.equal(both.status, 400)
  t.match((await json(both)).message, /sessionId or userId/)
  t.match((await json(get('/convo_history/export?format=csv', 'kid'))).message, /sessionId or userId is required/)
})

t.test('DELETE ?userId=: only admins and the child\'s linked parent', async (t) => {
  for (const [who, role, why] of [['kid', 'user', 'the child itself'], ['keeper', 'zookeeper', 'a zookeeper'], ['pete', 'parent', 'another child\'s parent'], ['pam', 'parent', 'a parent deleting themselves']] as const) {
    const res = await del(`/convo_history?userId=${who === 'pam' ? 'pam' : 'kid'}`, who, role)
    t.equal(res.status, 403, why)
    t.equal((await json(res)).error, 'forbidden')
  }
  t.equal((await get(`/convo_history?sessionId=${lion1.sessionId}`, 'kid')).status, 200, 'nothing was deleted')
  t.equal((await del('/convo_history?userId=nobody-at-all', 'root', 'admin')).status, 204, 'an admin erasing a user with nothing stored')
  t.equal((await del(`/convo_history?userId=kid&sessionId=${lion1.sessionId}`, 'root', 'admin')).status, 400)
  t.equal((await del('/convo_history', 'root', 'admin')).status, 400)
})

t.test('the linked parent deletes everything of the child; nothing can be replayed', async (t) => {
  // Before: the finished turns are still in the resume buffer (STREAM_BUFFER_TTL_MS) and stored.
  t.equal((await get(`/convo_turn/${lion1.turnId}/stream`, 'kid')).status, 200)

  t.equal((await del('/convo_history?userId=kid', 'pam', 'parent')).status, 204)

  t.same(await json(get('/convo_history?userId=kid', 'root', 'admin')), { sessions: [], nextCursor: null })
  t.same(await json(get('/convo_history?userId=kid&flagged=true', 'root', 'admin')), { sessions: [], nextCursor: null })
  for (const sessionId of [lion1.sessionId, penguin.sessionId, lost.sessionId]) {
    t.equal((await get(`/convo_history?sessionId=${sessionId}`, 'root', 'admin')).status, 404, `session ${sessionId} is gone`)
  }
  for (const turnId of kidTurns) {
    t.equal((await get(`/convo_turn/${turnId}/stream`, 'kid')).status, 404, `turn ${turnId} cannot be replayed over SSE`)
  }
  const socket = await TestSocket.open(`${wsUrl}/ws?access_token=${token('kid')}`)
  t.teardown(() => socket.close())
  socket.send({ type: 'resume', turnId: lion2.turnId, lastEventId: `${lion2.turnId}:0` })
  const resumed = await socket.waitFor((f) => f.turnId === lion2.turnId && f.type === 'error')
  t.equal(resumed.data.code, 'not_found', 'nor over a WebSocket resume')
  t.same((await json(get('/safety/events?userId=kid', 'root', 'admin'))).events, [], 'the child\'s safety events are gone')

  const again = await turn('kid', { animalId: 'lion', message: 'What do you eat?', clientTurnId: 'kid-1' })
  t.not(again.turnId, lion1.turnId, 'a clientTurnId of deleted data starts a new turn, it does not replay the old one')

  t.equal((await get(`/convo_history?sessionId=${other.sessionId}`, 'other-kid')).status, 200, 'another child keeps their data')
  t.equal((await get(`/convo_turn/${other.turnId}/stream`, 'other-kid')).status, 200)
  t.same((await json(get('/safety/events?userId=other-kid', 'root', 'admin'))).events.map((e: { turnId: string }) => e.turnId), [otherLost.turnId])
})

t.test('DELETE ?sessionId= (admin) purges that session\'s resume buffers too', async (t) => {
  const doomed = await turn('other-kid', { animalId: 'penguin', message: 'Do you like fish?' })
  t.equal((await get(`/convo_turn/${doomed.turnId}/stream`, 'other-kid')).status, 200)
  t.equal((await del(`/convo_history?sessionId=${doomed.sessionId}`, 'pam', 'parent')).status, 403, 'a whole user at once is the parent\'s right, one session is the admin\'s')
  t.equal((await del(`/convo_history?sessionId=${doomed.sessionId}`, 'root', 'admin')).status, 204)
  t.equal((await get(`/convo_turn/${doomed.turnId}/stream`, 'other-kid')).status, 404)
  t.equal((await del(`/convo_history?sessionId=${doomed.sessionId}`, 'root', 'admin')).status, 404, 'already gone')
  t.equal((await get(`/convo_turn/${other.turnId}/stream`, 'other-kid')).status, 200, 'the user\'s other session is untouched')
})

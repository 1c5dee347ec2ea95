// Flags for people over HTTP against dynalite: turns[].safety in history, flagged/safetyFlags on
// the session lists, ?flagged=true, and GET /safety/events with its filters, paging and roles.
import t from 'tap'
import type { TurnSafety } from '../src/core/safety/types.ts'
import type { Turn } from '../src/core/types.ts'
import { startApp } from './helpers/app.ts'
import { json } from './helpers/http.ts'

const { app, url, auth } = await startApp(t, { RATE_LIMIT_TURNS_PER_MINUTE: '10000' })
type Role = Parameters<typeof auth>[1]
const get = (path: string, user: string, role?: Role) => fetch(`${url}${path}`, { headers: auth(user, role) })

const LOST: TurnSafety = { action: 'support', flags: [{ category: 'lost_child', severity: 'high', source: 'input' }] }
const SWEAR: TurnSafety = { action: 'allow', flags: [{ category: 'profanity', severity: 'medium', source: 'output' }] }
const NAME: TurnSafety = { action: 'allow', flags: [{ category: 'personal_info', severity: 'low', source: 'input' }] }

let clock = Date.parse('2030-05-01T10:00:00.000Z')
const at = () => new Date((clock += 1000)).toISOString()

/** A session with these turns, stored the way the engine stores them (the safety layer sets `safety`). */
async function session(userId: string, animalId: string, safeties: Array<TurnSafety | undefined>): Promise<{ sessionId: string; turns: Turn[] }> {
  const sessionId = `s-${userId}-${animalId}-${clock}`
  const createdAt = at()
  await app.storage.createSession({ sessionId, userId, animalId, createdAt, updatedAt: createdAt, messageCount: 0, totalTokens: 0, totalLatencyMs: 0 })
  const turns: Turn[] = []
  for (const [i, safety] of safeties.entries()) {
    const turn: Turn = {
      turnId: `${sessionId}-t${i}`, sessionId, userId, animalId, userMessage: `message ${i}`, reply: `reply ${i}`, status: 'complete',
      createdAt: at(), usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, latencyMs: 5, model: 'offline', safety,
    }
    await app.storage.saveTurn(turn)
    turns.push(turn)
  }
  return { sessionId, turns }
}

if ((await fetch(`${url}/families/pam/children/kid`, { method: 'PUT', headers: auth('root', 'admin') })).status !== 200) throw new Error('link failed')
const calm = await session('kid', 'lion', [undefined, undefined])
const lostKid = await session('kid', 'penguin', [NAME, undefined, LOST])
const swearing = await session('stranger-kid', 'lion', [SWEAR])
const pamsOwn = await session('pam', 'lion', [NAME])

t.test('history: turns[].safety, and flagged/safetyFlags on every session list', async (t) => {
  const turns = (await json(get(`/convo_history?sessionId=${lostKid.sessionId}`, 'pam', 'parent'))).turns
  t.same(turns.map((x: Turn) => x.safety), [NAME, undefined, LOST])
  t.notOk('safety' in turns[1], 'an unflagged turn has no safety field')
  const sessions = (await json(get('/convo_history?userId=kid', 'pam', 'parent'))).sessions
  t.match(sessions, [{ sessionId: lostKid.sessionId, flagged: true, safetyFlags: 2, messageCount: 6 }, { sessionId: calm.sessionId, flagged: false, safetyFlags: 0 }])
})

t.test('?flagged=true lists only flagged sessions, most recently flagged first, paginated', async (t) => {
  t.same((await json(get('/convo_history?userId=kid&flagged=true', 'pam', 'parent'))).sessions.map((s: { sessionId: string }) => s.sessionId), [lostKid.sessionId])
  const first = await json(get('/convo_history?flagged=true&limit=1&animalId=lion', 'keeper', 'zookeeper'))
  t.same(first.sessions.map((s: { sessionId: string }) => s.sessionId), [pamsOwn.sessionId])
  const second = await json(get(`/convo_history?flagged=true&limit=1&animalId=lion&cursor=${first.nextCursor}`, 'keeper', 'zookeeper'))
  t.same(second.sessions.map((s: { sessionId: string }) => s.sessionId), [swearing.sessionId])
  t.equal(second.nextCursor, null)
  t.same((await json(get('/convo_history?flagged=true', 'kid'))).sessions.map((s: { sessionId: string }) => s.sessionId), [lostKid.sessionId], 'a child\'s own flagged sessions')
  t.equal((await json(get('/convo_history?flagged=false', 'kid'))).sessions.length, 2, 'flagged=false is the plain list')
  t.equal((await get('/convo_history?flagged=true&userId=kid', 'pete', 'parent')).status, 403, 'the same rights as the plain list')
  t.equal((await get(`/convo_history?sessionId=${calm.sessionId}&flagged=true`, 'kid')).status, 400)
  t.equal((await get('/convo_history?flagged=maybe', 'kid')).status, 400)
})

t.test('GET /safety/events: newest first, filters, paging; the contract\'s fields', async (t) => {
  const all = await json(get('/safety/events', 'keeper', 'zookeeper'))
  t.same(all.events.map((e: { turnId: string }) => e.turnId), [pamsOwn.turns[0]!.turnId, swearing.turns[0]!.turnId, lostKid.turns[2]!.turnId, lostKid.turns[0]!.turnId])
  t.same(all.events[2], {
    turnId: lostKid.turns[2]!.turnId, sessionId: lostKid.sessionId, userId: 'kid', animalId: 'penguin',
    category: 'lost_child', severity: 'high', source: 'input', action: 'support', createdAt: lostKid.turns[2]!.createdAt,
  })
  t.equal(all.nextCursor, null)
  const ids = async (query: string, user = 'root', role: Role = 'admin') => (await json(get(`/safety/events?${query}`, user, role))).events.map((e: { turnId: string }) => e.turnId)
  t.same(await ids('severity=high'), [lostKid.turns[2]!.turnId])
  t.same(await ids('animalId=lion'), [pamsOwn.turns[0]!.turnId, swearing.turns[0]!.turnId])
  t.same(await ids('userId=kid&severity=low'), [lostKid.turns[0]!.turnId])

  const paged: string[] = []
  let cursor = ''
  do {
    const page = await json(get(`/safety/events?limit=3${cursor ? `&cursor=${cursor}` : ''}`, 'root', 'admin'))
    paged.push(...page.events.map((e: { turnId: string }) => e.turnId))
    cursor = page.nextCursor ?? ''
  } while (cursor)
  t.same(paged, all.events.map((e: { turnId: string }) => e.turnId), 'pages of 3 give every event once, in order')

  const bad = await get('/safety/events?severity=extreme', 'root', 'admin')
  t.equal(bad.status, 400)
  t.match((await json(bad)).message, /severity/)
  t.equal((await get('/safety/events?cursor=nonsense', 'root', 'admin')).status, 400)
})

t.test('GET /safety/events roles: keepers and admins all, a parent their own and their children\'s, a user none', async (t) => {
  const ids = async (query: string, user: string, role: Role) => (await json(get(`/safety/events?${query}`, user, role))).events.map((e: { userId: string }) => e.userId)
  t.same(new Set(await ids('', 'pam', 'parent')), new Set(['kid', 'pam']), 'pam: her child\'s and her own, nobody else\'s')
  t.same(await ids('userId=kid', 'pam', 'parent'), ['kid', 'kid'])
  const notHers = await get('/safety/events?userId=stranger-kid', 'pam', 'parent')
  t.equal(notHers.status, 403)
  t.same(await ids('', 'pete', 'parent'), [], 'a parent without children linked sees nothing of others')
  for (const [who, query] of [['kid', ''], ['kid', 'userId=kid']]) {
    const res = await get(`/safety/events?${query}`, who, 'user')
    t.equal(res.status, 403, `a user may not list safety events (${query || 'no filter'})`)
    t.equal((await json(res)).error, 'forbidden')
  }
  t.equal((await fetch(`${url}/safety/events`)).status, 401, 'a token is required')

  if ((await fetch(`${url}/families/pam/children/kid`, { method: 'DELETE', headers: auth('root', 'admin') })).status !== 200) throw new Error('unlink failed')
  t.same(await ids('', 'pam', 'parent'), ['pam'], 'unlinking takes effect at once')
  t.equal((await get('/safety/events?userId=kid', 'pam', 'parent')).status, 403)
})

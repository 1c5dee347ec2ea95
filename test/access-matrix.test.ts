// The access matrix: every route x every role x whose resource (the caller's own, another user's,
// a linked child's), asserting the exact status. One table; a new route is one more row.
import t from 'tap'
import type { Role } from '../src/core/types.ts'
import { startApp } from './helpers/app.ts'
import { json } from './helpers/http.ts'
import { TestSocket } from './helpers/ws.ts'

const ROLES: Role[] = ['user', 'parent', 'zookeeper', 'admin']
/** Who calls in each role. pam is kid's parent (linked in setup). */
const CALLER: Record<Role, string> = { user: 'ulla', parent: 'pam', zookeeper: 'zoe', admin: 'ada' }
const ROLE_OF: Record<string, Role> = { ulla: 'user', pam: 'parent', zoe: 'zookeeper', ada: 'admin', stranger: 'user', kid: 'user', 'erased-kid': 'user', 'erased-stranger': 'user' }

/** Whose resource a row is about, seen from the caller: own, an unrelated user's, pam's linked child's. */
type Kind = 'own' | 'other' | 'linked'
const ownerOf = (role: Role, kind: Kind) => (kind === 'own' ? CALLER[role] : kind === 'other' ? 'stranger' : 'kid')

/** Expected statuses in ROLES order: user, parent, zookeeper, admin. */
type ByRole = [number, number, number, number]
const all = (status: number): ByRole => [status, status, status, status]
const READERS: ByRole = [404, 404, 200, 200] // another user's session or turn
const LINKED_READERS: ByRole = [404, 200, 200, 200] // a linked child's: pam reads it too

interface Resource {
  owner: string
  sessionId: string
  turnId: string
}

interface Row {
  route: string
  request(resource: Resource): { method: string; path: string; body?: unknown }
  /** Per kind of resource; `any` for routes that are not about one user's resource. */
  expect: Partial<Record<Kind, ByRole>> & { any?: ByRole }
}

const animal = { name: 'Matrix', species: 'Test cat', personality: 'Calm.', facts: ['I exist only in tests.'] }

let doomedSessionId = '' // a stranger's session that the DELETE row removes

const ROWS: Row[] = [
  { route: 'GET /convo_history (own sessions)', request: () => ({ method: 'GET', path: '/convo_history' }), expect: { any: all(200) } },
  {
    route: 'GET /convo_history?sessionId=',
    request: (r) => ({ method: 'GET', path: `/convo_history?sessionId=${r.sessionId}` }),
    expect: { own: all(200), other: READERS, linked: LINKED_READERS },
  },
  {
    route: 'GET /convo_history?userId=',
    request: (r) => ({ method: 'GET', path: `/convo_history?userId=${r.owner}` }),
    expect: { own: all(200), other: [403, 403, 200, 200], linked: [403, 200, 200, 200] },
  },
  {
    route: 'GET /convo_history?animalId=',
    request: () => ({ method: 'GET', path: '/convo_history?animalId=lion' }),
    expect: { any: [403, 403, 200, 200] },
  },
  {
    route: 'GET /convo_turn/{turnId}/stream (resume)',
    request: (r) => ({ method: 'GET', path: `/convo_turn/${r.turnId}/stream` }),
    expect: { own: all(200), other: READERS, linked: LINKED_READERS },
  },
  {
    // Chatting is in one's own sessions only: readers of a session still cannot continue it.
    route: 'POST /convo_turn (continue a session)',
    request: (r) => ({ method: 'POST', path: '/convo_turn', body: { animalId: 'lion', message: 'Hello again', sessionId: r.sessionId } }),
    expect: { own: all(200), other: all(404), linked: all(404) },
  },
  { route: 'POST /convo_turn (new session)', request: () => ({ method: 'POST', path: '/convo_turn', body: { animalId: 'lion', message: 'Hi' } }), expect: { any: all(200) } },
  { route: 'GET /animals', request: () => ({ method: 'GET', path: '/animals' }), expect: { any: all(200) } },
  { route: 'GET /animals/{animalId}', request: () => ({ method: 'GET', path: '/animals/lion' }), expect: { any: all(200) } },
  {
    route: 'PUT /animals/{animalId}',
    request: () => ({ method: 'PUT', path: '/animals/matrix-cat', body: animal }),
    expect: { any: [403, 403, 200, 200] },
  },
  {
    // own: the caller's own family; other: stranger's; linked: kid's (a child has no family of their own).
    route: 'GET /families/{parentId}',
    request: (r) => ({ method: 'GET', path: `/families/${r.owner}` }),
    expect: { own: [403, 200, 403, 200], other: [403, 403, 403, 200], linked: [403, 403, 403, 200] },
  },
  {
    route: 'PUT /families/{parentId}/children/{childId}',
    request: () => ({ method: 'PUT', path: '/families/pete/children/matrix-child' }),
    expect: { any: [403, 403, 403, 200] },
  },
  {
    route: 'DELETE /families/{parentId}/children/{childId}',
    request: () => ({ method: 'DELETE', path: '/families/pete/children/matrix-child' }),
    expect: { any: [403, 403, 403, 200] },
  },
  {
    // The turns are finished, so an allowed cancel is 409 not_running.
    route: 'DELETE /convo_turn/{turnId} (cancel)',
    request: (r) => ({ method: 'DELETE', path: `/convo_turn/${r.turnId}` }),
    expect: { own: all(409), other: [404, 404, 403, 409], linked: [404, 403, 403, 409] },
  },
  {
    route: 'POST /summarize_convo',
    request: (r) => ({ method: 'POST', path: '/summarize_convo', body: { sessionId: r.sessionId } }),
    expect: { own: all(200), other: READERS, linked: LINKED_READERS },
  },
  {
    route: 'GET /convo_history/export',
    request: (r) => ({ method: 'GET', path: `/convo_history/export?sessionId=${r.sessionId}&format=csv` }),
    expect: { own: all(200), other: READERS, linked: LINKED_READERS },
  },
  {
    // Deleting is by role alone (checked before the lookup); only the admin's call deletes anything,
    // and it comes last, so one throwaway session serves the whole row.
    route: 'DELETE /convo_history?sessionId=',
    request: () => ({ method: 'DELETE', path: `/convo_history?sessionId=${doomedSessionId}` }),
    expect: { any: [403, 403, 403, 204] },
  },
  {
    route: 'GET /convo_history/export?userId=',
    request: (r) => ({ method: 'GET', path: `/convo_history/export?userId=${r.owner}&format=md` }),
    expect: { own: all(200), other: [403, 403, 200, 200], linked: [403, 200, 200, 200] },
  },
  { route: 'GET /safety/events', request: () => ({ method: 'GET', path: '/safety/events' }), expect: { any: [403, 200, 200, 200] } },
  {
    route: 'GET /safety/events?userId=',
    request: (r) => ({ method: 'GET', path: `/safety/events?userId=${r.owner}` }),
    expect: { own: [403, 200, 200, 200], other: [403, 403, 200, 200], linked: [403, 200, 200, 200] },
  },
  {
    // Erasing a whole user: admins and the child's linked parent (pam is linked to erased-kid).
    // Erasing is idempotent, so every allowed call answers 204.
    route: 'DELETE /convo_history?userId= (a linked child)',
    request: () => ({ method: 'DELETE', path: '/convo_history?userId=erased-kid' }),
    expect: { any: [403, 204, 403, 204] },
  },
  {
    route: 'DELETE /convo_history?userId= (someone else\'s child)',
    request: () => ({ method: 'DELETE', path: '/convo_history?userId=erased-stranger' }),
    expect: { any: [403, 403, 403, 204] },
  },
]

const { url, wsUrl, auth } = await startApp(t, { STORAGE: 'memory' })

const call = (sub: string, request: { method: string; path: string; body?: unknown }) =>
  fetch(`${url}${request.path}`, {
    method: request.method,
    headers: { ...auth(sub, ROLE_OF[sub]), ...(request.body ? { 'content-type': 'application/json' } : {}) },
    body: request.body ? JSON.stringify(request.body) : undefined,
  })

// Every user has one finished turn in one session; pam is linked to kid.
const resources: Record<string, Resource> = {}
for (const owner of Object.keys(ROLE_OF)) {
  const res = await call(owner, { method: 'POST', path: '/convo_turn', body: { animalId: 'lion', message: 'What do you eat?' } })
  const { sessionId, turnId } = await json(res)
  resources[owner] = { owner, sessionId, turnId }
}
doomedSessionId = (await json(call('stranger', { method: 'POST', path: '/convo_turn', body: { animalId: 'lion', message: 'Bye' } }))).sessionId
const links = [await call('ada', { method: 'PUT', path: '/families/pam/children/kid' }), await call('ada', { method: 'PUT', path: '/families/pam/children/erased-kid' })]
t.same(links.map((res) => res.status), [200, 200], 'setup: pam is linked to kid and erased-kid')

for (const row of ROWS) {
  t.test(row.route, async (t) => {
    for (const [kind, expected] of Object.entries(row.expect) as Array<[Kind | 'any', ByRole]>) {
      for (const [index, role] of ROLES.entries()) {
        const resource = resources[ownerOf(role, kind === 'any' ? 'own' : kind)]
        const res = await call(CALLER[role], row.request(resource))
        await res.body?.cancel()
        t.equal(res.status, expected[index], `${role} on ${kind === 'any' ? 'the route' : `${kind} resource`} → ${expected[index]}`)
      }
    }
  })
}

t.test('a session one may not read looks exactly like one that does not exist', async (t) => {
  const hidden = await call('ulla', { method: 'GET', path: `/convo_history?sessionId=${resources.stranger.sessionId}` })
  const missing = await call('ulla', { method: 'GET', path: '/convo_history?sessionId=no-such-session' })
  t.equal(hidden.status, missing.status)
  t.same(Object.keys(await json(hidden)), Object.keys(await json(missing)))
})

t.test('a family link or unlink takes effect on the very next request', async (t) => {
  const read = () => call('pam', { method: 'GET', path: `/convo_history?sessionId=${resources.stranger.sessionId}` })
  const family = async () => (await json(call('pam', { method: 'GET', path: '/families/pam' }))).children.sort()
  t.equal((await read()).status, 404, 'not linked yet')
  const linked = await call('ada', { method: 'PUT', path: '/families/pam/children/stranger' })
  t.same(await json(linked), { parentId: 'pam', children: ['erased-kid', 'kid', 'stranger'] }, 'PUT answers the family')
  t.equal((await read()).status, 200, 'readable right after the link')
  t.same(await family(), ['erased-kid', 'kid', 'stranger'], 'the parent sees the family')
  t.same((await json(call('pam', { method: 'GET', path: '/convo_history?userId=stranger' }))).sessions.map((s: { userId: string }) => s.userId), ['stranger'])
  const unlinked = await call('ada', { method: 'DELETE', path: '/families/pam/children/stranger' })
  t.same(await json(unlinked), { parentId: 'pam', children: ['erased-kid', 'kid'] }, 'DELETE answers the family')
  t.equal((await read()).status, 404, 'hidden right after the unlink')
  t.equal((await call('pam', { method: 'GET', path: '/convo_history?userId=stranger' })).status, 403)
  t.equal((await call('ada', { method: 'PUT', path: '/families/pam/children/pam' })).status, 400, 'no one is their own child')
})

t.test('WebSocket resume and cancel follow the same policy', async (t) => {
  // resume: 'ok' when the turn's events stream back; cancel of a finished turn: not_running when allowed.
  // Cancelling changes a turn: only its owner and admins may; parents and zookeepers who can read
  // the turn get forbidden, everyone else not_found.
  type Outcomes = [string, string, string, string]
  const expected: Record<'resume' | 'cancel', Record<Kind, Outcomes>> = {
    resume: { own: ['ok', 'ok', 'ok', 'ok'], other: ['not_found', 'not_found', 'ok', 'ok'], linked: ['not_found', 'ok', 'ok', 'ok'] },
    cancel: {
      own: ['not_running', 'not_running', 'not_running', 'not_running'],
      other: ['not_found', 'not_found', 'forbidden', 'not_running'],
      linked: ['not_found', 'forbidden', 'forbidden', 'not_running'],
    },
  }
  for (const [index, role] of ROLES.entries()) {
    const ws = await TestSocket.open(`${wsUrl}/ws`, auth(CALLER[role], role))
    t.teardown(() => ws.close())
    for (const kind of ['own', 'other', 'linked'] as const) {
      const { turnId } = resources[ownerOf(role, kind)]
      for (const action of ['resume', 'cancel'] as const) {
        const before = ws.frames.length
        ws.send({ type: action, turnId })
        const answer = await ws.waitFor((f) => ws.frames.indexOf(f) >= before && f.turnId === turnId && (f.type === 'error' || f.type === 'storage'))
        const outcome = answer.type === 'storage' ? 'ok' : String(answer.data.code)
        t.equal(outcome, expected[action][kind][index], `${role} ${action}s ${kind} turn → ${expected[action][kind][index]}`)
      }
    }
  }
})

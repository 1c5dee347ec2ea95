// The WebSocket `auth` frame: a kiosk swaps its token without reconnecting (same user), and the
// socket's expiry follows the new token. Client frames are held to the REST schemas.
import t, { type Test } from 'tap'
import type { Role } from '../src/core/types.ts'
import { startApp } from './helpers/app.ts'
import { TestSocket, type Frame } from './helpers/ws.ts'

const now = () => Math.floor(Date.now() / 1000)
const { app, wsUrl } = await startApp(t, { STORAGE: 'memory', JWT_CLOCK_TOLERANCE_SECONDS: '0' })
const sign = (claims: { sub: string; role?: Role; exp: number }) => app.jwt.sign({ role: 'user', ...claims })

async function open(t: Test, sub: string, exp: number): Promise<TestSocket> {
  const ws = await TestSocket.open(`${wsUrl}/ws`, { authorization: `Bearer ${sign({ sub, exp })}` })
  t.teardown(() => ws.close())
  return ws
}

/** The n-th frame (0-based) of a type, from the start of the socket. */
const nth = (ws: TestSocket, type: string, n: number) => ws.waitFor((f) => ws.frames.filter((g) => g.type === type).indexOf(f) === n)

const closeCode = (ws: TestSocket) => new Promise<number>((resolve) => ws.socket.once('close', (code) => resolve(code)))

t.test('an auth frame with a fresh token of the same user is answered with an auth frame; the socket lives past the old expiry', async (t) => {
  const ws = await open(t, 'kiosk-a', now() + 2)
  const exp = now() + 600
  ws.send({ type: 'auth', token: sign({ sub: 'kiosk-a', role: 'parent', exp }) })
  const answer = await nth(ws, 'auth', 0)
  t.same(answer, { type: 'auth', id: null, turnId: null, data: { sub: 'kiosk-a', role: 'parent', exp } } satisfies Frame, 'sub, role and exp of the new token')

  await new Promise((resolve) => setTimeout(resolve, 2600)) // past the first token's exp
  t.equal(ws.socket.readyState, ws.socket.OPEN, 'not closed at the old expiry')
  ws.send({ type: 'turn', animalId: 'lion', message: 'Hello', clientTurnId: 'after-refresh' })
  const end = await ws.waitFor((f) => f.type === 'storage' || (f.type === 'error' && f.turnId === 'after-refresh'))
  t.equal(end.type, 'storage', 'a turn after the old expiry runs to its end')
})

t.test('the expiry timer follows the new token: a shorter one closes the socket with 4401 at its exp', async (t) => {
  const ws = await open(t, 'kiosk-b', now() + 600)
  const closed = closeCode(ws)
  ws.send({ type: 'auth', token: sign({ sub: 'kiosk-b', exp: now() + 2 }) })
  await nth(ws, 'auth', 0)
  t.equal(await closed, 4401)
})

t.test('a token of another user, a bad token and an expired one get an error event; the socket and its old token stay', async (t) => {
  const ws = await open(t, 'kiosk-c', now() + 600)
  ws.send({ type: 'auth', token: sign({ sub: 'someone-else', exp: now() + 600 }) })
  ws.send({ type: 'auth', token: 'garbage' })
  ws.send({ type: 'auth', token: sign({ sub: 'kiosk-c', exp: now() - 60 }) })
  ws.send({ type: 'auth' })
  const errors = await Promise.all([0, 1, 2, 3].map((n) => nth(ws, 'error', n)))
  // Frames are handled concurrently (a verification may finish after the next frame's): match in any order.
  const byMessage = errors.map((f) => f.data).toSorted((a, b) => String(a.message).localeCompare(String(b.message)))
  t.match(byMessage, [
    { code: 'token_expired', message: /^The token has expired/ },
    { code: 'unauthorized', message: /^The token is for another user/, retryable: false },
    { code: 'unauthorized', message: /^The token is not a valid JWT/ },
    { code: 'bad_request', message: 'token is required' },
  ])
  t.ok(errors.every((f) => f.turnId === null && f.id === null), 'errors about the socket carry no turn')
  t.notOk(ws.frames.some((f) => f.type === 'auth'), 'no auth frame for a refused token')
  ws.send({ type: 'turn', animalId: 'lion', message: 'Still me?', clientTurnId: 'same-socket' })
  t.equal((await ws.waitFor((f) => f.type === 'storage')).type, 'storage', 'the socket still works as kiosk-c')
})

t.test('client frames are held to the REST schemas: unknown fields are refused with bad_request', async (t) => {
  const ws = await open(t, 'kiosk-d', now() + 600)
  ws.send({ type: 'turn', animalId: 'lion', message: 'Hi', colour: 'red', clientTurnId: 'x' })
  ws.send({ type: 'cancel', turnId: 't-1', force: true })
  ws.send({ type: 'resume', turnId: 't-1', lastEventId: 't-1:0', from: 0 })
  const errors = await Promise.all([0, 1, 2].map((n) => nth(ws, 'error', n)))
  t.match(errors.map((f) => f.data), [
    { code: 'bad_request', message: 'colour is not allowed' },
    { code: 'bad_request', message: 'force is not allowed' },
    { code: 'bad_request', message: 'from is not allowed' },
  ])
  t.notOk(ws.frames.some((f) => f.type === 'metadata'), 'the turn with an unknown field did not start')
})

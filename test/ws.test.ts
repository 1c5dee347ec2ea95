// The kiosk WebSocket: the same events as SSE, tagged with turnId, many turns on one socket.
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import t from 'tap'
import { startApp } from './helpers/app.ts'
import { TestSocket } from './helpers/ws.ts'

const { wsUrl, auth, token } = await startApp(t)
const run = promisify(execFile)

t.test('a turn frame streams the same events as JSON frames tagged with turnId', async (t) => {
  const ws = await TestSocket.open(`${wsUrl}/ws`, auth('kiosk-1'))
  t.teardown(() => ws.close())
  ws.send({ type: 'turn', animalId: 'lion', message: 'What do you eat?' })
  const metadata = await ws.waitFor((f) => f.type === 'metadata')
  const turnId = metadata.turnId!
  const frames = await ws.turnFrames(turnId)
  const types = frames.map((f) => f.type)
  t.same(types.slice(0, 2), ['metadata', 'typing'])
  t.same(types.slice(-3), ['typing', 'complete', 'storage'])
  t.ok(types.filter((type) => type === 'message').length > 1, 'several deltas')
  t.same(frames.map((f) => f.id), frames.map((_, seq) => `${turnId}:${seq}`))
  t.match(metadata.data, { turnId, animalId: 'lion', animalName: String, model: 'offline', sessionId: String })
})

t.test('two turns run at once on one socket, and bad frames get an error without closing it', async (t) => {
  const ws = await TestSocket.open(`${wsUrl}/ws?access_token=${token('kiosk-2')}`)
  t.teardown(() => ws.close())
  ws.send('this is not json')
  ws.send({ type: 'dance' })
  ws.send({ type: 'turn', animalId: 'lion' })
  const errors = () => ws.frames.filter((f) => f.type === 'error')
  await ws.waitFor(() => errors().length === 3)
  t.match(errors().map((f) => f.data), [
    { code: 'bad_request', message: /JSON/ },
    { code: 'bad_request', message: /type/ },
    { code: 'bad_request', message: /message/ },
  ])

  ws.send({ type: 'turn', animalId: 'lion', message: 'Hello', clientTurnId: 'a' })
  ws.send({ type: 'turn', animalId: 'penguin', message: 'Hello', clientTurnId: 'b' })
  const stored = () => ws.frames.filter((f) => f.type === 'storage')
  await ws.waitFor(() => stored().length === 2)
  const turnIds = new Set(stored().map((f) => f.turnId))
  t.equal(turnIds.size, 2, 'two distinct turns completed on the same socket')

  ws.send({ type: 'turn', animalId: 'unicorn', message: 'hi', clientTurnId: 'c' })
  const unknown = await ws.waitFor((f) => f.type === 'error' && f.data.code === 'not_found')
  t.equal(unknown.turnId, 'c', 'an error about a turn frame carries its clientTurnId')
})

t.test('a bad token is refused at the upgrade', async (t) => {
  await t.rejects(TestSocket.open(`${wsUrl}/ws`), /401/)
  await t.rejects(TestSocket.open(`${wsUrl}/ws?access_token=garbage`), /401/)
})

t.test('npm run ws prints one turn\'s frames as a kiosk sees them', async (t) => {
  const { stdout } = await run(process.execPath, ['src/cli/ws-turn.ts', 'penguin', 'Can you fly?'], {
    env: { ...process.env, TOKEN: token('kiosk-cli'), GATEWAY_WS_URL: wsUrl },
  })
  const frames = stdout.trim().split('\n').map((line) => JSON.parse(line))
  t.equal(frames[0].type, 'metadata')
  t.equal(frames.at(-1).type, 'storage', 'it stops after the turn is stored')
  t.ok(frames.every((frame) => frame.turnId === frames[0].turnId))
  const usage = await run(process.execPath, ['src/cli/ws-turn.ts'], { env: { ...process.env, TOKEN: '' } }).catch((err) => err)
  t.equal(usage.code, 1)
  t.match(usage.stderr, /usage/)
})

// Graceful shutdown of the real server process: on SIGTERM it refuses new connections, lets
// running turns finish and be stored within SHUTDOWN_GRACE_MS, tells WebSocket clients to
// reconnect elsewhere (close code 1012) and exits 0. What is unfinished at the deadline is stored
// as failed with what it had.
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { createSigner } from 'fast-jwt'
import t from 'tap'
import { startApp, TEST_JWT_SECRET } from './helpers/app.ts'
import { startDynalite } from './helpers/dynalite.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { json } from './helpers/http.ts'
import { eventually, words } from './helpers/stream.ts'
import { TestSocket } from './helpers/ws.ts'

const fake = await startFakeOpenAI()
t.teardown(() => fake.close())
const dynalite = await startDynalite()
t.teardown(() => dynalite.close())
const sign = createSigner({ key: TEST_JWT_SECRET, expiresIn: 3_600_000 })
const bearer = (sub: string) => ({ authorization: `Bearer ${sign({ sub, role: 'user' })}` })

async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

/** `node src/server.ts` as its own process, ready to serve. */
async function startServer(dataDir: string, graceMs: number): Promise<{ child: ChildProcess; url: string; wsUrl: string; exited: Promise<number | null> }> {
  const port = await freePort()
  const child = spawn(process.execPath, ['src/server.ts'], {
    env: {
      PATH: process.env.PATH, PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, LOG_LEVEL: 'warn',
      DYNAMODB_ENDPOINT: dynalite.endpoint, OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url,
      JWT_SECRET: TEST_JWT_SECRET, SHUTDOWN_GRACE_MS: String(graceMs),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL') })
  const url = `http://127.0.0.1:${port}`
  await eventually(async () => ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok ? true : undefined), 60000)
  return { child, url, wsUrl: `ws://127.0.0.1:${port}`, exited }
}

const closeCode = (ws: TestSocket) => new Promise<number>((resolve) => ws.socket.on('close', (code) => resolve(code)))

t.test('SIGTERM during a turn: it finishes and is stored, the socket gets 1012, the process exits 0', async (t) => {
  const server = await startServer(t.testdir(), 20000)
  fake.enqueue({ kind: 'stream', chunks: words(30), delayMs: 50 })
  const ws = await TestSocket.open(`${server.wsUrl}/ws`, bearer('kiosk-a'))
  const closed = closeCode(ws)
  ws.send({ type: 'turn', animalId: 'lion', message: 'One more story' })
  await ws.waitFor((f) => f.type === 'message')
  server.child.kill('SIGTERM')

  // Draining: running turns go on, new connections are refused.
  await eventually(async () => {
    const late = await TestSocket.open(`${server.wsUrl}/ws`, bearer('kiosk-b')).then((s) => { s.close(); return false }, () => true)
    return late || undefined
  })
  t.pass('a new WebSocket is refused while draining')

  const frames = await ws.turnFrames(ws.frames[0].turnId!)
  t.equal(frames.at(-1)!.type, 'storage', 'the running turn finished and was stored')
  t.equal(frames.filter((f) => f.type === 'message').map((f) => f.data.delta).join(''), words(30).join(''))
  t.equal(await closed, 1012, 'then the socket was told to reconnect elsewhere')
  t.equal(await server.exited, 0, 'and the process exited cleanly')

  const reader = await startApp(t, { DYNAMODB_ENDPOINT: dynalite.endpoint })
  const history = await json(fetch(`${reader.url}/convo_history?sessionId=${frames[0].data.sessionId}`, { headers: reader.auth('kiosk-a') }))
  t.match(history.turns[0], { status: 'complete', reply: words(30).join('') })
})

t.test('a turn still running at the grace deadline is stored as failed with what it had', async (t) => {
  const server = await startServer(t.testdir(), 300)
  fake.enqueue({ kind: 'stall', afterChunks: 2, chunks: ['Once ', 'upon ', 'a time'] })
  const ws = await TestSocket.open(`${server.wsUrl}/ws`, bearer('kiosk-c'))
  const closed = closeCode(ws)
  ws.send({ type: 'turn', animalId: 'lion', message: 'A story please' })
  await ws.waitFor(() => ws.frames.filter((f) => f.type === 'message').length === 2)
  server.child.kill('SIGTERM')

  const frames = await ws.turnFrames(ws.frames[0].turnId!)
  t.match(frames.at(-1), { type: 'error', data: { code: 'shutting_down', retryable: true } })
  t.equal(await closed, 1012)
  t.equal(await server.exited, 0)

  const reader = await startApp(t, { DYNAMODB_ENDPOINT: dynalite.endpoint })
  const history = await json(fetch(`${reader.url}/convo_history?sessionId=${frames[0].data.sessionId}`, { headers: reader.auth('kiosk-c') }))
  t.match(history.turns[0], { status: 'failed', reply: 'Once upon ' })
})

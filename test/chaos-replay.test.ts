// Replays are bounded like live streams. A kiosk socket that stops reading and keeps sending
// `resume` frames for a long finished turn once queued every replay (1,500 frames took the server
// from 170 to 489 MB RSS, and nothing closed the socket). Now a peer more than
// STREAM_MAX_BUFFERED_BYTES behind, replaying or live, is closed (1013; it can resume), and a
// resume of a turn this socket already follows is refused. The server runs as its own process,
// so its RSS (from /proc) is the server's alone.
import type { Socket } from 'node:net'
import { createSigner } from 'fast-jwt'
import t from 'tap'
import { TEST_JWT_SECRET } from './helpers/app.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { startServerProcess } from './helpers/server-process.ts'
import { sleep, words } from './helpers/stream.ts'
import { TestSocket } from './helpers/ws.ts'

const MAX_BUFFERED = 65536
const fake = await startFakeOpenAI()
t.teardown(() => fake.close())
const server = await startServerProcess(t, {
  DATA_DIR: t.testdir(), STORAGE: 'memory', OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url,
  STREAM_MAX_BUFFERED_BYTES: String(MAX_BUFFERED),
})
const sign = createSigner({ key: TEST_JWT_SECRET, expiresIn: 3_600_000 })
const bearer = (sub: string) => ({ authorization: `Bearer ${sign({ sub, role: 'user' })}` })
const open = (sub: string) => TestSocket.open(`${server.wsUrl}/ws`, bearer(sub))

t.test('a peer that stops reading and floods resume frames is closed; the server\'s memory stays bounded', async (t) => {
  // A long reply: its replay over WebSocket is about 300 KB, so 1,500 of them would be some 450 MB.
  const reply = words(2500)
  fake.enqueue({ kind: 'stream', chunks: reply })
  const kiosk = await open('kiosk-flood')
  kiosk.send({ type: 'turn', animalId: 'lion', message: 'Tell me everything' })
  const stored = await kiosk.waitFor((f) => f.type === 'storage', 30000)
  const turnId = stored.turnId!
  kiosk.close()

  const before = await server.rss()
  const flood = await open('kiosk-flood')
  const closed = new Promise<number>((resolve) => flood.socket.on('close', (code) => resolve(code)))
  const transport = (flood.socket as unknown as { _socket: Socket })._socket
  transport.pause()
  for (let i = 0; i < 1500; i++) flood.send({ type: 'resume', turnId })
  // Give the server time to take every frame, measuring as it goes.
  let peak = before
  for (let i = 0; i < 20; i++) {
    await sleep(150)
    peak = Math.max(peak, await server.rss())
  }
  const grewMb = (peak - before) / 2 ** 20
  t.ok(grewMb < 64, `the server's RSS grew by ${grewMb.toFixed(1)} MB at most (${(before / 2 ** 20).toFixed(0)} MB before)`)

  transport.resume()
  t.equal(await closed, 1013, 'the socket was closed as too far behind (it may reconnect and resume)')
  const replayed = flood.frames.filter((f) => f.type === 'storage').length
  t.ok(replayed < 100, `it did not get replay after replay: ${replayed} of 1,500 (what the kernel had taken)`)

  // It can resume: a socket that reads gets the whole turn.
  const again = await open('kiosk-flood')
  t.teardown(() => again.close())
  again.send({ type: 'resume', turnId })
  const frames = await again.turnFrames(turnId)
  t.equal(frames.filter((f) => f.type === 'message').map((f) => f.data.delta).join(''), reply.join(''))
  t.equal(frames.at(-1)!.type, 'storage')
})

t.test('a resume of a turn the socket already follows is refused with bad_request', async (t) => {
  fake.enqueue({ kind: 'stall', afterChunks: 2, chunks: ['Once ', 'upon ', 'a time'] })
  const kiosk = await open('kiosk-twice')
  t.teardown(() => kiosk.close())
  kiosk.send({ type: 'turn', animalId: 'lion', message: 'A story' })
  const turnId = (await kiosk.waitFor((f) => f.type === 'metadata')).turnId!
  await kiosk.waitFor(() => kiosk.frames.filter((f) => f.type === 'message').length === 2)

  kiosk.send({ type: 'resume', turnId })
  const refused = await kiosk.waitFor((f) => f.type === 'error' && f.turnId === turnId)
  t.match(refused, { id: null, data: { code: 'bad_request', retryable: false } }, 'the turn it started is followed already')
  t.match(refused.data.message, turnId, 'the error names the turn')

  // On another socket: a burst of resumes attaches the turn once; the rest are refused.
  const other = await open('kiosk-twice')
  t.teardown(() => other.close())
  for (let i = 0; i < 5; i++) other.send({ type: 'resume', turnId })
  await other.waitFor(() => other.frames.filter((f) => f.type === 'error').length === 4)
  t.equal(other.frames.filter((f) => f.type === 'metadata').length, 1, 'replayed once')
  t.ok(other.frames.filter((f) => f.type === 'error').every((f) => f.data.code === 'bad_request'))

  kiosk.send({ type: 'cancel', turnId })
  const ends = await Promise.all([kiosk, other].map((socket) => socket.waitFor((f) => f.type === 'error' && f.id !== null)))
  for (const end of ends) t.match(end, { turnId, data: { code: 'cancelled' } }, 'both sockets followed it to its end')
  t.equal(other.frames.filter((f) => f.type === 'message').length, 2, 'no event twice')
})

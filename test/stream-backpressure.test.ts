// Backpressure: a consumer that stops reading never makes the server buffer without bound. Once
// more than STREAM_MAX_BUFFERED_BYTES wait unsent, it is disconnected; the turn completes, is
// stored, and the consumer can resume where it got to.
import { connect } from 'node:net'
import t from 'tap'
import WebSocket from 'ws'
import { startApp } from './helpers/app.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { json } from './helpers/http.ts'
import { collectSse } from './helpers/sse.ts'
import { TestSocket } from './helpers/ws.ts'

const fake = await startFakeOpenAI()
t.teardown(() => fake.close())
// Memory storage: the reply here is far larger than a DynamoDB item may be.
const { url, wsUrl, auth } = await startApp(t, {
  OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, STORAGE: 'memory', STREAM_MAX_BUFFERED_BYTES: '65536',
})

// ~8 MB as fast as the upstream can send it: more than the kernel's socket buffers on loopback hold.
const CHUNKS = Array.from({ length: 800 }, (_, i) => `${String(i).padStart(4, '0')}${'x'.repeat(9995)} `)
const FULL_REPLY = CHUNKS.join('')

/** The JSON answer of the turn with this clientTurnId, once it has ended (a retry attaches to it). */
const resultOf = (clientTurnId: string, user: string) =>
  json(fetch(`${url}/convo_turn`, {
    method: 'POST',
    headers: { ...auth(user), 'content-type': 'application/json' },
    body: JSON.stringify({ animalId: 'lion', message: 'Talk a lot', clientTurnId }),
  }))

t.test('an SSE consumer that stops reading is disconnected, the turn is stored, and it can resume', async (t) => {
  fake.enqueue({ kind: 'stream', chunks: CHUNKS })
  const { port } = new URL(url)
  const socket = connect(Number(port), '127.0.0.1')
  const body = JSON.stringify({ animalId: 'lion', message: 'Talk a lot', clientTurnId: 'sse-slow' })
  socket.write(
    `POST /convo_turn HTTP/1.1\r\nhost: 127.0.0.1\r\n${Object.entries({ ...auth('alice') }).map(([k, v]) => `${k}: ${v}\r\n`).join('')}` +
    `content-type: application/json\r\naccept: text/event-stream\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  )
  socket.pause() // never read while the turn runs

  const result = await resultOf('sse-slow', 'alice')
  t.equal(result.reply, FULL_REPLY, 'the turn completed with the whole reply')
  const history = await json(fetch(`${url}/convo_history?sessionId=${result.sessionId}`, { headers: auth('alice') }))
  t.match(history.turns[0], { turnId: result.turnId, status: 'complete' }, 'and was stored')

  const chunks: Buffer[] = []
  socket.on('data', (chunk: Buffer) => chunks.push(chunk))
  await new Promise((resolve) => socket.on('close', resolve).resume())
  const received = Buffer.concat(chunks).toString()
  t.notMatch(received, /event: storage/, 'the slow consumer was cut off before the end')
  t.ok(received.length < FULL_REPLY.length, 'it did not get everything')

  const ids = [...received.matchAll(/^id: (\S+)\nevent: \w+\ndata: .*\n\n/gm)].map((m) => m[1])
  const lastId = ids.at(-1)!
  const rest = await collectSse(await fetch(`${url}/convo_turn/${result.turnId}/stream`, { headers: { ...auth('alice'), 'last-event-id': lastId } }))
  t.equal(rest[0].id, `${result.turnId}:${Number(lastId.split(':')[1]) + 1}`, 'resume continues right after the last whole event')
  t.equal(rest.at(-1)!.event, 'storage')
})

t.test('a WebSocket peer that stops reading is closed with 1013 and can resume', async (t) => {
  fake.enqueue({ kind: 'stream', chunks: CHUNKS })
  const ws = await TestSocket.open(`${wsUrl}/ws`, auth('bob'))
  ws.send({ type: 'turn', animalId: 'lion', message: 'Talk a lot', clientTurnId: 'ws-slow' })
  const raw = (ws.socket as unknown as { _socket: import('node:net').Socket })._socket
  raw.pause()

  const result = await resultOf('ws-slow', 'bob')
  t.equal(result.reply, FULL_REPLY, 'the turn completed')
  const closed = new Promise<number>((resolve) => ws.socket.on('close', resolve))
  raw.resume()
  t.equal(await closed, 1013, 'closed as too slow: try again later')
  t.notOk(ws.frames.some((f) => f.type === 'storage'), 'it did not get to the end')

  const last = ws.frames.filter((f) => f.turnId === result.turnId).at(-1)!
  const again = await TestSocket.open(`${wsUrl}/ws`, auth('bob'))
  t.teardown(() => again.close())
  again.send({ type: 'resume', turnId: result.turnId, lastEventId: last.id })
  const rest = await again.turnFrames(result.turnId)
  t.equal(rest[0].id, `${result.turnId}:${Number(last.id!.split(':')[1]) + 1}`)
  t.equal(rest.at(-1)!.type, 'storage')
  t.equal(again.socket.readyState, WebSocket.OPEN)
})

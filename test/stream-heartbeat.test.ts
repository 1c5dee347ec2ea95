// Heartbeats keep idle proxies and kiosks' connections open while the model is silent: SSE comment
// lines every HEARTBEAT_MS, WebSocket pings (and a peer that stops answering them is dropped).
import t from 'tap'
import WebSocket from 'ws'
import { startApp } from './helpers/app.ts'
import { startFakeOpenAI } from './helpers/fake-openai.ts'
import { postSse } from './helpers/stream.ts'
import { TestSocket } from './helpers/ws.ts'

const fake = await startFakeOpenAI()
t.teardown(() => fake.close())
const { url, wsUrl, auth } = await startApp(t, { OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: fake.url, HEARTBEAT_MS: '100', OPENAI_MAX_RETRIES: '0' })

t.test('SSE sends retry:, proxy-proof headers, and comment heartbeats while the upstream is silent', async (t) => {
  fake.enqueue({ kind: 'stall', afterChunks: 1, chunks: ['Hmm... '] })
  const res = await postSse(url, auth('alice'), { animalId: 'lion', message: 'Think hard' })
  t.match(res.headers.get('content-type'), /^text\/event-stream/)
  t.equal(res.headers.get('x-accel-buffering'), 'no', 'nginx and friends do not buffer it')
  t.match(res.headers.get('cache-control'), /no-cache/)
  t.match(res.headers.get('cache-control'), /no-transform/)

  const decoder = new TextDecoder()
  let text = ''
  for await (const bytes of res.body!) {
    text += decoder.decode(bytes as Uint8Array, { stream: true })
    const afterDelta = text.split('"delta":"Hmm... "')[1]
    if (afterDelta && afterDelta.split(': heartbeat\n\n').length > 3) break
  }
  t.match(text, /^retry: \d+\n\n/, 'the stream starts with a reconnect delay for browsers')
  t.ok(text.split('"delta":"Hmm... "')[1].split(': heartbeat\n\n').length > 3, 'heartbeats keep coming while the model says nothing')

  const turnId = /"turnId":"([^"]+)"/.exec(text)![1]
  t.equal((await fetch(`${url}/convo_turn/${turnId}`, { method: 'DELETE', headers: auth('alice') })).status, 202, 'ended by cancel')
})

t.test('WebSocket pings every HEARTBEAT_MS; a peer that answers none is terminated', async (t) => {
  const ws = await TestSocket.open(`${wsUrl}/ws`, auth('kiosk'))
  t.teardown(() => ws.close())
  let pings = 0
  ws.socket.on('ping', () => pings++)
  await new Promise<void>((resolve) => {
    const check = setInterval(() => { if (pings >= 3) { clearInterval(check); resolve() } }, 20)
  })
  t.equal(ws.socket.readyState, WebSocket.OPEN, 'a peer that answers pings stays connected')

  const silent = new WebSocket(`${wsUrl}/ws`, { headers: auth('kiosk'), autoPong: false })
  const code = await new Promise<number>((resolve) => silent.on('close', resolve))
  t.equal(code, 1006, 'terminated without a closing handshake')
})
